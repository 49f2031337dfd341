"""Questionnaire export: every plugin version as an R4 Questionnaire, derived by the core from its definition.

Item text follows the licence decision of `definitions.definition_as_dict` (the plugin's text where its
licence allows, or an operator's text pack); elsewhere the item carries its short label.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

from questionnaires.contract import Item, Questionnaire
from questionnaires.definitions import definition_as_dict
from questionnaires.fhir.codes import (
    MAX_DECIMAL_PLACES,
    MAX_VALUE,
    MIN_VALUE,
    code_as_coding,
    option_coding,
    ordinal_extension,
    questionnaire_url,
)
from questionnaires.fhir.resources import validated


def questionnaire_name(definition: Questionnaire) -> str:
    """A computable name (FHIR's `[A-Z]([A-Za-z0-9_]){0,254}`): `phq-9` becomes `PHQ_9`."""
    name = re.sub(r"[^A-Za-z0-9_]", "_", definition.id).upper()
    return name if name[:1].isalpha() else f"Q_{name}"


def served_texts(definition: Questionnaire, *, language: str | None = None) -> dict[str, str]:
    """Item text by linkId, only where the licence (or a local text pack) allows serving it."""
    shaped = definition_as_dict(definition, language=language)
    return {item["linkId"]: item["text"] for item in shaped["items"] if item.get("text")}


TRANSLATION = "http://hl7.org/fhir/StructureDefinition/translation"


def _translation(language: str, content: str) -> dict[str, Any]:
    return {
        "url": TRANSLATION,
        "extension": [{"url": "lang", "valueCode": language}, {"url": "content", "valueString": content}],
    }


def _displayed(shaped: dict[str, Any]) -> dict[str, str]:
    """What each item shows in one language: its served text, else its label."""
    return {item["linkId"]: item.get("text") or item["label"] for item in shaped["items"]}


def _add_translations(resource: dict[str, Any], definition: Questionnaire, primary: dict[str, Any]) -> None:
    """Every other offered language as translation extensions on `title` and each item's `text`."""
    shown = _displayed(primary)
    title_translations = []
    item_translations: dict[str, list[dict[str, Any]]] = {}
    for language in primary["languages"]:
        if language == primary["language"]:
            continue
        other = definition_as_dict(definition, language=language)
        if other["title"] != primary["title"]:
            title_translations.append(_translation(language, other["title"]))
        for link_id, text in _displayed(other).items():
            if text != shown.get(link_id):
                item_translations.setdefault(link_id, []).append(_translation(language, text))
    if title_translations:
        resource["_title"] = {"extension": title_translations}
    for item in resource["item"]:
        if item["linkId"] in item_translations:
            item["_text"] = {"extension": item_translations[item["linkId"]]}


def questionnaire_resource(definition: Questionnaire, *, base: str, language: str | None = None) -> dict[str, Any]:
    """The R4 Questionnaire in `language` (English when None), other languages as translation extensions."""
    primary = definition_as_dict(definition, language=language)
    texts = {item["linkId"]: item["text"] for item in primary["items"] if item.get("text")}
    labels = {item["linkId"]: item["label"] for item in primary["items"]}
    description = definition.scoring.description
    if definition.reference:
        description = f"{description}\n\nScoring reference: {definition.reference}".strip()
    resource: dict[str, Any] = {
        "resourceType": "Questionnaire",
        "id": definition.id,
        "meta": {"versionId": definition.version},
        "url": questionnaire_url(base, definition.id),
        "identifier": [{"system": f"{base}/questionnaire-id", "value": definition.id}],
        "version": definition.version,
        "name": questionnaire_name(definition),
        "language": primary["language"],
        "title": primary["title"],
        "status": "active",
        "subjectType": ["Patient"],
        "description": description,
        "copyright": "\n\n".join(part for part in (definition.copyright, definition.license) if part),
        "item": [
            _item(item, definition, texts.get(item.link_id) or labels.get(item.link_id), base=base)
            for item in definition.items
        ],
    }
    if definition.code is not None:
        resource["code"] = [code_as_coding(definition.code)]
    _add_translations(resource, definition, primary)
    return validated(resource)


def _item(item: Item, definition: Questionnaire, text: str | None, *, base: str) -> dict[str, Any]:
    shaped: dict[str, Any] = {
        "linkId": item.link_id,
        "text": text or item.label,
        "type": item.type,
        "required": item.required,
    }
    if item.code is not None:
        shaped["code"] = [code_as_coding(item.code)]
    if item.type == "choice":
        shaped["answerOption"] = [
            {
                "extension": [ordinal_extension(option.value)],
                "valueCoding": {
                    **option_coding(base, definition, option),
                    "extension": [ordinal_extension(option.value)],
                },
            }
            for option in item.options
        ]
    else:
        extensions = []
        value_key = "valueDecimal" if item.type == "decimal" else "valueInteger"
        convert = Decimal if item.type == "decimal" else int
        if item.min is not None:
            extensions.append({"url": MIN_VALUE, value_key: convert(item.min)})
        if item.max is not None:
            extensions.append({"url": MAX_VALUE, value_key: convert(item.max)})
        if item.type == "decimal" and item.step is not None:
            exponent = Decimal(item.step).normalize().as_tuple().exponent
            places = -exponent if isinstance(exponent, int) and exponent < 0 else 0
            extensions.append({"url": MAX_DECIMAL_PLACES, "valueInteger": places})
        if extensions:
            shaped["extension"] = extensions
    return shaped
