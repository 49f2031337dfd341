"""QuestionnaireResponse ingest refuses what does not fit the exact questionnaire version, naming each linkId."""

from __future__ import annotations

import copy

import pytest
from fhir.resources.R4B.operationoutcome import OperationOutcome

from questionnaires.models import Response
from tests.fhir.conftest import body, response_for

PHQ9_VALID = {str(n): 1 for n in range(1, 10)}


@pytest.fixture
def phq9(north_fhir) -> dict:
    return body(north_fhir.get("/fhir/Questionnaire/phq-9"))


@pytest.fixture
def valid(north, phq9) -> dict:
    return response_for(phq9, PHQ9_VALID, subject=north.client.external_id)


def _refused(response) -> OperationOutcome:
    assert response.status_code == 422, response.content
    assert not Response.objects.exists()
    return OperationOutcome.model_validate(body(response))


def _issue_for(outcome: OperationOutcome, link_id: str):
    matching = [issue for issue in outcome.issue if f"'{link_id}'" in issue.diagnostics]
    assert matching, [issue.diagnostics for issue in outcome.issue]
    return matching[0]


def test_an_unknown_link_id_is_named_with_its_location(north_fhir, valid):
    valid["item"].append({"linkId": "99", "answer": [{"valueInteger": 1}]})
    issue = _issue_for(_refused(north_fhir.post("/fhir/QuestionnaireResponse", valid)), "99")
    assert issue.expression == ["QuestionnaireResponse.item[9].linkId"]


def test_a_missing_required_item_is_named(north_fhir, valid):
    del valid["item"][8]
    issue = _issue_for(_refused(north_fhir.post("/fhir/QuestionnaireResponse", valid)), "9")
    assert issue.code == "required"


def test_a_code_off_the_options_is_named_with_its_answer_location(north_fhir, valid):
    valid["item"][2]["answer"][0]["valueCoding"] = {"system": "http://loinc.org", "code": "LA9999-9"}
    issue = _issue_for(_refused(north_fhir.post("/fhir/QuestionnaireResponse", valid)), "3")
    assert issue.expression == ["QuestionnaireResponse.item[2].answer[0].valueCoding"]


def test_an_ordinal_off_the_scale_is_named(north_fhir, valid):
    valid["item"][4]["answer"] = [{"valueInteger": 7}]
    issue = _issue_for(_refused(north_fhir.post("/fhir/QuestionnaireResponse", valid)), "5")
    assert issue.expression == ["QuestionnaireResponse.item[4].answer[0]"]


def test_a_code_whose_ordinal_extension_disagrees_is_refused(north_fhir, valid):
    coding = valid["item"][0]["answer"][0]["valueCoding"]
    coding["extension"][0]["valueDecimal"] = 3  # LA6569-3 means 1
    _issue_for(_refused(north_fhir.post("/fhir/QuestionnaireResponse", valid)), "1")


def test_item_text_that_contradicts_the_definition_is_named(north_fhir, valid, phq9):
    valid["item"][0]["text"] = phq9["item"][8]["text"]  # item 9's question under linkId 1
    issue = _issue_for(_refused(north_fhir.post("/fhir/QuestionnaireResponse", valid)), "1")
    assert issue.expression == ["QuestionnaireResponse.item[0].text"]


def test_a_visual_analogue_mark_off_the_line_is_named(north, north_fhir):
    srs = body(north_fhir.get("/fhir/Questionnaire/srs"))
    resource = response_for(srs, {"1": 9, "2": 9, "3": 9, "4": 9}, subject=north.client.external_id)
    resource["item"][1]["answer"] = [{"valueDecimal": 10.5}]
    issue = _issue_for(_refused(north_fhir.post("/fhir/QuestionnaireResponse", resource)), "2")
    assert issue.expression == ["QuestionnaireResponse.item[1].answer[0]"]


def test_every_problem_gets_its_own_issue(north_fhir, valid):
    valid["item"][0]["answer"] = [{"valueInteger": 9}]
    del valid["item"][8]
    valid["item"].append({"linkId": "42", "answer": [{"valueInteger": 0}]})
    outcome = _refused(north_fhir.post("/fhir/QuestionnaireResponse", valid))
    assert len(outcome.issue) == 3
    for link_id in ("1", "9", "42"):
        _issue_for(outcome, link_id)


def test_an_in_progress_response_is_refused_rather_than_stored_unscored(north_fhir, valid):
    valid["status"] = "in-progress"
    outcome = _refused(north_fhir.post("/fhir/QuestionnaireResponse", valid))
    assert outcome.issue[0].code == "business-rule"
    assert outcome.issue[0].expression == ["QuestionnaireResponse.status"]


def test_an_unknown_questionnaire_or_version_is_refused(north_fhir, valid):
    for canonical in ("http://testserver/fhir/Questionnaire/nope", "http://testserver/fhir/Questionnaire/phq-9|7.0.0"):
        resource = copy.deepcopy(valid)
        resource["questionnaire"] = canonical
        outcome = _refused(north_fhir.post("/fhir/QuestionnaireResponse", resource))
        assert outcome.issue[0].expression == ["QuestionnaireResponse.questionnaire"]


def test_a_patient_the_clinic_does_not_know_is_refused(north_fhir, valid, south):
    valid["subject"] = {"reference": f"Patient/{south.client.external_id}"}
    outcome = _refused(north_fhir.post("/fhir/QuestionnaireResponse", valid))
    assert outcome.issue[0].expression == ["QuestionnaireResponse.subject"]
    assert outcome.issue[0].code == "not-found"


def test_a_subject_that_is_not_a_patient_is_refused(north_fhir, valid):
    valid["subject"] = {"reference": "Group/1"}
    outcome = _refused(north_fhir.post("/fhir/QuestionnaireResponse", valid))
    assert outcome.issue[0].expression == ["QuestionnaireResponse.subject.reference"]
