"""Checks submitted answers against a questionnaire definition and converts them to the numbers scoring takes.

Every problem is collected (not just the first), each with the field path it belongs to. The
per-definition lookups are built once and reused, since batches of 1,000 responses pass through here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from questionnaires.contract import Item, Number, Questionnaire
from questionnaires.definition_cache import PerDefinition


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a submission: `field` is a path such as `answers.4`.

    `params` (pairs, so the problem stays hashable) name what the message says in words, for a page
    that words it again in its own language: `rule` tells apart messages that share a code
    (`range`, `places`, `multiple`, `whole`, `finite`), and `min`, `max`, `step`, `places`, `options`,
    `missing`, `allowed` are the numbers. The API shows only field, message and code.
    """

    field: str
    message: str
    code: str = "invalid"
    params: tuple[tuple[str, str], ...] = ()

    @property
    def arguments(self) -> dict[str, str]:
        return dict(self.params)


@dataclass(frozen=True)
class _ItemRule:
    link_id: str
    type: str
    options: frozenset[int]
    options_text: str
    minimum: Decimal | None
    maximum: Decimal | None
    step: Decimal | None
    quantum: Decimal | None
    """The step's exponent as a Decimal (0.1 for step 0.1), so accepted decimals come back in one form."""
    range_text: str


@dataclass(frozen=True)
class _Plan:
    rules: Mapping[str, _ItemRule]
    scored: tuple[str, ...]
    always_required: frozenset[str]
    """Items that must be present whatever the missing-item rule (required items that are not scored)."""
    allowed_missing: int




def validate_answers(
    definition: Questionnaire, answers: Any, *, field_prefix: str = "answers"
) -> tuple[dict[str, Number], list[Problem]]:
    """Every problem with `answers` (unknown linkId, missing required item, wrong type,
    off the scale, not on the step, unscoreable per the missing-item rule), and the
    answers converted to the numbers the scoring engine takes (int for choice/integer
    items, Decimal for decimal items). Problems empty means the answers are scoreable.

    A JSON null counts as not answered. Booleans and strings are never numbers; a float
    with no fractional part (2.0) is accepted where an integer is expected.
    """
    if not isinstance(answers, Mapping):
        return {}, [Problem(field_prefix, "must be an object mapping item linkIds to values", "invalid_type")]
    plan = _plan_for(definition)
    converted: dict[str, Number] = {}
    problems: list[Problem] = []
    for key, value in answers.items():
        rule = plan.rules.get(key) if isinstance(key, str) else None
        if rule is None:
            problems.append(Problem(f"{field_prefix}.{key}", "unknown item", "unknown_item"))
            continue
        if value is None:
            continue
        number, message, code, params = _convert(rule, value)
        if message:
            problems.append(Problem(f"{field_prefix}.{key}", message, code, params))
        else:
            converted[key] = number  # type: ignore[assignment]
    for link_id in plan.always_required:
        if answers.get(link_id) is None:
            problems.append(Problem(f"{field_prefix}.{link_id}", "required", "required"))
    missing = [link_id for link_id in plan.scored if answers.get(link_id) is None]
    if len(missing) > plan.allowed_missing:
        if plan.allowed_missing:
            message = f"missing; at most {plan.allowed_missing} of {len(plan.scored)} scored items may be left out"
            problems.append(
                Problem(
                    field_prefix,
                    f"{len(missing)} scored items are missing ({', '.join(missing)}); "
                    f"at most {plan.allowed_missing} may be left out",
                    "too_many_missing",
                    (("missing", str(len(missing))), ("allowed", str(plan.allowed_missing))),
                )
            )
        else:
            message = "required"
        problems.extend(Problem(f"{field_prefix}.{link_id}", message, "required") for link_id in missing)
    return converted, problems


Params = tuple[tuple[str, str], ...]


def _convert(rule: _ItemRule, value: Any) -> tuple[Number | None, str, str, Params]:
    """The accepted number, or an empty number with a message, code and params saying why not."""
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        return None, "must be a number", "invalid_type", (("rule", "number"),)
    if rule.type == "choice":
        whole = _whole(value)
        if whole is None or whole not in rule.options:
            return None, f"must be one of {rule.options_text}", "not_an_option", (("options", rule.options_text),)
        return whole, "", "", ()
    if rule.type == "integer":
        whole = _whole(value)
        if whole is None:
            return None, "must be a whole number", "invalid_type", (("rule", "whole"),)
        number = Decimal(whole)
        message, params = _range_message(rule, number)
        return (None, message, "out_of_range", params) if message else (whole, "", "", ())
    try:
        number = value if isinstance(value, Decimal) else Decimal(str(value)) if isinstance(value, float) \
            else Decimal(value)
    except (InvalidOperation, ValueError):
        return None, "must be a number", "invalid_type", (("rule", "number"),)
    if not number.is_finite():
        return None, "must be a finite number", "invalid_type", (("rule", "finite"),)
    message, params = _range_message(rule, number)
    if message:
        return None, message, "out_of_range", params
    if rule.quantum is not None:
        number = number.quantize(rule.quantum)
    return number, "", "", ()


def _whole(value: int | float | Decimal) -> int | None:
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return int(value) if value.is_integer() else None
    if value.is_finite() and value == value.to_integral_value():
        return int(value)
    return None


def _range_message(rule: _ItemRule, number: Decimal) -> tuple[str, Params]:
    assert rule.minimum is not None and rule.maximum is not None and rule.step is not None
    if not rule.minimum <= number <= rule.maximum:
        return f"must be between {rule.range_text}", (
            ("rule", "range"), ("min", _plain(rule.minimum)), ("max", _plain(rule.maximum))
        )
    if (number - rule.minimum) % rule.step != 0:
        step = rule.step.normalize().as_tuple()
        if step.digits == (1,) and isinstance(step.exponent, int) and step.exponent < 0:
            places = -step.exponent
            return f"must have at most {places} decimal place{'s' if places > 1 else ''}", (
                ("rule", "places"), ("places", str(places))
            )
        return f"must be {_plain(rule.minimum)} plus a multiple of {_plain(rule.step)}", (
            ("rule", "multiple"), ("min", _plain(rule.minimum)), ("step", _plain(rule.step))
        )
    return "", ()


def _build_plan(definition: Questionnaire) -> _Plan:
    rules = {item.link_id: _rule(item) for item in definition.items}
    scored = tuple(item.link_id for item in definition.items if item.scored)
    always_required = frozenset(item.link_id for item in definition.items if item.required and not item.scored)
    scoring = definition.scoring
    allowed_missing = scoring.max_missing if scoring.missing == "prorate" else 0
    return _Plan(rules=rules, scored=scored, always_required=always_required, allowed_missing=allowed_missing)


_plan_for = PerDefinition(_build_plan, limit=512)


def _rule(item: Item) -> _ItemRule:
    if item.type == "choice":
        values = sorted(option.value for option in item.options)
        return _ItemRule(
            link_id=item.link_id,
            type="choice",
            options=frozenset(values),
            options_text=", ".join(str(value) for value in values),
            minimum=None,
            maximum=None,
            step=None,
            quantum=None,
            range_text="",
        )
    minimum = _decimal(item.min, Decimal(0))
    maximum = _decimal(item.max, Decimal(0))
    step = _decimal(item.step, Decimal(1))
    exponent = step.normalize().as_tuple().exponent
    quantum = Decimal(1).scaleb(exponent) if item.type == "decimal" and isinstance(exponent, int) and exponent < 0 \
        else None
    return _ItemRule(
        link_id=item.link_id,
        type=item.type,
        options=frozenset(),
        options_text="",
        minimum=minimum,
        maximum=maximum,
        step=step,
        quantum=quantum,
        range_text=f"{_plain(minimum)} and {_plain(maximum)}",
    )


def _decimal(value: Any, default: Decimal) -> Decimal:
    if value is None:
        return default
    return value if isinstance(value, Decimal) else Decimal(str(value))


def _plain(number: Decimal) -> str:
    """5 rather than 5.0 or 5E+0, 0.1 rather than 1E-1."""
    return format(number.normalize(), "f")
