"""`GET /outcomes/`: rates with Wilson intervals from the rollups, scoping, suppression, bad parameters."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from questionnaires.principals import Principal
from questionnaires.services.care import episode_create, episode_update, session_create
from questionnaires.services.responses import response_submit
from questionnaires.stats import wilson_interval
from tests.api.conftest import staff_api
from tests.api.outcome_helpers import answers_for
from tests.factories import MembershipFactory, TherapyClientFactory

pytestmark = pytest.mark.django_db

START = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


def finished_episode(persona, clinician, totals, end_reason, capture, *, missed: int = 0) -> None:
    """One episode of `clinician`, one attended session per PHQ-9 total, `missed` no-shows, ended in February."""
    principal = Principal(kind="api_key", clinic_id=persona.clinic.id, credential=None, credential_prefix="test")
    client = TherapyClientFactory(clinic=persona.clinic)
    client.clinicians.add(clinician)
    with capture(execute=True):
        episode = episode_create(principal=principal, client=client,
                                 body={"start_date": "2026-01-01", "primary_clinician": clinician.username})
        for week, total in enumerate(totals):
            session = session_create(principal=principal, episode=episode, body={
                "scheduled_start": (START + timedelta(days=7 * week)).isoformat(), "attendance": "attended"})
            response_submit(principal=principal, payload={
                "questionnaire": "phq-9", "client": client.external_id, "session_id": session.pk,
                "authored": (session.scheduled_start + timedelta(hours=1)).isoformat(),
                "answers": answers_for("phq-9", total)})
        for number in range(missed):
            session_create(principal=principal, episode=episode, body={
                "scheduled_start": (START + timedelta(days=40 + number)).isoformat(), "attendance": "did_not_attend"})
        episode_update(principal=principal, episode=episode,
                       body={"status": "finished", "end_reason": end_reason, "end_date": "2026-02-16"})


@pytest.fixture
def clinic_with_outcomes(north, django_capture_on_commit_callbacks):
    """North: clinician A with 6 ended episodes, B with 5, C with 1 (all February 2026).

    A: 4 recovered (16 -> 8: reliable recovery), 2 not (16 -> 14); 2 dropouts; one no-show each in 3 episodes.
    B: 5 completed, each 12 -> 11 (a case throughout, no reliable change). C: 1 dropout, 9 -> 16 (deteriorated).
    """
    a = north.clinician
    b = MembershipFactory(clinic=north.clinic, user__username="north-b").user
    c = MembershipFactory(clinic=north.clinic, user__username="north-c").user
    capture = django_capture_on_commit_callbacks
    for number in range(6):
        totals = [16, 8] if number < 4 else [16, 14]
        finished_episode(north, a, totals, "dropped_out" if number in (1, 4) else "completed", capture,
                         missed=1 if number < 3 else 0)
    for _ in range(5):
        finished_episode(north, b, [12, 11], "completed", capture)
    finished_episode(north, c, [9, 16], "dropped_out", capture)
    return north, a, b, c


def interval(successes: int, n: int) -> list[float]:
    found = wilson_interval(successes, n)
    return [round(found.low, 4), round(found.high, 4)]


def test_clinic_rates_carry_numerator_n_and_a_wilson_interval(clinic_with_outcomes):
    north, *_ = clinic_with_outcomes
    body = north.api().get("/api/v1/outcomes/", {"group_by": "clinic", "period": "month"}).json()
    (cell,) = body["results"]
    assert cell["period_start"] == "2026-02-01"
    adherence, phq = cell["adherence"], cell["outcomes"]["phq-9"]
    assert adherence["episodes"] == 12
    # Dropouts: A's 2 and C's 1 of 12 episodes.
    assert adherence["dropout"] == {"rate": 0.25, "numerator": 3, "n": 12, "ci95": interval(3, 12)}
    # Attendance: 24 attended / (24 + 3 no-shows).
    assert adherence["attendance"] == {"rate": round(24 / 27, 4), "numerator": 24, "n": 27, "ci95": interval(24, 27)}
    # Cases at first: A's 6 (16) and B's 5 (12); C's 9 is below 10. Recovered: A's 4, all reliably (16 -> 8).
    assert phq["case_at_first"] == 11
    assert phq["recovery"] == {"rate": round(4 / 11, 4), "numerator": 4, "n": 11, "ci95": interval(4, 11)}
    assert phq["reliable_recovery"]["numerator"] == 4
    # Reliable improvement: A's 4 (16 -> 8); deterioration: C's (9 -> 16, 7 >= 6); of 12 counted episodes.
    assert (phq["reliable_improvement"]["numerator"], phq["reliable_deterioration"]["numerator"]) == (4, 1)
    assert phq["reliable_improvement"]["n"] == 12
    yearly = north.api().get("/api/v1/outcomes/", {"period": "year"}).json()["results"]
    assert [row["period_start"] for row in yearly] == ["2026-01-01"]
    assert yearly[0]["adherence"]["episodes"] == 12


def test_small_clinician_cells_are_suppressed_with_a_complementary_cell(clinic_with_outcomes):
    north, a, b, c = clinic_with_outcomes
    body = north.api().get("/api/v1/outcomes/", {"group_by": "clinician"}).json()
    by_clinician = {row["clinician"]: row for row in body["results"]}
    assert by_clinician["north-c"]["adherence"] == {"suppressed": True}
    # C's cell alone hidden could be derived as clinic - A - B: B's (the smallest shown) is hidden too.
    assert by_clinician["north-b"]["adherence"] == {"suppressed": True}
    assert by_clinician["north-clinician"]["adherence"]["episodes"] == 6
    assert by_clinician["north-clinician"]["outcomes"]["phq-9"]["recovery"]["numerator"] == 4


def test_a_clinician_sees_only_their_own_cells_and_no_clinic_cell_that_isolates_a_colleague(clinic_with_outcomes):
    north, a, b, c = clinic_with_outcomes
    own = staff_api(a).get("/api/v1/outcomes/", {"group_by": "clinician"}).json()["results"]
    assert [row["clinician"] for row in own] == ["north-clinician"]
    clinic = staff_api(a).get("/api/v1/outcomes/").json()["results"]
    assert clinic[0]["adherence"]["episodes"] == 12  # 6 others from two colleagues: shown
    # B's remainder is A's 6 and C's 1: seven episodes from two colleagues, so B sees it too.
    assert staff_api(b).get("/api/v1/outcomes/").json()["results"][0]["adherence"]["suppressed"] is False


def test_a_clinician_whose_colleagues_are_one_person_gets_the_clinic_cell_suppressed(
    north, django_capture_on_commit_callbacks
):
    a = north.clinician
    b = MembershipFactory(clinic=north.clinic, user__username="north-b").user
    for _ in range(5):
        finished_episode(north, a, [16, 8], "completed", django_capture_on_commit_callbacks)
    for _ in range(5):
        finished_episode(north, b, [16, 8], "completed", django_capture_on_commit_callbacks)
    # Clinic minus A's own cell is exactly B's: suppressed for A, shown to the supervisor.
    assert staff_api(a).get("/api/v1/outcomes/").json()["results"][0]["adherence"] == {"suppressed": True}
    supervisor = staff_api(north.supervisor).get("/api/v1/outcomes/").json()["results"][0]
    assert supervisor["adherence"]["episodes"] == 10


def test_another_clinic_sees_nothing_and_bad_parameters_are_problems(clinic_with_outcomes, south):
    assert south.api().get("/api/v1/outcomes/").json()["results"] == []
    north, *_ = clinic_with_outcomes
    bad = north.api().get("/api/v1/outcomes/", {"group_by": "room", "period": "fortnight", "from": "2026-13-01"})
    assert bad.status_code == 400
    assert bad["Content-Type"].startswith("application/problem+json")
    assert {error["field"] for error in bad.json()["errors"]} == {"group_by", "period", "from"}
    unknown = north.api().get("/api/v1/outcomes/", {"questionnaire": "phq-9"})
    assert unknown.status_code == 400


def test_the_supervision_report_gains_adherence_and_episode_outcomes_with_intervals(clinic_with_outcomes):
    north, a, b, c = clinic_with_outcomes
    report = staff_api(north.supervisor).get(
        "/api/v1/clinicians/north-clinician/report/", {"questionnaire": "srs", "outcome": "phq-9"}
    ).json()
    mine, clinic = report["episodes"]["clinician"], report["episodes"]["clinic"]
    assert mine["episodes"] == 6 and clinic["episodes"] == 12
    assert mine["dropout"] == {"n": 6, "count": 2, "share": round(2 / 6, 4), "ci95": interval(2, 6),
                               "suppressed": False}
    assert mine["attendance"]["count"] == 12 and mine["attendance"]["n"] == 15  # 12 attended, 3 no-shows
    assert mine["outcome"]["recovery"]["count"] == 4 and mine["outcome"]["recovery"]["n"] == 6
    assert clinic["outcome"]["reliable_deterioration"]["count"] == 1
    # C's single episode is below METRICS_MIN_CELL: suppressed in C's report.
    small = staff_api(north.supervisor).get(
        "/api/v1/clinicians/north-c/report/", {"questionnaire": "srs", "outcome": "phq-9"}
    ).json()["episodes"]["clinician"]
    assert small["dropout"]["suppressed"] and small["episodes"] is None
