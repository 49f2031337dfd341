"""Scoring queue tasks: thin wrappers over services.scoring and services.sweep."""

from celery import shared_task

from questionnaires.services.scoring import ENQUEUE_CHUNK, responses_score
from questionnaires.services.sweep import responses_sweep


@shared_task(name="questionnaires.score_batch", acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def score_batch(response_ids: list[str], include_failed: bool = False) -> dict[str, int]:
    # Coalescing pays off only when tasks queue up; an eager (in-process) run scores exactly its ids.
    coalesce = 0 if score_batch.app.conf.task_always_eager else ENQUEUE_CHUNK
    outcome = responses_score(response_ids=response_ids, include_failed=include_failed, coalesce=coalesce)
    return {"scored": len(outcome.scored), "failed": len(outcome.failed), "alerts": outcome.alerts}


@shared_task(name="questionnaires.sweep", acks_late=True, ignore_result=True)
def sweep(pending_after_seconds: float | None = None) -> dict[str, int]:
    outcome = responses_sweep(pending_after_seconds=pending_after_seconds)
    return outcome.__dict__
