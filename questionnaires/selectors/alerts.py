"""Alerts as a clinician reads them: one per client and session, listing its reasons, risk on top.

Rows are stored per (response, kind) (see `models.Alert`), each with the `session_key` of its
client's session. The live rows of one client, category and session key are one `SessionAlert`:
its reasons. Alerts and notes of a session stay apart (a note is good news, never work), so a
session has at most one alert and one note. Lists order by priority first (risk on top), then the
latest session.

State of a session alert, as its reasons carry it: acknowledging, snoozing and resolving stamp every
reason it has at that moment (`services.alerts`). A reason that arrives later is unstamped, so the
alert is open again (unacknowledged, unresolved, not snoozed) and shows the new reason beside the
earlier ones, which keep their stamps. It raises no second `alert.raised` webhook.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import reduce
from operator import or_

from django.db.models import Case, IntegerField, Max, Min, Q, QuerySet, Value, When
from django.db.models.functions import Coalesce
from django.utils import timezone

from questionnaires.models import Alert

NOTE_KINDS = frozenset({"recovered", "clinical_range_exit", "reliable_improvement", "repair"})
"""Good news a clinician may like to see, not work to do: stored as `note`, never high priority."""

PRIORITY_RANK = {Alert.Priority.HIGH: 3, Alert.Priority.NORMAL: 2, Alert.Priority.LOW: 1}
RANK_PRIORITY = {rank: priority for priority, rank in PRIORITY_RANK.items()}


def priority_rank() -> Case:
    """3 high, 2 normal, 1 low: an expression to sort or aggregate on."""
    return Case(
        *(When(priority=priority, then=Value(rank)) for priority, rank in PRIORITY_RANK.items()),
        default=Value(0),
        output_field=IntegerField(),
    )


def open_alerts(alerts: QuerySet[Alert], *, now: datetime | None = None) -> QuerySet[Alert]:
    """What still needs a clinician: live alerts (not notes), unresolved, not snoozed past `now`."""
    now = now or timezone.now()
    return alerts.filter(
        withdrawn_at__isnull=True, category=Alert.Category.ALERT, resolved_at__isnull=True
    ).filter(Q(snoozed_until__isnull=True) | Q(snoozed_until__lte=now))


def session_of(alert: Alert) -> tuple[int, str, str]:
    """(client id, category, session key): what makes rows one session alert."""
    return (alert.client_id, alert.category, alert.session_key)


def session_label(alert: Alert) -> str:
    """`client/session` as people read it, e.g. "C-104/7" or "C-104/2026-03-02" (needs `client` loaded)."""
    return f"{alert.client.external_id}/{alert.session_key}"


def session_reasons(alert: Alert) -> QuerySet[Alert]:
    """The live rows of the alert's session alert (the alert itself included)."""
    return Alert.objects.filter(
        client_id=alert.client_id, category=alert.category, session_key=alert.session_key, withdrawn_at__isnull=True
    )


@dataclass(frozen=True)
class SessionAlert:
    """One client's session that needs attention (or a note of good news), with every reason for it.

    `id` is its first stored reason's id: every reason id addresses the same session alert in the API.
    """

    client_id: int
    client_external_id: str
    category: str
    session_key: str
    session_number: int | None
    session_at: datetime
    priority: str
    reasons: tuple[Alert, ...]
    """Highest priority first, then in the order raised."""

    @property
    def id(self) -> int:
        return min(reason.id for reason in self.reasons)

    @property
    def top(self) -> Alert:
        return self.reasons[0]

    @property
    def label(self) -> str:
        return f"{self.client_external_id}/{self.session_key}"

    @property
    def raised_at(self) -> datetime:
        return min(reason.raised_at for reason in self.reasons)

    @property
    def kinds(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(reason.kind for reason in self.reasons))

    def _all_stamped(self, field: str) -> Alert | None:
        """The reason stamped last, if every reason carries `field`; else None (a reason is still open)."""
        if any(getattr(reason, field) is None for reason in self.reasons):
            return None
        return max(self.reasons, key=lambda reason: getattr(reason, field))

    @property
    def acknowledged_at(self) -> datetime | None:
        last = self._all_stamped("acknowledged_at")
        return last.acknowledged_at if last else None

    @property
    def acknowledged_by(self) -> str:
        last = self._all_stamped("acknowledged_at")
        return last.acknowledged_by if last else ""

    @property
    def resolved_at(self) -> datetime | None:
        last = self._all_stamped("resolved_at")
        return last.resolved_at if last else None

    @property
    def resolved_by(self) -> str:
        last = self._all_stamped("resolved_at")
        return last.resolved_by if last else ""

    @property
    def snoozed_until(self) -> datetime | None:
        """Snoozed only while every reason is: the earliest end of those snoozes."""
        if any(reason.snoozed_until is None for reason in self.reasons):
            return None
        return min(reason.snoozed_until for reason in self.reasons)  # type: ignore[type-var]

    @property
    def reason(self) -> str:
        """Why it was last snoozed or resolved (the latest reason row that says so)."""
        said = [reason for reason in self.reasons if reason.reason]
        return max(said, key=lambda reason: reason.id).reason if said else ""


def session_alerts(alerts: Iterable[Alert]) -> list[SessionAlert]:
    """Group alert rows (with `client` and `response` loaded) into session alerts;
    alerts before notes, risk first, then the latest session."""
    groups: dict[tuple[int, str, str], list[Alert]] = {}
    for alert in alerts:
        groups.setdefault(session_of(alert), []).append(alert)
    result = [_session_alert(reasons) for reasons in groups.values()]
    result.sort(key=lambda group: (
        group.category, -PRIORITY_RANK.get(group.priority, 0), -group.session_at.timestamp(), -group.id
    ))
    return result


def _session_alert(reasons: list[Alert]) -> SessionAlert:
    reasons.sort(key=lambda alert: (-PRIORITY_RANK.get(alert.priority, 0), alert.id))
    first = reasons[0]
    response = next((reason.response for reason in reasons if reason.response is not None), None)
    return SessionAlert(
        client_id=first.client_id,
        client_external_id=first.client.external_id,
        category=first.category,
        session_key=first.session_key,
        session_number=response.session_number if response else None,
        session_at=max(
            (reason.response.authored_at for reason in reasons if reason.response is not None),
            default=min(reason.raised_at for reason in reasons),
        ),
        priority=first.priority,
        reasons=tuple(reasons),
    )


def session_alert_groups(alerts: QuerySet[Alert]) -> QuerySet:
    """One row per session alert of these (already filtered) rows, in list order, for paging in the database:
    dicts of client_id, category, session_key, lead (its id), rank, session_at."""
    return (
        alerts.order_by()
        .values("client_id", "category", "session_key")
        .annotate(
            lead=Min("id"),
            rank=Max(priority_rank()),
            session_at=Max(Coalesce("response__authored_at", "raised_at")),
        )
        .order_by("category", "-rank", "-session_at", "-lead")
    )


def session_alerts_of(groups: Sequence[dict], alerts: QuerySet[Alert]) -> list[SessionAlert]:
    """The session alerts of a page of `session_alert_groups` rows, with their reasons among `alerts`, in page order."""
    if not groups:
        return []
    match = reduce(
        or_,
        (Q(client_id=g["client_id"], category=g["category"], session_key=g["session_key"]) for g in groups),
    )
    by_key: dict[tuple[int, str, str], list[Alert]] = {}
    for alert in alerts.filter(match).select_related("client", "response").order_by("id"):
        by_key.setdefault(session_of(alert), []).append(alert)
    return [
        _session_alert(by_key[key])
        for key in ((g["client_id"], g["category"], g["session_key"]) for g in groups)
        if key in by_key
    ]
