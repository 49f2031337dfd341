"""A client's shared goals and each goal's progress: ratings over sessions, change since the first, reliable change.

Reliable change on one goal follows Edbrooke-Childs et al. (2015): a change of at least
`GBO_RELIABLE_CHANGE` points (default 2.45) between the first and the latest rating.
"""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal

from django.conf import settings

from questionnaires.models import Goal, Response
from questionnaires.principals import Principal, role_of
from questionnaires.scoring import to_decimal

GBO_ID = "gbo"


def reliable_change_threshold() -> Decimal:
    return to_decimal(getattr(settings, "GBO_RELIABLE_CHANGE", Decimal("2.45")))


def goals_of(*, client_id: int) -> list[Goal]:
    return list(Goal.objects.filter(client_id=client_id).order_by("created_at", "id"))


def goal_ratings(*, client_id: int) -> dict[int, list[dict]]:
    """Every scored rating of every goal of the client, oldest first, by goal id."""
    responses = (
        Response.objects.filter(
            client_id=client_id, status=Response.Status.SCORED, questionnaire_version__questionnaire_id=GBO_ID
        )
        .order_by("authored_at", "received_at")
        .values_list("id", "authored_at", "session_number", "answers")
    )
    ratings: dict[int, list[dict]] = defaultdict(list)
    for response_id, authored_at, session, answers in responses:
        for link_id, value in (answers or {}).items():
            if value is None or not str(link_id).isdigit():
                continue
            ratings[int(link_id)].append(
                {"response": response_id, "authored": authored_at, "session": session, "rating": value}
            )
    return ratings


def goal_change(ratings: list[dict], threshold: Decimal) -> dict:
    """Change from the first rating (the baseline) to the latest, and whether it is reliable."""
    if not ratings:
        return {"baseline": None, "latest": None, "change": None, "reliable_improvement": False,
                "reliable_deterioration": False, "threshold": float(threshold)}
    baseline, latest = to_decimal(ratings[0]["rating"]), to_decimal(ratings[-1]["rating"])
    change = latest - baseline
    return {
        "baseline": _number(baseline),
        "latest": _number(latest),
        "change": _number(change),
        "reliable_improvement": change >= threshold,
        "reliable_deterioration": change <= -threshold,
        "threshold": float(threshold),
    }


def goal_as_dict(
    goal: Goal, ratings: list[dict] | None = None, *, with_trajectory: bool = False, viewer: Principal | None = None
) -> dict:
    """A goal as the API and the admin show it.

    A client token's `viewer` sees who recorded the goal as a role ("clinician", "integration",
    "client"), never another credential's label; staff, integrations and the admin see the label.
    """
    recorded_by = goal.recorded_by
    if viewer is not None and viewer.kind == "client_token":
        recorded_by = role_of(recorded_by)
    shaped = {
        "id": goal.id,
        "text": goal.text,
        "status": goal.status,
        "created": goal.created_at,
        "achieved": goal.achieved_at,
        "dropped": goal.dropped_at,
        "replaced": goal.replaced_at,
        "replaced_by": goal.replaced_by_id,
        "recorded_by": recorded_by,
    }
    if ratings is not None:
        shaped["progress"] = goal_change(ratings, reliable_change_threshold())
        if with_trajectory:
            shaped["trajectory"] = ratings
    return shaped


def _number(value: Decimal) -> int | float:
    return int(value) if value == value.to_integral_value() else float(value)
