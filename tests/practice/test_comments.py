"""The client's own words: stored with the response, shown to staff beside the score, never scored or aggregated."""

from __future__ import annotations

import csv
import io
import json

import pytest

from questionnaires.fhir.response_export import questionnaire_response_resource
from questionnaires.models import Alert, Response, WebhookDelivery, WebhookSubscription
from questionnaires.registry import get_registry
from questionnaires.services.exports import csv_columns, csv_row
from tests.api.conftest import client_token_api, staff_api
from tests.practice.helpers import body, marks

pytestmark = pytest.mark.django_db

WORDS = "Please slow down when we talk about my father"


@pytest.fixture
def low_srs_with_comment(north, scored):
    WebhookSubscription.objects.create(
        clinic=north.clinic, url="https://north.example.org/hook", events=["response.scored", "alert.raised"],
        secret="s" * 32,
    )
    return scored(north.api(), body("srs", "north-client-1", marks(30.0), comment=WORDS))


def test_the_comment_is_stored_and_the_score_ignores_it(north, scored):
    with_words = scored(north.api(), body("srs", "north-client-1", marks(38.0), comment=WORDS))
    without = scored(north.api(), body("srs", "north-client-1", marks(38.0), days=1))

    assert Response.objects.get(pk=with_words["id"]).comment == WORDS
    assert with_words["score"]["total"] == without["score"]["total"] == 38
    assert with_words["score"]["flags"] == without["score"]["flags"] == []


def test_the_clinician_sees_the_comment_beside_the_score_in_the_trajectory(north, low_srs_with_comment):
    points = staff_api(north.clinician).get("/api/v1/clients/north-client-1/scores/?questionnaire=srs").json()["points"]

    assert [(point["total"], point["comment"]) for point in points] == [(30, WORDS)]


def test_the_api_key_trajectory_carries_no_comment(north, low_srs_with_comment):
    points = north.api().get("/api/v1/clients/north-client-1/scores/?questionnaire=srs").json()["points"]

    assert points and all("comment" not in point for point in points)


def test_a_low_alliance_alert_carries_the_comment_for_the_clinician_only(north, low_srs_with_comment):
    alert = Alert.objects.get(response_id=low_srs_with_comment["id"], kind="low_alliance")

    for staff in (north.clinician, north.supervisor):
        listed = staff_api(staff).get("/api/v1/alerts/?kind=low_alliance").json()["results"]
        assert [row["comment"] for row in listed] == [WORDS]
        detail = staff_api(staff).get(f"/api/v1/alerts/{alert.id}/").json()
        assert detail["comment"] == WORDS
    by_key = north.api().get(f"/api/v1/alerts/{alert.id}/").json()
    assert "comment" not in by_key
    assert WORDS not in json.dumps(north.api().get("/api/v1/alerts/").json())
    assert WORDS not in json.dumps(alert.details)


def test_a_client_token_cannot_read_alerts_with_comments(north, low_srs_with_comment):
    alert = Alert.objects.get(response_id=low_srs_with_comment["id"], kind="low_alliance")

    assert client_token_api(north.client).get(f"/api/v1/alerts/{alert.id}/").status_code == 404


def test_webhook_payloads_never_include_the_comment(north, low_srs_with_comment):
    payloads = [json.dumps(delivery.payload) for delivery in WebhookDelivery.objects.all()]

    assert {delivery.event for delivery in WebhookDelivery.objects.all()} == {"response.scored", "alert.raised"}
    assert payloads and all(WORDS not in payload and "comment" not in payload for payload in payloads)


def test_metrics_never_include_the_comment(north, low_srs_with_comment):
    for group_by in ("clinic", "clinician"):
        answer = staff_api(north.supervisor).get(f"/api/v1/metrics/?questionnaire=srs&group_by={group_by}")
        assert answer.status_code == 200
        assert WORDS not in answer.content.decode() and "comment" not in answer.content.decode()


def test_exports_never_include_the_comment(north, low_srs_with_comment):
    response = Response.objects.select_related("client", "clinician", "questionnaire_version").get(
        pk=low_srs_with_comment["id"]
    )
    definition = get_registry().get("srs")
    columns = csv_columns({definition.key: definition})
    text = io.StringIO()
    csv.writer(text).writerows([columns, csv_row(response, columns)])
    resource = questionnaire_response_resource(response, definition, base="https://example.org/fhir")

    assert WORDS not in text.getvalue() and "comment" not in columns
    assert WORDS not in json.dumps(resource, default=str)
