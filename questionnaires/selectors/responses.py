"""Which responses a caller may see, which of their fields, and their API shape with the latest score.

One rule for every endpoint that returns responses or what derives from them (REST list and
detail, trajectories, alerts, FHIR QuestionnaireResponse and Observation):

| caller | responses | clinician-rated responses | `comment` (the client's words) | alerts |
|---|---|---|---|---|
| API key | whole clinic | yes | no | yes |
| supervisor | whole clinic | yes | yes | yes |
| clinician | own caseload | yes | yes | yes |
| client token | own, rated by the client | no | own words only | no |
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from django.db.models import QuerySet

from questionnaires.models import Response, Score
from questionnaires.principals import Principal
from questionnaires.selectors.scores import latest_scores_for, score_as_dict


@dataclass(frozen=True)
class Disclosure:
    """What a caller may see of the responses it can reach (see the module's table)."""

    clinician_ratings: bool
    """Responses a clinician rated: their own view of the alliance and notes about the client."""
    comments: bool
    """The client's free-text comment: staff read it in the room; the client wrote it."""
    alerts: bool


STAFF_DISCLOSURE = Disclosure(clinician_ratings=True, comments=True, alerts=True)
DISCLOSURES: dict[str, Disclosure] = {
    "clinician": STAFF_DISCLOSURE,
    "supervisor": STAFF_DISCLOSURE,
    "api_key": Disclosure(clinician_ratings=True, comments=False, alerts=True),
    "client_token": Disclosure(clinician_ratings=False, comments=True, alerts=False),
}


def disclosure_for(principal: Principal) -> Disclosure:
    return DISCLOSURES[principal.kind]


def responses_visible_to(principal: Principal, *, include_retracted: bool = False) -> QuerySet[Response]:
    """The responses this caller may see; retracted ones (entered in error) only when asked for, by id or history."""
    responses = Response.objects.filter(clinic_id=principal.clinic_id)
    if not include_retracted:
        responses = responses.exclude(status=Response.Status.RETRACTED)
    if principal.kind == "clinician":
        responses = responses.filter(client__clinicians=principal.user_id)
    elif principal.kind == "client_token":
        responses = responses.filter(client_id=principal.therapy_client_id)
    if not disclosure_for(principal).clinician_ratings:
        responses = responses.filter(rater=Response.Rater.CLIENT)
    return responses.select_related("client", "clinician", "questionnaire_version")


def response_get_visible(
    *, principal: Principal, response_id: str, include_retracted: bool = False
) -> Response | None:
    try:
        parsed = uuid.UUID(str(response_id))
    except ValueError:
        return None
    return responses_visible_to(principal, include_retracted=include_retracted).filter(pk=parsed).first()


def response_as_dict(response: Response, score: Score | None, *, disclosure: Disclosure = STAFF_DISCLOSURE) -> dict:
    """The REST shape; `comment` only where the caller's disclosure allows it."""
    body = {
        "id": response.id,
        "status": response.status,
        "questionnaire": response.questionnaire_version.questionnaire_id,
        "version": response.questionnaire_version.version,
        "client": response.client.external_id,
        "clinician": response.clinician.username if response.clinician_id else None,
        "session": response.session_number,
        "rater": response.rater,
        "response_version": response.version,
        "authored": response.authored_at,
        "received": response.received_at,
        "answers": response.answers,
        "comment": response.comment,
        "score": score_as_dict(score) if score is not None else None,
    }
    if not disclosure.comments:
        del body["comment"]
    if response.status == Response.Status.FAILED:
        body["failure_reason"] = response.failure_reason
    return body


def responses_as_dicts(responses: Sequence[Response], *, disclosure: Disclosure = STAFF_DISCLOSURE) -> list[dict]:
    """One query for all the scores of a page."""
    scores = latest_scores_for([response.id for response in responses])
    return [response_as_dict(response, scores.get(response.id), disclosure=disclosure) for response in responses]
