"""Searching responses and scores, and clinic isolation: another clinic's data is a 404 and never listed."""

from __future__ import annotations

import pytest
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.operationoutcome import OperationOutcome
from fhir.resources.R4B.questionnaireresponse import QuestionnaireResponse

from questionnaires.models import AuditEvent, ClientToken, Score
from tests.fhir.conftest import FhirClient, body, response_for


def _post(fhir, persona, questionnaire_id: str, value: int, authored: str) -> str:
    questionnaire = body(fhir.get(f"/fhir/Questionnaire/{questionnaire_id}"))
    count = len([item for item in questionnaire["item"] if item["required"]])
    answers = {str(n): value for n in range(1, count + 1)}
    posted = fhir.post(
        "/fhir/QuestionnaireResponse",
        response_for(questionnaire, answers, subject=persona.client.external_id, authored=authored),
    )
    assert posted.status_code == 201, posted.content
    return body(posted)["id"]


@pytest.fixture
def history(north, north_fhir) -> dict[str, str]:
    return {
        "jan": _post(north_fhir, north, "phq-9", 1, "2025-01-15T10:00:00Z"),
        "feb": _post(north_fhir, north, "phq-9", 2, "2025-02-15T10:00:00Z"),
        "mar": _post(north_fhir, north, "gad-7", 1, "2025-03-15T10:00:00Z"),
    }


def _ids(response) -> list[str]:
    assert response.status_code == 200, response.content
    bundle = Bundle.model_validate(body(response))
    return sorted(entry.resource.id for entry in bundle.entry or [])


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"subject": "Patient/north-client-1"}, ["feb", "jan", "mar"]),
        ({"patient": "north-client-1"}, ["feb", "jan", "mar"]),
        ({"questionnaire": "http://testserver/fhir/Questionnaire/phq-9"}, ["feb", "jan"]),
        ({"questionnaire": "http://testserver/fhir/Questionnaire/gad-7|1.1.0"}, ["mar"]),
        ({"status": "completed"}, ["feb", "jan", "mar"]),
        ({"status": "in-progress"}, []),
        ({"authored": "ge2025-02-01"}, ["feb", "mar"]),
        ({"authored": "lt2025-02-15T10:00:00Z"}, ["jan"]),
        ({"authored": "gt2025-02"}, ["mar"]),
        ({"authored": "le2025-02-15"}, ["feb", "jan"]),
        ({"authored": "2025-03"}, ["mar"]),
        ({"author": "Patient/north-client-1"}, ["feb", "jan", "mar"]),
        ({"author": "Practitioner/north-clinician"}, []),
    ],
)
def test_questionnaire_responses_are_searchable(north_fhir, history, params, expected):
    assert _ids(north_fhir.get("/fhir/QuestionnaireResponse", **params)) == sorted(history[k] for k in expected)


def test_authored_may_be_given_twice_for_a_range(north_fhir, history):
    response = north_fhir.api.get(
        "/fhir/QuestionnaireResponse?authored=ge2025-01-20&authored=le2025-03-01", HTTP_ACCEPT="application/fhir+json"
    )
    assert _ids(response) == [history["feb"]]


def test_a_response_reads_back_by_id_and_the_read_is_audited(north, north_fhir, history):
    response = north_fhir.get(f"/fhir/QuestionnaireResponse/{history['jan']}")
    resource = QuestionnaireResponse.model_validate(body(response))
    assert resource.subject.reference == "Patient/north-client-1"
    assert resource.item[0].answer[0].valueCoding.code == "LA6569-3"
    assert AuditEvent.objects.filter(action="read", object_ids=[history["jan"]], clinic_id=north.clinic.pk).exists()


def test_another_clinics_response_is_a_404_and_never_listed(south_fhir, history):
    response = south_fhir.get(f"/fhir/QuestionnaireResponse/{history['jan']}")
    assert response.status_code == 404
    OperationOutcome.model_validate(body(response))
    assert _ids(south_fhir.get("/fhir/QuestionnaireResponse")) == []
    assert _ids(south_fhir.get("/fhir/QuestionnaireResponse", subject="Patient/north-client-1")) == []


def test_a_client_token_sees_only_its_own_client(north, history):
    from tests.factories import TherapyClientFactory

    other = TherapyClientFactory(clinic=north.clinic, external_id="north-client-2")
    _, key = ClientToken.objects.create_key(name="app", client=other)
    assert _ids(FhirClient(authorization=f"Bearer {key}").get("/fhir/QuestionnaireResponse")) == []
    _, own_key = ClientToken.objects.create_key(name="app", client=north.client)
    assert len(_ids(FhirClient(authorization=f"Bearer {own_key}").get("/fhir/QuestionnaireResponse"))) == 3


@pytest.mark.django_db(transaction=True)
def test_observations_are_searchable_by_subject_code_and_date_and_isolated(north, south, north_fhir, south_fhir):
    jan = _post(north_fhir, north, "phq-9", 1, "2025-01-15T10:00:00Z")
    mar = _post(north_fhir, north, "gad-7", 1, "2025-03-15T10:00:00Z")
    observation_of = {str(score.response_id): str(score.pk) for score in Score.objects.all()}
    assert set(observation_of) == {jan, mar}

    def found(**params) -> list[str]:
        return _ids(north_fhir.get("/fhir/Observation", **params))

    assert found(subject="Patient/north-client-1") == sorted(observation_of.values())
    assert found(code="http://loinc.org|44261-6") == [observation_of[jan]]
    assert found(code="70274-6") == [observation_of[mar]]
    assert found(code="wai-sr-total") == []
    assert found(date="ge2025-02-01") == [observation_of[mar]]
    assert found(date="lt2025-02-01", code="44261-6") == [observation_of[jan]]
    assert found(subject="Patient/south-client-1") == []

    assert south_fhir.get(f"/fhir/Observation/{observation_of[jan]}").status_code == 404
    assert _ids(south_fhir.get("/fhir/Observation")) == []
    assert AuditEvent.objects.filter(action="read", outcome="not_found", clinic_id=south.clinic.pk).exists()
    assert AuditEvent.objects.filter(
        action="search", object_type="fhir.Observation", clinic_id=north.clinic.pk
    ).exists()
