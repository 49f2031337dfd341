"""The same questionnaire in two languages through the REST API, the FHIR export and the client form page,
and a language added locally by a text pack."""

from __future__ import annotations

import json

import pytest
from fhir.resources.R4B.questionnaire import Questionnaire as FhirQuestionnaire
from rest_framework.test import APIClient

from questionnaires.fhir.questionnaire import TRANSLATION
from questionnaires.models import Goal
from questionnaires.services.credentials import client_token_issue

pytestmark = pytest.mark.django_db

FHIR_JSON = "application/fhir+json"
GERMAN = ["Beziehung", "Ziele und Themen", "Vorgehen oder Methode", "Insgesamt"]
ENGLISH = ["Relationship", "Goals and topics", "Approach or method", "Overall"]


def fhir_questionnaire(persona, questionnaire_id: str, language: str | None = None) -> dict:
    api = persona.api()
    headers = {"HTTP_ACCEPT": FHIR_JSON}
    if language:
        headers["HTTP_ACCEPT_LANGUAGE"] = language
    answer = api.get(f"/fhir/Questionnaire/{questionnaire_id}", **headers)
    assert answer.status_code == 200, answer.content
    return json.loads(answer.content)


def translations(element: dict | None) -> dict[str, str]:
    found = {}
    for extension in (element or {}).get("extension", []):
        assert extension["url"] == TRANSLATION
        parts = {part["url"]: part for part in extension["extension"]}
        found[parts["lang"]["valueCode"]] = parts["content"]["valueString"]
    return found


@pytest.mark.parametrize("header, language, labels", [("de-CH, en;q=0.5", "de", GERMAN), ("en", "en", ENGLISH),
                                                      ("fr", "en", ENGLISH), (None, "en", ENGLISH)])
def test_the_rest_api_serves_the_language_asked_for(north, header, language, labels):
    extra = {"HTTP_ACCEPT_LANGUAGE": header} if header else {}
    shaped = north.api().get("/api/v1/questionnaires/srs/", **extra).json()

    assert shaped["language"] == language
    assert shaped["languages"] == ["en", "de"]
    assert [item["label"] for item in shaped["items"]] == labels


def test_the_fhir_export_is_in_the_language_asked_for_with_the_other_as_translations(north):
    german = fhir_questionnaire(north, "srs", "de")
    english = fhir_questionnaire(north, "srs")

    assert german["language"] == "de" and english["language"] == "en"
    assert [item["text"] for item in german["item"]] == GERMAN
    assert [translations(item.get("_text")) for item in german["item"]] == [{"en": text} for text in ENGLISH]
    assert [item["text"] for item in english["item"]] == ENGLISH
    assert [translations(item.get("_text")) for item in english["item"]] == [{"de": text} for text in GERMAN]
    for resource in (german, english):
        FhirQuestionnaire.model_validate(resource)


def test_a_translated_title_travels_as_a_title_translation(north):
    english = fhir_questionnaire(north, "gbo")

    assert english["title"] == "Goal-Based Outcomes (GBO)"
    assert translations(english.get("_title")) == {"de": "Zielbasierte Ergebnisse (GBO)"}
    assert fhir_questionnaire(north, "gbo", "de")["title"] == "Zielbasierte Ergebnisse (GBO)"


def test_the_client_form_page_follows_accept_language(north, licensed_text_pack):
    _, key = client_token_issue(client=north.client)
    page = APIClient()

    german = page.get(f"/take/{key}/srs/", HTTP_ACCEPT_LANGUAGE="de").content.decode()
    english = page.get(f"/take/{key}/srs/", HTTP_ACCEPT_LANGUAGE="en").content.decode()

    assert all(label in german for label in GERMAN) and "Relationship" not in german
    assert all(label in english for label in ENGLISH) and "Beziehung" not in english


def test_the_client_form_page_shows_the_clients_own_goals_as_items(north):
    goal = Goal.objects.create(clinic=north.clinic, client=north.client, text="Sleep through the night")
    _, key = client_token_issue(client=north.client)
    page = APIClient()

    shown = page.get(f"/take/{key}/gbo/")
    sent = page.post(f"/take/{key}/gbo/", {f"answers.{goal.id}": "4", "version": "1.0.0", "form_key": "k-1"})

    assert shown.status_code == 200 and "Sleep through the night" in shown.content.decode()
    assert sent.status_code == 302
    assert north.client.responses.get().answers == {str(goal.id): 4}


@pytest.fixture
def french_pack(tmp_path, settings):
    path = tmp_path / "french.json"
    path.write_text(json.dumps({"phq-9": {"*": {"fr": {"1": "Peu d'intérêt ou de plaisir à faire les choses"}}}}),
                    encoding="utf-8")
    settings.QUESTIONNAIRE_TEXT_PACKS = [str(path)]
    return path


def test_a_text_pack_adds_a_language_locally(north, french_pack):
    shaped = north.api().get("/api/v1/questionnaires/phq-9/", HTTP_ACCEPT_LANGUAGE="fr").json()
    fhir = fhir_questionnaire(north, "phq-9", "fr")

    assert "fr" in shaped["languages"] and shaped["language"] == "fr"
    assert shaped["items"][0]["text"] == "Peu d'intérêt ou de plaisir à faire les choses"
    assert fhir["language"] == "fr" and fhir["item"][0]["text"] == "Peu d'intérêt ou de plaisir à faire les choses"
    english = fhir_questionnaire(north, "phq-9")
    assert translations(english["item"][0].get("_text")) == {"fr": "Peu d'intérêt ou de plaisir à faire les choses"}
    FhirQuestionnaire.model_validate(english)


def test_without_the_pack_the_language_is_not_offered(north, settings):
    settings.QUESTIONNAIRE_TEXT_PACKS = []

    shaped = north.api().get("/api/v1/questionnaires/phq-9/", HTTP_ACCEPT_LANGUAGE="fr").json()

    assert shaped["language"] == "en" and "fr" not in shaped["languages"]
