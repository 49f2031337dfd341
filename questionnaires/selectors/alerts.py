"""Alerts as a clinician reads them: one per client and session, listing its reasons, risk on top.

Rows are stored per (response, kind) (see `models.Alert`); this module groups the open ones of a
session into one `SessionAlert`, and orders rows and groups by priority first.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from django.db.models import Case, IntegerField, Q, QuerySet, Value, When
from django.utils import timezone

from questionnaires.models import Alert

NOTE_KINDS = frozenset({"recovered", "clinical_range_exit", "reliable_improvement", "repair"})
"""Good news a clinician may like to see, not work to do: stored as `note`, never high priority."""

PRIORITY_RANK = {Alert.Priority.HIGH: 3, Alert.Priority.NORMAL: 2, Alert.Priority.LOW: 1}


def with_priority_rank(alerts: QuerySet[Alert]) -> QuerySet[Alert]:
    """Annotate `priority_rank` (3 high … 1 low) so lists can sort risk on top."""
    return alerts.annotate(
        priority_rank=Case(
            *(When(priority=priority, then=Value(rank)) for priority, rank in PRIORITY_RANK.items()),
            default=Value(0),
            output_field=IntegerField(),
        )
    )


def priority_first(alerts: QuerySet[Alert]) -> QuerySet[Alert]:
    """Alerts before notes, then high before normal before low, then the latest session first."""
    return with_priority_rank(alerts).order_by("category", "-priority_rank", "-response__authored_at", "-id")


def open_alerts(alerts: QuerySet[Alert], *, now: datetime | None = None) -> QuerySet[Alert]:
    """What still needs a clinician: live alerts (not notes), unresolved, not snoozed past `now`."""
    now = now or timezone.now()
    return alerts.filter(
        withdrawn_at__isnull=True, category=Alert.Category.ALERT, resolved_at__isnull=True
    ).filter(Q(snoozed_until__isnull=True) | Q(snoozed_until__lte=now))


def session_of(alert: Alert) -> tuple[int, object]:
    """(client id, session): the response's session number, else the day it was authored."""
    response = alert.response
    if response is None:
        return (alert.client_id, alert.raised_at.date())
    if response.session_number is not None:
        return (alert.client_id, response.session_number)
    return (alert.client_id, timezone.localtime(response.authored_at).date())


@dataclass(frozen=True)
class SessionAlert:
    """One client's session that needs attention, with every reason it was raised for."""

    client_id: int
    client_external_id: str
    session_number: int | None
    session_at: datetime
    priority: str
    reasons: tuple[Alert, ...]

    @property
    def raised_at(self) -> datetime:
        return min(reason.raised_at for reason in self.reasons)

    @property
    def kinds(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(reason.kind for reason in self.reasons))


def session_alerts(alerts: Iterable[Alert]) -> list[SessionAlert]:
    """Group alert rows (with `client` and `response` loaded) by client and session; risk first, then newest."""
    groups: dict[tuple[int, object], list[Alert]] = {}
    for alert in alerts:
        groups.setdefault(session_of(alert), []).append(alert)
    result = []
    for (client_id, _), reasons in groups.items():
        reasons.sort(key=lambda alert: (-PRIORITY_RANK.get(alert.priority, 0), alert.id))
        first = reasons[0]
        response = next((reason.response for reason in reasons if reason.response is not None), None)
        result.append(
            SessionAlert(
                client_id=client_id,
                client_external_id=first.client.external_id,
                session_number=response.session_number if response else None,
                session_at=response.authored_at if response else first.raised_at,
                priority=first.priority,
                reasons=tuple(reasons),
            )
        )
    result.sort(key=lambda group: (-PRIORITY_RANK.get(group.priority, 0), -group.session_at.timestamp()))
    return result
