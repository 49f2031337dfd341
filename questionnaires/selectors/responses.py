"""Which responses a caller may see, and their API shape with the latest score."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from django.db.models import QuerySet

from questionnaires.models import Response, Score
from questionnaires.principals import Principal
from questionnaires.selectors.scores import latest_scores_for, score_as_dict


def responses_visible_to(principal: Principal) -> QuerySet[Response]:
    responses = Response.objects.filter(clinic_id=principal.clinic_id)
    if principal.kind == "clinician":
        responses = responses.filter(client__clinicians=principal.user_id)
    elif principal.kind == "client_token":
        responses = responses.filter(client_id=principal.therapy_client_id)
    return responses.select_related("client", "clinician", "questionnaire_version")


def response_get_visible(*, principal: Principal, response_id: str) -> Response | None:
    try:
        parsed = uuid.UUID(str(response_id))
    except ValueError:
        return None
    return responses_visible_to(principal).filter(pk=parsed).first()


def response_as_dict(response: Response, score: Score | None) -> dict:
    body = {
        "id": response.id,
        "status": response.status,
        "questionnaire": response.questionnaire_version.questionnaire_id,
        "version": response.questionnaire_version.version,
        "client": response.client.external_id,
        "clinician": response.clinician.username if response.clinician_id else None,
        "session": response.session_number,
        "session_id": response.session_id,
        "rater": response.rater,
        "authored": response.authored_at,
        "received": response.received_at,
        "answers": response.answers,
        "comment": response.comment,
        "score": score_as_dict(score) if score is not None else None,
    }
    if response.status == Response.Status.FAILED:
        body["failure_reason"] = response.failure_reason
    return body


def responses_as_dicts(responses: Sequence[Response]) -> list[dict]:
    """One query for all the scores of a page."""
    scores = latest_scores_for([response.id for response in responses])
    return [response_as_dict(response, scores.get(response.id)) for response in responses]
