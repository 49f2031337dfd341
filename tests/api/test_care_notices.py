"""The periodic care task: `measure.due` / `measure.missed` webhook events and the `disengaged` alert, each once.

Windows (services.plans): a `session_start` measure opens `open_hours` (24) before the session and
closes at its end (start + 50 min); a `session_end` measure opens at the start and closes 24 h after
the end. Default plan at session 1: ORS, PHQ-9, GAD-7 (start), SRS (end); WAI-SR only from session 3.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from django_celery_beat.models import PeriodicTask

from questionnaires.models import Alert, CareSession, ClinicCareSettings, EpisodeOfCare, Response, WebhookDelivery
from questionnaires.registry import get_registry
from questionnaires.services.care import sessions_renumber
from questionnaires.services.care_notices import care_notices_emit
from questionnaires.services.webhooks import webhook_subscription_create
from questionnaires.tasks.webhooks import care_notices

pytestmark = pytest.mark.django_db

START = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def example_hooks_allowed(settings):
    settings.WEBHOOK_ALLOWED_HOSTS = [".example.org"]


@pytest.fixture
def subscribed(north):
    return webhook_subscription_create(
        clinic_id=north.clinic.pk, url="https://hooks.example.org/alliance",
        events=["measure.due", "measure.missed", "alert.raised"],
    ).subscription


def _episode(north, start_date=date(2026, 2, 23)) -> EpisodeOfCare:
    return EpisodeOfCare.objects.create(clinic=north.clinic, client=north.client, start_date=start_date,
                                        primary_clinician=north.clinician)


def _session(episode, when, attendance="booked") -> CareSession:
    session = CareSession.objects.create(clinic=episode.clinic, episode=episode, scheduled_start=when,
                                         attendance=attendance)
    sessions_renumber(episode_ids=[episode.pk])
    session.refresh_from_db()
    return session


def _events(kind: str) -> set[tuple]:
    return {(row.payload["data"]["questionnaire"], row.payload["data"]["session_id"])
            for row in WebhookDelivery.objects.filter(event=kind)}


def test_measures_become_due_once_and_missed_once(north, subscribed):
    session = _session(_episode(north), START)
    outcome = care_notices_emit(now=START - timedelta(hours=2))
    assert (outcome.due, outcome.missed) == (3, 0)
    assert _events("measure.due") == {("ors", session.pk), ("phq-9", session.pk), ("gad-7", session.pk)}
    delivery = WebhookDelivery.objects.filter(event="measure.due").first()
    data = delivery.payload["data"]
    assert set(data) == {"client", "episode", "session_id", "session", "questionnaire", "rater", "position", "opens",
                         "closes"}
    assert data["client"] == "north-client-1" and data["session"] == 1
    assert delivery.event_id == f"measure.due:{session.pk}:{data['questionnaire']}:client"
    # The next run emits nothing again.
    assert care_notices_emit(now=START - timedelta(hours=1)).__dict__ == {"due": 0, "missed": 0, "disengaged": 0}

    # The session happens; the ORS is done. An hour after its end: the SRS is due (open until end + 24 h);
    # PHQ-9 and GAD-7 closed unanswered at the end: missed.
    CareSession.objects.filter(pk=session.pk).update(attendance="attended")
    registry = get_registry()
    Response.objects.create(clinic=north.clinic, client=north.client, session=session, authored_at=START,
                            questionnaire_version=registry.version_row(registry.get("ors")), answers={},
                            status="scored")
    outcome = care_notices_emit(now=START + timedelta(minutes=110))
    assert (outcome.due, outcome.missed) == (1, 2)
    assert ("srs", session.pk) in _events("measure.due")
    assert _events("measure.missed") == {("phq-9", session.pk), ("gad-7", session.pk)}
    assert care_notices_emit(now=START + timedelta(minutes=120)).__dict__ == {"due": 0, "missed": 0, "disengaged": 0}
    assert WebhookDelivery.objects.filter(event__startswith="measure.").count() == 6


def test_a_session_whose_attendance_is_not_recorded_misses_nothing(north, subscribed):
    _session(_episode(north), START)
    outcome = care_notices_emit(now=START + timedelta(hours=3))  # still "booked": no attendance recorded yet
    assert outcome.missed == 0


def test_without_a_subscriber_nothing_is_sent_and_the_events_are_still_recorded_once(north):
    _session(_episode(north), START)
    assert care_notices_emit(now=START - timedelta(hours=2)).due == 3
    assert not WebhookDelivery.objects.exists()
    assert care_notices_emit(now=START - timedelta(hours=2)).due == 0


def test_an_episode_without_an_attended_session_for_four_weeks_raises_one_disengaged_alert(north, subscribed):
    episode = _episode(north, start_date=date(2026, 1, 5))
    last = _session(episode, datetime(2026, 1, 26, 10, tzinfo=UTC), attendance="attended")
    _session(episode, datetime(2026, 2, 2, 10, tzinfo=UTC), attendance="did_not_attend")
    # 4 weeks after 26 January is 23 February: not yet on the 22nd, raised on the 24th, once.
    assert care_notices_emit(now=datetime(2026, 2, 22, 12, tzinfo=UTC)).disengaged == 0
    assert care_notices_emit(now=datetime(2026, 2, 24, 12, tzinfo=UTC)).disengaged == 1
    assert care_notices_emit(now=datetime(2026, 3, 24, 12, tzinfo=UTC)).disengaged == 0
    alert = Alert.objects.get(kind="disengaged")
    assert alert.client == north.client and alert.category == "alert" and alert.response is None
    assert alert.details == {"episode": episode.pk, "last_attended_session": last.pk, "weeks": 4}
    assert WebhookDelivery.objects.filter(event="alert.raised", payload__data__kind="disengaged").count() == 1
    listed = [row for row in north.api().get("/api/v1/alerts/").json()["results"] if row["kind"] == "disengaged"]
    assert len(listed) == 1 and listed[0]["questionnaire"] is None and listed[0]["response"] is None
    # Attending again and then staying away again is a new gap: a new alert.
    _session(episode, datetime(2026, 3, 2, 10, tzinfo=UTC), attendance="attended")
    assert care_notices_emit(now=datetime(2026, 3, 20, 12, tzinfo=UTC)).disengaged == 0
    assert care_notices_emit(now=datetime(2026, 4, 1, 12, tzinfo=UTC)).disengaged == 1


def test_the_clinic_setting_a_planned_ending_and_a_fresh_start_hold_the_alert_back(north, south):
    ClinicCareSettings.objects.create(clinic=north.clinic, disengaged_after_weeks=8)
    episode = _episode(north, start_date=date(2026, 1, 5))
    _session(episode, datetime(2026, 1, 5, 10, tzinfo=UTC), attendance="attended")
    assert care_notices_emit(now=datetime(2026, 2, 24, 12, tzinfo=UTC)).disengaged == 0  # 7 weeks < 8
    EpisodeOfCare.objects.filter(pk=episode.pk).update(status="finished", end_reason="completed",
                                                       end_date=date(2026, 2, 1))
    assert care_notices_emit(now=datetime(2026, 6, 1, 12, tzinfo=UTC)).disengaged == 0
    # An episode with no session at all counts from its start (south: the 4-week default).
    EpisodeOfCare.objects.create(clinic=south.clinic, client=south.client, start_date=date(2026, 5, 1))
    assert care_notices_emit(now=datetime(2026, 5, 20, 12, tzinfo=UTC)).disengaged == 0
    assert care_notices_emit(now=datetime(2026, 6, 1, 12, tzinfo=UTC)).disengaged == 1
    assert Alert.objects.get(kind="disengaged").details["last_attended_session"] is None


def test_the_beat_runs_the_task_every_five_minutes_and_the_events_can_be_subscribed(north):
    task = PeriodicTask.objects.get(name="questionnaires.care_notices")
    assert task.task == "questionnaires.webhook_care_notices" and task.interval.every == 5
    assert care_notices.delay().get() == {"due": 0, "missed": 0, "disengaged": 0}
    created = north.api().post("/api/v1/webhooks/", {"url": "https://hooks.example.org/x",
                                                     "events": ["measure.due", "measure.missed"]}, format="json")
    assert created.status_code == 201, created.content
