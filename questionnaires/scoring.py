"""The declarative scoring engine: raw answers plus a `Questionnaire` definition give a `Score`.

All arithmetic is `Decimal` so visual-analogue sums are exact; anything that cannot be
scored raises `ScoringError` with the problems keyed by linkId.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation, localcontext
from typing import Any

from questionnaires.contract import Comparison, Item, Questionnaire, Score, ScoringError, Subscale

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
    try:
        with localcontext() as context:
            context.prec = PRECISION
            return _score_declaratively(definition, answers)
    except ArithmeticError as error:  # e.g. an answer so large the total overflows
        raise ScoringError(f"The answers cannot be scored: {error}", {"answers": "not scoreable"}) from None


def _score_declaratively(definition: Questionnaire, answers: Mapping[str, Any]) -> Score:
    scoring = definition.scoring
    scored_items = [item for item in definition.items if item.scored]
    raw, problems = _raw_values(definition, answers)
    missing = [item.link_id for item in scored_items if item.link_id not in raw and item.link_id not in problems]
    allowed_missing = scoring.max_missing if scoring.missing == "prorate" else 0
    if len(missing) > allowed_missing:
        if allowed_missing:
            reason = f"missing; at most {allowed_missing} of {len(scored_items)} items may be left out"
        else:
            reason = "missing; every scored item must be answered"
        problems.update({link_id: reason for link_id in missing})
    if problems:
        raise ScoringError(
            f"{definition.id} {definition.version} cannot be scored: {', '.join(sorted(problems, key=_link_order))}.",
            problems,
        )
    values = {item.link_id: _keyed(item, raw[item.link_id], scoring.reverse) for item in scored_items
              if item.link_id in raw}
    item_ids = [item.link_id for item in scored_items]
    if not values:
        raise ScoringError(f"{definition.id} {definition.version}: no scored item was answered.",
                           {"answers": "no scored item answered"})
    aggregate_sum = _aggregate(item_ids, values, "sum")
    aggregate_mean = _aggregate(item_ids, values, "mean")
    total = round_half_up(aggregate_mean if scoring.method == "mean" else aggregate_sum, scoring.decimals)
    subscales = {subscale.name: _subscale(definition, subscale, values) for subscale in definition.subscales}
    extras = {
        name: round_half_up(aggregate_mean if name == "mean" else aggregate_sum, scoring.decimals)
        for name in scoring.extras
    }
    return Score(
        total=total,
        subscales=subscales,
        band=band_for(definition, total),
        flags=_flags(definition, total, subscales, raw),
        extras=extras,
    )


def _raw_values(definition: Questionnaire, answers: Mapping[str, Any]) -> tuple[dict[str, Decimal], dict[str, str]]:
    """Answers to the definition's items as Decimals (None counts as absent); unknown linkIds are ignored."""
    raw: dict[str, Decimal] = {}
    problems: dict[str, str] = {}
    for item in definition.items:
        value = answers.get(item.link_id)
        if value is None:
            continue
        try:
            raw[item.link_id] = to_decimal(value)
        except ScoringError as error:
            problems[item.link_id] = str(error)
    return raw, problems


def _keyed(item: Item, value: Decimal, reverse: tuple[str, ...]) -> Decimal:
    if item.link_id not in reverse:
        return value
    if item.min_value is None or item.max_value is None:
        raise ScoringError(f"Item {item.link_id} is reverse-keyed but has no range.", {item.link_id: "no range"})
    return to_decimal(item.min_value) + to_decimal(item.max_value) - value


def _aggregate(item_ids: list[str], values: Mapping[str, Decimal], method: str) -> Decimal:
    """Sum or mean over the answered items; a sum with items absent is prorated to all of them."""
    answered = [values[link_id] for link_id in item_ids if link_id in values]
    subtotal = sum(answered, Decimal(0))
    if method == "mean":
        return subtotal / len(answered)
    if len(answered) == len(item_ids):
        return subtotal
    return Decimal(len(item_ids)) * subtotal / len(answered)


def _subscale(definition: Questionnaire, subscale: Subscale, values: Mapping[str, Decimal]) -> Decimal:
    if not any(link_id in values for link_id in subscale.items):
        raise ScoringError(
            f"Subscale {subscale.name} has no answered item.", {link_id: "missing" for link_id in subscale.items}
        )
    return round_half_up(_aggregate(list(subscale.items), values, subscale.method), definition.scoring.decimals)


def _flags(
    definition: Questionnaire, total: Decimal, subscales: Mapping[str, Decimal], raw: Mapping[str, Decimal]
) -> tuple[str, ...]:
    """Flags in the order of `alert_rules`, each once; item rules compare the raw (unreversed) answers."""
    raised: list[str] = []
    for rule in definition.alert_rules:
        if rule.on == "total":
            hit = compare(total, rule.comparison, rule.threshold)
        elif rule.on == "any_item":
            link_ids = rule.items or tuple(item.link_id for item in definition.items if item.scored)
            hit = any(compare(raw[link_id], rule.comparison, rule.threshold) for link_id in link_ids
                      if link_id in raw)
        else:
            name = rule.items[0] if rule.items else ""
            if name not in subscales:
                raise ScoringError(f"Alert rule {rule.flag} names an unknown subscale {name!r}.",
                                   {"answers": "definition error"})
            hit = compare(subscales[name], rule.comparison, rule.threshold)
        if hit and rule.flag not in raised:
            raised.append(rule.flag)
    return tuple(raised)


def _link_order(link_id: str) -> tuple[int, str]:
    """Numeric linkIds in form order ("2" before "10"), others after."""
    return (int(link_id), "") if link_id.isdigit() else (1 << 30, link_id)
