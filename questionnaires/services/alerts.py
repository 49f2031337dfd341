"""Acknowledging, snoozing and resolving alerts; raising them is the scoring workers' job.

Snoozing and resolving act on the whole session alert (every open reason of that client's
session), since that is the one alert a clinician sees, and each records why.
"""

from __future__ import annotations

from datetime import datetime

from django.utils import timezone

from questionnaires.models import Alert
from questionnaires.principals import Principal
from questionnaires.selectors.alerts import session_of


def alert_acknowledge(*, alert: Alert, principal: Principal) -> Alert:
    """Idempotent: acknowledging twice keeps the first time and person."""
    if alert.acknowledged_at is None:
        alert.acknowledged_at = timezone.now()
        alert.acknowledged_by = principal.label[:150]
        alert.save(update_fields=["acknowledged_at", "acknowledged_by"])
    return alert


def _session_reasons(alert: Alert) -> list[Alert]:
    """The live rows of the alert's client and session (the alert itself included)."""
    candidates = Alert.objects.filter(
        client_id=alert.client_id, withdrawn_at__isnull=True, resolved_at__isnull=True
    ).select_related("response")
    key = session_of(alert)
    return [row for row in candidates if session_of(row) == key] or [alert]


def alert_snooze(*, alert: Alert, principal: Principal, until: datetime, reason: str) -> Alert:
    """Hide the session's alert from open lists until `until` (a future time); `reason` is required."""
    ids = [row.pk for row in _session_reasons(alert)]
    Alert.objects.filter(pk__in=ids).update(snoozed_until=until, reason=reason)
    alert.refresh_from_db()
    return alert


def alert_resolve(*, alert: Alert, principal: Principal, reason: str) -> Alert:
    """Close the session's alert with why (e.g. "discussed in session 7"); resolving twice keeps the first."""
    if alert.resolved_at is not None:
        return alert
    ids = [row.pk for row in _session_reasons(alert)]
    Alert.objects.filter(pk__in=ids, resolved_at__isnull=True).update(
        resolved_at=timezone.now(), resolved_by=principal.label[:150], reason=reason
    )
    alert.refresh_from_db()
    return alert
