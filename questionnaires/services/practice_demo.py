"""Alliance practice on the demo clinic: shared goals rated over sessions, clients' comments, background values.

Runs after `demo.demo_data_seed` and only once per clinic (it does nothing when the clinic already
has goals). GBO ratings go through the same answer validation and scoring as live ones, so goal
progress, reliable change and the stuck-goal alert show as they would in practice.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from questionnaires.dynamic_items import validate_answers_for_client
from questionnaires.models import BackgroundCategory, ClientBackground, Goal, Response, TherapyClient
from questionnaires.registry import get_registry
from questionnaires.services.metrics import metrics_rollup
from questionnaires.services.scoring import responses_score

GOALS = (
    # (client index, goal text in the client's words, ratings at every second session)
    (0, "Get back to sleeping through most nights", (2, 3, 4, 6, 7, 8)),
    (0, "Tell my partner when I'm upset instead of going quiet", (1, 2, 2, 4, 5, 6)),
    (1, "Go back to work three days a week", (3, 3, 3, 2, 3, 3)),  # stuck: the alert fires
    (2, "Stop checking the door locks before leaving", (2, 4, 5, 5, 7, 8)),
    (2, "Visit my sister once a month", (4, 5, 5, 6, 6, 7)),
)
COMMENTS = (
    "It felt like we rushed past what happened with my dad.",
    "I'd like more time to talk about work, less about the past.",
    "Today helped. Please keep the homework short.",
)
CATEGORY = ("preferred-language", "Preferred language", ["English", "Polish", "Arabic", "Turkish"])


@dataclass
class PracticeDemo:
    goals: int = 0
    ratings: int = 0
    comments: int = 0
    backgrounds: int = 0
    created: bool = False


def practice_demo_seed(*, clients: list[TherapyClient]) -> PracticeDemo:
    """Goals with GBO ratings for three demo clients, comments on low SRS sessions, consented languages."""
    outcome = PracticeDemo()
    if not clients or Goal.objects.filter(client__in=clients).exists():
        return outcome
    registry = get_registry()
    definition = registry.get("gbo")
    clinic_id = clients[0].clinic_id
    with transaction.atomic():
        goals_by_client: dict[int, list[tuple[Goal, tuple[int, ...]]]] = {}
        for index, text, ratings in GOALS:
            if index >= len(clients):
                continue
            client = clients[index]
            goal = Goal.objects.create(clinic_id=clinic_id, client=client, text=text, recorded_by="seed_demo")
            goals_by_client.setdefault(client.pk, []).append((goal, ratings))
            outcome.goals += 1
        rows = _ratings(definition, clients, goals_by_client, registry) if definition is not None else []
        Response.objects.bulk_create(rows)
        outcome.ratings = len(rows)
        outcome.comments = _comments(clients)
        outcome.backgrounds = _backgrounds(clinic_id, clients)
    for row in rows:  # one at a time, oldest first, so the stuck-goal rule sees each client's history
        scored = responses_score(response_ids=[row.id]).scored
        if scored:
            metrics_rollup(response_ids=scored)
    outcome.created = True
    return outcome


def _ratings(definition, clients, goals_by_client, registry) -> list[Response]:
    """A GBO response at every second SRS session of the client, rating each of their goals."""
    rows = []
    for client in clients:
        goals = goals_by_client.get(client.pk)
        if not goals:
            continue
        sessions = list(
            Response.objects.filter(client=client, questionnaire_version__questionnaire_id="srs", rater="client")
            .order_by("authored_at")
            .values_list("session_number", "authored_at", "clinician_id")
        )[::2]
        for position, (session, authored, clinician_id) in enumerate(sessions):
            answers = {str(goal.pk): ratings[position] for goal, ratings in goals if position < len(ratings)}
            if not answers or len(answers) != len(goals):
                break
            converted, problems = validate_answers_for_client(definition, client, answers)
            if problems:
                raise ValueError(f"demo goal ratings are invalid: {problems}")
            rows.append(
                Response(
                    clinic_id=client.clinic_id, client=client, clinician_id=clinician_id,
                    questionnaire_version=registry.version_row(definition), session_number=session,
                    authored_at=authored + timedelta(minutes=55), answers=converted,
                    source=Response.Source.SEED, submitted_by="seed_demo",
                )
            )
    return rows


def _comments(clients) -> int:
    """The client's words on the lowest SRS ratings of the first clients (where a conversation is due)."""
    count = 0
    for client, comment in zip(clients, COMMENTS, strict=False):
        lowest = (
            Response.objects.filter(client=client, questionnaire_version__questionnaire_id="srs", rater="client")
            .order_by("scores__total", "authored_at")
            .first()
        )
        if lowest is not None:
            Response.objects.filter(pk=lowest.pk).update(comment=comment)
            count += 1
    return count


def _backgrounds(clinic_id: int, clients) -> int:
    """A preferred-language category; most clients consented, some did not (and are simply not recorded)."""
    name, title, values = CATEGORY
    category, _ = BackgroundCategory.objects.get_or_create(
        clinic_id=clinic_id, name=name, defaults={"title": title, "values": values}
    )
    rows = [
        ClientBackground(client=client, category=category, value=values[index % 2 if index < 8 else 2],
                         consent=True, consented_at=timezone.now(), recorded_by="seed_demo")
        for index, client in enumerate(clients)
        if index % 4 != 3  # every fourth client declined
    ]
    ClientBackground.objects.bulk_create(rows, ignore_conflicts=True)
    return len(rows)
