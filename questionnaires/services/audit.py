"""Writing the append-only audit log: one event per read or write of client data, or many at once for list reads."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from questionnaires.models import AuditEvent


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
) -> AuditEvent:
    """The unsaved event, for a caller that inserts it together with the data it audits.

    Values are clipped to the column sizes: an over-long detail must never turn the request
    being audited into a database error.
    """
    return AuditEvent(
        actor=actor[: _field_limit("actor")],
        action=action[: _field_limit("action")],
        object_type=object_type[: _field_limit("object_type")],
        object_ids=[str(object_id) for object_id in (object_ids or [])],
        outcome=outcome[: _field_limit("outcome")],
        clinic_id=clinic_id,
        detail=detail[: _field_limit("detail")],
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
