"""A sender's own form, contained or registered with POST /fhir/Questionnaire: its items mapped by LOINC code onto
a plugin's, its answers weighted by the ordinalValue/itemWeight it declares; clinic-scoped, never replacing a plugin."""

from __future__ import annotations

import pytest
from fhir.resources.R4B.questionnaire import Questionnaire

from questionnaires.fhir.codes import ITEM_WEIGHT, ORDINAL_VALUE
from questionnaires.models import ClientToken, ForeignQuestionnaire, Response
from tests.fhir.conftest import FhirClient, body
from tests.fhir.test_item_identification import PHQ9_CODES, refused

FORM_URL = "https://forms.example-ehr.org/Questionnaire/mood-check"
LOCAL = "urn:example-ehr:answers"
# The sender's own answer codes, weighted like the PHQ-9's columns (0-3).
LOCAL_SCALE = (("never", "Never"), ("some", "Some days"), ("most", "Most days"), ("daily", "Every day"))


def mood_check(*, weight_url: str = ORDINAL_VALUE, on: str = "answerOption", version: str = "3") -> dict:
    """An EHR's PHQ-9 with its own linkIds (m1..m9) and answer codes; items carry LOINC codes."""

    def option(weight: int) -> dict:
        code, display = LOCAL_SCALE[weight]
        extension = [{"url": weight_url, "valueDecimal": weight}]
        coding = {"system": LOCAL, "code": code, "display": display}
        if on == "coding":
            return {"valueCoding": {**coding, "extension": extension}}
        return {"valueCoding": coding, "extension": extension}

    return {
        "resourceType": "Questionnaire",
        "id": "mood",
        "url": FORM_URL,
        "version": version,
        "status": "active",
        "item": [
            {
                "linkId": "mood",
                "type": "group",
                "item": [
                    {
                        "linkId": f"m{n}",
                        "type": "choice",
                        "code": [{"system": "http://loinc.org", "code": code}],
                        "answerOption": [option(w) for w in range(4)],
                    }
                    for n, code in enumerate(PHQ9_CODES, start=1)
                ],
            },
            {"linkId": "score", "type": "integer", "code": [{"system": "http://loinc.org", "code": "44261-6"}]},
        ],
    }


# Hand-scored with the form's weights: 0+1+2+3+0+1+2+3+0 = 12.
VALUES = (0, 1, 2, 3, 0, 1, 2, 3, 0)


def answered(subject: str, questionnaire: str, *, total: int | None = None) -> dict:
    items = [
        {"linkId": f"m{n}", "answer": [{"valueCoding": {"system": LOCAL, "code": LOCAL_SCALE[v][0]}}]}
        for n, v in enumerate(VALUES, start=1)
    ]
    resource = {
        "resourceType": "QuestionnaireResponse",
        "questionnaire": questionnaire,
        "status": "completed",
        "subject": {"reference": f"Patient/{subject}"},
        "authored": "2025-05-06T10:30:00-04:00",
        "item": [{"linkId": "mood", "item": items}],
    }
    if total is not None:
        resource["item"].append({"linkId": "score", "answer": [{"valueInteger": total}]})
    return resource


def expected() -> dict:
    return {str(n): v for n, v in enumerate(VALUES, start=1)}


@pytest.mark.parametrize(("weight_url", "on"), [(ORDINAL_VALUE, "answerOption"), (ITEM_WEIGHT, "coding")])
def test_a_contained_form_maps_its_items_by_loinc_code_and_weighs_answers_as_it_declares(
    north, north_fhir, weight_url, on
):
    resource = answered(north.client.external_id, "#mood", total=12)
    resource["contained"] = [mood_check(weight_url=weight_url, on=on)]
    posted = north_fhir.post("/fhir/QuestionnaireResponse", resource)
    assert posted.status_code == 201, posted.content
    assert body(posted)["resourceType"] == "QuestionnaireResponse"  # the matching total: no warning
    assert Response.objects.get().answers == expected()


def test_a_contained_form_whose_weight_contradicts_a_loinc_answer_code_is_refused(north, north_fhir):
    form = mood_check()
    option = form["item"][0]["item"][0]["answerOption"][0]
    option["valueCoding"] = {"system": "http://loinc.org", "code": "LA6568-5"}  # "Not at all"
    option["extension"][0]["valueDecimal"] = 3
    resource = answered(north.client.external_id, "#mood")
    resource["contained"] = [form]
    outcome = refused(north_fhir.post("/fhir/QuestionnaireResponse", resource))
    assert outcome.issue[0].expression == ["QuestionnaireResponse.contained[0].item[0].item[0].answerOption[0]"]


def test_a_reference_to_a_missing_contained_form_is_refused(north, north_fhir):
    outcome = refused(north_fhir.post("/fhir/QuestionnaireResponse", answered(north.client.external_id, "#nope")))
    assert outcome.issue[0].expression == ["QuestionnaireResponse.questionnaire"]


def test_a_registered_form_is_readable_back_and_scores_responses_to_its_canonical(north, north_fhir):
    posted = north_fhir.post("/fhir/Questionnaire", mood_check())
    assert posted.status_code == 201, posted.content
    registered = Questionnaire.model_validate(body(posted))
    assert posted["Location"] == f"http://testserver/fhir/Questionnaire/{registered.id}"
    read = north_fhir.get(f"/fhir/Questionnaire/{registered.id}")
    assert read.status_code == 200 and body(read)["url"] == FORM_URL
    found = body(north_fhir.get("/fhir/Questionnaire", url=f"{FORM_URL}|3"))
    assert [entry["resource"]["id"] for entry in found["entry"]] == [registered.id]

    response = north_fhir.post(
        "/fhir/QuestionnaireResponse", answered(north.client.external_id, f"{FORM_URL}|3", total=9)
    )
    assert response.status_code == 201, response.content
    assert Response.objects.get().answers == expected()
    [warning] = [issue for issue in body(response)["issue"] if issue["severity"] == "warning"]
    assert "12" in warning["diagnostics"]  # the sender said 9


def test_a_registered_form_never_replaces_the_plugin(north, north_fhir):
    north_fhir.post("/fhir/Questionnaire", mood_check())
    plugin = body(north_fhir.get("/fhir/Questionnaire/phq-9"))
    assert plugin["url"] == "http://testserver/fhir/Questionnaire/phq-9"
    assert all(entry["resource"]["id"] != "mood" for entry in body(north_fhir.get("/fhir/Questionnaire"))["entry"])


def test_and_the_other_clinic_neither_sees_nor_uses_it(north, north_fhir, south, south_fhir):
    registered = body(north_fhir.post("/fhir/Questionnaire", mood_check()))
    assert south_fhir.get(f"/fhir/Questionnaire/{registered['id']}").status_code == 404
    assert body(south_fhir.get("/fhir/Questionnaire", url=FORM_URL))["total"] == 0
    outcome = refused(south_fhir.post("/fhir/QuestionnaireResponse", answered(south.client.external_id, FORM_URL)))
    assert outcome.issue[0].expression == ["QuestionnaireResponse.questionnaire"]


def test_registering_the_same_form_again_is_a_replay_and_other_content_under_its_version_a_conflict(north, north_fhir):
    first = north_fhir.post("/fhir/Questionnaire", mood_check())
    again = north_fhir.post("/fhir/Questionnaire", mood_check())
    assert (first.status_code, again.status_code) == (201, 200)
    assert body(first)["id"] == body(again)["id"]
    changed = mood_check()
    changed["item"][0]["item"][0]["answerOption"].reverse()
    changed["title"] = "Mood check (reordered)"
    assert north_fhir.post("/fhir/Questionnaire", changed).status_code == 409
    assert north_fhir.post("/fhir/Questionnaire", mood_check(version="4")).status_code == 201
    assert ForeignQuestionnaire.objects.count() == 2


@pytest.mark.parametrize(
    "url",
    [
        "http://testserver/fhir/Questionnaire/phq-9",
        "http://testserver/fhir/Questionnaire/mine",
        "http://loinc.org/q/44249-1",
    ],
)
def test_a_form_under_this_servers_canonical_base_or_a_loinc_form_url_is_not_registered(north, north_fhir, url):
    form = mood_check()
    form["url"] = url
    posted = north_fhir.post("/fhir/Questionnaire", form)
    assert posted.status_code == 422, posted.content
    assert body(posted)["issue"][0]["expression"] == ["Questionnaire.url"]
    assert not ForeignQuestionnaire.objects.exists()


def test_a_form_without_codes_of_any_instrument_is_refused(north, north_fhir):
    form = mood_check()
    for item in form["item"][0]["item"]:
        item.pop("code")
    form["item"].pop()
    posted = north_fhir.post("/fhir/Questionnaire", form)
    assert posted.status_code == 422, posted.content
    assert "cannot tell which instrument" in body(posted)["issue"][0]["diagnostics"]


def test_a_client_token_may_not_register_a_form(north):
    _, token = ClientToken.objects.create_key(name="app", client=north.client, issued_by=north.clinician)
    posted = FhirClient(authorization=f"Bearer {token}").post("/fhir/Questionnaire", mood_check())
    assert posted.status_code == 403
    assert not ForeignQuestionnaire.objects.exists()


def test_another_hosts_phq9_canonical_is_accepted_once_the_clinic_registers_that_form(north, north_fhir):
    other = "https://other-vendor.example.com/fhir/Questionnaire/phq-9"
    refused(north_fhir.post("/fhir/QuestionnaireResponse", answered(north.client.external_id, other)))
    form = mood_check()
    form["url"] = other
    assert north_fhir.post("/fhir/Questionnaire", form).status_code == 201
    posted = north_fhir.post("/fhir/QuestionnaireResponse", answered(north.client.external_id, other))
    assert posted.status_code == 201, posted.content
    assert Response.objects.get().answers == expected()
