"""Synthetic finished episodes drawn from a known expected change curve (tests and bench/expected_change.py).

Each episode: one client, an intake score at session 1, then sessions 2..`sessions` whose improvement
since intake is `intercept + slope * ln(session)` plus Gaussian noise (fixed seed), written as scored
client-rated responses with bulk inserts (no scoring pipeline: only the stored rows matter to the fit).
"""

from __future__ import annotations

import math
import random
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from questionnaires.contract import Questionnaire
from questionnaires.models import CareSession, EpisodeOfCare, Response, Score, TherapyClient
from questionnaires.registry import get_registry
from questionnaires.services.scoring import responses_score

START = (datetime.now(UTC) - timedelta(days=200)).replace(hour=9, minute=0, second=0, microsecond=0)
"""Session 1 of every synthetic episode: recent enough for any submission's back-dating limit."""


def total_after(definition: Questionnaire, intake: float, improvement: float) -> Decimal:
    """The total that is `improvement` better than `intake`, rounded to 0.1 (never clamped: keep truths in range)."""
    sign = 1 if definition.direction == "higher_is_better" else -1
    value = round(intake + sign * improvement, 1)
    low, high = float(definition.scoring.total_min), float(definition.scoring.total_max)
    assert low <= value <= high, f"synthetic total {value} outside {low}..{high}: choose another truth"
    return Decimal(str(value))


def finished_episodes(
    *,
    clinic,
    definition: Questionnaire,
    count: int,
    intake_total: float,
    intake_band: str | None,
    intercept: float,
    slope: float,
    noise_sd: float,
    seed: int,
    sessions: int = 8,
    prefix: str = "syn",
    status: str = EpisodeOfCare.Status.FINISHED,
) -> list[EpisodeOfCare]:
    """`count` episodes of one clinic on one instrument; returns them (ids set)."""
    rng = random.Random(seed)
    version = get_registry().version_row(definition)
    clients = TherapyClient.objects.bulk_create(
        [TherapyClient(clinic=clinic, external_id=f"{prefix}-{index:06d}") for index in range(count)]
    )
    finished = status == EpisodeOfCare.Status.FINISHED
    episodes = EpisodeOfCare.objects.bulk_create(
        [
            EpisodeOfCare(
                clinic=clinic,
                client=client,
                start_date=START.date(),
                status=status,
                end_date=(START + timedelta(weeks=sessions)).date() if finished else None,
                end_reason=EpisodeOfCare.EndReason.COMPLETED if finished else "",
            )
            for client in clients
        ]
    )
    care_sessions = CareSession.objects.bulk_create(
        [
            CareSession(
                clinic=clinic,
                episode=episode,
                scheduled_start=START + timedelta(weeks=number - 1),
                attendance=CareSession.Attendance.ATTENDED,
                number=number,
            )
            for episode in episodes
            for number in range(1, sessions + 1)
        ]
    )
    responses, totals = [], []
    for care_session, episode in zip(care_sessions, [e for e in episodes for _ in range(sessions)], strict=True):
        number = care_session.number
        if number == 1:
            total = Decimal(str(intake_total))
        else:
            improvement = intercept + slope * math.log(number) + rng.gauss(0.0, noise_sd)
            total = total_after(definition, intake_total, improvement)
        responses.append(
            Response(
                clinic=clinic,
                client_id=episode.client_id,
                questionnaire_version=version,
                session=care_session,
                session_number=number,
                rater=Response.Rater.CLIENT,
                authored_at=care_session.scheduled_start,
                answers={},
                status=Response.Status.SCORED,
                source=Response.Source.SEED,
            )
        )
        totals.append((total, intake_band if number == 1 else None))
    responses = Response.objects.bulk_create(responses, batch_size=2000)
    Score.objects.bulk_create(
        [
            Score(response=response, plugin_version=definition.version, total=total, band=band)
            for response, (total, band) in zip(responses, totals, strict=True)
        ],
        batch_size=2000,
    )
    return episodes


def phq9_answers(total: int) -> dict[str, int]:
    values = [min(3, max(0, total - 3 * index)) for index in range(9)]
    assert sum(values) == total
    return {str(number): value for number, value in enumerate(values, start=1)}


def client_course(
    persona, totals: list[int | None], *, external_id="course", extra: dict | None = None, client=None
):
    """A new client's (or `client`'s) active episode with attended sessions 1..n; each PHQ-9 total is submitted in
    its session and scored by the scoring pipeline (None: no score that session). `extra` adds a second score to a
    session."""
    if client is None:
        client = TherapyClient.objects.create(
            clinic=persona.clinic, external_id=f"{persona.clinic.slug}-{external_id}"
        )
    episode = EpisodeOfCare.objects.create(clinic=persona.clinic, client=client, start_date=START.date())
    version = get_registry().version_row(get_registry().get("phq-9"))
    scored = []
    submissions = [(number, total) for number, total in enumerate(totals, start=1)]
    submissions += sorted((extra or {}).items())
    sessions: dict[int, CareSession] = {}
    for number, total in submissions:
        if number not in sessions:
            sessions[number] = CareSession.objects.create(
                clinic=persona.clinic, episode=episode, scheduled_start=START + timedelta(weeks=number - 1),
                attendance=CareSession.Attendance.ATTENDED, number=number,
            )
        if total is None:
            continue
        response = Response.objects.create(
            clinic=persona.clinic, client=client, questionnaire_version=version, session=sessions[number],
            session_number=number, authored_at=sessions[number].scheduled_start + timedelta(minutes=len(scored)),
            answers=phq9_answers(total),
        )
        assert responses_score(response_ids=[response.id]).scored == [response.id]
        scored.append(response)
    return scored
