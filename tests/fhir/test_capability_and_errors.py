"""The CapabilityStatement, and OperationOutcome (never HTML) on every error path under /fhir/."""

from __future__ import annotations

import pytest
from fhir.resources.R4B.capabilitystatement import CapabilityStatement
from fhir.resources.R4B.operationoutcome import OperationOutcome

from tests.fhir.conftest import FhirClient, body


def test_metadata_is_a_valid_capability_statement_without_credentials(db):
    response = FhirClient().get("/fhir/metadata")
    assert response.status_code == 200
    statement = CapabilityStatement.model_validate(body(response))
    assert statement.fhirVersion == "4.0.1"
    assert "application/fhir+json" in statement.format
    resources = {resource.type: resource for resource in statement.rest[0].resource}
    assert set(resources) == {
        "Questionnaire", "QuestionnaireResponse", "Observation", "Patient", "EpisodeOfCare", "Encounter", "Appointment"
    }
    assert [operation.name for operation in resources["EpisodeOfCare"].operation] == ["outcome"]
    assert {i.code for i in resources["QuestionnaireResponse"].interaction} >= {"create", "read", "search-type"}
    response_params = {p.name for p in resources["QuestionnaireResponse"].searchParam}
    assert {"subject", "questionnaire", "status", "authored", "author"} <= response_params
    assert {"subject", "code", "date"} <= {p.name for p in resources["Observation"].searchParam}
    assert {"url", "version", "name", "status"} <= {p.name for p in resources["Questionnaire"].searchParam}


def _outcome(response, status: int) -> OperationOutcome:
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/fhir+json")
    return OperationOutcome.model_validate(body(response))


def test_an_unknown_path_under_fhir_is_a_404_operation_outcome(north_fhir):
    _outcome(north_fhir.get("/fhir/Patient/123"), 404)


def test_a_wrong_credential_is_a_401_operation_outcome(db):
    outcome = _outcome(FhirClient(api_key="nope.wrong").get("/fhir/Observation"), 401)
    assert outcome.issue[0].code == "login"


def test_an_unsupported_method_is_a_405_operation_outcome(north_fhir):
    response = north_fhir.api.delete("/fhir/Questionnaire/phq-9")
    _outcome(response, 405)


def test_an_unsupported_media_type_is_a_415_operation_outcome(north_fhir):
    response = north_fhir.api.generic("POST", "/fhir/QuestionnaireResponse", "<xml/>", content_type="application/xml")
    _outcome(response, 415)


def test_malformed_json_is_a_400_operation_outcome(north_fhir):
    _outcome(north_fhir.post("/fhir/QuestionnaireResponse", "{not json"), 400)


def test_a_resource_of_another_type_is_a_400_operation_outcome(north_fhir):
    outcome = _outcome(north_fhir.post("/fhir/QuestionnaireResponse", {"resourceType": "Patient"}), 400)
    assert "Patient" in outcome.issue[0].diagnostics


def test_structurally_invalid_fhir_is_a_400_naming_the_element(north_fhir):
    resource = {
        "resourceType": "QuestionnaireResponse",
        "status": "completed",
        "questionnaire": "Questionnaire/phq-9",
        "item": [{"linkId": "1", "answer": [{"valueInteger": "two"}]}],
    }
    outcome = _outcome(north_fhir.post("/fhir/QuestionnaireResponse", resource), 400)
    assert outcome.issue[0].expression == ["QuestionnaireResponse.item[0].answer[0].valueInteger"]


def test_xml_is_not_acceptable_and_says_so_in_json(north_fhir):
    _outcome(north_fhir.get("/fhir/Questionnaire", _format="xml"), 406)


@pytest.mark.parametrize("bad", ["2024-13-01", "soon", "ge2024-01-01T25:00Z"])
def test_a_malformed_date_search_is_a_400_operation_outcome(north_fhir, bad):
    _outcome(north_fhir.get("/fhir/QuestionnaireResponse", authored=bad), 400)


def _nested(depth: int) -> dict:
    item: dict = {"linkId": "deep"}
    for _ in range(depth):
        item = {"linkId": "g", "item": [item]}
    return item


@pytest.mark.parametrize(
    "resource",
    [
        [],
        "text",
        {"resourceType": "QuestionnaireResponse"},
        {
            "resourceType": "QuestionnaireResponse",
            "status": "completed",
            "questionnaire": "Questionnaire/phq-9",
            "item": "not a list",
        },
        {
            "resourceType": "QuestionnaireResponse",
            "status": "completed",
            "questionnaire": "Questionnaire/phq-9",
            "subject": {"reference": "Patient/north-client-1"},
            "item": [{"linkId": "1", "answer": [{"valueInteger": 10**30}]}],
        },
        {
            "resourceType": "QuestionnaireResponse",
            "status": "completed",
            "questionnaire": "Questionnaire/srs",
            "subject": {"reference": "Patient/north-client-1"},
            "item": [{"linkId": "1", "answer": [{"valueDecimal": 1e300}]}],
        },
        {
            "resourceType": "QuestionnaireResponse",
            "status": "completed",
            "questionnaire": "Questionnaire/phq-9",
            "subject": {"identifier": {"value": "north-client-1"}},
            "authored": "2025-02-30",
            "item": [{"linkId": "1", "answer": [{"valueCoding": {}}]}],
        },
        {
            "resourceType": "QuestionnaireResponse",
            "status": "completed",
            "questionnaire": "Questionnaire/phq-9",
            "subject": {"reference": "Patient/north-client-1"},
            "item": [_nested(200)],
        },
    ],
)
def test_bad_input_is_a_4xx_operation_outcome_never_a_500(north, north_fhir, resource):
    response = north_fhir.post("/fhir/QuestionnaireResponse", resource)
    assert 400 <= response.status_code < 500, response.content
    OperationOutcome.model_validate(body(response))


@pytest.mark.parametrize(
    "path",
    [
        "/fhir/QuestionnaireResponse/not-a-uuid",
        "/fhir/Observation/99999999999999999999",
        "/fhir/Observation?_count=-1",
        "/fhir/Observation?date=ge",
        "/fhir/QuestionnaireResponse?_id=xyz&identifier=|",
    ],
)
def test_odd_reads_are_4xx_or_empty_never_500(north_fhir, path):
    response = north_fhir.api.get(path, HTTP_ACCEPT="application/fhir+json")
    assert response.status_code < 500, response.content
    assert body(response)["resourceType"] in ("OperationOutcome", "Bundle")
