"""The declarative scoring engine on small ad-hoc definitions, every number worked out by hand."""

from __future__ import annotations

import dataclasses
from decimal import Decimal

import pytest

from questionnaires.contract import (
    AlertRule,
    AnswerOption,
    Band,
    Item,
    Questionnaire,
    Score,
    Scoring,
    ScoringError,
    Subscale,
)
from questionnaires.scoring import band_for, compare, round_half_up, score_answers, to_decimal

ONE_TO_FIVE = tuple(AnswerOption(value, f"{value}") for value in range(1, 6))


def choice_items(count: int) -> tuple[Item, ...]:
    return tuple(
        Item(link_id=str(number), label=f"Item {number}", options=ONE_TO_FIVE) for number in range(1, count + 1)
    )


def definition(**overrides) -> Questionnaire:
    """Three 1–5 items summed (3–15) unless overridden."""
    fields = {
        "id": "toy",
        "version": "1.0.0",
        "title": "Toy",
        "respondent": "client",
        "items": choice_items(3),
        "scoring": Scoring(total_min=Decimal(3), total_max=Decimal(15)),
        "reference": "none",
        "license": "none",
    }
    fields.update(overrides)
    return Questionnaire(**fields)


def with_bands(cutoff_belongs_to: str) -> Questionnaire:
    return definition(
        bands=(
            Band(name="low", lower=Decimal(3), upper=Decimal(7)),
            Band(name="middle", lower=Decimal(7), upper=Decimal(11)),
            Band(name="high", lower=Decimal(11), upper=Decimal(15)),
        ),
        band_cutoff_belongs_to=cutoff_belongs_to,
    )


class TestTotals:
    def test_it_sums_the_raw_answers(self):
        assert score_answers(definition(), {"1": 2, "2": 3, "3": 5}).total == Decimal(10)

    def test_it_reverses_only_the_reverse_keyed_items(self):
        toy = definition(scoring=Scoring(reverse=("2",), total_min=Decimal(3), total_max=Decimal(15)))
        # item 2: 1 + 5 - 1 = 5
        assert score_answers(toy, {"1": 1, "2": 1, "3": 1}).total == Decimal(7)
        # item 2: 1 + 5 - 4 = 2
        assert score_answers(toy, {"1": 4, "2": 4, "3": 4}).total == Decimal(10)

    def test_it_reverses_a_decimal_item_against_its_min_and_max(self):
        vas = Item(link_id="1", label="VAS", type="decimal", min=Decimal("0.0"), max=Decimal("10.0"),
                   step=Decimal("0.1"))
        toy = definition(items=(vas,), scoring=Scoring(reverse=("1",), total_max=Decimal(10)))
        assert score_answers(toy, {"1": Decimal("2.7")}).total == Decimal("7.3")

    def test_it_averages_and_rounds_the_mean_half_up(self):
        toy = definition(scoring=Scoring(method="mean", decimals=2, total_min=Decimal(1), total_max=Decimal(5)))
        # 5 / 3 = 1.666…
        assert score_answers(toy, {"1": 1, "2": 2, "3": 2}).total == Decimal("1.67")

    def test_it_rounds_an_exact_half_up_not_to_even(self):
        toy = definition(items=choice_items(2),
                         scoring=Scoring(method="mean", decimals=0, total_min=Decimal(1), total_max=Decimal(5)))
        # (2 + 3) / 2 = 2.5: banker's rounding would give 2
        assert score_answers(toy, {"1": 2, "2": 3}).total == Decimal(3)

    def test_it_does_not_pad_a_total_that_needs_no_rounding(self):
        toy = definition(scoring=Scoring(decimals=2, total_min=Decimal(3), total_max=Decimal(15)))
        assert str(score_answers(toy, {"1": 2, "2": 3, "3": 5}).total) == "10"

    def test_it_adds_visual_analogue_marks_exactly(self):
        marks = tuple(Item(link_id=str(n), label=f"VAS {n}", type="decimal", min=Decimal(0), max=Decimal(10),
                           step=Decimal("0.1")) for n in range(1, 5))
        vas = definition(items=marks, scoring=Scoring(total_max=Decimal(40)))
        exact = score_answers(vas, {"1": Decimal("9.2"), "2": Decimal("8.7"), "3": Decimal("9.0"), "4": Decimal("9.1")})
        from_floats = score_answers(vas, {"1": 9.2, "2": 8.7, "3": 9.0, "4": 9.1})
        assert exact.total == Decimal("36.0") and str(exact.total) == "36.0"
        assert from_floats.total == Decimal("36.0") and str(from_floats.total) == "36.0"

    def test_it_leaves_unscored_items_out_of_the_total(self):
        items = (*choice_items(2), Item(link_id="3", label="Not scored", options=ONE_TO_FIVE, scored=False,
                                        required=False))
        toy = definition(items=items)
        assert score_answers(toy, {"1": 2, "2": 3, "3": 5}).total == Decimal(5)
        assert score_answers(toy, {"1": 2, "2": 3}).total == Decimal(5)

    def test_it_ignores_linkids_the_definition_does_not_have(self):
        assert score_answers(definition(), {"1": 1, "2": 1, "3": 1, "99": 5}).total == Decimal(3)


class TestSubscalesAndExtras:
    def test_it_scores_subscales_from_reversed_values(self):
        toy = definition(
            items=choice_items(4),
            scoring=Scoring(reverse=("4",), total_min=Decimal(4), total_max=Decimal(20)),
            subscales=(Subscale(name="a", items=("1", "2")), Subscale(name="b", items=("3", "4"))),
        )
        score = score_answers(toy, {"1": 1, "2": 2, "3": 3, "4": 5})
        # item 4: 1 + 5 - 5 = 1
        assert score.subscales == {"a": Decimal(3), "b": Decimal(4)}
        assert score.total == Decimal(7)

    def test_it_averages_a_mean_subscale(self):
        toy = definition(
            scoring=Scoring(decimals=2, total_min=Decimal(3), total_max=Decimal(15)),
            subscales=(Subscale(name="all", items=("1", "2", "3"), method="mean"),
                       Subscale(name="pair", items=("1", "2"), method="mean")),
        )
        score = score_answers(toy, {"1": 4, "2": 5, "3": 5})
        assert score.subscales["all"] == Decimal("4.67")  # 14 / 3
        assert score.subscales["pair"] == Decimal("4.5")

    def test_it_reports_the_declared_extras(self):
        toy = definition(scoring=Scoring(method="mean", decimals=2, extras=("sum", "mean"),
                                         total_min=Decimal(1), total_max=Decimal(5)))
        score = score_answers(toy, {"1": 1, "2": 1, "3": 2})
        assert score.total == Decimal("1.33")
        assert score.extras == {"sum": Decimal(4), "mean": Decimal("1.33")}

    def test_it_reports_no_extras_unless_declared(self):
        assert score_answers(definition(), {"1": 1, "2": 1, "3": 1}).extras == {}


class TestMissingItems:
    def test_it_names_every_missing_item_when_rejecting(self):
        with pytest.raises(ScoringError) as caught:
            score_answers(definition(), {"2": 3})
        assert set(caught.value.problems) == {"1", "3"}

    def test_it_treats_a_null_answer_as_missing(self):
        with pytest.raises(ScoringError) as caught:
            score_answers(definition(), {"1": 3, "2": None, "3": 3})
        assert set(caught.value.problems) == {"2"}

    def test_it_prorates_a_sum_up_to_the_allowed_number_of_missing_items(self):
        toy = definition(scoring=Scoring(missing="prorate", max_missing=1, decimals=1,
                                         total_min=Decimal(3), total_max=Decimal(15)))
        # 3 * (2 + 5) / 2 = 10.5
        assert score_answers(toy, {"1": 2, "3": 5}).total == Decimal("10.5")
        # 3 * (2 + 2) / 2 = 6, nothing to round
        assert score_answers(toy, {"1": 2, "2": 2}).total == Decimal(6)

    def test_it_rounds_a_prorated_total_half_up(self):
        toy = definition(items=choice_items(4), scoring=Scoring(missing="prorate", max_missing=1, decimals=1,
                                                               total_min=Decimal(4), total_max=Decimal(20)))
        # 4 * (1 + 1 + 2) / 3 = 5.333…
        assert score_answers(toy, {"1": 1, "2": 1, "3": 2}).total == Decimal("5.3")

    def test_it_refuses_to_prorate_beyond_the_allowed_number(self):
        toy = definition(scoring=Scoring(missing="prorate", max_missing=1, decimals=1,
                                         total_min=Decimal(3), total_max=Decimal(15)))
        with pytest.raises(ScoringError) as caught:
            score_answers(toy, {"2": 4})
        assert set(caught.value.problems) == {"1", "3"}

    def test_it_averages_only_the_answered_items_when_a_mean_is_prorated(self):
        toy = definition(scoring=Scoring(method="mean", missing="prorate", max_missing=1, decimals=2,
                                         total_min=Decimal(1), total_max=Decimal(5)))
        assert score_answers(toy, {"1": 2, "2": 5}).total == Decimal("3.5")


class TestUnscoreableAnswers:
    @pytest.mark.parametrize("bad", ["many", True, [], {}, "NaN", Decimal("Infinity"), float("nan")])
    def test_it_raises_scoring_error_naming_the_item_for_a_non_number(self, bad):
        with pytest.raises(ScoringError) as caught:
            score_answers(definition(), {"1": bad, "2": 1, "3": 1})
        assert set(caught.value.problems) == {"1"}

    def test_it_names_bad_and_missing_items_together(self):
        with pytest.raises(ScoringError) as caught:
            score_answers(definition(), {"1": "x"})
        assert set(caught.value.problems) == {"1", "2", "3"}

    @pytest.mark.parametrize("bad", [None, [1, 2, 3], "1,2,3", 7])
    def test_it_raises_scoring_error_when_answers_are_not_an_object(self, bad):
        with pytest.raises(ScoringError) as caught:
            score_answers(definition(), bad)
        assert "answers" in caught.value.problems

    def test_it_raises_scoring_error_when_the_arithmetic_overflows(self):
        huge = Decimal("9E+999999")
        with pytest.raises(ScoringError):
            score_answers(definition(), {"1": huge, "2": huge, "3": huge})

    def test_it_accepts_numeric_strings(self):
        assert score_answers(definition(), {"1": "2", "2": " 3 ", "3": "4.0"}).total == Decimal(9)


class TestBands:
    @pytest.mark.parametrize(
        ("total", "band"),
        [(3, "low"), ("6.9", "low"), (7, "middle"), ("10.9", "middle"), (11, "high"), (15, "high")],
    )
    def test_a_cutoff_belongs_to_the_higher_band_under_upper(self, total, band):
        assert band_for(with_bands("upper"), Decimal(total)) == band

    @pytest.mark.parametrize(
        ("total", "band"),
        [(3, "low"), (7, "low"), ("7.1", "middle"), (11, "middle"), ("11.1", "high"), (15, "high")],
    )
    def test_a_cutoff_belongs_to_the_lower_band_under_lower(self, total, band):
        assert band_for(with_bands("lower"), Decimal(total)) == band

    @pytest.mark.parametrize("total", ["2.9", "15.1", -1])
    def test_a_total_outside_the_bands_has_no_band(self, total):
        assert band_for(with_bands("upper"), Decimal(total)) is None
        assert band_for(with_bands("lower"), Decimal(total)) is None

    def test_a_clinic_can_override_the_cutoff_convention(self):
        assert band_for(with_bands("upper"), 7, cutoff_belongs_to="lower") == "low"
        assert band_for(with_bands("lower"), 7, cutoff_belongs_to="upper") == "middle"

    def test_a_definition_without_bands_has_no_band(self):
        assert band_for(definition(), 5) is None

    def test_the_score_carries_the_band_of_its_total(self):
        assert score_answers(with_bands("upper"), {"1": 2, "2": 2, "3": 3}).band == "middle"
        assert score_answers(with_bands("lower"), {"1": 2, "2": 2, "3": 3}).band == "low"


class TestFlags:
    def test_it_raises_total_and_item_flags_in_rule_order(self):
        toy = definition(alert_rules=(
            AlertRule(flag="item_high", on="any_item", comparison=">=", threshold=Decimal(5)),
            AlertRule(flag="total_low", on="total", comparison="<", threshold=Decimal(10)),
        ))
        assert score_answers(toy, {"1": 1, "2": 1, "3": 5}).flags == ("item_high", "total_low")
        assert score_answers(toy, {"1": 3, "2": 3, "3": 4}).flags == ()
        assert score_answers(toy, {"1": 5, "2": 5, "3": 5}).flags == ("item_high",)

    def test_item_rules_compare_raw_answers_not_reversed_ones(self):
        toy = definition(
            scoring=Scoring(reverse=("1",), total_min=Decimal(3), total_max=Decimal(15)),
            alert_rules=(AlertRule(flag="one_high", on="any_item", items=("1",), comparison=">=",
                                   threshold=Decimal(4)),),
        )
        # raw 4 reverses to 2, but the rule reads the raw 4
        assert score_answers(toy, {"1": 4, "2": 1, "3": 1}).flags == ("one_high",)
        assert score_answers(toy, {"1": 1, "2": 5, "3": 5}).flags == ()

    def test_an_item_rule_without_items_covers_only_scored_items(self):
        items = (*choice_items(2), Item(link_id="3", label="Extra", options=ONE_TO_FIVE, scored=False,
                                        required=False))
        toy = definition(items=items, alert_rules=(
            AlertRule(flag="any_low", on="any_item", comparison="<", threshold=Decimal(2)),
        ))
        assert score_answers(toy, {"1": 3, "2": 3, "3": 1}).flags == ()
        assert score_answers(toy, {"1": 3, "2": 1, "3": 5}).flags == ("any_low",)

    def test_a_subscale_rule_reads_the_named_subscale(self):
        toy = definition(
            subscales=(Subscale(name="pair", items=("1", "2")),),
            alert_rules=(AlertRule(flag="pair_low", on="subscale", items=("pair",), comparison="<=",
                                   threshold=Decimal(4)),),
        )
        assert score_answers(toy, {"1": 2, "2": 2, "3": 1}).flags == ("pair_low",)
        assert score_answers(toy, {"1": 2, "2": 3, "3": 1}).flags == ()

    def test_two_rules_with_one_flag_raise_it_once(self):
        toy = definition(alert_rules=(
            AlertRule(flag="concern", on="total", comparison="<", threshold=Decimal(6)),
            AlertRule(flag="concern", on="any_item", comparison="<", threshold=Decimal(2)),
        ))
        assert score_answers(toy, {"1": 1, "2": 1, "3": 1}).flags == ("concern",)


class TestCustomScore:
    def test_it_uses_the_definitions_own_score_function(self):
        seen = []

        def product(definition: Questionnaire, answers) -> Score:
            seen.append((definition.id, dict(answers)))
            total = Decimal(1)
            for value in answers.values():
                total *= Decimal(value)
            return Score(total=total, band="custom")

        toy = definition(score=product)
        assert score_answers(toy, {"1": 2, "2": 3, "3": 4}) == Score(total=Decimal(24), band="custom")
        assert seen == [("toy", {"1": 2, "2": 3, "3": 4})]

    def test_a_scoring_error_from_a_custom_function_passes_through(self):
        def refuse(definition, answers):
            raise ScoringError("no", {"1": "bad"})

        with pytest.raises(ScoringError) as caught:
            score_answers(definition(score=refuse), {"1": 1})
        assert caught.value.problems == {"1": "bad"}

    def test_a_custom_function_returning_no_score_is_a_plugin_fault(self):
        with pytest.raises(TypeError):
            score_answers(definition(score=lambda definition, answers: 5), {"1": 1, "2": 1, "3": 1})


class TestHelpers:
    @pytest.mark.parametrize(
        ("value", "expected"),
        [(3, Decimal(3)), (Decimal("2.5"), Decimal("2.5")), (9.2, Decimal("9.2")), ("8.7", Decimal("8.7"))],
    )
    def test_to_decimal_accepts_numbers_and_numeric_strings(self, value, expected):
        assert to_decimal(value) == expected

    def test_to_decimal_keeps_floats_at_their_printed_value(self):
        assert to_decimal(0.1) + to_decimal(0.2) == Decimal("0.3")

    @pytest.mark.parametrize("value", [True, None, "", "abc", "inf", float("inf"), object()])
    def test_to_decimal_refuses_what_is_not_a_finite_number(self, value):
        with pytest.raises(ScoringError):
            to_decimal(value)

    @pytest.mark.parametrize(
        ("value", "comparison", "threshold", "expected"),
        [
            (35, "<", 36, True), (36, "<", 36, False),
            (36, "<=", 36, True), (37, "<=", 36, False),
            (37, ">", 36, True), (36, ">", 36, False),
            (36, ">=", 36, True), (35, ">=", 36, False),
            (Decimal("8.9"), "<", 9, True),
        ],
    )
    def test_compare_applies_each_operator(self, value, comparison, threshold, expected):
        assert compare(value, comparison, threshold) is expected

    def test_round_half_up_rounds_to_at_most_the_given_places(self):
        assert round_half_up(Decimal("0.125"), 2) == Decimal("0.13")
        assert str(round_half_up(Decimal("22.2222"), 1)) == "22.2"
        assert str(round_half_up(Decimal("36.0"), 2)) == "36.0"
        assert round_half_up(Decimal("0.125"), None) == Decimal("0.125")


class TestPreparedDefinitions:
    """The engine works a definition's structure out once; what it cannot precompute still fails per response."""

    def test_a_replaced_definition_is_scored_by_its_own_rules(self):
        first = definition()
        assert score_answers(first, {"1": 1, "2": 1, "3": 1}).total == Decimal(3)
        reversed_first = dataclasses.replace(first, scoring=dataclasses.replace(first.scoring, reverse=("1",)))
        assert score_answers(reversed_first, {"1": 1, "2": 1, "3": 1}).total == Decimal(7)
        assert score_answers(first, {"1": 1, "2": 1, "3": 1}).total == Decimal(3)

    def test_a_threshold_that_is_not_a_number_fails_when_the_rule_is_evaluated(self):
        toy = definition(alert_rules=(AlertRule(flag="odd", on="total", comparison="<", threshold="x"),))
        with pytest.raises(ScoringError):
            score_answers(toy, {"1": 1, "2": 1, "3": 1})

    def test_an_unknown_comparison_fails_only_when_an_item_is_compared(self):
        toy = definition(alert_rules=(AlertRule(flag="odd", on="any_item", comparison="!=", threshold=Decimal(1),
                                                items=("3",)),))
        with pytest.raises(ValueError):
            score_answers(toy, {"1": 1, "2": 1, "3": 1})

    def test_integer_and_decimal_answers_give_the_same_exact_result(self):
        toy = definition(scoring=Scoring(method="mean", decimals=2, extras=("sum",), total_min=Decimal(1),
                                          total_max=Decimal(5)))
        from_ints = score_answers(toy, {"1": 1, "2": 2, "3": 2})
        from_decimals = score_answers(toy, {"1": Decimal(1), "2": Decimal(2), "3": Decimal(2)})
        assert from_ints == from_decimals
        assert str(from_ints.total) == "1.67" and str(from_ints.extras["sum"]) == "5"
