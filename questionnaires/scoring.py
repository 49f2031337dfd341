"""The declarative scoring engine: raw answers plus a `Questionnaire` definition give a `Score`.

All arithmetic is `Decimal` so visual-analogue sums are exact; anything that cannot be
scored raises `ScoringError` with the problems keyed by linkId.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation, localcontext
from functools import partial
from typing import Any

from questionnaires.contract import AlertRule, Comparison, Item, Questionnaire, Score, ScoringError, Subscale
from questionnaires.definition_cache import PerDefinition

__all__ = ["band_for", "compare", "round_half_up", "score_answers", "to_decimal"]

# Enough digits that an unrounded mean keeps far more precision than any instrument reports.
PRECISION = 28


def to_decimal(value: Any) -> Decimal:
    """A finite Decimal for an int, Decimal, float (through `str`, so 9.2 stays 9.2) or numeric str.

    Booleans are refused: `True` is a JSON literal, not an answer on a scale.
    """
    if isinstance(value, bool):
        raise ScoringError(f"{value!r} is not a number")
    if isinstance(value, Decimal):
        number = value
    elif isinstance(value, int):
        number = Decimal(value)
    elif isinstance(value, float):
        number = Decimal(str(value))
    elif isinstance(value, str):
        try:
            number = Decimal(value.strip())
        except InvalidOperation:
            raise ScoringError(f"{value!r} is not a number") from None
    else:
        raise ScoringError(f"{type(value).__name__} is not a number")
    if not number.is_finite():
        raise ScoringError(f"{value!r} is not a finite number")
    return number


def round_half_up(value: Decimal, decimals: int | None) -> Decimal:
    """At most `decimals` places, half-up; never pads, so an integer sum stays an integer."""
    if decimals is None or value.as_tuple().exponent >= -decimals:  # type: ignore[operator]
        return value
    return value.quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_UP)


def compare(value: Any, comparison: Comparison, threshold: Any) -> bool:
    """`value <comparison> threshold`, numerically."""
    left, right = to_decimal(value), to_decimal(threshold)
    if comparison == "<":
        return left < right
    if comparison == "<=":
        return left <= right
    if comparison == ">":
        return left > right
    if comparison == ">=":
        return left >= right
    raise ValueError(f"unknown comparison {comparison!r}")


def band_for(definition: Questionnaire, total: Any, *, cutoff_belongs_to: str | None = None) -> str | None:
    """The name of the band `total` falls in, or None (no bands, or a total outside them).

    With "upper" a total equal to a cut-off belongs to the higher band; with "lower" to the
    lower one. The outer ends are closed either way. `cutoff_belongs_to` overrides the
    definition's setting, for a clinic that follows the other convention.
    """
    if not definition.bands:
        return None
    value = to_decimal(total)
    belongs_to = cutoff_belongs_to or definition.band_cutoff_belongs_to
    bands = sorted(definition.bands, key=lambda band: band.lower)
    last = len(bands) - 1
    for index, band in enumerate(bands):
        lower, upper = to_decimal(band.lower), to_decimal(band.upper)
        if belongs_to == "upper":
            above_lower = value >= lower
            below_upper = value < upper or (index == last and value == upper)
        else:
            above_lower = value > lower or (index == 0 and value == lower)
            below_upper = value <= upper
        if above_lower and below_upper:
            return band.name
    return None


def score_answers(definition: Questionnaire, answers: Mapping[str, Any]) -> Score:
    """Score raw answers: the definition's own `score()` when it has one, else the declarative rules.

    A custom `score()` is plugin code: its ScoringError passes through, and any other
    exception it raises is left for the caller's plugin boundary to report as a plugin fault.
    """
    if definition.score is not None:
        result = definition.score(definition, answers)
        if not isinstance(result, Score):
            raise TypeError(f"{definition.id} {definition.version}: score() returned {type(result).__name__}")
        return result
    if not isinstance(answers, Mapping):
        raise ScoringError("Answers must be an object keyed by linkId.", {"answers": "expected an object"})
    plan = _plan_for(definition)
    try:
        with localcontext() as context:
            context.prec = PRECISION
            return _score_declaratively(definition, plan, answers)
    except ArithmeticError as error:  # e.g. an answer so large the total overflows
        raise ScoringError(f"The answers cannot be scored: {error}", {"answers": "not scoreable"}) from None


_OPERATORS: dict[str, Callable[[Any, Any], bool]] = {"<": operator.lt, "<=": operator.le, ">": operator.gt,
                                                      ">=": operator.ge}


@dataclass(frozen=True)
class _Rule:
    """An alert rule with its threshold already a Decimal, or (when it is not a number or the comparison
    is unknown) the raw threshold and `compare`, which reports the problem when the rule is evaluated."""

    rule: AlertRule
    link_ids: tuple[str, ...]
    test: Callable[[Any, Any], bool]
    threshold: Any


@dataclass(frozen=True)
class _Plan:
    """What a definition's scoring needs, worked out once instead of once per response.

    Anything that cannot be precomputed (a malformed threshold or band bound) is left for
    the per-response code path, so it fails exactly where and how it always did.
    """

    link_ids: tuple[str, ...]
    scored_ids: tuple[str, ...]
    reversed_sum: dict[str, Decimal | Item | None]
    """min + max of each reverse-keyed scored item; None when it has no range; the item itself when its
    range is not a number (the per-response path then raises as it always did)."""
    subscales: tuple[Subscale, ...]
    bands: tuple[tuple[str, Decimal, Decimal], ...] | None
    """(name, lower, upper) in ascending order; None when a bound is not a number."""
    rules: tuple[_Rule, ...]


def _build_plan(definition: Questionnaire) -> _Plan:
    scored = [item for item in definition.items if item.scored]
    reverse = definition.scoring.reverse
    reversed_sum: dict[str, Decimal | Item | None] = {}
    for item in scored:
        if item.link_id in reverse:
            low, high = item.min_value, item.max_value
            try:
                reversed_sum[item.link_id] = None if low is None or high is None else to_decimal(low) + to_decimal(high)
            except (ScoringError, ArithmeticError, TypeError):
                reversed_sum[item.link_id] = item
    try:
        bands = tuple(
            (band.name, to_decimal(band.lower), to_decimal(band.upper))
            for band in sorted(definition.bands, key=lambda band: band.lower)
        )
    except (ScoringError, TypeError):
        bands = None
    scored_ids = tuple(item.link_id for item in scored)
    rules = []
    for rule in definition.alert_rules:
        link_ids = (rule.items or scored_ids) if rule.on == "any_item" else rule.items
        test = _OPERATORS.get(rule.comparison)
        try:
            threshold = to_decimal(rule.threshold)
        except ScoringError:
            test = None
        if test is None:
            test, threshold = partial(_compare_with, rule.comparison), rule.threshold
        rules.append(_Rule(rule=rule, link_ids=link_ids, test=test, threshold=threshold))
    return _Plan(
        link_ids=tuple(item.link_id for item in definition.items),
        scored_ids=scored_ids,
        reversed_sum=reversed_sum,
        subscales=definition.subscales,
        bands=bands,
        rules=tuple(rules),
    )


_plan_for = PerDefinition(_build_plan, limit=256)


def _score_declaratively(definition: Questionnaire, plan: _Plan, answers: Mapping[str, Any]) -> Score:
    scoring = definition.scoring
    scored_ids = plan.scored_ids
    raw, problems = _raw_values(plan, answers)
    missing = [link_id for link_id in scored_ids if link_id not in raw and link_id not in problems]
    allowed_missing = scoring.max_missing if scoring.missing == "prorate" else 0
    if len(missing) > allowed_missing:
        if allowed_missing:
            reason = f"missing; at most {allowed_missing} of {len(scored_ids)} items may be left out"
        else:
            reason = "missing; every scored item must be answered"
        problems.update({link_id: reason for link_id in missing})
    if problems:
        raise ScoringError(
            f"{definition.id} {definition.version} cannot be scored: {', '.join(sorted(problems, key=_link_order))}.",
            problems,
        )
    values = _keyed_values(plan, raw)
    if not values:
        raise ScoringError(f"{definition.id} {definition.version}: no scored item was answered.",
                           {"answers": "no scored item answered"})
    decimals = scoring.decimals
    aggregate_sum = _aggregate(scored_ids, values, "sum")
    aggregate_mean = _aggregate(scored_ids, values, "mean")
    total = round_half_up(aggregate_mean if scoring.method == "mean" else aggregate_sum, decimals)
    subscales = {subscale.name: _subscale(subscale, values, decimals) for subscale in plan.subscales}
    extras = {name: round_half_up(aggregate_mean if name == "mean" else aggregate_sum, decimals)
              for name in scoring.extras}
    band = band_for(definition, total) if plan.bands is None else _band(plan.bands, total,
                                                                         definition.band_cutoff_belongs_to)
    return Score(
        total=total,
        subscales=subscales,
        band=band,
        flags=_flags(plan, total, subscales, raw),
        extras=extras,
    )


def _raw_values(plan: _Plan, answers: Mapping[str, Any]) -> tuple[dict[str, Decimal], dict[str, str]]:
    """Answers to the definition's items as Decimals (None counts as absent); unknown linkIds are ignored."""
    raw: dict[str, Decimal] = {}
    problems: dict[str, str] = {}
    for link_id in plan.link_ids:
        value = answers.get(link_id)
        if value is None:
            continue
        if type(value) is int:  # the common case, and exactly what to_decimal does with it
            raw[link_id] = Decimal(value)
            continue
        try:
            raw[link_id] = to_decimal(value)
        except ScoringError as error:
            problems[link_id] = str(error)
    return raw, problems


def _keyed_values(plan: _Plan, raw: Mapping[str, Decimal]) -> dict[str, Decimal]:
    """The answered scored items, reverse-keyed ones as min + max - raw."""
    reversed_sum = plan.reversed_sum
    values: dict[str, Decimal] = {}
    for link_id in plan.scored_ids:
        value = raw.get(link_id)
        if value is None:
            continue
        if link_id in reversed_sum:
            span = reversed_sum[link_id]
            if span is None:
                raise ScoringError(f"Item {link_id} is reverse-keyed but has no range.", {link_id: "no range"})
            if isinstance(span, Item):
                span = to_decimal(span.min_value) + to_decimal(span.max_value)
            value = span - value
        values[link_id] = value
    return values


def _aggregate(item_ids: Sequence[str], values: Mapping[str, Decimal], method: str) -> Decimal:
    """Sum or mean over the answered items; a sum with items absent is prorated to all of them."""
    answered = [values[link_id] for link_id in item_ids if link_id in values]
    subtotal = sum(answered, Decimal(0))
    if method == "mean":
        return subtotal / len(answered)
    if len(answered) == len(item_ids):
        return subtotal
    return Decimal(len(item_ids)) * subtotal / len(answered)


def _subscale(subscale: Subscale, values: Mapping[str, Decimal], decimals: int | None) -> Decimal:
    if not any(link_id in values for link_id in subscale.items):
        raise ScoringError(
            f"Subscale {subscale.name} has no answered item.", {link_id: "missing" for link_id in subscale.items}
        )
    return round_half_up(_aggregate(subscale.items, values, subscale.method), decimals)


def _band(bands: tuple[tuple[str, Decimal, Decimal], ...], value: Decimal, belongs_to: str) -> str | None:
    """`band_for` over precomputed bounds."""
    last = len(bands) - 1
    for index, (name, lower, upper) in enumerate(bands):
        if belongs_to == "upper":
            if value >= lower and (value < upper or (index == last and value == upper)):
                return name
        elif (value > lower or (index == 0 and value == lower)) and value <= upper:
            return name
    return None


def _flags(
    plan: _Plan, total: Decimal, subscales: Mapping[str, Decimal], raw: Mapping[str, Decimal]
) -> tuple[str, ...]:
    """Flags in the order of `alert_rules`, each once; item rules compare the raw (unreversed) answers."""
    raised: list[str] = []
    for prepared in plan.rules:
        rule, test, threshold = prepared.rule, prepared.test, prepared.threshold
        if rule.on == "total":
            hit = test(total, threshold)
        elif rule.on == "any_item":
            hit = any(test(raw[link_id], threshold) for link_id in prepared.link_ids if link_id in raw)
        else:
            name = rule.items[0] if rule.items else ""
            if name not in subscales:
                raise ScoringError(f"Alert rule {rule.flag} names an unknown subscale {name!r}.",
                                   {"answers": "definition error"})
            hit = test(subscales[name], threshold)
        if hit and rule.flag not in raised:
            raised.append(rule.flag)
    return tuple(raised)


def _compare_with(comparison: Comparison, value: Any, threshold: Any) -> bool:
    return compare(value, comparison, threshold)


def _link_order(link_id: str) -> tuple[int, str]:
    """Numeric linkIds in form order ("2" before "10"), others after."""
    return (int(link_id), "") if link_id.isascii() and link_id.isdigit() else (1 << 30, link_id)
