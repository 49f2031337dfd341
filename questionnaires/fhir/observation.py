"""Scores as Observations in the shape of US Core's screening assessment.

Status `final`, category `survey`, the total's LOINC code where one exists (PHQ-9 44261-6,
GAD-7 70274-6) beside the project's own code, `effectiveDateTime` = the response's authored
time, `derivedFrom` the QuestionnaireResponse, subscales and extras as components, and the
band as the interpretation.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from questionnaires.contract import Questionnaire
from questionnaires.fhir.codes import OBSERVATION_CATEGORY, UCUM, band_system, score_system, total_codings
from questionnaires.fhir.resources import validated
from questionnaires.models import Response, Score


def observation_resource(score: Score, response: Response, definition: Questionnaire | None, *, base: str) -> dict:
    """`definition` is the version that scored the response; None (plugin gone) still gives a usable resource."""
    questionnaire_id = response.questionnaire_version.questionnaire_id
    title = definition.title if definition is not None else response.questionnaire_version.title
    codings = (
        total_codings(base, definition)
        if definition is not None
        else [{"system": score_system(base), "code": f"{questionnaire_id}-total"}]
    )
    resource: dict[str, Any] = {
        "resourceType": "Observation",
        "id": str(score.pk),
        "meta": {"lastUpdated": score.computed_at.isoformat()},
        "status": "final",
        "category": [
            {"coding": [{"system": OBSERVATION_CATEGORY, "code": "survey", "display": "Survey"}], "text": "Survey"}
        ],
        "code": {"coding": codings, "text": f"{title} total score"},
        "subject": {"reference": f"Patient/{response.client.external_id}"},
        "effectiveDateTime": response.authored_at.isoformat(),
        "issued": score.computed_at.isoformat(),
        "valueQuantity": _quantity(score.total),
        "derivedFrom": [{"reference": f"QuestionnaireResponse/{response.pk}"}],
    }
    components = [
        _component(base, questionnaire_id, name, value, _subscale_title(definition, name))
        for name, value in sorted((score.subscales or {}).items())
    ] + [_component(base, questionnaire_id, name, value, name) for name, value in sorted((score.extras or {}).items())]
    if components:
        resource["component"] = components
    if score.band:
        label = _band_label(definition, score.band)
        resource["interpretation"] = [
            {
                "coding": [{"system": band_system(base), "code": f"{questionnaire_id}-{score.band}", "display": label}],
                "text": label,
            }
        ]
    if score.flags:
        resource["note"] = [{"text": "Flags: " + ", ".join(str(flag) for flag in score.flags)}]
    return validated(resource)


def _quantity(value: Any) -> dict:
    number = value if isinstance(value, Decimal) else Decimal(str(value))
    number = number.normalize()
    if number == number.to_integral_value():
        number = number.quantize(Decimal(1))
    return {"value": number, "unit": "{score}", "system": UCUM, "code": "{score}"}


def _component(base: str, questionnaire_id: str, name: str, value: Any, title: str) -> dict:
    return {
        "code": {
            "coding": [{"system": score_system(base), "code": f"{questionnaire_id}-{name}", "display": title}],
            "text": title,
        },
        "valueQuantity": _quantity(value),
    }


def _subscale_title(definition: Questionnaire | None, name: str) -> str:
    for subscale in definition.subscales if definition is not None else ():
        if subscale.name == name:
            return subscale.title or name
    return name


def _band_label(definition: Questionnaire | None, name: str) -> str:
    for band in definition.bands if definition is not None else ():
        if band.name == name:
            return band.label or name
    return name
