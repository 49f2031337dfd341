"""Measurement plans and due lists: each default rule over a simulated course with hand-computed expectations,
missed measures, completion = completed ÷ expected, plans as data over REST."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from questionnaires.models import CareSession, EpisodeOfCare, Goal, Response
from questionnaires.registry import get_registry
from questionnaires.selectors.due import _Slot, client_due, rule_due_at
from questionnaires.services.care import sessions_renumber
from tests.api.conftest import client_token_api, staff_api

pytestmark = pytest.mark.django_db

START = date(2026, 1, 5)


def slot(number: int, day: int = 0, previous_day: int | None = None) -> _Slot:
    return _Slot(session=None, number=number, day=day, previous_day=previous_day)  # type: ignore[arg-type]


def test_each_rule_kind_is_due_at_the_sessions_it_names():
    every = {"when": {"every_session": True}}
    listed = {"when": {"sessions": [1, 4]}}
    wai = {"when": {"every_n_sessions": 5, "from": 3}}
    assert [n for n in range(1, 15) if rule_due_at(every, slot(n), has_goals=False)] == list(range(1, 15))
    assert [n for n in range(1, 15) if rule_due_at(listed, slot(n), has_goals=False)] == [1, 4]
    assert [n for n in range(1, 15) if rule_due_at(wai, slot(n), has_goals=False)] == [3, 8, 13]
    gbo = {"when": {"every_session": True}, "requires_goals": True}
    assert not rule_due_at(gbo, slot(1), has_goals=False)
    assert rule_due_at(gbo, slot(1), has_goals=True)


def test_every_n_days_counts_from_the_episode_start_and_survives_a_missed_week():
    fortnightly = {"when": {"every_n_days": 14}}
    # weekly sessions on days 0, 7, 14, 21, (no-show on 28), 35: due on day 0, 14 and 35
    days = [0, 7, 14, 21, 35]
    previous = [None, 0, 7, 14, 21]
    due = [day for day, before in zip(days, previous, strict=True)
           if rule_due_at(fortnightly, slot(1, day, before), has_goals=False)]
    assert due == [0, 14, 35]


@pytest.fixture
def course(north):
    """Weekly sessions from START: 1-4 attended, a no-show, 5-8 attended, the ninth booked.

    Done: ORS and SRS at every attended session, PHQ-9 at 1-4, WAI-SR at 3; GAD-7 never.
    """
    episode = EpisodeOfCare.objects.create(
        clinic=north.clinic, client=north.client, start_date=START, primary_clinician=north.clinician
    )
    sessions = []
    for week in range(10):
        attendance = "did_not_attend" if week == 4 else "booked" if week == 9 else "attended"
        sessions.append(CareSession.objects.create(
            clinic=north.clinic, episode=episode, attendance=attendance,
            scheduled_start=datetime(2026, 1, 5, 10, tzinfo=UTC) + timedelta(weeks=week),
        ))
    sessions_renumber(episode_ids=[episode.pk])
    attended = [session for session in sessions if session.attendance == "attended"]
    registry = get_registry()

    def done(session, questionnaire):
        definition = registry.get(questionnaire)
        Response.objects.create(
            clinic=north.clinic, client=north.client, questionnaire_version=registry.version_row(definition),
            session=session, authored_at=session.scheduled_start, answers={}, status="scored",
        )

    for number, session in enumerate(attended, start=1):
        done(session, "ors")
        done(session, "srs")
        if number <= 4:
            done(session, "phq-9")
        if number == 3:
            done(session, "wai-sr")
    return episode, sessions


def test_the_default_plan_over_a_simulated_course(north, course):
    episode, sessions = course
    booked = sessions[9]
    now = booked.scheduled_start - timedelta(hours=2)
    due = client_due(client=north.client, now=now)
    assert (due["episode"], due["plan"]) == (episode.pk, "default")
    assert due["session"]["id"] == booked.pk and due["session"]["number"] == 9
    # at session 9: ORS, PHQ-9 and GAD-7 open since 24 h before the start; SRS opens at the start; no WAI-SR (3, 8, 13)
    assert {(row["questionnaire"], row["status"]) for row in due["due"]} == {
        ("ors", "open"), ("srs", "upcoming"), ("phq-9", "open"), ("gad-7", "open")
    }
    # attended 1-8: 4 measures each plus WAI-SR at 3 and 8 = 34 expected; 16 + 4 + 1 = 21 done
    assert due["completion"] == {"expected": 34, "completed": 21, "rate": round(21 / 34, 4)}
    missed = {(row["session"], row["questionnaire"]) for row in due["missed"]}
    assert missed == ({(n, "phq-9") for n in range(5, 9)} | {(n, "gad-7") for n in range(1, 9)} | {(8, "wai-sr")})


def test_gbo_is_due_once_goals_exist(north, course):
    _, sessions = course
    now = sessions[9].scheduled_start - timedelta(hours=2)
    assert "gbo" not in {row["questionnaire"] for row in client_due(client=north.client, now=now)["due"]}
    Goal.objects.create(clinic=north.clinic, client=north.client, text="sleep through the night")
    assert "gbo" in {row["questionnaire"] for row in client_due(client=north.client, now=now)["due"]}


def test_the_due_list_over_rest_for_staff_and_for_the_clients_own_app(north, south):
    api = north.api()
    episode = api.post("/api/v1/clients/north-client-1/episodes/", {}, format="json").json()
    start = (datetime.now(UTC) - timedelta(minutes=10)).isoformat()
    session = api.post(f"/api/v1/episodes/{episode['id']}/sessions/", {"scheduled_start": start}, format="json").json()
    due = api.get("/api/v1/clients/north-client-1/due/").json()
    assert due["session"]["id"] == session["id"]
    assert {row["questionnaire"]: row["status"] for row in due["due"]}["ors"] == "open"
    # the client's app submits the ORS; it is linked to the session and counts as done
    ors = {"questionnaire": "ors", "authored": datetime.now(UTC).isoformat(),
           "answers": {str(n): 5.0 for n in range(1, 5)}}
    app = client_token_api(north.client)
    assert app.post("/api/v1/responses/", ors, format="json").status_code == 201
    mine = app.get("/api/v1/me/due/").json()
    assert {row["questionnaire"]: row["status"] for row in mine["due"]}["ors"] == "done"
    assert app.get("/api/v1/clients/north-client-1/due/").status_code == 403
    assert staff_api(north.clinician).get("/api/v1/me/due/").status_code == 403
    assert south.api().get("/api/v1/clients/north-client-1/due/").status_code == 404


def test_plans_are_data_a_clinic_and_an_episode_can_set(north, south):
    api = north.api()
    assert api.get("/api/v1/measurement-plan/").json()["source"] == "default"
    refused = api.put("/api/v1/measurement-plan/", {"rules": [
        {"questionnaire": "nope", "when": {"every_session": True}},
        {"questionnaire": "ors", "when": {"every_session": True, "sessions": [1]}, "position": "middle"},
    ]}, format="json")
    assert refused.status_code == 400
    assert {error["field"] for error in refused.json()["errors"]} == {
        "rules.0.questionnaire", "rules.1.when", "rules.1.position"
    }
    clinic_rules = [{"questionnaire": "core-10", "when": {"every_n_sessions": 4, "from": 1}}]
    saved = api.put("/api/v1/measurement-plan/", {"rules": clinic_rules}, format="json").json()
    assert saved["rules"][0]["open_hours"] == 24 and saved["source"] == "clinic"
    assert staff_api(north.clinician).put("/api/v1/measurement-plan/", {"rules": []}, format="json").status_code == 403
    episode = api.post("/api/v1/clients/north-client-1/episodes/", {}, format="json").json()
    plan_url = f"/api/v1/episodes/{episode['id']}/measurement-plan/"
    assert api.get(plan_url).json()["source"] == "clinic"
    api.put(plan_url, {"rules": [{"questionnaire": "srs", "when": {"sessions": [2, 1]}}]}, format="json")
    assert api.get(plan_url).json()["rules"][0]["when"] == {"sessions": [1, 2]}
    assert api.delete(plan_url).status_code == 204
    assert api.get(plan_url).json()["source"] == "clinic"
    # and the other clinic sees neither
    assert south.api().get("/api/v1/measurement-plan/").json()["source"] == "default"
    assert south.api().get(plan_url).status_code == 404
