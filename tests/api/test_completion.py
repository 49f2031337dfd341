"""`GET /api/v1/completion/`: completed ÷ expected from the measurement plan, per clinic or clinician and
instrument, over attended sessions in a period (hand-computed over a simulated course)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from questionnaires.models import CareSession, EpisodeOfCare, Response
from questionnaires.registry import get_registry
from questionnaires.services.care import sessions_renumber
from tests.api.conftest import client_token_api, staff_api
from tests.factories import MembershipFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def course(north):
    """Weekly from Monday 5 January 2026: sessions 1-4 attended with the primary clinician in the room, a no-show,
    sessions 5-8 attended with a colleague (bob) in the room. Done: ORS and SRS at all eight, PHQ-9 at 1-4,
    WAI-SR at 3; GAD-7 never; a PHQ-9 at session 5 was retracted (does not count)."""
    bob = MembershipFactory(clinic=north.clinic, user__username="north-bob").user
    episode = EpisodeOfCare.objects.create(
        clinic=north.clinic, client=north.client, start_date=date(2026, 1, 5), primary_clinician=north.clinician
    )
    attended = []
    for week in range(9):
        session = CareSession.objects.create(
            clinic=north.clinic, episode=episode, attendance="did_not_attend" if week == 4 else "attended",
            scheduled_start=datetime(2026, 1, 5, 10, tzinfo=UTC) + timedelta(weeks=week),
        )
        if week != 4:
            session.clinicians.add(north.clinician if week < 4 else bob)
            attended.append(session)
    sessions_renumber(episode_ids=[episode.pk])
    registry = get_registry()

    def done(session, questionnaire, status="scored"):
        Response.objects.create(
            clinic=north.clinic, client=north.client, session=session, authored_at=session.scheduled_start,
            questionnaire_version=registry.version_row(registry.get(questionnaire)), answers={}, status=status,
        )

    for number, session in enumerate(attended, start=1):
        done(session, "ors")
        done(session, "srs")
        if number <= 4:
            done(session, "phq-9")
        if number == 3:
            done(session, "wai-sr")
    done(attended[4], "phq-9", status="retracted")
    return bob


def _rows(body: dict) -> dict:
    return {(row.get("clinician"), row["questionnaire"]): (row["expected"], row["completed"])
            for row in body["results"]}


def test_completion_per_instrument_for_the_clinic(north, course):
    body = north.api().get("/api/v1/completion/?from=2026-01-01&to=2026-03-31").json()
    # Default plan: ORS, SRS, PHQ-9, GAD-7 at each of the 8 attended sessions; WAI-SR at sessions 3 and 8
    # (every fifth from the third); GBO needs goals (none). The no-show expects nothing.
    assert _rows(body) == {
        (None, "ors"): (8, 8), (None, "srs"): (8, 8), (None, "phq-9"): (8, 4), (None, "gad-7"): (8, 0),
        (None, "wai-sr"): (2, 1),
    }
    assert body["total"] == {"expected": 34, "completed": 21, "rate": round(21 / 34, 4)}
    assert body["group_by"] == "clinic" and body["from"] == "2026-01-01"


def test_completion_per_clinician_follows_who_was_in_the_room(north, course):
    body = north.api().get("/api/v1/completion/?group_by=clinician&from=2026-01-01&to=2026-03-31").json()
    totals: dict = {}
    for (clinician, _), (expected, completed) in _rows(body).items():
        before = totals.get(clinician, (0, 0))
        totals[clinician] = (before[0] + expected, before[1] + completed)
    # Sessions 1-4 (the clinician): 4 x 4 + WAI-SR at 3 = 17 expected; 4 + 4 + 4 + 1 = 13 done.
    # Sessions 5-8 (bob): 4 x 4 + WAI-SR at 8 = 17 expected; ORS and SRS only = 8 done.
    assert totals == {"north-clinician": (17, 13), "north-bob": (17, 8)}
    assert _rows(body)[("north-bob", "wai-sr")] == (1, 0)


def test_a_period_counts_only_its_sessions_but_numbers_them_within_the_whole_episode(north, course):
    body = north.api().get("/api/v1/completion/?from=2026-02-09&to=2026-03-02&questionnaire=wai-sr").json()
    # 9 Feb - 2 Mar holds sessions 5-8; WAI-SR is due at session 8 only (3, 8, 13, ...), not done.
    assert body["results"] == [{"questionnaire": "wai-sr", "rater": "client", "expected": 1, "completed": 0,
                                "rate": 0.0}]


def test_a_clinician_sees_only_their_own_sessions(north, south, course):
    body = staff_api(north.clinician).get("/api/v1/completion/?group_by=clinic&from=2026-01-01&to=2026-03-31").json()
    assert body["group_by"] == "clinician"
    assert {row["clinician"] for row in body["results"]} == {"north-clinician"}
    assert body["total"]["expected"] == 17
    assert south.api().get("/api/v1/completion/?from=2026-01-01&to=2026-03-31").json()["total"]["expected"] == 0
    assert client_token_api(north.client).get("/api/v1/completion/").status_code == 403


def test_bad_queries_are_problems_naming_the_field(north):
    refused = north.api().get("/api/v1/completion/?group_by=planet&from=2026-13-01")
    assert refused.status_code == 400
    assert {error["field"] for error in refused.json()["errors"]} == {"group_by", "from"}
    assert north.api().get("/api/v1/completion/?to=2026-01-01&from=2026-02-01").status_code == 400
    assert north.api().get("/api/v1/completion/").json()["total"] == {"expected": 0, "completed": 0, "rate": None}
