"""The stuck-goal alert: a shared goal whose rating has not risen over the last N sessions.

With ratings r0..rt of one goal and N = GBO_STUCK_SESSIONS (default 3), the goal is stuck at t
when t >= N and none of the last N ratings is above r(t-N). The alert is raised when a goal
becomes stuck (not at every session it stays so) and names goal ids only: goal text is client
data and never travels in alerts, so webhooks cannot carry it.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from django.conf import settings

from questionnaires.models import Alert, Goal, alert_session_key
from questionnaires.scoring import to_decimal
from questionnaires.selectors.goals import goal_ratings
from questionnaires.services.scored_responses import ScoredResponse

KIND = "goal_stuck"


def stuck_sessions() -> int:
    return max(1, int(getattr(settings, "GBO_STUCK_SESSIONS", 3)))


def is_stuck(ratings: Sequence[Decimal], position: int, sessions: int) -> bool:
    if position < sessions:
        return False
    before = ratings[position - sessions]
    return all(rating <= before for rating in ratings[position - sessions + 1: position + 1])


def becomes_stuck(ratings: Sequence[Decimal], position: int, sessions: int) -> bool:
    return is_stuck(ratings, position, sessions) and not is_stuck(ratings, position - 1, sessions)


def goal_alerts_draft(*, scored: Sequence[ScoredResponse]) -> list[Alert]:
    """Drafts for the goals questionnaires in a scored batch; one query per client that has any."""
    items = [item for item in scored if item.definition.construct == "goals"]
    if not items:
        return []
    sessions = stuck_sessions()
    drafts = []
    by_client: dict[int, list[ScoredResponse]] = {}
    for item in items:
        by_client.setdefault(item.response.client_id, []).append(item)
    for client_id, client_items in by_client.items():
        ratings = goal_ratings(client_id=client_id)
        active = set(Goal.objects.filter(client_id=client_id, status=Goal.Status.ACTIVE).values_list("id", flat=True))
        for item in client_items:
            stuck = []
            for goal_id in sorted(active):
                series = ratings.get(goal_id, [])
                position = next(
                    (index for index, point in enumerate(series) if point["response"] == item.response.id), None
                )
                if position is None:
                    continue
                values = [to_decimal(point["rating"]) for point in series]
                if becomes_stuck(values, position, sessions):
                    stuck.append(goal_id)
            if stuck:
                drafts.append(
                    Alert(
                        clinic_id=item.response.clinic_id,
                        client_id=client_id,
                        response_id=item.response.id,
                        questionnaire_id=item.definition.id,
                        kind=KIND,
                        priority=Alert.Priority.NORMAL,
                        message=f"{len(stuck)} shared goal(s) show no progress over the last {sessions} sessions; "
                        "review the goal with the client.",
                        details={"goals": stuck, "sessions": sessions},
                        session_key=alert_session_key(item.response),
                    )
                )
    return drafts
