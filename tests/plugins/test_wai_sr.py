"""WAI-SR (Hatcher & Gillaspy 2006): sum 12–60, goal/task/bond sums, mean extra, nothing reversed."""

from decimal import Decimal

import pytest

from plugins.wai_sr import QUESTIONNAIRES
from questionnaires.contract import ScoringError
from questionnaires.scoring import score_answers
from tests.plugins import answers, assert_examples_score_as_declared

(WAI_SR,) = QUESTIONNAIRES


def test_it_is_declared_as_published():
    assert (WAI_SR.id, WAI_SR.version, WAI_SR.respondent) == ("wai-sr", "1.0.0", "client")
    assert [item.link_id for item in WAI_SR.items] == [str(n) for n in range(1, 13)]
    assert [(o.value, o.label) for o in WAI_SR.items[0].options] == [
        (1, "Seldom"), (2, "Sometimes"), (3, "Fairly often"), (4, "Very often"), (5, "Always")]
    assert WAI_SR.scoring.reverse == ()
    assert (WAI_SR.scoring.total_min, WAI_SR.scoring.total_max) == (12, 60)
    assert {s.name: s.items for s in WAI_SR.subscales} == {
        "goal": ("4", "6", "8", "11"), "task": ("1", "2", "10", "12"), "bond": ("3", "5", "7", "9")}
    assert WAI_SR.bands == () and WAI_SR.alert_rules == ()
    assert (WAI_SR.construct, WAI_SR.direction) == ("alliance", "higher_is_better")
    assert "Psychotherapy Research 16:12–25" in WAI_SR.reference


def test_it_serves_labels_but_no_item_text():
    assert WAI_SR.text_allowed is False
    assert all(item.text is None for item in WAI_SR.items)
    assert WAI_SR.item("4").label == "Item 4 (goal)"
    assert WAI_SR.item("1").label == "Item 1 (task)"
    assert WAI_SR.item("3").label == "Item 3 (bond)"


def test_its_examples_score_as_declared():
    assert_examples_score_as_declared(WAI_SR)


def test_all_seldom_scores_the_minimum():
    score = score_answers(WAI_SR, answers(*[1] * 12))
    assert score.total == 12
    assert score.subscales == {"goal": 4, "task": 4, "bond": 4}
    assert score.extras == {"mean": 1}
    assert score.band is None and score.flags == ()


def test_all_always_scores_the_maximum():
    score = score_answers(WAI_SR, answers(*[5] * 12))
    assert score.total == 60
    assert score.subscales == {"goal": 20, "task": 20, "bond": 20}
    assert score.extras == {"mean": 5}


def test_each_subscale_takes_exactly_its_own_items():
    # goal items 4, 6, 8, 11 at 5, task items at 3, bond items at 1
    values = {"4": 5, "6": 5, "8": 5, "11": 5, "1": 3, "2": 3, "10": 3, "12": 3, "3": 1, "5": 1, "7": 1, "9": 1}
    score = score_answers(WAI_SR, values)
    assert score.subscales == {"goal": 20, "task": 12, "bond": 4}
    assert score.total == 36
    assert score.extras == {"mean": 3}


def test_the_mean_is_rounded_half_up_to_two_decimals():
    # 11 items at 4 and one at 3: 47 / 12 = 3.91666…
    score = score_answers(WAI_SR, answers(3, *[4] * 11))
    assert score.total == 47
    assert score.extras["mean"] == Decimal("3.92")
    # 11 items at 4 and one at 2: 46 / 12 = 3.8333…
    assert score_answers(WAI_SR, answers(2, *[4] * 11)).extras["mean"] == Decimal("3.83")


def test_a_missing_item_is_rejected_by_name():
    with pytest.raises(ScoringError) as caught:
        score_answers(WAI_SR, answers(*[3] * 11))
    assert set(caught.value.problems) == {"12"}
