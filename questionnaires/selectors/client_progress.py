"""A client's own progress, for the client: their outcome trajectory and their goals, in plain words.

Field policy (what a client token may see here): only this client's own client-rated, counted scores
(never a clinician's rating, never another person's data), only on instruments the clinic shows
clients (`ClinicCareSettings.client_progress`; unlisted alliance instruments are hidden, since some
clinics keep alliance results from clients), each point as date, session and total only (never a
band, flag or alert), and the client's goals with their first and latest rating.
"""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal

from django.db.models import F

from questionnaires.models import ClinicCareSettings, Response, TherapyClient
from questionnaires.registry import get_registry
from questionnaires.scoring import to_decimal
from questionnaires.selectors.goals import goal_change, goals_of, reliable_change_threshold
from questionnaires.selectors.metrics import counted_scores

HIDDEN_BY_DEFAULT = ("alliance",)
GBO_ID = "gbo"


def shown_to_clients(*, clinic_id: int) -> set[str]:
    """The ids of the client-rated instruments this clinic shows clients in their own progress."""
    chosen = (
        ClinicCareSettings.objects.filter(clinic_id=clinic_id).values_list("client_progress", flat=True).first() or {}
    )
    shown = set()
    for definition in get_registry().latest():
        if definition.respondent != "client":
            continue
        setting = chosen.get(definition.id) if isinstance(chosen, dict) else None
        if setting is True or (setting is None and definition.construct not in HIDDEN_BY_DEFAULT):
            shown.add(definition.id)
    return shown


def _plain(number: Decimal) -> str:
    return f"{number.normalize():f}"


def trajectory_words(*, first: Decimal, latest: Decimal, count: int, direction: str,
                     reliable_change: Decimal | None) -> str:
    """One or two sentences a client can read; no bands, no alerts, no clinical labels."""
    if count < 2:
        return "You have answered this once. Your next answers will show how things are changing."
    moved = f"from {_plain(first)} to {_plain(latest)}"
    better = (latest - first) if direction == "higher_is_better" else (first - latest)
    if reliable_change is not None and better >= reliable_change:
        return (f"Your answers show a clear improvement, {moved}. A change this size is more than everyday "
                "ups and downs.")
    if reliable_change is not None and -better >= reliable_change:
        return (f"Your answers show things have been harder lately, {moved}. It may help to talk about this "
                "with your therapist.")
    if latest == first:
        return f"Your answers are about the same as when you started ({_plain(latest)})."
    return f"Your answers moved {moved}, within everyday ups and downs so far."


def goal_words(progress: dict) -> str:
    if progress["baseline"] is None:
        return "Not rated yet."
    if progress["change"] == 0 and progress["baseline"] == progress["latest"]:
        return f"Rated {progress['latest']} out of 10 so far."
    if progress["reliable_improvement"]:
        return f"From {progress['baseline']} to {progress['latest']} out of 10: a clear step towards this goal."
    if progress["reliable_deterioration"]:
        return (f"From {progress['baseline']} to {progress['latest']} out of 10: this goal feels further away "
                "just now; your therapist can help you look at it.")
    return f"From {progress['baseline']} to {progress['latest']} out of 10."


def client_progress(*, client: TherapyClient) -> dict:
    """{"instruments": [{questionnaire, title, higher_is_better, points: [{date, session, total}], summary}],
    "goals": [{id, text, status, first, latest, summary}]} for this client alone."""
    registry = get_registry()
    shown = shown_to_clients(clinic_id=client.clinic_id)
    rows = (
        counted_scores()
        .filter(
            response__client_id=client.pk, response__clinic_id=client.clinic_id, response__rater=Response.Rater.CLIENT,
            response__questionnaire_version__questionnaire_id__in=shown - {GBO_ID},
        )
        .order_by("response__authored_at", "response_id")
        .values_list("response__questionnaire_version__questionnaire_id", "response__authored_at",
                     "response__session_number", "total")
    )
    points: dict[str, list[dict]] = defaultdict(list)
    for questionnaire_id, authored, session, total in rows:
        points[questionnaire_id].append({"date": authored.date().isoformat(), "session": session,
                                         "total": float(total)})
    instruments = []
    for questionnaire_id, series in sorted(points.items()):
        definition = registry.get(questionnaire_id)
        if definition is None:
            continue
        first, latest = to_decimal(series[0]["total"]), to_decimal(series[-1]["total"])
        instruments.append({
            "questionnaire": questionnaire_id,
            "title": definition.title,
            "higher_is_better": definition.direction == "higher_is_better",
            "points": series,
            "summary": trajectory_words(
                first=first, latest=latest, count=len(series), direction=definition.direction,
                reliable_change=None if definition.reliable_change is None else to_decimal(definition.reliable_change),
            ),
        })
    goals = []
    if GBO_ID in shown:
        ratings = _own_goal_ratings(client)
        threshold = reliable_change_threshold()
        for goal in goals_of(client_id=client.pk):
            progress = goal_change(ratings.get(goal.id, []), threshold)
            goals.append({
                "id": goal.id, "text": goal.text, "status": goal.status,
                "first": progress["baseline"], "latest": progress["latest"], "summary": goal_words(progress),
            })
    return {"instruments": instruments, "goals": goals}


def _own_goal_ratings(client: TherapyClient) -> dict[int, list[dict]]:
    """The client's own goal ratings (a clinician's rating of the client's goals is left out), oldest first."""
    responses = (
        Response.objects.filter(
            client_id=client.pk, clinic=F("client__clinic"), status=Response.Status.SCORED,
            rater=Response.Rater.CLIENT, questionnaire_version__questionnaire_id=GBO_ID,
        )
        .order_by("authored_at", "received_at")
        .values_list("answers", flat=True)
    )
    ratings: dict[int, list[dict]] = defaultdict(list)
    for answers in responses:
        for link_id, value in (answers or {}).items():
            if value is not None and str(link_id).isascii() and str(link_id).isdigit():
                ratings[int(link_id)].append({"rating": value})
    return ratings
