"""Definitions whose items depend on the client: resolved at submission time from the client's active goals.

The registry validates and scores the fixed items a plugin declares; a submission for one client
is validated against a copy whose items are that client's active goals (linkId = goal id), each
shaped like the plugin's first declared item and each required.
"""

from __future__ import annotations

from dataclasses import replace

from questionnaires.contract import Questionnaire
from questionnaires.models import Goal
from questionnaires.validation import Problem, validate_answers


def definition_for_client(definition: Questionnaire, client, *, goal_text_labels: bool = False) -> Questionnaire:
    """The definition as this client answers it; unchanged for definitions without dynamic items.

    `goal_text_labels` labels each item with the goal in the client's own words, for pages the
    client themselves sees (the client form); elsewhere items are "Goal 1", "Goal 2", ...
    Translated labels of the declared items are dropped: they belong to the fixed item set.
    """
    if definition.dynamic_items != "client_goals" or client is None:
        return definition
    template = definition.items[0]
    goals = Goal.objects.filter(client_id=client.pk, status=Goal.Status.ACTIVE).order_by("created_at", "id")
    items = tuple(
        replace(
            template, link_id=str(goal.id), label=goal.text if goal_text_labels else f"Goal {position}",
            required=True, text=None,
        )
        for position, goal in enumerate(goals.only("id", "text"), start=1)
    )
    translations = {
        language: replace(translation, labels={}, texts={}) for language, translation in definition.translations.items()
    }
    scoring = replace(definition.scoring, missing="reject", max_missing=0)
    return replace(definition, items=items, scoring=scoring, translations=translations)


def validate_answers_for_client(definition: Questionnaire, client, answers) -> tuple[dict, list]:
    """`validation.validate_answers` against the definition as this client answers it.

    A goals questionnaire for a client without active goals has nothing to rate: one problem says so.
    """
    if definition.dynamic_items is None:
        return validate_answers(definition, answers)
    resolved = definition_for_client(definition, client)
    if not resolved.items:
        return {}, [Problem("answers", "the client has no active goals to rate; agree goals first", "no_goals")]
    return validate_answers(resolved, answers)
