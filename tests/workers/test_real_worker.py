"""The promises of SPEC §7 against real Redis, real PostgreSQL and a real `celery worker` process.

Each test commits its data (the worker reads over its own connection) and waits on database
state with a generous deadline; none asserts on speed.
"""

from __future__ import annotations

import tempfile
import textwrap
from collections import Counter
from pathlib import Path

import psycopg
import pytest
from django.db import connection
from django.db.models import Count

from questionnaires.models import Alert, MetricRollup, Response, Score, ScoringFailure
from questionnaires.services.publishing import broker_backoff_reset
from questionnaires.services.scoring import scoring_enqueue
from questionnaires.tasks.scoring import score_batch, sweep
from tests.workers.helpers import BASE, srs, srs_total, submit
from tests.workers.worker_tools import redis_start, redis_stop, restart_worker, wait_until

pytestmark = pytest.mark.services


def batch_submit(persona, count: int, *, offset: int = 0) -> list[str]:
    """One batch call, so the worker gets one task with every response in it."""
    entries = [
        {
            "questionnaire": "srs",
            "client": persona.client.external_id,
            "authored": BASE.replace(hour=10, minute=(offset + index) % 60).isoformat(),
            "answers": srs_total(30 + (offset + index) % 10),
        }
        for index in range(count)
    ]
    answer = persona.api().post("/api/v1/responses/batch/", {"responses": entries}, format="json")
    assert answer.status_code == 200, answer.content
    body = answer.json()
    assert body["created"] == count, body
    return [result["id"] for result in body["results"]]


def all_scored(ids) -> bool:
    return Response.objects.filter(id__in=ids, status=Response.Status.SCORED).count() == len(ids)


def assert_exactly_once(ids) -> None:
    """One score, flagged as in the rollups, alerts unique, and the rollups counting each response once."""
    per_response = Counter(Score.objects.filter(response_id__in=ids).values_list("response_id", flat=True))
    assert len(per_response) == len(ids)
    assert set(per_response.values()) == {1}
    assert Score.objects.filter(response_id__in=ids, in_rollups=True).count() == len(ids)
    doubled = (
        Alert.objects.filter(response_id__in=ids).values("response_id", "kind").annotate(n=Count("id")).filter(n__gt=1)
    )
    assert not doubled.exists()


def rollup_n(clinic) -> int:
    return sum(
        MetricRollup.objects.filter(clinic=clinic, scope="clinic", period="month").values_list("n", flat=True)
    )


def test_a_submitted_response_is_scored_through_redis_by_a_worker(celery_worker_process, north):
    body = submit(north, "srs", srs(8.0, 9.0, 9.0, 9.0))
    assert body["status"] == "pending"

    wait_until(lambda: all_scored([body["id"]]), what="the response to be scored")
    wait_until(lambda: rollup_n(north.clinic) == 1, what="the rollup")

    detail = north.api().get(f"/api/v1/responses/{body['id']}/").json()
    assert detail["status"] == "scored"
    assert detail["score"]["total"] == 35
    assert sorted(Alert.objects.filter(response_id=body["id"]).values_list("kind", flat=True)) == [
        "low_alliance", "low_item",
    ]
    assert_exactly_once([body["id"]])


def _blocker_connection() -> psycopg.Connection:
    params = connection.settings_dict
    return psycopg.connect(
        host=params.get("HOST") or "127.0.0.1",
        port=params.get("PORT") or 5432,
        user=params.get("USER") or "postgres",
        password=params.get("PASSWORD") or None,
        dbname=params["NAME"],
    )


def _worker_waits_on_a_lock() -> bool:
    """Read on this process's own autocommit connection: activity statistics are frozen inside a transaction."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND wait_event_type = 'Lock' AND query ILIKE %s",
            ["%INSERT INTO \"questionnaires_score\"%"],
        )
        row = cursor.fetchone()
    return bool(row and row[0])


def test_a_worker_killed_mid_batch_leaves_every_response_with_exactly_one_score(celery_worker_process, north):
    from alliance_api.celery import app

    celery_worker_process.kill()
    ids = batch_submit(north, 60)
    app.control.purge()  # the batch is sent again below, once the worker is up and answering pings
    # Hold an uncommitted score of one response in the batch: the worker's insert of the batch's
    # scores then waits on it, so the kill lands with the batch claimed, scored and not committed.
    blocker = _blocker_connection()
    try:
        blocker.execute(
            "INSERT INTO questionnaires_score (response_id, plugin_version, total, subscales, extras, flags, "
            "computed_at) VALUES (%s, '1.0.0', 0, '{}', '{}', '[]', now())",
            [ids[30]],
        )
        celery_worker_process.start()
        score_batch.delay(ids)
        wait_until(_worker_waits_on_a_lock, what="the worker to block mid-batch")
        celery_worker_process.kill()
    finally:
        blocker.rollback()
        blocker.close()
    assert Response.objects.filter(id__in=ids, status=Response.Status.SCORED).count() == 0

    celery_worker_process.start()

    def swept_and_scored() -> bool:
        if all_scored(ids):
            return True
        # The killed worker's message waits for the visibility timeout; the sweep re-enqueues now.
        sweep.delay(pending_after_seconds=0)
        return False

    wait_until(swept_and_scored, interval=2, what="every response to be scored after the restart")
    wait_until(lambda: rollup_n(north.clinic) == len(ids), what="the rollups to count every response")
    assert_exactly_once(ids)


def test_with_redis_down_submissions_succeed_and_are_scored_after_it_returns(celery_worker_process, north):
    broker_backoff_reset()
    before = submit(north, "srs", srs(9.0, 9.0, 9.0, 9.0))
    wait_until(lambda: all_scored([before["id"]]), what="the response before the outage")
    ids = []
    try:
        redis_stop()
        # Through the public API: its throttle and last-used marks use the Redis cache too,
        # and an outage must not fail a submission.
        for index in range(5):
            ids.append(submit(north, "srs", srs_total(31 + index), days=2 + index)["id"])
    finally:
        redis_start()  # always, and quickly: other suites share this Redis
    broker_backoff_reset()
    assert Response.objects.filter(id__in=ids, status=Response.Status.PENDING).count() == 5

    def swept_and_scored() -> bool:
        if all_scored(ids):
            return True
        try:
            sweep.delay(pending_after_seconds=0)
        except Exception:  # the worker and this process reconnect on their own; try again next round
            broker_backoff_reset()
        return False

    wait_until(swept_and_scored, interval=2, timeout=120, what="the sweep to score what was submitted offline")
    wait_until(lambda: rollup_n(north.clinic) == 6, what="the rollups")
    assert_exactly_once([before["id"], *ids])


RAISING_ENTRY_POINTS = """
[alliance_api.questionnaires]
test-raising = tests.workers.raising_plugin
"""


def test_a_plugin_that_raises_fails_its_own_responses_with_the_reason_and_the_rest_are_scored(
    celery_worker_process, north
):
    from questionnaires.registry import get_registry
    from tests.workers.raising_plugin import QUESTIONNAIRES

    # Install the plugin for the worker the way pip would: a distribution with an entry point.
    site = Path(tempfile.mkdtemp(prefix="alliance-plugin-"))
    dist = site / "alliance_test_raising-1.0.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: alliance-test-raising\nVersion: 1.0.0\n")
    (dist / "entry_points.txt").write_text(textwrap.dedent(RAISING_ENTRY_POINTS))
    restart_worker(celery_worker_process, PYTHONPATH=str(site))

    version = get_registry().version_row(QUESTIONNAIRES[0])
    good, bad = [], []
    for index in range(6):
        answers = {"1": 3 if index % 3 == 0 else 1, "2": 2}
        row = Response.objects.create(
            clinic=north.clinic, client=north.client, questionnaire_version=version,
            authored_at=BASE, answers=answers,
        )
        (bad if answers["1"] == 3 else good).append(row.id)
    srs_id = submit(north, "srs", srs(9.5, 9.5, 9.5, 9.5))["id"]
    scoring_enqueue(response_ids=[*good, *bad])  # outside a transaction: published at once

    everything = [*good, *bad, srs_id]
    wait_until(
        lambda: Response.objects.filter(id__in=everything, status=Response.Status.PENDING).count() == 0,
        what="the batch to be processed",
    )
    assert all_scored([*good, srs_id])
    for row in Response.objects.filter(id__in=bad):
        assert row.status == Response.Status.FAILED
        assert "test-raising 1.0.0" in row.failure_reason
        assert "RuntimeError: boom" in row.failure_reason
    assert ScoringFailure.objects.filter(response_id__in=bad, plugin_version="1.0.0").count() == len(bad)
    assert not Score.objects.filter(response_id__in=bad).exists()


def test_a_receiver_failing_twice_gets_one_successful_signed_delivery_from_the_worker(
    celery_worker_process, north, settings
):
    from questionnaires.models import WebhookDelivery
    from tests.workers.receiver import Receiver

    settings.WEBHOOK_ALLOWED_HOSTS = ["127.0.0.1"]
    restart_worker(celery_worker_process, WEBHOOK_ALLOWED_HOSTS="127.0.0.1", WEBHOOK_RETRY_BASE_SECONDS="1")
    with Receiver(fail_first=2) as receiver:
        created = north.api().post(
            "/api/v1/webhooks/", {"url": receiver.url, "events": ["response.scored"]}, format="json"
        ).json()
        receiver.secret = created["secret"]
        body = submit(north, "srs", srs(9.0, 9.0, 9.0, 9.0))
        wait_until(
            lambda: WebhookDelivery.objects.filter(status=WebhookDelivery.Status.DELIVERED).exists(),
            what="the delivery to succeed",
        )
    delivery = WebhookDelivery.objects.get()
    assert (delivery.attempts, delivery.response_code, delivery.event_id) == (3, 200, f"response.scored:{body['id']}")
    assert [call["status"] for call in receiver.calls] == [500, 500, 200]
    assert all(call["valid"] for call in receiver.calls)
