"""HAq-II (Luborsky et al. 1996): mean of 19 items with 4, 8, 11, 16, 19 reversed (7 - answer), two decimals."""

from decimal import Decimal

import pytest

from plugins.haq_ii import QUESTIONNAIRES
from questionnaires.contract import ScoringError
from questionnaires.scoring import score_answers
from tests.plugins import assert_examples_score_as_declared

(HAQ_II,) = QUESTIONNAIRES
REVERSED = ("4", "8", "11", "16", "19")


def all_at(value: int, **raw_by_item: int) -> dict[str, int]:
    values = {str(number): value for number in range(1, 20)}
    values.update(raw_by_item)
    return values


def test_it_is_declared_as_published():
    assert (HAQ_II.id, HAQ_II.version) == ("haq-ii", "1.0.0")
    assert [item.link_id for item in HAQ_II.items] == [str(n) for n in range(1, 20)]
    assert [o.value for o in HAQ_II.items[0].options] == [1, 2, 3, 4, 5, 6]
    assert (HAQ_II.items[0].options[0].label, HAQ_II.items[0].options[-1].label) == (
        "Strongly disagree", "Strongly agree")
    assert HAQ_II.scoring.reverse == REVERSED
    assert (HAQ_II.scoring.method, HAQ_II.scoring.decimals, HAQ_II.scoring.extras) == ("mean", 2, ("sum",))
    assert (HAQ_II.scoring.total_min, HAQ_II.scoring.total_max) == (1, 6)
    assert HAQ_II.bands == ()
    assert (HAQ_II.construct, HAQ_II.direction) == ("alliance", "higher_is_better")
    assert HAQ_II.text_allowed is False and all(item.text is None for item in HAQ_II.items)
    assert HAQ_II.item("3").label == "Item 3"
    assert "Journal of Psychotherapy Practice and Research 5:260–271" in HAQ_II.reference


def test_its_examples_score_as_declared():
    assert_examples_score_as_declared(HAQ_II)


def test_all_strongly_disagree_scores_the_reversed_items_at_6():
    score = score_answers(HAQ_II, all_at(1))
    assert score.extras == {"sum": 44}  # 14 x 1 + 5 x 6
    assert score.total == Decimal("2.32")  # 44 / 19 = 2.3157…


def test_all_strongly_agree_scores_the_reversed_items_at_1():
    score = score_answers(HAQ_II, all_at(6))
    assert score.extras == {"sum": 89}  # 14 x 6 + 5 x 1
    assert score.total == Decimal("4.68")  # 89 / 19 = 4.6842…


def test_the_range_ends_need_the_reversed_items_at_the_opposite_end():
    maximum = score_answers(HAQ_II, all_at(6, **{link_id: 1 for link_id in REVERSED}))
    minimum = score_answers(HAQ_II, all_at(1, **{link_id: 6 for link_id in REVERSED}))
    assert (maximum.total, maximum.extras["sum"]) == (6, 114)
    assert (minimum.total, minimum.extras["sum"]) == (1, 19)


@pytest.mark.parametrize("link_id", REVERSED)
def test_each_reverse_keyed_item_is_reversed(link_id):
    # 18 items at 4 (reversed ones 7 - 4 = 3, so 14 x 4 + 4 x 3 = 68), the item under test raw 1 -> 6
    score = score_answers(HAQ_II, all_at(4, **{link_id: 1}))
    assert score.extras["sum"] == 74
    assert score.total == Decimal("3.89")  # 74 / 19 = 3.8947…


def test_an_item_that_is_not_reverse_keyed_counts_as_marked():
    score = score_answers(HAQ_II, all_at(4, **{"1": 1}))
    assert score.extras["sum"] == 68  # 13 x 4 + 1 + 5 x 3
    assert score.total == Decimal("3.58")  # 68 / 19 = 3.5789…


def test_the_mean_is_rounded_half_up_to_two_decimals():
    # 14 x 5 + (7 - 2) + 4 x 6 = 99; 99 / 19 = 5.2105…
    score = score_answers(HAQ_II, all_at(5, **{"4": 2, "8": 1, "11": 1, "16": 1, "19": 1}))
    assert score.total == Decimal("5.21")


def test_a_missing_item_is_rejected_by_name():
    values = all_at(4)
    del values["19"]
    with pytest.raises(ScoringError) as caught:
        score_answers(HAQ_II, values)
    assert set(caught.value.problems) == {"19"}
