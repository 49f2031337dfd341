"""Recording shared goals and moving them through their lifecycle; a closed goal keeps its row and its times.

Transitions: active → achieved, dropped or replaced (replacing creates the new goal in the same
transaction and links the old one to it). At most `MAX_ACTIVE_GOALS` goals are active at once.
"""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from questionnaires.models import Goal, TherapyClient
from questionnaires.models.goals import MAX_ACTIVE_GOALS
from questionnaires.principals import Principal
from questionnaires.services.errors import Conflict, InvalidInput
from questionnaires.validation import Problem

GOAL_TEXT_MAX_LENGTH = 500
CLOSING_STATUSES = {Goal.Status.ACHIEVED: "achieved_at", Goal.Status.DROPPED: "dropped_at"}


def goal_text_problem(text: object, field: str = "text") -> Problem | None:
    if not isinstance(text, str):
        return Problem(field, "must be a string", "invalid_type")
    if not text.strip():
        return Problem(field, "must not be empty", "required")
    if len(text) > GOAL_TEXT_MAX_LENGTH:
        return Problem(field, f"must be at most {GOAL_TEXT_MAX_LENGTH} characters", "too_long")
    if "\x00" in text:
        return Problem(field, "must not contain NUL characters", "invalid_characters")
    return None


def _locked_client(client: TherapyClient) -> None:
    """Serialise goal changes per client, so two requests cannot both add a fourth active goal."""
    TherapyClient.objects.select_for_update().filter(pk=client.pk).first()


def goal_create(*, principal: Principal, client: TherapyClient, text: str) -> Goal:
    problem = goal_text_problem(text)
    if problem:
        raise InvalidInput("The goal is not valid; see errors.", [problem])
    with transaction.atomic():
        _locked_client(client)
        if Goal.objects.filter(client=client, status=Goal.Status.ACTIVE).count() >= MAX_ACTIVE_GOALS:
            raise Conflict(
                f"The client already has {MAX_ACTIVE_GOALS} active goals; close or replace one first.",
                [Problem("text", f"at most {MAX_ACTIVE_GOALS} active goals", "too_many_goals")],
            )
        return Goal.objects.create(
            clinic_id=client.clinic_id, client=client, text=text.strip(), recorded_by=principal.label[:100]
        )


def goal_status_set(*, principal: Principal, goal: Goal, status: str, replacement_text: str | None = None) -> Goal:
    """Close an active goal as achieved or dropped, or replace it with a new goal worded by the client.

    Returns the goal that was changed; for a replacement, `goal.replaced_by` is the new goal.
    """
    if status not in (Goal.Status.ACHIEVED, Goal.Status.DROPPED, Goal.Status.REPLACED):
        raise InvalidInput(
            "The status is not valid; see errors.",
            [Problem("status", "one of achieved, dropped, replaced", "invalid_choice")],
        )
    if status == Goal.Status.REPLACED:
        problem = goal_text_problem(replacement_text, "replacement")
        if problem:
            raise InvalidInput("A replaced goal needs the new goal's text; see errors.", [problem])
    elif replacement_text is not None:
        raise InvalidInput(
            "Only a replaced goal takes a replacement.",
            [Problem("replacement", "only with status replaced", "unexpected")],
        )
    with transaction.atomic():
        _locked_client(goal.client)
        goal = Goal.objects.select_for_update().get(pk=goal.pk)
        if goal.status != Goal.Status.ACTIVE:
            raise Conflict(
                f"The goal is already {goal.status}; closed goals keep their history and do not change.",
                [Problem("status", f"goal is {goal.status}", "not_active")],
            )
        now = timezone.now()
        goal.status = status
        if status == Goal.Status.REPLACED:
            goal.replaced_at = now
            goal.replaced_by = Goal.objects.create(
                clinic_id=goal.clinic_id, client_id=goal.client_id, text=replacement_text.strip(),  # type: ignore[union-attr]
                recorded_by=principal.label[:100],
            )
            goal.save(update_fields=["status", "replaced_at", "replaced_by"])
        else:
            setattr(goal, CLOSING_STATUSES[status], now)
            goal.save(update_fields=["status", CLOSING_STATUSES[status]])
    return goal
