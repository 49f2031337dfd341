"""Webhook queue tasks: one attempt per run, the next one scheduled with back-off."""

from celery import shared_task

from questionnaires.services.care_notices import care_notices_emit
from questionnaires.services.publishing import publish
from questionnaires.services.webhooks import webhook_deliver as deliver


@shared_task(name="questionnaires.webhook_deliver", acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def webhook_deliver(delivery_id: int) -> str:
    result = deliver(delivery_id=delivery_id)
    if result.retry_in is not None:
        # If this publish is lost, the sweep finds the delivery overdue and sends it again.
        publish(webhook_deliver, args=[delivery_id], countdown=result.retry_in, what=f"webhook retry {delivery_id}")
    return result.status


@shared_task(name="questionnaires.webhook_care_notices", acks_late=True, ignore_result=True)
def care_notices() -> dict[str, int]:
    """Beat task: `measure.due` / `measure.missed` events and `disengaged` alerts, each emitted once."""
    return care_notices_emit().__dict__
