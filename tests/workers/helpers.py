"""Submitting responses the way an integration does, and reading back what the workers made of them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from questionnaires.models import Alert, Response

BASE = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # a Monday


def srs(*marks) -> dict:
    return {str(number): value for number, value in enumerate(marks, start=1)}


def srs_total(total: float) -> dict:
    """Four SRS marks summing to `total` (each at most 10)."""
    quarter = round(total / 4, 1)
    last = round(total - 3 * quarter, 1)
    return srs(quarter, quarter, quarter, last)


def ors_total(total: float) -> dict:
    return srs_total(total)


def phq9(*values) -> dict:
    return {str(number): value for number, value in enumerate(values, start=1)}


def submit(persona, questionnaire: str, answers: dict, *, session: int | None = None, days: int = 0,
           rater: str = "client", clinician: str | None = None, client: str | None = None) -> dict:
    body = {
        "questionnaire": questionnaire,
        "client": client or persona.client.external_id,
        "authored": (BASE + timedelta(days=days)).isoformat(),
        "answers": answers,
        "rater": rater,
    }
    if session is not None:
        body["session"] = session
    if clinician is not None:
        body["clinician"] = clinician
    answer = persona.api().post("/api/v1/responses/", body, format="json")
    assert answer.status_code == 201, answer.content
    return answer.json()


def kinds_of(response_id) -> list[str]:
    return sorted(Alert.objects.filter(response_id=response_id).values_list("kind", flat=True))


def status_of(response_id) -> str:
    return Response.objects.get(id=response_id).status
