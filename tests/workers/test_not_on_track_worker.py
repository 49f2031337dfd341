"""Not on track through real Redis, PostgreSQL and a `celery worker` process: the scheduled refit runs as a task
on the aggregation queue, and a submission over REST that falls below the curve raises `not_on_track`."""

from __future__ import annotations

import math
from datetime import timedelta

import pytest

from alliance_api.celery import app
from questionnaires.change_curves import lower_limit
from questionnaires.models import Alert, CareSession, EpisodeOfCare, ExpectedChangeCurve, Response
from questionnaires.registry import get_registry
from tests.expected_change_data import START, finished_episodes, phq9_answers
from tests.workers.worker_tools import wait_until

pytestmark = pytest.mark.services


def test_the_refit_runs_on_a_worker_and_a_rest_submission_below_the_curve_is_flagged(celery_worker_process, north):
    finished_episodes(
        clinic=north.clinic, definition=get_registry().get("phq-9"), count=30, intake_total=20, intake_band="severe",
        intercept=1.0, slope=4.0, noise_sd=1.5, seed=16, prefix="worker",
    )
    app.tasks["questionnaires.metrics_expected_change_refresh"].delay([north.clinic.id])
    wait_until(lambda: ExpectedChangeCurve.objects.filter(clinic=north.clinic).exists(), what="the curve to be fitted")
    curve = ExpectedChangeCurve.objects.get(clinic=north.clinic, questionnaire_id="phq-9", band="severe")
    assert curve.n_episodes == 30

    episode = EpisodeOfCare.objects.create(clinic=north.clinic, client=north.client, start_date=START.date())
    sessions = [
        CareSession.objects.create(clinic=north.clinic, episode=episode, attendance="attended", number=number,
                                   scheduled_start=START + timedelta(weeks=number - 1))
        for number in (1, 2)
    ]
    off = math.floor(20 - lower_limit(curve.intercept, curve.slope, curve.tolerance, 2)) + 1
    ids = []
    for session, total in zip(sessions, (20, off), strict=True):
        body = {
            "questionnaire": "phq-9", "client": north.client.external_id, "session_id": session.id,
            "authored": session.scheduled_start.isoformat(), "answers": phq9_answers(total),
        }
        answer = north.api().post("/api/v1/responses/", body, format="json")
        assert answer.status_code == 201, answer.content
        ids.append(answer.json()["id"])
        wait_until(lambda id=ids[-1]: Response.objects.filter(id=id, status="scored").exists(), what="scoring")

    alerts = list(Alert.objects.filter(kind="not_on_track"))
    assert [str(alert.response_id) for alert in alerts] == [ids[1]]
    assert alerts[0].details["session"] == 2
    assert alerts[0].details["curve"]["n_episodes"] == 30
