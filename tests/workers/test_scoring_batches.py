"""Batch scoring in-process: a raising plugin fails only its own responses, and the sweep picks up what was left."""

from __future__ import annotations

import dataclasses
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

import plugins
from questionnaires.contract import Score
from questionnaires.models import Response, ScoringFailure
from questionnaires.registry import get_registry, load_registry, set_registry
from questionnaires.services.scoring import NOT_LOADED, responses_score
from questionnaires.services.sweep import failed_to_retry, responses_sweep
from tests.workers.helpers import BASE, srs

pytestmark = pytest.mark.django_db


@pytest.fixture
def with_raising_plugin():
    registry = load_registry(builtin_modules=[*plugins.BUILTIN_PLUGINS, "tests.workers.raising_plugin"],
                             entry_points=[])
    previous = set_registry(registry)
    yield registry
    set_registry(previous)


def _pending(persona, definition, answers) -> Response:
    return Response.objects.create(
        clinic=persona.clinic, client=persona.client, questionnaire_version=get_registry().version_row(definition),
        authored_at=BASE, answers=answers,
    )


def test_a_raising_plugin_fails_its_responses_with_the_reason_and_the_batch_goes_on(north, with_raising_plugin):
    definition = with_raising_plugin.get("test-raising", "1.0.0")
    bad = _pending(north, definition, {"1": 3, "2": 0})
    good = _pending(north, definition, {"1": 1, "2": 2})
    srs_row = _pending(north, with_raising_plugin.get("srs"), srs(9.0, 9.0, 9.0, 9.0))

    outcome = responses_score(response_ids=[bad.id, good.id, srs_row.id])

    assert sorted(map(str, outcome.scored)) == sorted([str(good.id), str(srs_row.id)])
    bad.refresh_from_db()
    assert bad.status == "failed"
    assert bad.failure_reason == "test-raising 1.0.0: plugin raised RuntimeError: boom: the plugin cannot handle a 3"
    assert good.scores.get().total == Decimal(3)
    assert ScoringFailure.objects.get(response=bad).plugin_version == "1.0.0"


def test_a_result_outside_the_declared_range_is_a_failure_not_a_score(north, with_raising_plugin):
    definition = with_raising_plugin.get("test-raising", "1.0.0")
    broken = dataclasses.replace(definition, score=lambda definition, answers: Score(total=Decimal(99)))
    set_registry(dataclasses.replace(with_raising_plugin, definitions={**with_raising_plugin.definitions,
                                                                        definition.key: broken}))
    row = _pending(north, definition, {"1": 1, "2": 1})
    assert responses_score(response_ids=[row.id]).failed
    row.refresh_from_db()
    assert row.status == "failed" and "total 99 outside 0..6" in row.failure_reason


def test_the_sweep_retries_a_failed_response_only_once_its_plugin_changed(north, with_raising_plugin):
    definition = with_raising_plugin.get("test-raising", "1.0.0")
    row = _pending(north, definition, {"1": 3, "2": 1})
    responses_score(response_ids=[row.id])
    assert failed_to_retry() == []  # same plugin, same code: retrying would only fail again

    def fixed_score(definition, answers):
        return Score(total=Decimal(int(answers["1"]) + int(answers["2"])))

    fixed = dataclasses.replace(definition, score=fixed_score)
    set_registry(dataclasses.replace(with_raising_plugin, definitions={**with_raising_plugin.definitions,
                                                                        definition.key: fixed}))
    assert failed_to_retry() == [str(row.id)]
    responses_sweep(pending_after_seconds=0)  # eager: the retry runs in-process
    row.refresh_from_db()
    assert row.status == "scored" and row.scores.get().total == Decimal(4)
    assert not ScoringFailure.objects.filter(response=row).exists()


def test_a_response_whose_plugin_is_not_loaded_fails_and_is_retried_when_it_loads(north, with_raising_plugin):
    definition = with_raising_plugin.get("test-raising", "1.0.0")
    row = _pending(north, definition, {"1": 1, "2": 1})
    without = load_registry(builtin_modules=plugins.BUILTIN_PLUGINS, entry_points=[])
    set_registry(without)
    responses_score(response_ids=[row.id])
    row.refresh_from_db()
    assert row.status == "failed" and "plugin not loaded" in row.failure_reason
    assert ScoringFailure.objects.get(response=row).plugin_fingerprint == NOT_LOADED
    assert failed_to_retry() == []
    set_registry(with_raising_plugin)
    assert failed_to_retry() == [str(row.id)]


def test_the_sweep_scores_responses_left_pending_longer_than_the_threshold(north):
    fresh = _pending(north, get_registry().get("srs"), srs(9.0, 9.0, 9.0, 9.0))
    stale = _pending(north, get_registry().get("srs"), srs(8.0, 8.0, 8.0, 8.0))
    Response.objects.filter(id=stale.id).update(received_at=timezone.now() - timedelta(minutes=5))
    outcome = responses_sweep(pending_after_seconds=60)
    assert outcome.pending == 1
    assert Response.objects.get(id=stale.id).status == "scored"
    assert Response.objects.get(id=fresh.id).status == "pending"


def test_scoring_a_batch_twice_writes_one_score_each(north):
    rows = [_pending(north, get_registry().get("srs"), srs(9.0, 9.0, 9.0, 9.0)) for _ in range(3)]
    ids = [row.id for row in rows]
    assert len(responses_score(response_ids=ids).scored) == 3
    assert responses_score(response_ids=ids).scored == []
    assert all(row.scores.count() == 1 for row in rows)


def test_the_sweep_is_a_periodic_task_admins_can_edit():
    import importlib

    from django.apps import apps
    from django_celery_beat.models import PeriodicTask

    migration = importlib.import_module("questionnaires.migrations.0002_workers")
    PeriodicTask.objects.filter(name="questionnaires.sweep").delete()
    migration.create_sweep_schedule(apps, None)
    task = PeriodicTask.objects.get(name="questionnaires.sweep")
    assert (task.task, task.interval.every, task.interval.period, task.enabled) == (
        "questionnaires.sweep", 30, "seconds", True,
    )


def test_a_broker_outage_is_logged_once_not_once_per_publish(caplog):
    from questionnaires.services.publishing import broker_backoff_reset, publish

    class UnreachableBroker:
        name = "probe"
        calls = 0

        def apply_async(self, **options):
            self.calls += 1
            raise OSError("connection refused")

    task = UnreachableBroker()
    broker_backoff_reset()
    try:
        with caplog.at_level("DEBUG", logger="questionnaires.services.publishing"):
            results = [publish(task, args=[number], what=f"batch {number}") for number in range(5)]
    finally:
        broker_backoff_reset()
    assert results == [False] * 5
    assert task.calls == 1  # the back-off skips the broker after the first failure
    warnings = [record for record in caplog.records if record.levelname == "WARNING"]
    assert [record.getMessage() for record in warnings] == [
        "broker unavailable (connection refused); batch 0 left for the sweep"
    ]
    assert sum("broker marked down" in record.getMessage() for record in caplog.records) == 4
