"""A database that drops out mid-request is a retryable 503 (problem+json or OperationOutcome), never a 500."""

from __future__ import annotations

import uuid

import pytest
from django.db import InterfaceError, OperationalError

from tests.fhir.conftest import FhirClient

pytestmark = pytest.mark.django_db


def lost_connection(**kwargs):
    raise OperationalError("server closed the connection unexpectedly")


@pytest.mark.parametrize("error", [OperationalError, InterfaceError])
def test_the_rest_api_answers_503_with_retry_after_when_the_database_is_gone(north, monkeypatch, error):
    def fail(**kwargs):
        raise error("connection already closed")

    monkeypatch.setattr("questionnaires.api.views.responses.response_get_visible", fail)
    response = north.api().get(f"/api/v1/responses/{uuid.uuid4()}/")
    assert response.status_code == 503
    assert response["Content-Type"] == "application/problem+json"
    assert int(response["Retry-After"]) > 0
    assert response.json()["type"] == "urn:alliance-api:problem:unavailable"


def test_a_submission_during_an_outage_is_a_503_the_client_may_retry(north, monkeypatch):
    monkeypatch.setattr("questionnaires.api.views.responses.response_submit", lost_connection)
    response = north.api().post("/api/v1/responses/", {}, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    assert response.status_code == 503
    assert "Idempotency-Key" in response.json()["detail"]


def test_fhir_answers_a_503_operation_outcome_when_the_database_is_gone(north, monkeypatch):
    monkeypatch.setattr("questionnaires.fhir.views.response_get_visible", lost_connection)
    response = FhirClient(north.api_key).get(f"/fhir/QuestionnaireResponse/{uuid.uuid4()}")
    assert response.status_code == 503
    assert int(response["Retry-After"]) > 0
    body = response.json()
    assert body["resourceType"] == "OperationOutcome"
    assert body["issue"][0]["code"] == "transient"


def test_a_data_error_is_not_mistaken_for_an_outage(north, monkeypatch):
    """Only connection-level errors are retryable; anything else still surfaces as a server error to fix."""
    from django.db import DataError

    def fail(**kwargs):
        raise DataError("value too long")

    monkeypatch.setattr("questionnaires.api.views.responses.response_get_visible", fail)
    api = north.api()
    api.raise_request_exception = False
    assert api.get(f"/api/v1/responses/{uuid.uuid4()}/").status_code == 500
