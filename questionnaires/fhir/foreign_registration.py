"""Registering a sender's own Questionnaire for the caller's clinic (`POST /fhir/Questionnaire`); reading it back."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pydantic
from fhir.resources.R4B.questionnaire import Questionnaire as QuestionnaireModel

from questionnaires.fhir.foreign import foreign_mapping, refuse_own_or_loinc_url
from questionnaires.fhir.outcome import FhirError, Issue
from questionnaires.fhir.resources import validated
from questionnaires.models import ForeignQuestionnaire
from questionnaires.principals import Principal
from questionnaires.registry import get_registry
from questionnaires.services.errors import Conflict
from questionnaires.services.foreign_questionnaires import foreign_questionnaire_register

FOREIGN_PREFIX = "foreign-"
"""Registered forms are read back as Questionnaire/foreign-<n>, apart from the plugins' ids."""


@dataclass
class Registered:
    stored: ForeignQuestionnaire
    created: bool


def foreign_questionnaire_create(*, principal: Principal, payload: Any) -> Registered:
    """Map the form onto a plugin and store it for the caller's clinic, or a FhirError naming each problem."""
    if not isinstance(payload, dict) or payload.get("resourceType") != "Questionnaire":
        raise FhirError(400, [Issue(code="structure", diagnostics="expected a Questionnaire resource")])
    try:
        QuestionnaireModel.model_validate(payload)
    except pydantic.ValidationError as error:
        raise FhirError(
            400,
            [
                Issue(
                    code="structure", diagnostics=f"Questionnaire: {entry.get('msg', 'invalid')} at {entry.get('loc')}"
                )
                for entry in error.errors()[:50]
            ],
        ) from None
    url = str(payload.get("url") or "").strip().rstrip("/")
    if not url:
        raise FhirError(
            422,
            [
                Issue(
                    code="required",
                    diagnostics="url (the form's canonical) is required",
                    expression=("Questionnaire.url",),
                )
            ],
        )
    refuse_own_or_loinc_url(url, "Questionnaire.url")
    definition, mapping = foreign_mapping(payload, registry=get_registry())
    try:
        stored, created = foreign_questionnaire_register(
            clinic_id=principal.clinic_id,
            url=url,
            version=str(payload.get("version") or ""),
            questionnaire_id=definition.id,
            resource=payload,
            mapping=mapping,
            registered_by=principal.label,
        )
    except Conflict as error:
        raise FhirError(
            409, [Issue(code="conflict", diagnostics=error.detail, expression=("Questionnaire.version",))]
        ) from None
    return Registered(stored=stored, created=created)


def foreign_questionnaire_resource(stored: ForeignQuestionnaire) -> dict[str, Any]:
    """The form as registered, under its id on this server."""
    return validated({**stored.resource, "id": f"{FOREIGN_PREFIX}{stored.pk}"})


def foreign_id(questionnaire_id: str) -> int | None:
    rest = questionnaire_id.removeprefix(FOREIGN_PREFIX)
    return int(rest) if questionnaire_id.startswith(FOREIGN_PREFIX) and rest.isdigit() and len(rest) < 19 else None
