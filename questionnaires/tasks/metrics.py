"""Aggregation queue tasks: adding scored responses to the clinic-wide metric rollups."""

from celery import shared_task

from questionnaires.services.metrics import metrics_rollup as rollup
from questionnaires.services.outcome_rollups import outcomes_recompute, outcomes_refresh


@shared_task(name="questionnaires.metrics_rollup", acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def metrics_rollup(response_ids: list[str]) -> int:
    return rollup(response_ids=response_ids)


@shared_task(
    name="questionnaires.metrics_outcomes_refresh", acks_late=True, reject_on_worker_lost=True, ignore_result=True
)
def metrics_outcomes_refresh(episode_ids: list[int] | None = None, response_ids: list[str] | None = None) -> int:
    return outcomes_refresh(episode_ids=episode_ids or [], response_ids=response_ids or [])


@shared_task(name="questionnaires.metrics_outcomes_recompute", acks_late=True, ignore_result=True)
def metrics_outcomes_recompute() -> int:
    """A full rebuild, for celery beat (e.g. nightly) to repair whatever a lost refresh left behind."""
    return outcomes_recompute()
