"""Building submissions for the alliance-practice tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

BASE = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # a Monday


def marks(total: float, count: int = 4) -> dict:
    """`count` visual-analogue marks (0.0-10.0) summing exactly to `total`."""
    quarter = round(total / count, 1)
    last = round(total - (count - 1) * quarter, 1)
    return {str(number): quarter for number in range(1, count)} | {str(count): last}


def body(questionnaire: str, client: str, answers: dict, *, days: int = 0, **extra) -> dict:
    return {
        "questionnaire": questionnaire,
        "client": client,
        "authored": (BASE + timedelta(days=days)).isoformat(),
        "answers": answers,
        **extra,
    }


def submit(api, payload: dict, *, expect: int = 201) -> dict:
    answer = api.post("/api/v1/responses/", payload, format="json")
    assert answer.status_code == expect, answer.content
    return answer.json()
