"""Answer codes: every LOINC answer list LOINC's forms use for the item, read the same whatever optional parts of
the Coding (system, display, version, ordinal value) are present."""

from __future__ import annotations

import pytest

from questionnaires.fhir.codes import ITEM_WEIGHT, ORDINAL_VALUE
from questionnaires.models import Response
from tests.fhir.test_item_identification import GAD7_CODES, PHQ9_CODES, SCALE, phq9_items, refused, resource

LOINC = "http://loinc.org"


def gad7_with(subject: str, item: int, coding: dict, *, answer_extension: list | None = None) -> dict:
    items = []
    for number, code in enumerate(GAD7_CODES, start=1):
        answer = {"valueCoding": coding} if number == item else {"valueCoding": {"system": LOINC, "code": SCALE[0]}}
        if number == item and answer_extension:
            answer["extension"] = answer_extension
        items.append({"linkId": f"/{code}", "answer": [answer]})
    return resource(subject, items, "http://loinc.org/q/69737-5")


MORE_DAYS_THAN_NOT = [
    {"system": LOINC, "code": "LA18938-3"},
    {"code": "LA18938-3"},
    {"system": LOINC, "code": "LA18938-3", "display": "More days than not", "version": "2.77"},
    {"system": "https://loinc.org", "code": "LA18938-3"},
    {"system": LOINC, "code": "LA18938-3", "extension": [{"url": ORDINAL_VALUE, "valueDecimal": 2}]},
    {"code": "LA18938-3", "extension": [{"url": ITEM_WEIGHT, "valueDecimal": 2}]},
]


@pytest.mark.parametrize("coding", MORE_DAYS_THAN_NOT)
def test_gad7_item_2_more_days_than_not_is_2_with_any_optional_parts_of_the_coding(north, north_fhir, coding):
    posted = north_fhir.post("/fhir/QuestionnaireResponse", gad7_with(north.client.external_id, 2, coding))
    assert posted.status_code == 201, posted.content
    assert Response.objects.get().answers["2"] == 2


@pytest.mark.parametrize(
    "coding",
    [
        {"system": LOINC, "code": "LA18938-3"},
        {"code": "LA18938-3"},
        {"code": "LA18938-3", "extension": [{"url": ORDINAL_VALUE, "valueDecimal": 2}]},
        {"system": LOINC, "code": "LA18938-3", "extension": [{"url": ORDINAL_VALUE, "valueDecimal": 2}]},
    ],
)
def test_more_days_than_not_on_an_item_whose_loinc_list_lacks_it_is_refused_the_same_every_way(
    north, north_fhir, coding
):
    outcome = refused(north_fhir.post("/fhir/QuestionnaireResponse", gad7_with(north.client.external_id, 1, coding)))
    assert outcome.issue[0].expression == ["QuestionnaireResponse.item[0].answer[0].valueCoding"]
    assert outcome.issue[0].code == "code-invalid"


def test_an_ordinal_that_contradicts_a_known_code_is_refused_on_the_coding_or_on_the_answer(north, north_fhir):
    for where in ("coding", "answer"):
        extension = [{"url": ORDINAL_VALUE, "valueDecimal": 3}]
        coding = {"system": LOINC, "code": "LA18938-3", **({"extension": extension} if where == "coding" else {})}
        resource = gad7_with(
            north.client.external_id, 2, coding, answer_extension=extension if where == "answer" else None
        )
        refused(north_fhir.post("/fhir/QuestionnaireResponse", resource))


@pytest.mark.parametrize(
    ("code", "value"), [("LA6568-5", 0), ("LA6569-3", 1), ("LA6570-1", 2), ("LA18938-3", 2), ("LA6571-9", 3)]
)
def test_every_point_of_both_loinc_lists_of_gad7_item_2_is_read(north, north_fhir, code, value):
    posted = north_fhir.post(
        "/fhir/QuestionnaireResponse", gad7_with(north.client.external_id, 2, {"system": LOINC, "code": code})
    )
    assert posted.status_code == 201, posted.content
    assert Response.objects.get().answers["2"] == value


@pytest.mark.parametrize(("code", "value"), [("LA6572-7", 0), ("LA6573-5", 1), ("LA6575-0", 2), ("LA6574-3", 3)])
def test_phq9_difficulty_item_answers_are_read_by_their_loinc_codes_without_a_system(north, north_fhir, code, value):
    items = [
        *phq9_items([f"/{c}" for c in PHQ9_CODES]),
        {"linkId": "/69722-7", "answer": [{"valueCoding": {"code": code}}]},
    ]
    posted = north_fhir.post("/fhir/QuestionnaireResponse", resource(north.client.external_id, items))
    assert posted.status_code == 201, posted.content
    assert Response.objects.get().answers["10"] == value


def test_an_unknown_loinc_answer_code_is_refused_even_with_an_ordinal_value(north, north_fhir):
    for coding in (
        {"system": LOINC, "code": "LA9999-9", "extension": [{"url": ORDINAL_VALUE, "valueDecimal": 1}]},
        {"code": "LA9999-9", "extension": [{"url": ORDINAL_VALUE, "valueDecimal": 1}]},
    ):
        refused(north_fhir.post("/fhir/QuestionnaireResponse", gad7_with(north.client.external_id, 3, coding)))


def test_a_whole_value_decimal_or_integer_is_read_as_the_scale_point(north, north_fhir):
    items = [
        {"linkId": f"/{code}", "answer": [{"valueDecimal": 1.0} if n % 2 else {"valueInteger": 2}]}
        for n, code in enumerate(GAD7_CODES, start=1)
    ]
    posted = north_fhir.post(
        "/fhir/QuestionnaireResponse", resource(north.client.external_id, items, "http://loinc.org/q/69737-5")
    )
    assert posted.status_code == 201, posted.content
    assert Response.objects.get().answers == {"1": 1, "2": 2, "3": 1, "4": 2, "5": 1, "6": 2, "7": 1}
