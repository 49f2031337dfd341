"""Ingest of real-world-shaped responses: LOINC-coded answers, nested groups, versions, conditional create."""

from __future__ import annotations

import dataclasses

import pytest
from fhir.resources.R4B.observation import Observation

from questionnaires.models import AuditEvent, Response
from questionnaires.registry import Registry, get_registry, set_registry
from tests.fhir.conftest import body, response_for

LOINC = "http://loinc.org"
ANSWERS = {
    0: ("LA6568-5", "Not at all"),
    1: ("LA6569-3", "Several days"),
    2: ("LA6570-1", "More than half the days"),
    3: ("LA6571-9", "Nearly every day"),
}
# Hand-computed: 2+2+1+1+2+1+1+1+1 = 12, "moderate" (10-14) per Kroenke et al. 2001.
EHR_VALUES = (2, 2, 1, 1, 2, 1, 1, 1, 1)
ITEM_CODES = ("44250-9", "44255-8", "44259-0", "44254-1", "44251-7", "44258-2", "44252-5", "44253-3", "44260-8")


def ehr_phq9(subject: str, *, link_ids=None, questionnaire="http://testserver/fhir/Questionnaire/phq-9") -> dict:
    """Shaped like an EHR's export: LOINC-coded answers with displays, no ordinal extensions, a group, a difficulty
    answer and the EHR's own total score item."""
    link_ids = link_ids or [str(n) for n in range(1, 10)]
    return {
        "resourceType": "QuestionnaireResponse",
        "id": "ehr-phq9-example",
        "meta": {"profile": ["http://hl7.org/fhir/us/core/StructureDefinition/us-core-questionnaireresponse"]},
        "identifier": {"system": "urn:oid:2.16.840.1.113883.19.5", "value": "qr-20250304-0001"},
        "questionnaire": questionnaire,
        "status": "completed",
        "subject": {"reference": f"Patient/{subject}", "display": "Example Patient"},
        "authored": "2025-03-04T09:30:00-05:00",
        "author": {"reference": f"Patient/{subject}"},
        "item": [
            {
                "linkId": "phq-9-group",
                "text": "Over the last 2 weeks, how often have you been bothered by any of the following problems?",
                "item": [
                    {
                        "linkId": link_id,
                        "answer": [
                            {"valueCoding": {"system": LOINC, "code": ANSWERS[value][0], "display": ANSWERS[value][1]}}
                        ],
                    }
                    for link_id, value in zip(link_ids, EHR_VALUES, strict=True)
                ],
            },
            {
                "linkId": "10" if link_ids[0] == "1" else "/69722-7",
                "answer": [{"valueCoding": {"system": LOINC, "code": "LA6573-5", "display": "Somewhat difficult"}}],
            },
            {
                "linkId": "/44261-6",
                "text": "Patient Health Questionnaire 9 item (PHQ-9) total score",
                "answer": [{"valueInteger": 12}],
            },
        ],
    }


def _observation_of(fhir, response_id: str) -> Observation:
    found = body(fhir.get("/fhir/Observation", **{"derived-from": f"QuestionnaireResponse/{response_id}"}))
    assert found["total"] == 1, found
    return Observation.model_validate(found["entry"][0]["resource"])


@pytest.mark.django_db(transaction=True)
def test_an_ehr_phq9_with_loinc_coded_answers_scores_12(north, north_fhir):
    posted = north_fhir.post("/fhir/QuestionnaireResponse", ehr_phq9(north.client.external_id))
    assert posted.status_code == 201, posted.content
    stored = body(posted)
    assert Response.objects.get(pk=stored["id"]).answers["10"] == 1
    observation = _observation_of(north_fhir, stored["id"])
    assert observation.valueQuantity.value == 12
    assert [(c.system, c.code) for c in observation.code.coding][0] == (LOINC, "44261-6")
    assert observation.interpretation[0].coding[0].code == "phq-9-moderate"
    assert observation.effectiveDateTime.isoformat() == "2025-03-04T14:30:00+00:00"
    by_code = body(north_fhir.get("/fhir/Observation", code=f"{LOINC}|44261-6", subject=north.client.external_id))
    assert by_code["total"] == 1


@pytest.mark.django_db(transaction=True)
def test_loinc_item_codes_as_link_ids_and_the_loinc_form_url_are_understood(north, north_fhir):
    resource = ehr_phq9(
        north.client.external_id,
        link_ids=[f"/{code}" for code in ITEM_CODES],
        questionnaire="http://loinc.org/q/44249-1",
    )
    posted = north_fhir.post("/fhir/QuestionnaireResponse", resource)
    assert posted.status_code == 201, posted.content
    assert _observation_of(north_fhir, body(posted)["id"]).valueQuantity.value == 12


@pytest.mark.django_db(transaction=True)
def test_answers_given_by_ordinal_value_or_item_weight_alone_are_understood(north, north_fhir):
    wai = body(north_fhir.get("/fhir/Questionnaire/wai-sr"))
    resource = response_for(wai, {str(n): 3 for n in range(1, 13)}, subject=north.client.external_id)
    for index, item in enumerate(resource["item"]):
        url = "http://hl7.org/fhir/StructureDefinition/" + ("itemWeight" if index % 2 else "ordinalValue")
        item["answer"] = [
            {
                "valueCoding": {
                    "system": "urn:ehr:local",
                    "code": f"x{index}",
                    "extension": [{"url": url, "valueDecimal": 3}],
                }
            }
        ]
    posted = north_fhir.post("/fhir/QuestionnaireResponse", resource)
    assert posted.status_code == 201, posted.content
    assert _observation_of(north_fhir, body(posted)["id"]).valueQuantity.value == 36


def test_the_same_identifier_posted_twice_stores_one_response(north, north_fhir):
    resource = ehr_phq9(north.client.external_id)
    first = north_fhir.post("/fhir/QuestionnaireResponse", resource)
    second = north_fhir.post("/fhir/QuestionnaireResponse", resource)
    assert (first.status_code, second.status_code) == (201, 200)
    assert body(first)["id"] == body(second)["id"]
    assert Response.objects.count() == 1
    assert body(second)["identifier"] == resource["identifier"]


def test_if_none_exist_makes_a_create_conditional(north, north_fhir):
    resource = ehr_phq9(north.client.external_id)
    del resource["identifier"]
    header = {"HTTP_IF_NONE_EXIST": "identifier=urn:ehr|form-77"}
    first = north_fhir.post("/fhir/QuestionnaireResponse", resource, **header)
    second = north_fhir.post("/fhir/QuestionnaireResponse", resource, **header)
    assert (first.status_code, second.status_code) == (201, 200)
    assert Response.objects.count() == 1
    found = body(north_fhir.get("/fhir/QuestionnaireResponse", identifier="urn:ehr|form-77"))
    assert [entry["resource"]["id"] for entry in found["entry"]] == [body(first)["id"]]


@pytest.fixture
def two_phq9_versions():
    """PHQ-9 as 1.1.0 plus an identical 2.0.0, to tell pinned from current."""
    current = get_registry()
    old = current.get("phq-9")
    new = dataclasses.replace(old, version="2.0.0")
    registry = Registry(definitions={old.key: old, new.key: new})
    previous = set_registry(registry)
    yield old, new
    set_registry(previous)


def test_a_canonical_without_version_is_stored_with_the_current_version(north, north_fhir, two_phq9_versions):
    old, new = two_phq9_versions
    questionnaire = body(north_fhir.get(f"/fhir/Questionnaire/phq-9/_history/{old.version}"))
    unpinned = response_for(
        questionnaire, {str(n): 0 for n in range(1, 10)}, subject=north.client.external_id, pin_version=False
    )
    pinned = response_for(questionnaire, {str(n): 0 for n in range(1, 10)}, subject=north.client.external_id)

    stored_unpinned = body(north_fhir.post("/fhir/QuestionnaireResponse", unpinned))
    stored_pinned = body(north_fhir.post("/fhir/QuestionnaireResponse", pinned))

    assert stored_unpinned["questionnaire"].endswith("/Questionnaire/phq-9|2.0.0")
    assert stored_pinned["questionnaire"].endswith("/Questionnaire/phq-9|1.1.0")
    versions = dict(Response.objects.values_list("id", "questionnaire_version__version"))
    assert sorted(versions.values()) == ["1.1.0", "2.0.0"]


def test_a_create_is_audited(north, north_fhir):
    posted = north_fhir.post("/fhir/QuestionnaireResponse", ehr_phq9(north.client.external_id))
    event = AuditEvent.objects.get(action="create")
    assert event.object_ids == [body(posted)["id"]]
    assert event.clinic_id == north.clinic.pk
    assert event.actor.startswith("api_key:")
