"""Metric rollups: incremental equals from-scratch, exactly-once counting, suppression, and the API."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from questionnaires.metric_cells import CellValues
from questionnaires.models import MetricRollup, Response, Score, StaffMembership
from questionnaires.principals import Principal
from questionnaires.selectors.metrics import MetricCell, metrics_recomputed, rollup_cells, suppress
from questionnaires.services.metrics import metrics_rollup
from questionnaires.services.responses import response_submit
from questionnaires.services.sweep import responses_sweep
from tests.factories import ClinicFactory, MembershipFactory, TherapyClientFactory
from tests.workers.helpers import BASE, ors_total, phq9, srs, srs_total

pytestmark = pytest.mark.django_db

submission = st.fixed_dictionaries(
    {
        "questionnaire": st.sampled_from(["srs", "ors", "phq-9"]),
        "level": st.integers(min_value=0, max_value=40),
        "days": st.integers(min_value=0, max_value=70),
        "client": st.integers(min_value=0, max_value=2),
        "clinician": st.sampled_from([None, 0, 1]),
        "rater": st.sampled_from(["client", "client", "clinician"]),
    }
)


def _answers(questionnaire: str, level: int) -> dict:
    if questionnaire == "phq-9":
        values = [min(3, max(0, (level + offset) // 12)) for offset in range(9)]
        return phq9(*values)
    return srs_total(level)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(stream=st.lists(submission, min_size=1, max_size=25))
def test_incremental_rollups_equal_a_from_scratch_recompute(stream, django_capture_on_commit_callbacks):
    clinic = ClinicFactory()
    principal = Principal(kind="api_key", clinic_id=clinic.id, credential=None, credential_prefix="test")
    clients = [TherapyClientFactory(clinic=clinic) for _ in range(3)]
    clinicians = [MembershipFactory(clinic=clinic).user for _ in range(2)]
    for entry in stream:
        payload = {
            "questionnaire": entry["questionnaire"],
            "client": clients[entry["client"]].external_id,
            "authored": (BASE + timedelta(days=entry["days"], hours=entry["level"] % 24)).isoformat(),
            "answers": _answers(entry["questionnaire"], entry["level"]),
            "rater": entry["rater"],
        }
        if entry["clinician"] is not None:
            payload["clinician"] = clinicians[entry["clinician"]].username
        with django_capture_on_commit_callbacks(execute=True):
            response_submit(principal=principal, payload=payload)
    assert Response.objects.filter(clinic=clinic, status=Response.Status.SCORED).count() == len(stream)
    incremental = rollup_cells(clinic_ids=[clinic.id])
    assert incremental == metrics_recomputed(clinic_ids=[clinic.id])
    month_n = sum(values.n for key, values in incremental.items() if key[1] == "clinic" and key[5] == "month")
    assert month_n == len(stream)


def test_a_response_is_counted_once_however_often_its_rollup_runs(north, scored):
    body = scored(north, "srs", srs(8.0, 9.0, 9.0, 9.0))
    assert metrics_rollup(response_ids=[body["id"]]) == 0
    assert Score.objects.get(response_id=body["id"]).in_rollups
    cell = MetricRollup.objects.get(clinic=north.clinic, scope="clinic", period="week")
    assert (cell.n, cell.total_sum, cell.total_sum_squares, cell.below_cutoff) == (1, Decimal(35), Decimal(1225), 1)
    assert cell.alerts == {"low_alliance": 1, "low_item": 1}


def test_the_recompute_command_gives_the_same_numbers_and_later_rollups_do_not_double_count(north, scored):
    for days, total in ((0, 30), (1, 38), (8, 33.3)):
        scored(north, "srs", srs_total(total), days=days, clinician=north.clinician.username)
    scored(north, "ors", ors_total(20), days=2)
    scored(north, "ors", ors_total(26), days=9)
    before = rollup_cells()
    MetricRollup.objects.update(n=999)  # damage, so the command has something to repair
    call_command("recompute_metrics")
    assert rollup_cells() == before
    ors_ids = list(Response.objects.filter(questionnaire_version__questionnaire_id="ors").values_list("id", flat=True))
    assert metrics_rollup(response_ids=ors_ids) == 0
    ors_month = MetricRollup.objects.get(scope="clinic", period="month", questionnaire_id="ors")
    assert (ors_month.n, ors_month.below_cutoff, ors_month.reliable_improvement, ors_month.recovered) == (2, 1, 1, 1)
    week = MetricRollup.objects.filter(scope="clinician", period="week", questionnaire_id="srs")
    assert sorted(cell.n for cell in week) == [1, 2]


def test_the_sweep_counts_a_scored_response_whose_rollup_task_was_lost(north, scored):
    body = scored(north, "srs", srs(8.0, 9.0, 9.0, 9.0))
    # as if the broker lost the rollup task: the score is not flagged and no cell counts it
    Score.objects.filter(response_id=body["id"]).update(in_rollups=False)
    MetricRollup.objects.all().delete()
    Response.objects.filter(id=body["id"]).update(received_at=timezone.now() - timedelta(minutes=5))
    assert responses_sweep(pending_after_seconds=60).rollups == 1  # eager: the rollup runs in-process
    assert Score.objects.get(response_id=body["id"]).in_rollups
    assert MetricRollup.objects.get(clinic=north.clinic, scope="clinic", period="week").n == 1
    assert responses_sweep(pending_after_seconds=60).rollups == 0


def test_a_recompute_flags_the_scores_it_counted_and_only_those(north, scored):
    counted = scored(north, "srs", srs(8.0, 9.0, 9.0, 9.0))
    uncounted = scored(north, "srs", srs(9.0, 9.0, 9.0, 9.0))
    Score.objects.filter(response_id=uncounted["id"]).update(in_rollups=False)
    Response.objects.filter(id=uncounted["id"]).update(status=Response.Status.PENDING)  # not counted: not scored
    call_command("recompute_metrics")
    assert Score.objects.get(response_id=counted["id"]).in_rollups
    assert not Score.objects.get(response_id=uncounted["id"]).in_rollups
    assert MetricRollup.objects.get(clinic=north.clinic, scope="clinic", period="week").n == 1


def _cell(n: int, clinician: int | None, start: date = date(2026, 3, 2)) -> MetricCell:
    return MetricCell(start, clinician, None if clinician is None else f"c{clinician}", CellValues(n=n))


def test_cells_below_the_minimum_are_suppressed_and_one_more_so_the_hidden_one_cannot_be_derived():
    cells = [_cell(3, 1), _cell(6, 2), _cell(9, 3)]
    suppress(cells, totals={date(2026, 3, 2): CellValues(n=18)}, min_cell=5)
    assert [cell.suppressed for cell in cells] == [True, True, False]
    assert cells[0].as_dict()["n"] is None and cells[0].as_dict()["mean"] is None


def test_no_complementary_suppression_when_two_cells_are_already_hidden_or_none_is():
    two_hidden = [_cell(3, 1), _cell(4, 2), _cell(9, 3)]
    suppress(two_hidden, totals={date(2026, 3, 2): CellValues(n=16)}, min_cell=5)
    assert [cell.suppressed for cell in two_hidden] == [True, True, False]
    none_hidden = [_cell(6, 1), _cell(7, 2)]
    suppress(none_hidden, totals={date(2026, 3, 2): CellValues(n=13)}, min_cell=5)
    assert [cell.suppressed for cell in none_hidden] == [False, False]


def test_a_small_unassigned_remainder_counts_as_a_hidden_cell():
    # 15 in the clinic, 13 with a clinician: the 2 without one could be derived, so the smallest cell goes too
    cells = [_cell(6, 1), _cell(7, 2)]
    suppress(cells, totals={date(2026, 3, 2): CellValues(n=15)}, min_cell=5)
    assert [cell.suppressed for cell in cells] == [True, False]
    # a hidden clinician cell and a hidden remainder already protect each other
    two = [_cell(3, 1), _cell(7, 2)]
    suppress(two, totals={date(2026, 3, 2): CellValues(n=12)}, min_cell=5)
    assert [cell.suppressed for cell in two] == [True, False]
    # no remainder: the one hidden cell would be the total minus the other, so that one is hidden too
    single = [_cell(3, 1), _cell(7, 2)]
    suppress(single, totals={date(2026, 3, 2): CellValues(n=10)}, min_cell=5)
    assert [cell.suppressed for cell in single] == [True, True]


def test_the_metrics_endpoint_serves_rollups_with_small_cells_suppressed(north, south, scored):
    for days, total in enumerate((30, 32, 34, 36, 38)):
        scored(north, "srs", srs_total(total), days=days, clinician=north.clinician.username)
    scored(north, "srs", srs_total(20), days=1)
    answer = north.api().get("/api/v1/metrics/", {"questionnaire": "srs", "group_by": "clinic", "period": "month"})
    assert answer.status_code == 200, answer.content
    [cell] = answer.json()["results"]
    assert cell["period_start"] == "2026-03-01"
    assert cell["n"] == 6 and cell["suppressed"] is False
    assert cell["mean"] == pytest.approx(190 / 6, abs=1e-4)
    assert cell["below_cutoff_share"] == pytest.approx(4 / 6, abs=1e-4)
    by_week = north.api().get("/api/v1/metrics/", {"questionnaire": "srs", "group_by": "clinician", "period": "week"})
    weekly = by_week.json()["results"]
    # five is enough on its own, but the week's total minus it would reveal the one response without a clinician
    assert [(c["n"], c["suppressed"]) for c in weekly] == [(None, True)]
    assert by_week.json()["min_cell"] == 5
    # the other clinic sees nothing of north's numbers
    assert south.api().get("/api/v1/metrics/", {"questionnaire": "srs"}).json()["results"] == []


def test_a_clinician_sees_only_their_own_clinician_cells(north, scored):
    other = MembershipFactory(clinic=north.clinic, role=StaffMembership.Role.CLINICIAN).user
    for days in range(5):
        scored(north, "srs", srs_total(30), days=days, clinician=north.clinician.username)
        scored(north, "srs", srs_total(35), days=days, clinician=other.username)
    from rest_framework.test import APIClient

    token = APIClient().post(
        "/api/v1/auth/token/", {"username": north.clinician.username, "password": "correct horse battery"},
        format="json",
    ).json()["token"]
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    cells = api.get("/api/v1/metrics/", {"questionnaire": "srs", "group_by": "clinician"}).json()["results"]
    assert [cell["clinician"] for cell in cells] == [north.clinician.username]


def _clinician_api(user):
    from tests.api.conftest import staff_api

    return staff_api(user)


def test_a_clinic_cell_is_hidden_from_a_clinician_when_subtracting_their_own_isolates_one_colleague(north, scored):
    colleague = MembershipFactory(clinic=north.clinic, role=StaffMembership.Role.CLINICIAN).user
    for days in range(5):
        scored(north, "srs", srs_total(30), days=days, clinician=north.clinician.username)
        scored(north, "srs", srs_total(35), days=days, clinician=colleague.username)
    query = {"questionnaire": "srs", "group_by": "clinic", "period": "month"}

    [for_clinician] = _clinician_api(north.clinician).get("/api/v1/metrics/", query).json()["results"]
    [for_supervisor] = _clinician_api(north.supervisor).get("/api/v1/metrics/", query).json()["results"]

    # clinic n=10, mean 32.5 minus own n=5, mean 30 would give the colleague's exact mean, 35
    assert for_clinician["suppressed"] is True and for_clinician["mean"] is None
    assert for_supervisor["suppressed"] is False and for_supervisor["mean"] == pytest.approx(32.5)


def test_a_clinic_cell_shows_to_a_clinician_when_the_rest_pools_two_colleagues(north, scored):
    colleagues = [MembershipFactory(clinic=north.clinic, role=StaffMembership.Role.CLINICIAN).user for _ in range(2)]
    for days in range(5):
        scored(north, "srs", srs_total(30), days=days, clinician=north.clinician.username)
        for colleague in colleagues:
            scored(north, "srs", srs_total(35), days=days, clinician=colleague.username)
    query = {"questionnaire": "srs", "group_by": "clinic", "period": "month"}
    [cell] = _clinician_api(north.clinician).get("/api/v1/metrics/", query).json()["results"]
    assert cell["suppressed"] is False and cell["n"] == 15


def test_a_clinic_cell_is_hidden_from_a_clinician_when_the_rest_is_below_the_minimum_cell(north, scored):
    colleagues = [MembershipFactory(clinic=north.clinic, role=StaffMembership.Role.CLINICIAN).user for _ in range(2)]
    for days in range(6):
        scored(north, "srs", srs_total(30), days=days, clinician=north.clinician.username)
    for colleague in colleagues:
        scored(north, "srs", srs_total(35), days=0, clinician=colleague.username)
    query = {"questionnaire": "srs", "group_by": "clinic", "period": "month"}
    [cell] = _clinician_api(north.clinician).get("/api/v1/metrics/", query).json()["results"]
    assert cell["suppressed"] is True


@pytest.mark.parametrize(
    "query",
    [
        {},
        {"questionnaire": "srs", "group_by": "team"},
        {"questionnaire": "srs", "period": "year"},
        {"questionnaire": "srs", "from": "March"},
        {"questionnaire": "srs", "from": "2026-04-01", "to": "2026-03-01"},
        {"questionnaire": "srs", "colour": "blue"},
    ],
)
def test_a_bad_metrics_query_is_a_400_problem(north, query):
    answer = north.api().get("/api/v1/metrics/", query)
    assert answer.status_code == 400
    assert answer["Content-Type"].startswith("application/problem+json")
