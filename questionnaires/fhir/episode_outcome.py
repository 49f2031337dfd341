"""An episode's outcomes as FHIR Observations: one per outcome instrument, and one for adherence.

Each Observation's `focus` is the EpisodeOfCare, `effectivePeriod` the episode's dates, and its
components carry the figures of `selectors.episode_outcomes` (first, last, change as quantities;
reliable improvement / deterioration, caseness at first, recovery and reliable recovery as
booleans), coded in the project's own score code system. Returned as a `collection` Bundle.
"""

from __future__ import annotations

from typing import Any

from questionnaires.fhir.codes import OBSERVATION_CATEGORY, UCUM, score_system
from questionnaires.fhir.observation import _quantity
from questionnaires.fhir.resources import validated
from questionnaires.models import EpisodeOfCare

FLAGS = (
    ("reliable_improvement", "Reliable improvement"),
    ("reliable_deterioration", "Reliable deterioration"),
    ("case_at_first", "Case at the first score"),
    ("recovered", "Recovered (case at first, not at last)"),
    ("reliably_recovered", "Reliably recovered"),
)


def _code(base: str, code: str, display: str) -> dict:
    return {"coding": [{"system": score_system(base), "code": code, "display": display}], "text": display}


def _period(episode: EpisodeOfCare) -> dict:
    period = {"start": episode.start_date.isoformat()}
    if episode.end_date:
        period["end"] = episode.end_date.isoformat()
    return period


def _common(episode: EpisodeOfCare, resource_id: str, code: dict) -> dict[str, Any]:
    return {
        "resourceType": "Observation",
        "id": resource_id,
        "status": "final" if episode.status == EpisodeOfCare.Status.FINISHED else "preliminary",
        "category": [
            {"coding": [{"system": OBSERVATION_CATEGORY, "code": "survey", "display": "Survey"}], "text": "Survey"}
        ],
        "code": code,
        "subject": {"reference": f"Patient/{episode.client.external_id}"},
        "focus": [{"reference": f"EpisodeOfCare/{episode.pk}"}],
        "effectivePeriod": _period(episode),
    }


def episode_outcome_observations(outcome: dict, episode: EpisodeOfCare, *, base: str) -> list[dict]:
    """The validated Observations of one episode's outcome (the dict `episode_outcome_get` returns)."""
    resources = []
    for instrument in outcome["outcomes"]:
        questionnaire_id = instrument["questionnaire"]
        resource = _common(
            episode, f"episode-{episode.pk}-{questionnaire_id}",
            _code(base, f"{questionnaire_id}-episode-outcome", f"{questionnaire_id} outcome over the episode"),
        )
        components = []
        for name in ("first", "last"):
            if instrument[name] is not None:
                components.append({"code": _code(base, f"{questionnaire_id}-{name}", f"{name.title()} score"),
                                   "valueQuantity": _quantity(instrument[name])})
        for name, display in FLAGS:
            if instrument[name] is not None:
                components.append({"code": _code(base, f"episode-{name.replace('_', '-')}", display),
                                   "valueBoolean": bool(instrument[name])})
        if instrument["change"] is not None:
            resource["valueQuantity"] = _quantity(instrument["change"])
        else:
            resource["dataAbsentReason"] = {"text": "fewer than two scored sessions"}
        if components:
            resource["component"] = components
        resources.append(validated(resource))
    adherence = outcome["adherence"]
    resource = _common(episode, f"episode-{episode.pk}-adherence", _code(base, "episode-adherence", "Adherence"))
    components = [
        {"code": _code(base, f"episode-{name.replace('_', '-')}", name.replace("_", " ").capitalize()),
         "valueInteger": adherence[name]}
        for name in ("sessions_attended", "sessions_did_not_attend", "sessions_cancelled_by_client",
                     "sessions_cancelled_by_service")
    ]
    components.append({"code": _code(base, "episode-dropped-out", "Dropped out"),
                       "valueBoolean": adherence["dropped_out"]})
    if adherence["attendance_rate"] is not None:
        resource["valueQuantity"] = {"value": round(100 * adherence["attendance_rate"], 2), "unit": "%",
                                     "system": UCUM, "code": "%"}
    else:
        resource["dataAbsentReason"] = {"text": "no session kept or missed yet"}
    resource["component"] = components
    resources.append(validated(resource))
    return resources


def outcome_collection(resources: list[dict], *, base: str) -> dict:
    return validated({
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [{"fullUrl": f"{base}/Observation/{resource['id']}", "resource": resource} for resource in resources],
    })
