"""validate_answers: every problem with a submission, each at its field, and the answers converted for scoring."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

import pytest

from questionnaires.contract import Item, Questionnaire, Scoring
from questionnaires.validation import Problem, validate_answers
from tests.broken_plugins.good import make_definition


def visual_analogue() -> Questionnaire:
    """Two 0.0-10.0 VAS items (step 0.1), an integer item 0-100 in steps of 5, and an optional unscored note."""
    return make_definition(
        id="vas-check",
        items=(
            Item("a", "A", type="decimal", min=Decimal(0), max=Decimal(10), step=Decimal("0.1")),
            Item("b", "B", type="decimal", min=Decimal(0), max=Decimal(10), step=Decimal("0.1")),
            Item("c", "C", type="integer", min=Decimal(0), max=Decimal(100), step=Decimal(5)),
            Item("note", "Note", type="integer", min=Decimal(0), max=Decimal(3), step=Decimal(1), required=False,
                 scored=False),
        ),
        scoring=Scoring(total_min=Decimal(0), total_max=Decimal(120)),
        subscales=(),
        bands=(),
        alert_rules=(),
        examples=(),
    )


def prorated() -> Questionnaire:
    """Five 0-3 items, one of which may be left out (the CORE-10 rule, smaller)."""
    definition = make_definition()
    items = tuple(Item(str(number), f"Item {number}", options=definition.items[0].options) for number in range(1, 6))
    return replace(
        definition,
        id="prorated",
        items=items,
        scoring=Scoring(missing="prorate", max_missing=1, total_min=Decimal(0), total_max=Decimal(15)),
        subscales=(),
        bands=(),
        alert_rules=(),
        examples=(),
    )


def fields(problems: list[Problem]) -> dict[str, str]:
    return {problem.field: problem.message for problem in problems}


def test_it_accepts_complete_answers_and_converts_them_to_ints():
    answers, problems = validate_answers(make_definition(), {"1": 0, "2": 3, "3": 2})
    assert problems == []
    assert answers == {"1": 0, "2": 3, "3": 2}
    assert all(type(value) is int for value in answers.values())


@pytest.mark.parametrize("answers", [[1, 2, 3], "1=2", 7, None])
def test_it_rejects_answers_that_are_not_an_object(answers):
    assert validate_answers(make_definition(), answers)[1] == [
        Problem("answers", "must be an object mapping item linkIds to values", "invalid_type")
    ]


def test_it_rejects_answer_off_the_scale_naming_the_item_and_the_allowed_values():
    _, problems = validate_answers(make_definition(), {"1": 4, "2": 0, "3": -1})
    assert fields(problems) == {"answers.1": "must be one of 0, 1, 2, 3", "answers.3": "must be one of 0, 1, 2, 3"}
    assert {problem.code for problem in problems} == {"not_an_option"}


def test_it_names_unknown_items():
    _, problems = validate_answers(make_definition(), {"1": 0, "2": 0, "3": 0, "4": 1, "x": 0})
    assert fields(problems) == {"answers.4": "unknown item", "answers.x": "unknown item"}


def test_it_names_every_missing_required_item_and_treats_null_as_missing():
    _, problems = validate_answers(make_definition(), {"2": None})
    assert fields(problems) == {"answers.1": "required", "answers.2": "required", "answers.3": "required"}


@pytest.mark.parametrize("value", [True, False, "2", "two", [2], {"v": 2}])
def test_booleans_and_strings_are_not_numbers(value):
    _, problems = validate_answers(make_definition(), {"1": value, "2": 0, "3": 0})
    assert fields(problems) == {"answers.1": "must be a number"}


def test_a_whole_float_counts_as_its_integer_but_a_fraction_does_not():
    answers, problems = validate_answers(make_definition(), {"1": 2.0, "2": 1, "3": 0})
    assert problems == [] and answers["1"] == 2 and type(answers["1"]) is int
    _, problems = validate_answers(make_definition(), {"1": 1.5, "2": 1, "3": 0})
    assert fields(problems) == {"answers.1": "must be one of 0, 1, 2, 3"}


def test_it_collects_every_problem_not_just_the_first():
    _, problems = validate_answers(make_definition(), {"1": "x", "2": 9, "extra": 1})
    assert fields(problems) == {
        "answers.1": "must be a number",
        "answers.2": "must be one of 0, 1, 2, 3",
        "answers.extra": "unknown item",
        "answers.3": "required",
    }


def test_the_field_prefix_locates_problems_inside_a_batch():
    _, problems = validate_answers(make_definition(), {"1": 0, "2": 0}, field_prefix="responses.7.answers")
    assert fields(problems) == {"responses.7.answers.3": "required"}


def test_decimal_answers_are_exact_decimals_on_the_step():
    answers, problems = validate_answers(visual_analogue(), {"a": 9.2, "b": 8, "c": 35})
    assert problems == []
    assert answers == {"a": Decimal("9.2"), "b": Decimal("8.0"), "c": 35}
    assert str(answers["b"]) == "8.0"


def test_a_decimal_answer_with_more_places_than_the_step_is_rejected():
    _, problems = validate_answers(visual_analogue(), {"a": 9.25, "b": Decimal("0.01"), "c": 0})
    assert fields(problems) == {
        "answers.a": "must have at most 1 decimal place",
        "answers.b": "must have at most 1 decimal place",
    }


def test_decimal_and_integer_answers_outside_the_range_are_rejected():
    _, problems = validate_answers(visual_analogue(), {"a": 10.1, "b": -0.1, "c": 105})
    assert fields(problems) == {
        "answers.a": "must be between 0 and 10",
        "answers.b": "must be between 0 and 10",
        "answers.c": "must be between 0 and 100",
    }
    assert {problem.code for problem in problems} == {"out_of_range"}


def test_an_integer_answer_must_be_whole_and_on_its_step():
    _, problems = validate_answers(visual_analogue(), {"a": 1, "b": 1, "c": 7, "note": 1.5})
    assert fields(problems) == {"answers.c": "must be 0 plus a multiple of 5", "answers.note": "must be a whole number"}


def test_infinite_and_not_a_number_values_are_rejected():
    _, problems = validate_answers(visual_analogue(), {"a": float("inf"), "b": float("nan"), "c": 0})
    assert fields(problems) == {"answers.a": "must be a finite number", "answers.b": "must be a finite number"}


def test_an_optional_unscored_item_may_be_left_out():
    answers, problems = validate_answers(visual_analogue(), {"a": 1, "b": 1, "c": 0})
    assert problems == [] and "note" not in answers


def test_an_unscored_item_marked_required_must_be_answered():
    definition = visual_analogue()
    note = replace(definition.items[3], required=True)
    definition = replace(definition, items=(*definition.items[:3], note))
    assert fields(validate_answers(definition, {"a": 1, "b": 1, "c": 0})[1]) == {"answers.note": "required"}


def test_prorating_allows_up_to_max_missing_scored_items():
    answers, problems = validate_answers(prorated(), {"1": 1, "2": 2, "3": 3, "4": 0})
    assert problems == [] and answers == {"1": 1, "2": 2, "3": 3, "4": 0}


def test_prorating_names_each_missing_item_and_says_why_when_too_many_are_missing():
    _, problems = validate_answers(prorated(), {"1": 1, "2": 2, "3": 3})
    assert fields(problems) == {
        "answers": "2 scored items are missing (4, 5); at most 1 may be left out",
        "answers.4": "missing; at most 1 of 5 scored items may be left out",
        "answers.5": "missing; at most 1 of 5 scored items may be left out",
    }


def test_a_changed_definition_object_gets_its_own_lookups():
    """The per-definition cache is keyed by the object, so a variant never reuses another's option set."""
    assert validate_answers(make_definition(), {"1": 3, "2": 0, "3": 0})[1] == []
    narrower = make_definition(items=tuple(replace(item, options=item.options[:2]) for item in make_definition().items))
    assert fields(validate_answers(narrower, {"1": 3, "2": 0, "3": 0})[1]) == {"answers.1": "must be one of 0, 1"}
