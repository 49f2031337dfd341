"""Acknowledging, snoozing and resolving alerts; raising them is the scoring workers' job.

Each acts on the whole session alert (every live reason of that client's session and category,
`selectors.alerts.session_reasons`), since that is the one alert a clinician sees; snoozing and
resolving record why. A reason raised later is not stamped, so it opens the alert again (see
`selectors.alerts`).
"""

from __future__ import annotations

from datetime import datetime

from django.utils import timezone

from questionnaires.models import Alert
from questionnaires.principals import Principal
from questionnaires.selectors.alerts import session_reasons


def alerts_acknowledge(*, alerts: list[Alert], actor: str) -> list[Alert]:
    """Stamp the unacknowledged reasons of these alerts' sessions; returns the rows stamped (the first stamp stays)."""
    rows = _reasons_of(alerts).filter(acknowledged_at__isnull=True)
    stamped = list(rows)
    if stamped:
        Alert.objects.filter(pk__in=[row.pk for row in stamped]).update(
            acknowledged_at=timezone.now(), acknowledged_by=actor[:150]
        )
    return stamped


def alerts_snooze(*, alerts: list[Alert], actor: str, until: datetime, reason: str) -> list[Alert]:
    """Hide these alerts' sessions from open lists until `until` (a future time); returns the rows snoozed."""
    rows = list(_reasons_of(alerts).filter(resolved_at__isnull=True))
    if rows:
        Alert.objects.filter(pk__in=[row.pk for row in rows]).update(snoozed_until=until, reason=reason)
    return rows


def alerts_resolve(*, alerts: list[Alert], actor: str, reason: str) -> list[Alert]:
    """Close these alerts' sessions with why; returns the rows resolved (resolved ones keep their first resolution)."""
    rows = list(_reasons_of(alerts).filter(resolved_at__isnull=True))
    if rows:
        Alert.objects.filter(pk__in=[row.pk for row in rows]).update(
            resolved_at=timezone.now(), resolved_by=actor[:150], reason=reason
        )
    return rows


def _reasons_of(alerts: list[Alert]):
    ids: set[int] = set()
    for alert in alerts:
        ids.update(session_reasons(alert).values_list("pk", flat=True))
    return Alert.objects.filter(pk__in=ids).order_by("id")


def alert_acknowledge(*, alert: Alert, principal: Principal) -> Alert:
    """Idempotent: acknowledging twice keeps the first time and person of each reason."""
    alerts_acknowledge(alerts=[alert], actor=principal.label)
    alert.refresh_from_db()
    return alert


def alert_snooze(*, alert: Alert, principal: Principal, until: datetime, reason: str) -> Alert:
    """Hide the session's alert from open lists until `until` (a future time); `reason` is required."""
    alerts_snooze(alerts=[alert], actor=principal.label, until=until, reason=reason)
    alert.refresh_from_db()
    return alert


def alert_resolve(*, alert: Alert, principal: Principal, reason: str) -> Alert:
    """Close the session's alert with why (e.g. "discussed in session 7"); resolving twice keeps the first."""
    alerts_resolve(alerts=[alert], actor=principal.label, reason=reason)
    alert.refresh_from_db()
    return alert
