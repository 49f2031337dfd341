"""Migration 0008: keyed responses get the scope of the credential that stored them."""

from __future__ import annotations

import uuid

import pytest
from django.utils import timezone

from tests.migration_tools import migrate_to as _migrate
from tests.migration_tools import migrate_to_latest

BEFORE = [("questionnaires", "0007_drop_redundant_fk_indexes")]
AFTER = [("questionnaires", "0008_response_idempotency_scope")]


@pytest.fixture(autouse=True)
def latest_schema_afterwards():
    yield
    migrate_to_latest()


@pytest.mark.django_db(transaction=True)
def test_keyed_rows_get_their_callers_scope_and_unkeyed_rows_none():
    from django.contrib.auth import get_user_model

    apps = _migrate(BEFORE)
    user = get_user_model().objects.create(username="migrating-clinician")
    clinic = apps.get_model("questionnaires", "Clinic").objects.create(slug="migrating", name="Migrating")
    client = apps.get_model("questionnaires", "TherapyClient").objects.create(clinic=clinic, external_id="c-1")
    version = apps.get_model("questionnaires", "QuestionnaireVersion").objects.create(
        questionnaire_id="migration-probe", version="1.0.0", title="Probe", content_hash="y" * 64, definition={}
    )
    Response = apps.get_model("questionnaires", "Response")

    def stored(submitted_by: str, key: str | None, source: str = "api"):
        return Response.objects.create(
            id=uuid.uuid4(), clinic=clinic, client=client, questionnaire_version=version, rater="client",
            authored_at=timezone.now(), answers={}, submitted_by=submitted_by, idempotency_key=key, source=source,
        ).pk

    ids = {
        "api": stored("api_key:abc123", "k-1"),
        "app": stored("client_token:def456", "k-2"),
        "form": stored("client_token:def456", "form:1", source="form"),
        "staff": stored("user:migrating-clinician", "k-3"),
        "unkeyed": stored("api_key:abc123", None),
    }

    apps = _migrate(AFTER)
    scopes = dict(apps.get_model("questionnaires", "Response").objects.values_list("pk", "idempotency_scope"))
    assert scopes[ids["api"]] == "api_key"
    assert scopes[ids["app"]] == scopes[ids["form"]] == f"client:{client.pk}"
    assert scopes[ids["staff"]] == f"staff:{user.pk}"
    assert scopes[ids["unkeyed"]] == ""
