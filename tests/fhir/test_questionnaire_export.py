"""Questionnaire export and search: every plugin version as a valid R4 Questionnaire."""

from __future__ import annotations

from decimal import Decimal

import pytest
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.operationoutcome import OperationOutcome
from fhir.resources.R4B.questionnaire import Questionnaire as R4Questionnaire

from questionnaires.fhir.codes import ORDINAL_VALUE
from questionnaires.fhir.questionnaire import questionnaire_resource
from questionnaires.registry import get_registry
from tests.fhir.conftest import FhirClient, body

BASE = "https://alliance.example/fhir"


@pytest.mark.parametrize("definition", get_registry().all(), ids=lambda d: f"{d.id}-{d.version}")
def test_every_registered_definition_exports_as_a_valid_r4_questionnaire(definition):
    resource = questionnaire_resource(definition, base=BASE)
    parsed = R4Questionnaire.model_validate(resource)
    assert parsed.url == f"{BASE}/Questionnaire/{definition.id}"
    assert parsed.version == definition.version
    assert [item.linkId for item in parsed.item] == [item.link_id for item in definition.items]
    for exported, item in zip(parsed.item, definition.items, strict=True):
        assert exported.type == item.type
        assert exported.required == item.required
        if item.type == "choice":
            ordinals = [
                Decimal(str(ext.valueDecimal))
                for option in exported.answerOption
                for ext in option.extension
                if ext.url == ORDINAL_VALUE
            ]
            assert ordinals == [Decimal(option.value) for option in item.options]


def test_phq9_carries_its_loinc_codes_and_text_with_the_attribution():
    resource = questionnaire_resource(get_registry().get("phq-9"), base=BASE)
    assert resource["code"][0] == {
        "system": "http://loinc.org",
        "code": "44249-1",
        "display": "PHQ-9 quick depression assessment panel",
    }
    first = resource["item"][0]
    assert first["code"][0]["code"] == "44250-9"
    assert first["text"] == "Little interest or pleasure in doing things"
    assert [o["valueCoding"]["code"] for o in first["answerOption"]] == ["LA6568-5", "LA6569-3", "LA6570-1", "LA6571-9"]
    assert all(o["valueCoding"]["system"] == "http://loinc.org" for o in first["answerOption"])
    assert resource["item"][8]["code"][0]["code"] == "44260-8"
    assert "Pfizer" in resource["copyright"]


def test_gad7_uses_its_panel_code_and_not_item_one_code_for_the_form():
    resource = questionnaire_resource(get_registry().get("gad-7"), base=BASE)
    assert resource["code"][0]["code"] == "69737-5"
    assert resource["item"][0]["code"][0]["code"] == "69725-0"


def test_wai_sr_serves_labels_not_licensed_text_and_codes_answers_in_its_own_system():
    definition = get_registry().get("wai-sr")
    resource = questionnaire_resource(definition, base=BASE)
    assert resource["item"][3]["text"] == "Item 4 (goal)"
    option = resource["item"][0]["answerOption"][0]
    assert option["valueCoding"]["system"] == f"{BASE}/CodeSystem/wai-sr-answers"
    assert option["valueCoding"]["code"] == "1"
    assert option["valueCoding"]["display"] == "Seldom"
    assert "code" not in resource
    assert resource["copyright"]


def test_srs_visual_analogue_items_are_decimals_with_min_and_max():
    resource = questionnaire_resource(get_registry().get("srs"), base=BASE)
    item = resource["item"][0]
    assert item["type"] == "decimal"
    extensions = {ext["url"].rsplit("/", 1)[1]: ext for ext in item["extension"]}
    assert extensions["minValue"]["valueDecimal"] == 0
    assert extensions["maxValue"]["valueDecimal"] == 10
    assert extensions["maxDecimalPlaces"]["valueInteger"] == 1


def test_it_lists_every_version_in_a_searchset_bundle(north_fhir):
    response = north_fhir.get("/fhir/Questionnaire")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/fhir+json")
    bundle = Bundle.model_validate(body(response))
    assert bundle.type == "searchset"
    assert bundle.total == len(get_registry().all())
    ids = {(entry.resource.id, entry.resource.version) for entry in bundle.entry}
    assert ("phq-9", get_registry().get("phq-9").version) in ids


@pytest.mark.parametrize(
    "params",
    [
        {"url": "http://testserver/fhir/Questionnaire/phq-9"},
        {"url": "http://testserver/fhir/Questionnaire/phq-9|1.1.0"},
        {"name": "PHQ_9"},
        {"name": "phq-9"},
        {"_id": "phq-9"},
        {"code": "http://loinc.org|44249-1"},
    ],
)
def test_it_finds_a_questionnaire_by_search_parameter(north_fhir, params):
    bundle = body(north_fhir.get("/fhir/Questionnaire", **params))
    assert [entry["resource"]["id"] for entry in bundle["entry"]] == ["phq-9"]


def test_search_by_status_and_version_narrows_the_bundle(north_fhir):
    assert body(north_fhir.get("/fhir/Questionnaire", status="retired"))["total"] == 0
    assert body(north_fhir.get("/fhir/Questionnaire", status="active"))["total"] == len(get_registry().all())
    assert body(north_fhir.get("/fhir/Questionnaire", version="9.9.9"))["total"] == 0


def test_it_pages_with_a_next_link(north_fhir):
    bundle = body(north_fhir.get("/fhir/Questionnaire", _count=2))
    assert len(bundle["entry"]) == 2
    next_link = next(link["url"] for link in bundle["link"] if link["relation"] == "next")
    assert "_offset=2" in next_link


def test_it_reads_the_latest_version_and_a_version_by_history(north_fhir):
    latest = north_fhir.get("/fhir/Questionnaire/phq-9")
    assert latest.status_code == 200
    R4Questionnaire.model_validate(body(latest))
    version = body(latest)["version"]
    pinned = north_fhir.get(f"/fhir/Questionnaire/phq-9/_history/{version}")
    assert body(pinned)["version"] == version
    assert pinned["ETag"] == f'W/"{version}"'


def test_an_unknown_questionnaire_or_version_is_a_404_operation_outcome(north_fhir):
    for path in ("/fhir/Questionnaire/no-such", "/fhir/Questionnaire/phq-9/_history/0.0.1"):
        response = north_fhir.get(path)
        assert response.status_code == 404
        assert OperationOutcome.model_validate(body(response)).issue[0].code == "not-found"


def test_questionnaires_need_a_credential(db):
    response = FhirClient().get("/fhir/Questionnaire")
    assert response.status_code == 401
    assert OperationOutcome.model_validate(body(response)).issue[0].code == "login"
    assert "Api-Key" in response["WWW-Authenticate"]
