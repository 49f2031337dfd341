"""Writing the append-only audit log: one event per read or write of client data, or many at once for list reads."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from typing import Any

from django.core.cache import cache
from redis.exceptions import RedisError

from questionnaires.models import AuditEvent
from questionnaires.request_context import current_source_address

logger = logging.getLogger(__name__)


def _field_limit(name: str) -> int:
    return AuditEvent._meta.get_field(name).max_length


def audit_event_build(
    *,
    actor: str,
    action: str,
    object_type: str = "",
    object_ids: list[str] | None = None,
    outcome: str = "ok",
    clinic_id: int | None = None,
    detail: str = "",
    source_address: str | None = None,
) -> AuditEvent:
    """The unsaved event, for a caller that inserts it together with the data it audits.

    Values are clipped to the column sizes: an over-long detail must never turn the request
    being audited into a database error. The source address defaults to the address of the
    request being served (None outside a request).
    """
    return AuditEvent(
        actor=actor[: _field_limit("actor")],
        action=action[: _field_limit("action")],
        object_type=object_type[: _field_limit("object_type")],
        object_ids=[str(object_id) for object_id in (object_ids or [])],
        outcome=outcome[: _field_limit("outcome")],
        clinic_id=clinic_id,
        detail=detail[: _field_limit("detail")],
        source_address=source_address or current_source_address(),
    )


def audit_record(
    *,
    actor: str,
    action: str,
    object_type: str = "",
    object_ids: list[str] | None = None,
    outcome: str = "ok",
    clinic_id: int | None = None,
    detail: str = "",
    source_address: str | None = None,
) -> AuditEvent:
    """Record who did what to which client data; called by every edge (API, FHIR, admin) that touches it."""
    event = audit_event_build(
        actor=actor,
        action=action,
        object_type=object_type,
        object_ids=object_ids,
        outcome=outcome,
        clinic_id=clinic_id,
        detail=detail,
        source_address=source_address,
    )
    event.save()
    return event


def audit_record_many(events: Iterable[Mapping[str, Any]]) -> list[AuditEvent]:
    """Record several events in one insert, for list reads that span clinics or objects.

    Each mapping takes the keyword arguments of `audit_record`.
    """
    built = [audit_event_build(**event) for event in events]
    if not built:
        return []
    return AuditEvent.objects.bulk_create(built)


DENIAL_WINDOW_SECONDS = 60
"""At most one audit row per refused credential per window; the rest are counted into the next row."""
DENIAL_KEY_PREFIX = "audit-denial"


def audit_denial_admit(*, actor: str) -> int | None:
    """Whether a refused credential's attempt gets its own audit row now: None if not, else how many it stands for.

    The first refusal per actor in a window of `DENIAL_WINDOW_SECONDS` is admitted; later ones
    in that window only increment a counter in the cache, and the next admitted one reports them
    (the returned number, 0 when none were folded). So 300 guesses with one key prefix leave a
    handful of rows, not 300, and no refusal goes uncounted. With the cache down every refusal
    is admitted.
    """
    window_key = f"{DENIAL_KEY_PREFIX}:window:{actor}"
    count_key = f"{DENIAL_KEY_PREFIX}:count:{actor}"
    try:
        if not cache.add(window_key, 1, DENIAL_WINDOW_SECONDS):
            cache.add(count_key, 0, None)
            cache.incr(count_key)
            return None
        folded = cache.get(count_key) or 0
        if folded:
            cache.decr(count_key, folded)
        return int(folded)
    except (RedisError, OSError, ValueError) as error:
        logger.warning("audit denial counter unavailable (%s): recording every refusal", error)
        return 0


def denial_detail(detail: str, folded: int) -> str:
    """The detail of an admitted refusal, led by the count of refusals folded into it (so clipping keeps it)."""
    return f"+{folded} more refused since the last record; {detail}" if folded else detail


def audit_denial_record(
    *,
    actor: str,
    action: str,
    object_type: str = "",
    outcome: str = "unauthenticated",
    clinic_id: int | None = None,
    detail: str = "",
) -> AuditEvent | None:
    """Record a refused credential (known prefix, wrong secret, revoked, expired), throttled per actor.

    See `audit_denial_admit`; returns the row, or None when the refusal was only counted.
    """
    folded = audit_denial_admit(actor=actor)
    if folded is None:
        return None
    return audit_record(
        actor=actor, action=action, object_type=object_type, outcome=outcome, clinic_id=clinic_id,
        detail=denial_detail(detail, folded),
    )
