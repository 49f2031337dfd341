"""Migration 0006: rollup ledger rows become `Score.in_rollups` flags, and back on reverse."""

from __future__ import annotations

import uuid

import pytest
from django.utils import timezone

from tests.migration_tools import migrate_to as _migrate
from tests.migration_tools import migrate_to_latest

BEFORE = [("questionnaires", "0005_credential_names")]
AFTER = [("questionnaires", "0006_score_in_rollups")]


@pytest.fixture(autouse=True)
def latest_schema_afterwards():
    yield
    migrate_to_latest()


@pytest.mark.django_db(transaction=True)
def test_ledger_rows_become_flags_on_the_counted_score_and_back():
    apps = _migrate(BEFORE)
    clinic = apps.get_model("questionnaires", "Clinic").objects.create(slug="migrating", name="Migrating")
    client = apps.get_model("questionnaires", "TherapyClient").objects.create(clinic=clinic, external_id="c-1")
    version = apps.get_model("questionnaires", "QuestionnaireVersion").objects.create(
        questionnaire_id="migration-probe", version="1.0.0", title="Probe", content_hash="x" * 64, definition={}
    )
    Response = apps.get_model("questionnaires", "Response")
    Score = apps.get_model("questionnaires", "Score")
    rows = [
        Response.objects.create(
            id=uuid.uuid4(), clinic=clinic, client=client, questionnaire_version=version, rater="client",
            authored_at=timezone.now(), answers={}, status="scored",
        )
        for _ in range(2)
    ]
    for row in rows:
        Score.objects.create(response=row, plugin_version="1.0.0", total=30)
    Score.objects.create(response=rows[0], plugin_version="0.9.0", total=20)  # an older version's score
    apps.get_model("questionnaires", "RollupEntry").objects.create(response=rows[0])

    apps = _migrate(AFTER)
    Score = apps.get_model("questionnaires", "Score")
    flagged = set(Score.objects.filter(in_rollups=True).values_list("response_id", "plugin_version"))
    assert flagged == {(rows[0].id, "1.0.0")}

    apps = _migrate(BEFORE)
    ledger = apps.get_model("questionnaires", "RollupEntry").objects.values_list("response_id", flat=True)
    assert list(ledger) == [rows[0].id]
    _migrate(AFTER)
