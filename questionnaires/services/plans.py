"""Measurement plans as data: reading and checking rules, the built-in default, and setting a clinic's or an
episode's plan.

A rule: {"questionnaire": id, "rater": "client" | "clinician", "when": one of
{"every_session": true}, {"sessions": [1, 4, ...]}, {"every_n_sessions": n, "from": k},
{"every_n_days": n}; "position": "session_start" | "session_end", "open_hours": h,
"requires_goals": bool}. `session_start` measures open `open_hours` before the session and close
at its end; `session_end` measures open at its start and close `open_hours` after its end.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.db import transaction

from questionnaires.models import EpisodeOfCare, MeasurementPlan
from questionnaires.principals import Principal
from questionnaires.registry import get_registry
from questionnaires.services.errors import InvalidInput
from questionnaires.validation import Problem

MAX_RULES = 50
MAX_SESSION_NUMBER = 1000
MAX_OPEN_HOURS = 24 * 30
RULE_FIELDS = frozenset({"questionnaire", "rater", "when", "position", "open_hours", "requires_goals"})
WHEN_KINDS = ("every_session", "sessions", "every_n_sessions", "every_n_days")
POSITIONS = ("session_start", "session_end")

def plan_rules_read(rules: Any) -> tuple[list[dict], list[Problem]]:
    """The rules in their full form (defaults filled in), or every problem, each naming `rules.<i>.<field>`."""
    if not isinstance(rules, list):
        return [], [Problem("rules", "must be a list of rules", "invalid_type")]
    if len(rules) > MAX_RULES:
        return [], [Problem("rules", f"at most {MAX_RULES} rules", "too_many")]
    problems: list[Problem] = []
    read = [_rule(index, rule, problems) for index, rule in enumerate(rules)]
    return ([rule for rule in read if rule is not None] if not problems else []), problems


def _rule(index: int, rule: Any, problems: list[Problem]) -> dict | None:
    prefix = f"rules.{index}"
    if not isinstance(rule, Mapping):
        problems.append(Problem(prefix, "must be an object", "invalid_type"))
        return None
    before = len(problems)
    problems.extend(
        Problem(f"{prefix}.{key}", "unknown field", "unknown_field") for key in rule if key not in RULE_FIELDS
    )
    questionnaire = rule.get("questionnaire")
    if not isinstance(questionnaire, str) or len(questionnaire) > 64 or get_registry().get(questionnaire) is None:
        problems.append(Problem(f"{prefix}.questionnaire", "a known questionnaire id", "unknown"))
    rater = rule.get("rater", "client")
    if rater not in ("client", "clinician"):
        problems.append(Problem(f"{prefix}.rater", "client or clinician", "invalid_choice"))
    position = rule.get("position", "session_start")
    if position not in POSITIONS:
        problems.append(Problem(f"{prefix}.position", "session_start or session_end", "invalid_choice"))
    open_hours = rule.get("open_hours", 24)
    if not _whole(open_hours, 1, MAX_OPEN_HOURS):
        problems.append(Problem(f"{prefix}.open_hours", f"1 to {MAX_OPEN_HOURS}", "out_of_range"))
    requires_goals = rule.get("requires_goals", False)
    if not isinstance(requires_goals, bool):
        problems.append(Problem(f"{prefix}.requires_goals", "true or false", "invalid_type"))
    when = _when(rule.get("when"), f"{prefix}.when", problems)
    if len(problems) > before:
        return None
    return {"questionnaire": questionnaire, "rater": rater, "when": when, "position": position,
            "open_hours": open_hours, "requires_goals": requires_goals}


def _whole(value: Any, low: int, high: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and low <= value <= high


def _when(when: Any, field: str, problems: list[Problem]) -> dict | None:
    kinds = [kind for kind in WHEN_KINDS if isinstance(when, Mapping) and kind in when]
    if not isinstance(when, Mapping) or len(kinds) != 1:
        problems.append(Problem(field, f"an object with exactly one of {', '.join(WHEN_KINDS)}", "invalid"))
        return None
    (kind,) = kinds
    allowed = {kind, "from"} if kind == "every_n_sessions" else {kind}
    if set(when) - allowed:
        problems.append(Problem(field, f"unexpected keys {sorted(set(when) - allowed)}", "unknown_field"))
        return None
    value = when[kind]
    if kind == "every_session" and value is not True:
        problems.append(Problem(f"{field}.every_session", "must be true", "invalid"))
    elif kind == "sessions" and not (
        isinstance(value, list) and 0 < len(value) <= 100 and all(_whole(n, 1, MAX_SESSION_NUMBER) for n in value)
    ):
        problems.append(Problem(f"{field}.sessions", f"1 to 100 session numbers, 1 to {MAX_SESSION_NUMBER}", "invalid"))
    elif kind in ("every_n_sessions", "every_n_days") and not _whole(value, 1, MAX_SESSION_NUMBER):
        problems.append(Problem(f"{field}.{kind}", f"1 to {MAX_SESSION_NUMBER}", "out_of_range"))
    elif kind == "every_n_sessions" and not _whole(when.get("from", 1), 1, MAX_SESSION_NUMBER):
        problems.append(Problem(f"{field}.from", f"a session number, 1 to {MAX_SESSION_NUMBER}", "out_of_range"))
    else:
        return {kind: sorted(set(value)) if kind == "sessions" else value,
                **({"from": when.get("from", 1)} if kind == "every_n_sessions" else {})}
    return None


def plan_set(
    *, principal: Principal, rules: Any, episode: EpisodeOfCare | None = None
) -> MeasurementPlan:
    """Replace the clinic's default plan (no `episode`) or the episode's override with `rules`."""
    checked, problems = plan_rules_read(rules)
    if problems:
        raise InvalidInput("The plan is not valid; see errors.", problems)
    with transaction.atomic():
        plan, _ = MeasurementPlan.objects.select_for_update().get_or_create(
            clinic_id=principal.clinic_id, episode=episode, defaults={"rules": checked}
        )
        plan.rules, plan.updated_by = checked, principal.label[:100]
        plan.save()
    return plan


def plan_clear(*, principal: Principal, episode: EpisodeOfCare) -> None:
    """The episode follows the clinic's default plan again."""
    MeasurementPlan.objects.filter(clinic_id=principal.clinic_id, episode=episode).delete()
