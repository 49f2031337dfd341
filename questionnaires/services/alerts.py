"""Acknowledging alerts; raising them is the scoring workers' job."""

from __future__ import annotations

from django.utils import timezone

from questionnaires.models import Alert
from questionnaires.principals import Principal


def alert_acknowledge(*, alert: Alert, principal: Principal) -> Alert:
    """Idempotent: acknowledging twice keeps the first time and person."""
    if alert.acknowledged_at is None:
        alert.acknowledged_at = timezone.now()
        alert.acknowledged_by = principal.label[:150]
        alert.save(update_fields=["acknowledged_at", "acknowledged_by"])
    return alert
