"""Items identified by what the resource says: LOINC codes in linkIds and paths, item.definition, computed totals,
wording as a cross-check (a warning, or a refusal when it names another item), and ambiguity refused."""

from __future__ import annotations

from typing import Any

import pytest
from fhir.resources.R4B.operationoutcome import OperationOutcome

from questionnaires.models import Response
from tests.fhir.conftest import body

LOINC = "http://loinc.org"
SCALE = {0: "LA6568-5", 1: "LA6569-3", 2: "LA6570-1", 3: "LA6571-9"}
PHQ9_CODES = ("44250-9", "44255-8", "44259-0", "44254-1", "44251-7", "44258-2", "44252-5", "44253-3", "44260-8")
GAD7_CODES = ("69725-0", "68509-9", "69733-4", "69734-2", "69735-9", "69689-8", "69736-7")
# Hand-scored: PHQ-9 1+0+2+1+0+3+1+0+0 = 8 (mild); GAD-7 1+2+0+1+3+0+1 = 8 (mild).
PHQ9_VALUES = (1, 0, 2, 1, 0, 3, 1, 0, 0)
GAD7_VALUES = (1, 2, 0, 1, 3, 0, 1)


def coded(value: int) -> dict:
    return {"valueCoding": {"system": LOINC, "code": SCALE[value]}}


def resource(subject: str, items: list[dict], questionnaire: str = "http://loinc.org/q/44249-1") -> dict:
    return {
        "resourceType": "QuestionnaireResponse",
        "questionnaire": questionnaire,
        "status": "completed",
        "subject": {"reference": f"Patient/{subject}"},
        "authored": "2025-05-06T10:30:00-04:00",
        "item": items,
    }


def phq9_items(link_ids: list[str], values=PHQ9_VALUES, **extra: Any) -> list[dict]:
    return [
        {"linkId": link_id, "answer": [coded(value)], **extra} for link_id, value in zip(link_ids, values, strict=True)
    ]


def stored_answers(posted) -> dict:
    assert posted.status_code == 201, posted.content
    return Response.objects.get().answers


def refused(posted) -> OperationOutcome:
    assert posted.status_code == 422, posted.content
    assert not Response.objects.exists()
    return OperationOutcome.model_validate(body(posted))


def warnings_of(posted) -> list:
    if (
        posted["Content-Type"].startswith("application/fhir+json")
        and body(posted)["resourceType"] == "OperationOutcome"
    ):
        return [i for i in OperationOutcome.model_validate(body(posted)).issue if i.severity == "warning"]
    return []


def test_a_loinc_panel_nested_two_groups_deep_in_a_larger_form_is_read_by_the_last_path_segment(north, north_fhir):
    link_ids = [f"/44249-1/{code}" for code in PHQ9_CODES]
    items = [
        {"linkId": "/intake", "item": [{"linkId": "/intake/44249-1", "item": phq9_items(link_ids)}]},
        {"linkId": "/intake/notes", "text": "Free-text notes", "item": []},
    ]
    posted = north_fhir.post("/fhir/QuestionnaireResponse", resource(north.client.external_id, items))
    assert stored_answers(posted) == {str(n): v for n, v in enumerate(PHQ9_VALUES, start=1)}
    assert warnings_of(posted) == []


@pytest.mark.parametrize(
    "template",
    [
        "http://loinc.org/q/44249-1#{code}",
        "http://loinc.org#{code}",
        "https://loinc.org/{code}",
        "http://loinc.org/{code}/",
    ],
)
def test_item_definition_naming_a_loinc_code_identifies_an_item_whose_link_id_is_the_senders_own(
    north, north_fhir, template
):
    items = [
        {"linkId": f"q{n}", "definition": template.format(code=code), "answer": [coded(value)]}
        for n, (code, value) in enumerate(zip(PHQ9_CODES, PHQ9_VALUES, strict=True), start=1)
    ]
    posted = north_fhir.post("/fhir/QuestionnaireResponse", resource(north.client.external_id, items))
    assert stored_answers(posted)["6"] == 3


def test_item_definition_naming_a_link_id_of_the_products_own_questionnaire_identifies_it(north, north_fhir):
    items = [
        {"linkId": f"x{n}", "definition": f"http://testserver/fhir/Questionnaire/phq-9#{n}", "answer": [coded(v)]}
        for n, v in enumerate(PHQ9_VALUES, start=1)
    ]
    posted = north_fhir.post("/fhir/QuestionnaireResponse", resource(north.client.external_id, items))
    assert stored_answers(posted)["3"] == 2


def test_a_link_id_and_a_definition_that_name_different_items_are_refused_naming_the_item(north, north_fhir):
    items = phq9_items([str(n) for n in range(1, 10)])
    items[0]["definition"] = "http://loinc.org#44255-8"  # item 2's code on linkId 1
    outcome = refused(north_fhir.post("/fhir/QuestionnaireResponse", resource(north.client.external_id, items)))
    ambiguous = [issue for issue in outcome.issue if "ambiguous" in issue.diagnostics]
    assert [issue.expression for issue in ambiguous] == [["QuestionnaireResponse.item[0]"]]
    assert "item 1" in ambiguous[0].diagnostics and "item 2" in ambiguous[0].diagnostics


def test_a_loinc_code_as_link_id_contradicted_by_its_definition_is_refused(north, north_fhir):
    items = phq9_items([f"/{code}" for code in PHQ9_CODES])
    items[4]["definition"] = "http://loinc.org/q/44249-1#44260-8"  # item 9's code on item 5's linkId
    outcome = refused(north_fhir.post("/fhir/QuestionnaireResponse", resource(north.client.external_id, items)))
    assert any(
        issue.expression == ["QuestionnaireResponse.item[4]"] and "'/44251-7' is ambiguous" in issue.diagnostics
        for issue in outcome.issue
    )


def test_a_loinc_code_the_instrument_does_not_have_is_named(north, north_fhir):
    items = phq9_items([f"/{code}" for code in PHQ9_CODES])
    items.append({"linkId": "/72166-2", "answer": [{"valueInteger": 1}]})  # tobacco smoking status: not PHQ-9
    outcome = refused(north_fhir.post("/fhir/QuestionnaireResponse", resource(north.client.external_id, items)))
    assert outcome.issue[0].expression == ["QuestionnaireResponse.item[9].linkId"]
    assert "LOINC 72166-2" in outcome.issue[0].diagnostics


# --- computed totals ---------------------------------------------------------------------------------------------


def test_a_senders_total_that_matches_is_neither_stored_nor_warned_about(north, north_fhir):
    items = [*phq9_items([f"/{code}" for code in PHQ9_CODES]), {"linkId": "/44261-6", "answer": [{"valueInteger": 8}]}]
    posted = north_fhir.post("/fhir/QuestionnaireResponse", resource(north.client.external_id, items))
    assert set(stored_answers(posted)) == {str(n) for n in range(1, 10)}
    assert warnings_of(posted) == []
    assert body(posted)["resourceType"] == "QuestionnaireResponse"


def test_a_senders_total_that_disagrees_is_a_warning_and_our_total_is_the_one_kept(north, north_fhir):
    items = [
        *phq9_items([f"/{code}" for code in PHQ9_CODES]),
        {"linkId": "phq-total", "definition": "http://loinc.org#44261-6", "answer": [{"valueDecimal": 11}]},
    ]
    posted = north_fhir.post("/fhir/QuestionnaireResponse", resource(north.client.external_id, items))
    assert "phq-total" not in stored_answers(posted)
    [warning] = warnings_of(posted)
    assert warning.expression == ["QuestionnaireResponse.item[9].answer[0]"]
    assert "11" in warning.diagnostics and "8" in warning.diagnostics


def test_a_gad7_total_given_as_a_quantity_that_disagrees_is_a_warning(north, north_fhir):
    items = [{"linkId": f"/{code}", "answer": [coded(v)]} for code, v in zip(GAD7_CODES, GAD7_VALUES, strict=True)]
    items.append({"linkId": "/70274-6", "answer": [{"valueQuantity": {"value": 9, "unit": "{score}"}}]})
    posted = north_fhir.post(
        "/fhir/QuestionnaireResponse", resource(north.client.external_id, items, "http://loinc.org/q/69737-5")
    )
    assert stored_answers(posted) == {str(n): v for n, v in enumerate(GAD7_VALUES, start=1)}
    [warning] = warnings_of(posted)
    assert "gad-7 total 8" in warning.diagnostics


# --- wording -------------------------------------------------------------------------------------------------------


def gad7(subject: str, texts: dict[int, str]) -> dict:
    items = [
        {"linkId": f"/{code}", "answer": [coded(v)], **({"text": texts[n]} if n in texts else {})}
        for n, (code, v) in enumerate(zip(GAD7_CODES, GAD7_VALUES, strict=True), start=1)
    ]
    return resource(subject, items, "http://loinc.org/q/69737-5")


def test_a_translation_as_item_text_of_a_coded_item_is_a_warning_not_a_refusal(north, north_fhir):
    posted = north_fhir.post(
        "/fhir/QuestionnaireResponse",
        gad7(north.client.external_id, {1: "Sentirse nervioso/a, intranquilo/a o con los nervios de punta"}),
    )
    assert stored_answers(posted)["1"] == 1
    [warning] = warnings_of(posted)
    assert warning.expression == ["QuestionnaireResponse.item[0].text"]


def test_punctuation_and_case_differences_are_no_warning_at_all(north, north_fhir):
    posted = north_fhir.post(
        "/fhir/QuestionnaireResponse",
        gad7(north.client.external_id, {6: "Becoming easily annoyed or irritable.", 4: "TROUBLE RELAXING?"}),
    )
    assert stored_answers(posted)["6"] == 0
    assert warnings_of(posted) == []


def test_a_different_questions_text_on_a_coded_item_stays_a_refusal(north, north_fhir):
    posted = north_fhir.post(
        "/fhir/QuestionnaireResponse", gad7(north.client.external_id, {1: "Worrying too much about different things"})
    )
    outcome = refused(posted)
    assert outcome.issue[0].expression == ["QuestionnaireResponse.item[0].text"]
    assert "item 3" in outcome.issue[0].diagnostics


def test_phq9_rewordings_seen_in_sample_data_are_warnings(north, north_fhir):
    texts = {
        3: "Trouble falling asleep, staying asleep, or sleeping too much",
        6: "Feeling bad about yourself - or that you're a failure or have let yourself or your family down",
    }
    items = [
        {"linkId": code, "answer": [coded(v)], **({"text": texts[n]} if n in texts else {})}
        for n, (code, v) in enumerate(zip(PHQ9_CODES, PHQ9_VALUES, strict=True), start=1)
    ]
    posted = north_fhir.post("/fhir/QuestionnaireResponse", resource(north.client.external_id, items))
    assert stored_answers(posted)["3"] == 2
    assert sorted(w.expression[0] for w in warnings_of(posted)) == [
        "QuestionnaireResponse.item[2].text",
        "QuestionnaireResponse.item[5].text",
    ]


def test_prefer_return_representation_keeps_the_resource_even_with_warnings(north, north_fhir):
    posted = north_fhir.post(
        "/fhir/QuestionnaireResponse",
        gad7(north.client.external_id, {1: "Sentirse nervioso/a o con los nervios de punta"}),
        HTTP_PREFER="return=representation",
    )
    assert posted.status_code == 201
    assert body(posted)["resourceType"] == "QuestionnaireResponse"


def test_unrecognised_text_on_a_bare_number_under_a_loinc_form_is_still_refused(north, north_fhir):
    items = phq9_items([str(n) for n in range(1, 10)])
    items[0]["text"] = "How many cups of coffee a day?"
    outcome = refused(north_fhir.post("/fhir/QuestionnaireResponse", resource(north.client.external_id, items)))
    assert outcome.issue[0].expression == ["QuestionnaireResponse.item[0].text"]
