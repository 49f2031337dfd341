"""Helpers for the FHIR tests: a client that speaks application/fhir+json, and responses built from exports."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest
from rest_framework.test import APIClient

from questionnaires.fhir.codes import ORDINAL_VALUE

FHIR_JSON = "application/fhir+json"


def _default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return float(value) if value != value.to_integral_value() else int(value)
    raise TypeError(type(value).__name__)


class FhirClient:
    """Sends and reads FHIR JSON the way an EHR's client library would."""

    def __init__(self, api_key: str | None = None, authorization: str | None = None) -> None:
        self.api = APIClient()
        if api_key:
            self.api.credentials(HTTP_AUTHORIZATION=f"Api-Key {api_key}")
        elif authorization:
            self.api.credentials(HTTP_AUTHORIZATION=authorization)

    def get(self, path: str, **params: Any):
        return self.api.get(path, params, HTTP_ACCEPT=FHIR_JSON)

    def post(self, path: str, resource: Any, **headers: str):
        body = resource if isinstance(resource, str | bytes) else json.dumps(resource, default=_default)
        return self.api.generic("POST", path, body, content_type=FHIR_JSON, HTTP_ACCEPT=FHIR_JSON, **headers)


def body(response) -> dict:
    return json.loads(response.content)


def response_for(
    questionnaire: dict,
    answers: dict[str, Any],
    *,
    subject: str,
    authored: str = "2025-03-04T10:15:00Z",
    pin_version: bool = True,
) -> dict:
    """A completed QuestionnaireResponse for an exported Questionnaire, answering as a form filler would."""
    items = []
    for item in questionnaire["item"]:
        if item["linkId"] not in answers:
            continue
        value = answers[item["linkId"]]
        if item["type"] == "choice":
            option = next(
                o
                for o in item["answerOption"]
                if any(e["url"] == ORDINAL_VALUE and Decimal(str(e["valueDecimal"])) == value for e in o["extension"])
            )
            answer = {"valueCoding": option["valueCoding"]}
        elif item["type"] == "decimal":
            answer = {"valueDecimal": Decimal(str(value))}
        else:
            answer = {"valueInteger": int(value)}
        items.append({"linkId": item["linkId"], "text": item["text"], "answer": [answer]})
    canonical = questionnaire["url"] + (f"|{questionnaire['version']}" if pin_version else "")
    return {
        "resourceType": "QuestionnaireResponse",
        "questionnaire": canonical,
        "status": "completed",
        "subject": {"reference": f"Patient/{subject}"},
        "authored": authored,
        "item": items,
    }


@pytest.fixture
def north_fhir(north) -> FhirClient:
    return FhirClient(north.api_key)


@pytest.fixture
def south_fhir(south) -> FhirClient:
    return FhirClient(south.api_key)


PHQ9_ANSWER_CODES = ("LA6568-5", "LA6569-3", "LA6570-1", "LA6571-9")
"""LOINC answers for 0-3 on PHQ-9 items (Not at all ... Nearly every day)."""


def phq9_resource(
    subject: str,
    values: tuple[int, ...],
    *,
    identifier: str | None = "qr-1",
    system: str = "urn:example:ehr",
    status: str = "completed",
) -> dict:
    """A PHQ-9 QuestionnaireResponse as an EHR sends it: LOINC-coded answers by item number."""
    resource = {
        "resourceType": "QuestionnaireResponse",
        "questionnaire": "http://testserver/fhir/Questionnaire/phq-9",
        "status": status,
        "subject": {"reference": f"Patient/{subject}"},
        "authored": "2026-11-02T10:00:00Z",
        "item": [
            {
                "linkId": str(number),
                "answer": [{"valueCoding": {"system": "http://loinc.org", "code": PHQ9_ANSWER_CODES[value]}}],
            }
            for number, value in enumerate(values, start=1)
        ],
    }
    if identifier:
        resource["identifier"] = {"system": system, "value": identifier}
    return resource
