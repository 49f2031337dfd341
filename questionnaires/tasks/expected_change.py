"""Aggregation queue task: the scheduled refit of expected change curves (its beat row is created by a migration)."""

from celery import shared_task

from questionnaires.services.expected_change import expected_change_curves_refresh


@shared_task(
    name="questionnaires.metrics_expected_change_refresh",
    acks_late=True,
    reject_on_worker_lost=True,
    ignore_result=True,
)
def metrics_expected_change_refresh(clinic_ids: list[int] | None = None) -> int:
    """Refit the curves of these clinics (all when None); returns the number of curves stored. Safe to run twice."""
    return expected_change_curves_refresh(clinic_ids=clinic_ids).curves
