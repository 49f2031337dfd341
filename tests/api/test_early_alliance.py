"""The early-alliance table on a synthetic clinic with a planted relation: the table recovers it, with n and
Wilson intervals, and suppressed cells cannot be derived from what is shown."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from questionnaires.models import CareSession, EpisodeOfCare, Response, Score
from questionnaires.registry import get_registry
from questionnaires.stats import wilson_interval
from tests.api.conftest import staff_api
from tests.factories import MembershipFactory, TherapyClientFactory

pytestmark = pytest.mark.django_db

START = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


def _scored(episode, session, questionnaire: str, total) -> None:
    definition = get_registry().get(questionnaire)
    response = Response.objects.create(
        clinic_id=episode.clinic_id, client_id=episode.client_id, clinician_id=episode.primary_clinician_id,
        questionnaire_version=get_registry().version_row(definition), session=session,
        session_number=session.number, rater="client", authored_at=session.scheduled_start + timedelta(hours=1),
        answers={}, status=Response.Status.SCORED,
    )
    Score.objects.create(response=response, plugin_version=definition.version, total=Decimal(str(total)))


def planted_episode(clinic, clinician, *, srs: list, ors: tuple, end_reason: str) -> None:
    """Sessions 1..n; SRS client ratings at the first sessions, ORS at the first and the last."""
    client = TherapyClientFactory(clinic=clinic)
    episode = EpisodeOfCare.objects.create(
        clinic=clinic, client=client, primary_clinician=clinician, start_date=date(2026, 1, 1),
        status="finished", end_reason=end_reason, end_date=date(2026, 3, 1),
    )
    sessions = [
        CareSession.objects.create(clinic=clinic, episode=episode, scheduled_start=START + timedelta(days=7 * n),
                                   attendance="attended", number=n + 1)
        for n in range(max(len(srs), 2))
    ]
    for session, total in zip(sessions, srs, strict=False):
        _scored(episode, session, "srs", total)
    _scored(episode, sessions[0], "ors", ors[0])
    _scored(episode, sessions[-1], "ors", ors[1])


@pytest.fixture
def planted(north):
    """Clinician A: 10 low-alliance episodes (SRS mean 30 < 36), 8 dropping out, 1 of the 10 reliably recovered
    (ORS 18 -> 28: case below 25, 10 >= 5); 10 adequate ones (mean 38), 1 dropout, 7 reliably recovered.
    Clinician B: 6 low and 6 adequate, the same shape scaled. Clinician C: 2 low, 2 adequate episodes."""
    a = north.clinician
    b = MembershipFactory(clinic=north.clinic, user__username="north-b").user
    c = MembershipFactory(clinic=north.clinic, user__username="north-c").user
    for clinician, n, low_dropouts, low_recovered, high_dropouts, high_recovered in (
        (a, 10, 8, 1, 1, 7), (b, 6, 5, 1, 1, 4), (c, 2, 1, 0, 0, 1),
    ):
        for index in range(n):
            planted_episode(north.clinic, clinician, srs=[29.0, 30.0, 31.0, 40.0],  # early mean 30: the 4th is late
                            ors=(18, 28) if index < low_recovered else (18, 20),
                            end_reason="dropped_out" if index < low_dropouts else "completed")
            planted_episode(north.clinic, clinician, srs=[38.0, 37.0, 39.0],  # mean 38
                            ors=(18, 28) if index < high_recovered else (18, 20),
                            end_reason="dropped_out" if index < high_dropouts else "completed")
    return north, a, b, c


def expected_rate(successes: int, n: int) -> dict:
    found = wilson_interval(successes, n)
    return {"rate": round(successes / n, 4), "numerator": successes, "n": n,
            "ci95": [round(found.low, 4), round(found.high, 4)]}


def test_the_clinic_table_recovers_the_planted_relation_with_intervals(planted):
    north, *_ = planted
    body = north.api().get("/api/v1/outcomes/early-alliance/", {"alliance": "srs", "outcome": "ors"}).json()
    assert body["cutoff"] == {"value": 36.0, "low_when": "<"} and "not a cause" in body["wording"]
    (clinic,) = body["groups"]
    low, adequate = clinic["bands"]["low"], clinic["bands"]["adequate"]
    # Low: 18 episodes, 14 dropouts, 2 reliably recovered of 18 cases; adequate: 18, 2 and 12.
    assert low["dropout"] == expected_rate(14, 18) and adequate["dropout"] == expected_rate(2, 18)
    assert low["reliable_recovery"] == expected_rate(2, 18)
    assert adequate["reliable_recovery"] == expected_rate(12, 18)
    # The planted relation is recovered: the intervals do not even overlap.
    assert low["dropout"]["ci95"][0] > adequate["dropout"]["ci95"][1]
    assert low["reliable_recovery"]["ci95"][1] < adequate["reliable_recovery"]["ci95"][0]


def test_small_clinician_cells_are_suppressed_and_cannot_be_derived_from_the_clinic_total(planted):
    north, a, b, c = planted
    body = north.api().get("/api/v1/outcomes/early-alliance/", {"group_by": "clinician"}).json()
    bands = {group["clinician"]: group["bands"] for group in body["groups"]}
    assert bands["north-clinician"]["low"]["episodes"] == 10
    # C's 2 + 2 are below 5: hidden; B's (the next smallest) are hidden too, else C = clinic - A - B.
    assert bands["north-c"] == {"low": {"suppressed": True}, "adequate": {"suppressed": True}}
    assert bands["north-b"] == {"low": {"suppressed": True}, "adequate": {"suppressed": True}}
    clinic = north.api().get("/api/v1/outcomes/early-alliance/").json()["groups"][0]["bands"]
    shown = sum(band["episodes"] for group in bands.values() for band in group.values() if not band["suppressed"])
    hidden_total = sum(band["episodes"] for band in clinic.values()) - shown
    assert hidden_total == 16  # B's 12 and C's 4 together: neither alone can be told


def test_a_clinician_sees_only_their_own_group_and_bad_instruments_are_problems(planted):
    north, a, b, c = planted
    own = staff_api(a).get("/api/v1/outcomes/early-alliance/", {"group_by": "clinician"}).json()["groups"]
    assert [group["clinician"] for group in own] == ["north-clinician"]
    no_cutoff = north.api().get("/api/v1/outcomes/early-alliance/", {"alliance": "wai-sr"})
    assert no_cutoff.status_code == 400 and no_cutoff.json()["errors"][0]["field"] == "alliance"
    unknown = north.api().get("/api/v1/outcomes/early-alliance/", {"outcome": "nope"})
    assert unknown.status_code == 400 and unknown.json()["errors"][0]["field"] == "outcome"
