"""WAI-S (Tracey & Kokotovic 1989): sum 12–84 with items 4 and 10 reversed (8 - answer)."""

from decimal import Decimal

import pytest

from plugins.wai_s import QUESTIONNAIRES
from questionnaires.contract import ScoringError
from questionnaires.scoring import score_answers
from tests.plugins import answers, assert_examples_score_as_declared

(WAI_S,) = QUESTIONNAIRES


def test_it_is_declared_as_published():
    assert (WAI_S.id, WAI_S.version) == ("wai-s", "1.0.0")
    assert [item.link_id for item in WAI_S.items] == [str(n) for n in range(1, 13)]
    assert [o.value for o in WAI_S.items[0].options] == [1, 2, 3, 4, 5, 6, 7]
    assert (WAI_S.items[0].options[0].label, WAI_S.items[0].options[-1].label) == ("Never", "Always")
    assert WAI_S.scoring.reverse == ("4", "10")
    assert (WAI_S.scoring.total_min, WAI_S.scoring.total_max) == (12, 84)
    assert {s.name: s.items for s in WAI_S.subscales} == {
        "goal": ("4", "6", "10", "11"), "task": ("1", "2", "8", "12"), "bond": ("3", "5", "7", "9")}
    assert WAI_S.bands == ()
    assert (WAI_S.construct, WAI_S.direction) == ("alliance", "higher_is_better")
    assert WAI_S.text_allowed is False and all(item.text is None for item in WAI_S.items)
    assert "Psychological Assessment 1:207–210" in WAI_S.reference


def test_its_examples_score_as_declared():
    assert_examples_score_as_declared(WAI_S)


def test_all_never_reverses_items_4_and_10_to_seven():
    score = score_answers(WAI_S, answers(*[1] * 12))
    assert score.total == 24  # 10 x 1 + 2 x 7
    assert score.subscales == {"goal": 16, "task": 4, "bond": 4}


def test_all_always_reverses_items_4_and_10_to_one():
    score = score_answers(WAI_S, answers(*[7] * 12))
    assert score.total == 72  # 10 x 7 + 2 x 1
    assert score.subscales == {"goal": 16, "task": 28, "bond": 28}


def test_the_range_ends_need_the_reversed_items_at_the_opposite_end():
    assert score_answers(WAI_S, answers(1, 1, 1, 7, 1, 1, 1, 1, 1, 7, 1, 1)).total == 12
    assert score_answers(WAI_S, answers(7, 7, 7, 1, 7, 7, 7, 7, 7, 1, 7, 7)).total == 84


@pytest.mark.parametrize(("raw", "scored"), [(1, 7), (2, 6), (4, 4), (6, 2), (7, 1)])
def test_item_4_is_reversed(raw, scored):
    values = answers(*[4] * 12)
    values["4"] = raw
    score = score_answers(WAI_S, values)
    assert score.total == 44 + scored
    assert score.subscales["goal"] == 12 + scored


@pytest.mark.parametrize(("raw", "scored"), [(1, 7), (3, 5), (5, 3), (7, 1)])
def test_item_10_is_reversed(raw, scored):
    values = answers(*[4] * 12)
    values["10"] = raw
    score = score_answers(WAI_S, values)
    assert score.total == 44 + scored
    assert score.subscales["goal"] == 12 + scored
    assert score.subscales["task"] == 16


def test_the_mean_extra_is_rounded_half_up_to_two_decimals():
    # item 4 raw 2 -> 6, item 10 raw 5 -> 3: 64 / 12 = 5.333…
    score = score_answers(WAI_S, answers(5, 6, 7, 2, 6, 5, 6, 4, 5, 5, 6, 5))
    assert score.total == 64
    assert score.subscales == {"goal": 20, "task": 20, "bond": 24}
    assert score.extras["mean"] == Decimal("5.33")


def test_missing_items_are_rejected_by_name():
    values = answers(*[4] * 12)
    del values["4"], values["10"]
    with pytest.raises(ScoringError) as caught:
        score_answers(WAI_S, values)
    assert set(caught.value.problems) == {"4", "10"}
