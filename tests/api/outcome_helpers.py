"""Building episodes with sessions and scored client ratings through the API, for the outcome tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from tests.factories import TherapyClientFactory

START = datetime(2026, 1, 5, 10, 0, tzinfo=UTC)


def _fill(total: Decimal, items: list[str], top: Decimal) -> dict[str, Decimal]:
    """Items filled from the front with `top` until `total` is reached."""
    rest, answers = Decimal(total), {}
    for link_id in items:
        value = min(top, rest)
        answers[link_id] = value
        rest -= value
    assert rest == 0, f"{total} does not fit"
    return answers


def answers_for(questionnaire: str, total) -> dict:
    """Raw answers that score exactly `total` on the instrument (by its published scoring)."""
    total = Decimal(str(total))
    if questionnaire == "phq-9":
        return {key: int(value) for key, value in _fill(total, [str(n) for n in range(1, 10)], Decimal(3)).items()}
    if questionnaire == "gad-7":
        return {key: int(value) for key, value in _fill(total, [str(n) for n in range(1, 8)], Decimal(3)).items()}
    if questionnaire == "core-10":
        # Items 2 and 3 are reverse-keyed (scored = 4 - raw): raw 4 scores 0.
        forward = _fill(total, ["1", "4", "5", "6", "7", "8", "9", "10"], Decimal(4))
        return {"2": 4, "3": 4, **{key: int(value) for key, value in forward.items()}}
    if questionnaire in ("ors", "srs"):
        return {key: float(value) for key, value in _fill(total, ["1", "2", "3", "4"], Decimal(10)).items()}
    if questionnaire == "wai-sr":
        assert total % 12 == 0
        return {str(n): int(total / 12) for n in range(1, 13)}
    raise AssertionError(questionnaire)


def new_client(persona, external_id: str):
    client = TherapyClientFactory(clinic=persona.clinic, external_id=external_id)
    client.clinicians.add(persona.clinician)
    return client


def open_episode(api, client_external_id: str, clinician: str, start: datetime = START) -> int:
    created = api.post(
        f"/api/v1/clients/{client_external_id}/episodes/",
        {"start_date": start.date().isoformat(), "primary_clinician": clinician}, format="json",
    )
    assert created.status_code == 201, created.content
    return created.json()["id"]


def add_session(api, episode_id: int, start: datetime, attendance: str = "attended") -> int:
    created = api.post(
        f"/api/v1/episodes/{episode_id}/sessions/",
        {"scheduled_start": start.isoformat(), "attendance": attendance}, format="json",
    )
    assert created.status_code == 201, created.content
    return created.json()["id"]


def rate(api, client_external_id: str, session_id: int, questionnaire: str, total, when: datetime) -> str:
    posted = api.post(
        "/api/v1/responses/",
        {
            "questionnaire": questionnaire, "client": client_external_id, "session_id": session_id,
            "authored": (when + timedelta(minutes=50)).isoformat(), "answers": answers_for(questionnaire, total),
        },
        format="json",
    )
    assert posted.status_code == 201, posted.content
    return posted.json()["id"]


def episode_with_scores(
    persona, external_id: str, questionnaire: str, totals: list, *, end_reason: str | None = "completed",
    end_date: str = "2026-03-20", extra_sessions: tuple[str, ...] = (),
) -> int:
    """An episode with one attended session per entry of `totals` (None: no rating that session), ended if asked."""
    api = persona.api()
    new_client(persona, external_id)
    episode_id = open_episode(api, external_id, persona.clinician.username)
    for index, total in enumerate(totals):
        when = START + timedelta(days=7 * index)
        session_id = add_session(api, episode_id, when)
        if total is not None:
            rate(api, external_id, session_id, questionnaire, total, when)
    for index, attendance in enumerate(extra_sessions):
        add_session(api, episode_id, START + timedelta(days=7 * len(totals) + index + 1), attendance)
    if end_reason:
        ended = api.patch(
            f"/api/v1/episodes/{episode_id}/",
            {"status": "finished", "end_reason": end_reason, "end_date": end_date}, format="json",
        )
        assert ended.status_code == 200, ended.content
    return episode_id
