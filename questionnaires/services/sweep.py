"""The periodic sweep: re-publish whatever the broker lost, reading the truth from the database rows.

Run by celery beat (a django-celery-beat schedule admins can edit). Everything it publishes
is idempotent, so publishing work that is in fact still queued only costs a no-op task.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from questionnaires.models import Response, WebhookDelivery
from questionnaires.registry import get_registry
from questionnaires.selectors.metrics import counted_scores
from questionnaires.services.publishing import METRICS_ROLLUP, SCORE_BATCH, WEBHOOK_DELIVER, publish
from questionnaires.services.scoring import ENQUEUE_CHUNK, NOT_LOADED, plugin_fingerprint

logger = logging.getLogger(__name__)

SWEEP_LIMIT = 50_000
"""At most this many rows of each kind per run; the next run takes the rest."""


@dataclass
class SweepOutcome:
    pending: int = 0
    failed_retried: int = 0
    rollups: int = 0
    deliveries: int = 0


def responses_sweep(*, pending_after_seconds: float | None = None) -> SweepOutcome:
    """Re-enqueue stale pending responses, failed ones whose plugin changed, lost rollups and deliveries."""
    threshold = settings.SCORING_SWEEP_PENDING_AFTER_SECONDS if pending_after_seconds is None else pending_after_seconds
    now = timezone.now()
    stale = now - timedelta(seconds=threshold)
    outcome = SweepOutcome()

    pending = [
        str(response_id)
        for response_id in Response.objects.filter(status=Response.Status.PENDING, received_at__lte=stale)
        .order_by("received_at")
        .values_list("id", flat=True)[:SWEEP_LIMIT]
    ]
    outcome.pending = len(pending)
    _publish_in_chunks(SCORE_BATCH, pending, kwargs={}, what="stale pending responses")

    retry = failed_to_retry()
    outcome.failed_retried = len(retry)
    _publish_in_chunks(SCORE_BATCH, retry, kwargs={"include_failed": True}, what="failed responses to retry")

    lookback = now - timedelta(days=settings.SCORING_SWEEP_LOOKBACK_DAYS)
    uncounted = [
        str(response_id)
        for response_id in counted_scores()
        .filter(in_rollups=False, response__received_at__gte=lookback, response__received_at__lte=stale)
        .values_list("response_id", flat=True)[:SWEEP_LIMIT]
    ]
    outcome.rollups = len(uncounted)
    _publish_in_chunks(METRICS_ROLLUP, uncounted, kwargs={}, what="responses missing from the rollups")

    due = WebhookDelivery.objects.filter(status=WebhookDelivery.Status.PENDING).filter(
        Q(next_attempt_at__isnull=True, created_at__lte=stale) | Q(next_attempt_at__lte=stale)
    )
    delivery_ids = list(due.values_list("id", flat=True)[:SWEEP_LIMIT])
    outcome.deliveries = len(delivery_ids)
    for delivery_id in delivery_ids:
        if not publish(WEBHOOK_DELIVER, args=[delivery_id], what=f"webhook delivery {delivery_id}"):
            break
    if any((outcome.pending, outcome.failed_retried, outcome.rollups, outcome.deliveries)):
        logger.info("sweep re-enqueued %s", outcome)
    return outcome


def failed_to_retry() -> list[str]:
    """Failed responses whose plugin (version, content or code) is not the one they failed with."""
    registry = get_registry()
    current: dict[tuple[str, str], str] = {}
    retry = []
    rows = (
        Response.objects.filter(status=Response.Status.FAILED)
        .values_list(
            "id",
            "questionnaire_version__questionnaire_id",
            "questionnaire_version__version",
            "scoring_failure__plugin_fingerprint",
        )[:SWEEP_LIMIT]
    )
    for response_id, questionnaire_id, version, recorded in rows:
        key = (questionnaire_id, version)
        if key not in current:
            definition = registry.get(questionnaire_id, version)
            current[key] = plugin_fingerprint(definition) if definition is not None else NOT_LOADED
        if recorded != current[key]:
            retry.append(str(response_id))
    return retry


def _publish_in_chunks(task_name: str, ids: list[str], *, kwargs: dict, what: str) -> None:
    for start in range(0, len(ids), ENQUEUE_CHUNK):
        if not publish(task_name, args=[ids[start : start + ENQUEUE_CHUNK]], kwargs=kwargs, what=what):
            return


__all__ = ["SweepOutcome", "failed_to_retry", "responses_sweep"]
