"""Every read and write of client data, and every denied attempt, leaves one audit event per request."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from questionnaires.models import AuditEvent
from tests.api.conftest import staff_api, wai_sr

pytestmark = pytest.mark.django_db


def only_event() -> AuditEvent:
    events = list(AuditEvent.objects.all())
    assert len(events) == 1, events
    return events[0]


def test_a_submission_is_audited_with_the_credential_and_the_new_id(north):
    key_prefix = north.api_key.split(".")[0]
    body = north.api().post("/api/v1/responses/", wai_sr("north-client-1"), format="json").json()
    event = only_event()
    assert (event.actor, event.action, event.object_type, event.outcome) == (
        f"api_key:{key_prefix}", "create", "response", "ok"
    )
    assert event.object_ids == [body["id"]]
    assert event.clinic_id == north.clinic.id


def test_a_list_read_is_one_event_naming_every_id_returned(north):
    api = north.api()
    ids = [api.post("/api/v1/responses/", wai_sr("north-client-1"), format="json").json()["id"] for _ in range(3)]
    already = set(AuditEvent.objects.values_list("id", flat=True))
    api.get("/api/v1/responses/")
    [event] = AuditEvent.objects.exclude(id__in=already)
    assert (event.action, event.object_type) == ("list", "response")
    assert sorted(event.object_ids) == sorted(ids)


def test_a_detail_read_names_the_staff_user(north):
    staff_api(north.clinician).get("/api/v1/clients/north-client-1/")
    event = only_event()
    assert (event.actor, event.action, event.object_ids) == ("user:north-clinician", "read", ["north-client-1"])


def test_a_cross_clinic_attempt_is_audited_as_not_found(north, south):
    south.api().get("/api/v1/clients/north-client-1/")
    event = only_event()
    assert (event.outcome, event.clinic_id, event.object_ids) == ("not_found", south.clinic.id, ["north-client-1"])


def test_a_role_denial_is_audited_as_forbidden(north):
    from tests.api.conftest import client_token_api

    client_token_api(north.client).get("/api/v1/clients/")
    event = only_event()
    assert (event.outcome, event.action, event.object_type) == ("forbidden", "list", "client")
    assert event.actor.startswith("client_token:")


def test_a_batch_is_one_event_with_every_stored_id(north):
    body = north.api().post(
        "/api/v1/responses/batch/", {"responses": [wai_sr("north-client-1"), wai_sr("nobody")]}, format="json"
    ).json()
    event = only_event()
    assert event.object_ids == [body["results"][0]["id"]]
    assert event.outcome == "partial"


def test_a_read_writes_exactly_one_insert(north):
    api = north.api()
    api.get("/api/v1/questionnaires/")  # the once-a-minute last-used update
    with CaptureQueriesContext(connection) as captured:
        api.get("/api/v1/clients/")
    inserts = [query["sql"] for query in captured.captured_queries if query["sql"].startswith("INSERT")]
    assert len(inserts) == 1 and "questionnaires_auditevent" in inserts[0]


def test_reading_questionnaires_is_not_client_data(north):
    north.api().get("/api/v1/questionnaires/wai-sr/")
    assert not AuditEvent.objects.exists()


def test_every_audit_event_of_a_request_records_its_source_address(north, settings):
    settings.TRUSTED_PROXY_DEPTH = 1
    north.api().get("/api/v1/clients/", REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR="203.0.113.1, 198.51.100.8")

    event = AuditEvent.objects.get(object_type="client")
    assert event.source_address == "198.51.100.8"
