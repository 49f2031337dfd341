"""A stored response served back as an R4 QuestionnaireResponse, whichever edge (REST, FHIR, form) it came in by."""

from __future__ import annotations

import hashlib
from decimal import Decimal
from typing import Any

from questionnaires.contract import Questionnaire
from questionnaires.fhir.codes import option_coding, ordinal_extension, questionnaire_url
from questionnaires.fhir.questionnaire import served_texts
from questionnaires.fhir.resources import validated
from questionnaires.models import Response

FHIR_KEY_PREFIX = "fhir:"


def idempotency_key_for(system: str, value: str) -> str:
    """The Response idempotency key for a FHIR identifier, so conditional create reuses the native mechanism."""
    key = f"{FHIR_KEY_PREFIX}{system}|{value}"
    if len(key) <= 200:
        return key
    return f"{FHIR_KEY_PREFIX}sha256:{hashlib.sha256(key.encode()).hexdigest()}"


def identifier_from_key(key: str | None) -> dict | None:
    if not key or not key.startswith(FHIR_KEY_PREFIX) or key.startswith(f"{FHIR_KEY_PREFIX}sha256:"):
        return None
    system, _, value = key[len(FHIR_KEY_PREFIX) :].partition("|")
    return {**({"system": system} if system else {}), "value": value}


def fhir_status(response: Response) -> str:
    """QuestionnaireResponse.status: entered-in-error once retracted, amended once corrected, else completed."""
    if response.status == Response.Status.RETRACTED:
        return "entered-in-error"
    return "amended" if response.version > 1 else "completed"


def questionnaire_response_resource(response: Response, definition: Questionnaire | None, *, base: str) -> dict:
    version = response.questionnaire_version
    resource: dict[str, Any] = {
        "resourceType": "QuestionnaireResponse",
        "id": str(response.pk),
        "meta": {
            "versionId": str(response.version),
            "lastUpdated": (response.corrected_at or response.received_at).isoformat(),
        },
        "questionnaire": f"{questionnaire_url(base, version.questionnaire_id)}|{version.version}",
        "status": fhir_status(response),
        "subject": {"reference": f"Patient/{response.client.external_id}"},
        "authored": response.authored_at.isoformat(),
        "item": _items(response, definition, base=base),
    }
    if response.session_id is not None:
        resource["encounter"] = {"reference": f"Encounter/{response.session_id}"}
    identifier = identifier_from_key(response.idempotency_key)
    if identifier:
        resource["identifier"] = identifier
    # The author is whoever rated: the client, or the clinician for a clinician rating. A client's own
    # rating is credited to a clinician (Response.clinician) without that clinician being its author.
    if response.rater == Response.Rater.CLIENT:
        resource["author"] = {"reference": f"Patient/{response.client.external_id}"}
    elif response.clinician_id is not None:
        resource["author"] = {"reference": f"Practitioner/{response.clinician.username}"}
    if not resource["item"]:
        del resource["item"]
    return validated(resource)


def _items(response: Response, definition: Questionnaire | None, *, base: str) -> list[dict]:
    answers = response.answers or {}
    if definition is None:
        return [{"linkId": str(link_id), "answer": [_plain(value)]} for link_id, value in answers.items()]
    texts = served_texts(definition)
    shaped = []
    for item in definition.items:
        if item.link_id not in answers or answers[item.link_id] is None:
            continue
        value = answers[item.link_id]
        answer: dict[str, Any]
        if item.type == "choice":
            option = next((o for o in item.options if o.value == value), None)
            if option is None:
                answer = _plain(value)
            else:
                answer = {
                    "valueCoding": {
                        **option_coding(base, definition, option),
                        "extension": [ordinal_extension(option.value)],
                    }
                }
        elif item.type == "decimal":
            answer = {"valueDecimal": Decimal(str(value))}
        else:
            answer = {"valueInteger": int(value)}
        shaped.append({"linkId": item.link_id, "text": texts.get(item.link_id) or item.label, "answer": [answer]})
    return shaped


def _plain(value: Any) -> dict:
    if isinstance(value, int):
        return {"valueInteger": value}
    return {"valueDecimal": Decimal(str(value))}
