"""Aggregation queue tasks: adding scored responses to the clinic-wide metric rollups."""

from celery import shared_task

from questionnaires.services.metrics import metrics_rollup as rollup


@shared_task(name="questionnaires.metrics_rollup", acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def metrics_rollup(response_ids: list[str]) -> int:
    return rollup(response_ids=response_ids)
