"""Scoring queue tasks: thin wrappers over services.scoring."""

from celery import shared_task

from questionnaires.services.scoring import responses_score


@shared_task(name="questionnaires.score_batch", acks_late=True, reject_on_worker_lost=True)
def score_batch(response_ids: list[str]) -> dict[str, int]:
    outcome = responses_score(response_ids=response_ids)
    return {"scored": len(outcome.scored), "failed": len(outcome.failed)}
