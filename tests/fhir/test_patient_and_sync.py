"""FHIR Patient (identifier only), _lastUpdated for sync, and a CapabilityStatement that matches the routes."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.urls import get_resolver
from django.utils import timezone
from fhir.resources.R4B.patient import Patient

from questionnaires.models import Response
from tests.api.conftest import client_token_api, staff_api
from tests.fhir.conftest import FhirClient, body, phq9_resource

pytestmark = pytest.mark.django_db


def test_a_patient_is_read_by_external_id_with_an_identifier_and_nothing_personal(north):
    resource = body(FhirClient(api_key=north.api_key).get(f"/fhir/Patient/{north.client.external_id}"))
    Patient.model_validate(resource)
    assert resource["id"] == north.client.external_id
    assert resource["identifier"][0]["value"] == north.client.external_id
    assert not {"name", "birthDate", "telecom", "address"} & set(resource)


def test_patient_search_by_identifier_and_isolation(north, south):
    ehr = FhirClient(api_key=north.api_key)
    found = body(ehr.get("/fhir/Patient", identifier=north.client.external_id))
    assert [entry["resource"]["id"] for entry in found["entry"]] == [north.client.external_id]
    assert body(FhirClient(api_key=south.api_key).get("/fhir/Patient", identifier=north.client.external_id))[
        "total"] == 0
    assert FhirClient(api_key=south.api_key).get(f"/fhir/Patient/{north.client.external_id}").status_code == 404


def test_a_clinician_and_a_client_see_only_their_own_patients(north):
    from tests.factories import TherapyClientFactory

    TherapyClientFactory(clinic=north.clinic, external_id="north-not-mine")
    header = staff_api(north.clinician)._credentials["HTTP_AUTHORIZATION"]
    mine = body(FhirClient(authorization=header).get("/fhir/Patient"))
    assert [entry["resource"]["id"] for entry in mine["entry"]] == [north.client.external_id]
    app = FhirClient(authorization=client_token_api(north.client)._credentials["HTTP_AUTHORIZATION"])
    assert app.get("/fhir/Patient/north-not-mine").status_code == 404


def test_last_updated_finds_responses_stored_or_corrected_since(north):
    ehr = FhirClient(api_key=north.api_key)
    old = body(ehr.post("/fhir/QuestionnaireResponse", phq9_resource(north.client.external_id, (0,) * 9,
                                                                     identifier="old")))
    Response.objects.filter(pk=old["id"]).update(received_at=timezone.now() - timedelta(days=3))
    new = body(ehr.post("/fhir/QuestionnaireResponse", phq9_resource(north.client.external_id, (1,) * 9,
                                                                     identifier="new")))
    since = (timezone.now() - timedelta(days=1)).strftime("%Y-%m-%d")
    found = body(ehr.get("/fhir/QuestionnaireResponse", _lastUpdated=f"ge{since}"))
    assert [entry["resource"]["id"] for entry in found["entry"]] == [new["id"]]


def test_the_capability_statement_lists_exactly_the_routed_resources_and_interactions(db):
    statement = body(FhirClient().get("/fhir/metadata"))
    # A resource offering only an operation (EpisodeOfCare/$outcome) has no interactions.
    declared = {resource["type"]: {i["code"] for i in resource.get("interaction", [])} for resource in statement[
        "rest"][0]["resource"]}
    fhir_patterns = [pattern for pattern in get_resolver().url_patterns if "fhir" in str(pattern.pattern)]
    routes = set()
    for include in fhir_patterns:
        for pattern in getattr(include, "url_patterns", []):
            match = re.match(r"\^?([A-Z][A-Za-z]+)", str(pattern.pattern))
            if match:
                routes.add(match.group(1))
    assert routes == set(declared)
    methods = {"read": "GET", "search-type": "GET", "create": "POST", "update": "PUT", "delete": "DELETE"}
    from questionnaires.fhir import urls

    for resource_type, interactions in declared.items():
        views_for_type = [
            pattern.callback.view_class for pattern in urls.urlpatterns
            if str(pattern.pattern).lstrip("^").startswith(resource_type)
        ]
        offered = {method.upper() for view in views_for_type for method in ("get", "post", "put", "delete")
                   if hasattr(view, method)}
        for interaction in interactions:
            if interaction in methods:
                assert methods[interaction] in offered, (resource_type, interaction)
