"""CORE-10 (Barkham et al. 2013): sum 0–40 with items 2 and 3 reversed, one missing item prorated."""

from decimal import Decimal

import pytest

from plugins.core_10 import QUESTIONNAIRES
from questionnaires.contract import ScoringError
from questionnaires.scoring import score_answers
from tests.plugins import answers, assert_bands_span_the_range, assert_examples_score_as_declared

(CORE_10,) = QUESTIONNAIRES


def with_total(total: int) -> dict[str, int]:
    """Reversed items 2 and 3 at raw 4 (score 0); item 6 at 0; the other seven filled with 4s."""
    rest, values = total, {"2": 4, "3": 4, "6": 0}
    for link_id in ("1", "4", "5", "7", "8", "9", "10"):
        values[link_id] = min(4, rest)
        rest -= values[link_id]
    assert rest == 0
    return values


def test_it_is_declared_as_published():
    assert (CORE_10.id, CORE_10.version) == ("core-10", "1.1.0")
    assert [item.link_id for item in CORE_10.items] == [str(n) for n in range(1, 11)]
    assert [o.value for o in CORE_10.items[0].options] == [0, 1, 2, 3, 4]
    assert CORE_10.scoring.reverse == ("2", "3")
    assert (CORE_10.scoring.missing, CORE_10.scoring.max_missing, CORE_10.scoring.decimals) == ("prorate", 1, 1)
    assert (CORE_10.scoring.total_min, CORE_10.scoring.total_max) == (0, 40)
    assert [band.name for band in CORE_10.bands] == [
        "healthy_low_level", "mild", "moderate", "moderate_to_severe", "severe",
    ]
    assert CORE_10.band_cutoff_belongs_to == "upper"
    assert (CORE_10.construct, CORE_10.direction) == ("symptom", "lower_is_better")
    assert (CORE_10.reliable_change, CORE_10.clinical_cutoff, CORE_10.clinical_cutoff_comparison) == (6, 11, ">=")
    assert CORE_10.text_allowed is False and all(item.text is None for item in CORE_10.items)
    assert CORE_10.item("3").label == "Item 3"
    assert "Counselling and Psychotherapy Research 13:3–13" in CORE_10.reference
    assert_bands_span_the_range(CORE_10)


def test_its_examples_score_as_declared():
    assert_examples_score_as_declared(CORE_10)


def test_all_not_at_all_scores_the_reversed_items_at_4():
    score = score_answers(CORE_10, answers(*[0] * 10))
    assert (score.total, score.band, score.flags) == (8, "healthy_low_level", ())


def test_all_most_of_the_time_scores_the_reversed_items_at_0():
    score = score_answers(CORE_10, answers(*[4] * 10))
    assert (score.total, score.band, score.flags) == (32, "severe", ("risk",))


def test_the_range_ends_need_the_reversed_items_at_the_opposite_end():
    assert score_answers(CORE_10, answers(0, 4, 4, 0, 0, 0, 0, 0, 0, 0)).total == 0
    assert score_answers(CORE_10, answers(4, 0, 0, 4, 4, 4, 4, 4, 4, 4)).total == 40


@pytest.mark.parametrize("link_id", ["2", "3"])
@pytest.mark.parametrize(("raw", "scored"), [(0, 4), (1, 3), (3, 1), (4, 0)])
def test_items_2_and_3_are_reversed(link_id, raw, scored):
    values = answers(*[2] * 10)
    values["6"] = 0
    values[link_id] = raw
    # eight non-reversed items: seven at 2 plus item 6 at 0; the other reversed item raw 2 -> 2
    assert score_answers(CORE_10, values).total == 14 + 2 + scored


@pytest.mark.parametrize(
    ("total", "band"),
    [(10, "healthy_low_level"), (11, "mild"), (14, "mild"), (15, "moderate"), (19, "moderate"),
     (20, "moderate_to_severe"), (24, "moderate_to_severe"), (25, "severe"), (28, "severe")],
)
def test_each_band_boundary_falls_on_the_published_side(total, band):
    score = score_answers(CORE_10, with_total(total))
    assert (score.total, score.band, score.flags) == (total, band, ())


@pytest.mark.parametrize(("item_6", "flags"), [(0, ()), (1, ("risk",)), (4, ("risk",))])
def test_item_6_at_1_or_more_raises_risk(item_6, flags):
    values = with_total(5)
    values["6"] = item_6
    score = score_answers(CORE_10, values)
    assert score.flags == flags
    assert score.band == "healthy_low_level"
    (rule,) = CORE_10.alert_rules
    assert rule.priority == "high"


def test_one_missing_item_is_prorated_to_one_decimal():
    # nine items summing to 20 (items 2 and 3 raw 2 score 2): 10 x 20 / 9 = 22.22…
    score = score_answers(CORE_10, answers(2, 2, 2, 3, 3, 0, 3, 3, 2, None))
    assert score.total == Decimal("22.2")
    assert score.band == "moderate_to_severe"


def test_a_missing_reversed_item_is_prorated_from_the_others():
    # item 2 missing; item 3 raw 4 -> 0; the others 1 + 2 + 2 + 0 + 2 + 2 + 3 + 1 = 13: 130 / 9 = 14.44…
    score = score_answers(CORE_10, {"1": 1, "3": 4, "4": 2, "5": 2, "6": 0, "7": 2, "8": 2, "9": 3, "10": 1})
    assert score.total == Decimal("14.4")
    assert score.band == "mild"


def test_a_prorated_total_uses_the_lower_inclusive_bands():
    # nine items summing to 14: 140 / 9 = 15.55… -> 15.6, moderate
    values = with_total(14)
    del values["10"]
    assert sum(v for k, v in values.items() if k not in ("2", "3")) == 14
    score = score_answers(CORE_10, values)
    assert (score.total, score.band) == (Decimal("15.6"), "moderate")
    # nine items summing to 9: 90 / 9 = 10, still healthy/low-level
    values = with_total(9)
    del values["10"]
    score = score_answers(CORE_10, values)
    assert (score.total, score.band) == (10, "healthy_low_level")
    # nine items summing to 10: 100 / 9 = 11.1, mild
    values = with_total(10)
    del values["10"]
    score = score_answers(CORE_10, values)
    assert (score.total, score.band) == (Decimal("11.1"), "mild")


def test_a_prorated_total_rounds_to_the_nearest_tenth():
    # items 2 and 3 raw 2 score 2; nine items sum to 4 + 2 + 2 + 4 + 4 + 0 + 4 + 4 + 2 = 26: 260 / 9 = 28.88… -> 28.9
    values = answers(4, 2, 2, 4, 4, 0, 4, 4, 2, None)
    assert score_answers(CORE_10, values).total == Decimal("28.9")


def test_an_unprorated_total_stays_a_whole_number():
    assert str(score_answers(CORE_10, with_total(20)).total) == "20"


def test_two_missing_items_cannot_be_scored():
    with pytest.raises(ScoringError) as caught:
        score_answers(CORE_10, answers(2, 2, 2, 3, 3, 0, 3, 3, None, None))
    assert set(caught.value.problems) == {"9", "10"}


def test_a_missing_risk_item_is_prorated_without_a_risk_flag():
    values = with_total(12)
    del values["6"]
    score = score_answers(CORE_10, values)
    assert score.total == Decimal("13.3")  # 120 / 9
    assert score.flags == ()


def test_the_first_band_is_named_as_barkham_et_al_2013_name_it():
    """One 0–10 band, "healthy/low-level", as the cited paper and the instrument notes name it."""
    first = CORE_10.bands[0]
    assert (first.name, first.lower, first.upper) == ("healthy_low_level", 0, 11)
    assert first.label.startswith("Healthy/low-level")
    assert "Barkham" in CORE_10.reference and "2013" in CORE_10.reference
