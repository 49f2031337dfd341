"""Migration 0016: alerts stored before the session key get theirs (session number, else the local day)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest

from tests.migration_tools import migrate_to as _migrate
from tests.migration_tools import migrate_to_latest

BEFORE = [("questionnaires", "0015_export_data_dictionary")]
AFTER = [("questionnaires", "0016_alert_session_key")]


@pytest.fixture(autouse=True)
def latest_schema_afterwards():
    yield
    migrate_to_latest()


@pytest.mark.django_db(transaction=True)
def test_existing_alerts_get_the_session_of_their_response(settings):
    settings.TIME_ZONE = "UTC"
    apps = _migrate(BEFORE)
    clinic = apps.get_model("questionnaires", "Clinic").objects.create(slug="migrating", name="Migrating")
    client = apps.get_model("questionnaires", "TherapyClient").objects.create(clinic=clinic, external_id="c-1")
    version = apps.get_model("questionnaires", "QuestionnaireVersion").objects.create(
        questionnaire_id="migration-probe", version="1.0.0", title="Probe", content_hash="x" * 64, definition={}
    )
    Response = apps.get_model("questionnaires", "Response")
    Alert = apps.get_model("questionnaires", "Alert")
    authored = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)

    def response(session):
        return Response.objects.create(
            id=uuid.uuid4(), clinic=clinic, client=client, questionnaire_version=version, rater="client",
            authored_at=authored, answers={}, status="scored", session_number=session,
        )

    numbered = Alert.objects.create(clinic=clinic, client=client, response=response(7), questionnaire_id="srs",
                                    kind="low_alliance", message="m")
    dated = Alert.objects.create(clinic=clinic, client=client, response=response(None), questionnaire_id="srs",
                                 kind="rupture", message="m")
    apps = _migrate(AFTER)
    keys = dict(apps.get_model("questionnaires", "Alert").objects.values_list("id", "session_key"))
    assert keys == {numbered.id: "7", dated.id: "2026-03-02"}
