"""The append-only audit log and the helpers that write it."""

from __future__ import annotations

import pytest

from questionnaires.models import AuditEvent
from questionnaires.services.audit import audit_record, audit_record_many


def test_an_audit_event_cannot_be_saved_again(db):
    event = audit_record(actor="user:alice", action="read")
    event.outcome = "denied"

    with pytest.raises(ValueError, match="append-only"):
        event.save()

    assert AuditEvent.objects.get().outcome == "ok"


def test_an_audit_event_cannot_be_deleted(db):
    event = audit_record(actor="user:alice", action="read")

    with pytest.raises(ValueError, match="append-only"):
        event.delete()

    assert AuditEvent.objects.filter(pk=event.pk).exists()


def test_audit_record_stores_who_did_what_to_which_objects(north):
    event = audit_record(
        actor="api_key:abc123",
        action="read",
        object_type="response",
        object_ids=[north.client.pk, "b1d9"],
        outcome="ok",
        clinic_id=north.clinic.pk,
        detail="GET /api/v1/responses/",
    )

    stored = AuditEvent.objects.get(pk=event.pk)
    assert stored.at is not None
    assert (stored.actor, stored.action, stored.object_type) == ("api_key:abc123", "read", "response")
    assert stored.object_ids == [str(north.client.pk), "b1d9"]
    assert (stored.outcome, stored.clinic_id, stored.detail) == ("ok", north.clinic.pk, "GET /api/v1/responses/")


def test_audit_record_defaults_to_an_ok_outcome_without_objects(db):
    event = audit_record(actor="admin:root", action="login")

    assert (event.outcome, event.object_ids, event.object_type, event.clinic_id) == ("ok", [], "", None)


def test_audit_record_clips_overlong_values_instead_of_failing(db):
    event = audit_record(actor="a" * 500, action="b" * 100, object_type="c" * 100, detail="d" * 1000)

    stored = AuditEvent.objects.get(pk=event.pk)
    assert (len(stored.actor), len(stored.action), len(stored.object_type), len(stored.detail)) == (150, 32, 64, 300)


def test_audit_record_takes_keyword_arguments_only(db):
    with pytest.raises(TypeError):
        audit_record("user:alice", "read")  # type: ignore[misc]


def test_audit_record_many_writes_every_event_with_its_time(north, south):
    events = audit_record_many(
        [
            {"actor": "user:sam", "action": "list", "object_ids": ["1", "2"], "clinic_id": north.clinic.pk},
            {"actor": "user:sam", "action": "list", "object_ids": ["3"], "clinic_id": south.clinic.pk},
        ]
    )

    assert len(events) == 2
    stored = list(AuditEvent.objects.order_by("clinic_id").values_list("clinic_id", "object_ids"))
    assert stored == sorted([(north.clinic.pk, ["1", "2"]), (south.clinic.pk, ["3"])])
    assert not AuditEvent.objects.filter(at__isnull=True).exists()


def test_audit_record_many_with_nothing_to_record_writes_nothing(db):
    assert audit_record_many([]) == []
    assert not AuditEvent.objects.exists()
