"""Building scored responses for the admin, form and export tests through the real scoring service."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.utils import timezone

from questionnaires.models import Response
from questionnaires.registry import get_registry
from questionnaires.services.scoring import responses_score


def srs_answers(total: float) -> dict[str, float]:
    """Four equal SRS marks adding up to `total` (a multiple of 0.4 keeps them at one decimal)."""
    mark = round(total / 4, 1)
    return {str(number): mark for number in range(1, 5)}


def scored_response(
    client,
    *,
    questionnaire: str = "srs",
    answers: dict | None = None,
    session: int | None = None,
    rater: str = "client",
    authored: datetime | None = None,
    clinician=None,
) -> Response:
    """A stored response scored at once by `responses_score` (alerts included), as a worker would."""
    definition = get_registry().get(questionnaire)
    response = Response.objects.create(
        clinic_id=client.clinic_id,
        client=client,
        clinician=clinician,
        questionnaire_version=get_registry().version_row(definition),
        session_number=session,
        rater=rater,
        authored_at=authored or timezone.now() - timedelta(days=1),
        answers=answers if answers is not None else srs_answers(36.0),
    )
    responses_score(response_ids=[response.id])
    response.refresh_from_db()
    return response
