"""SRS v3 (Duncan, Miller et al. 2003): exact VAS sum 0–40, concern below 36, FIT flags."""

from decimal import Decimal

import pytest

from plugins.srs import QUESTIONNAIRES
from questionnaires.contract import ScoringError
from questionnaires.scoring import score_answers
from tests.plugins import assert_bands_span_the_range, assert_examples_score_as_declared, vas

(SRS,) = QUESTIONNAIRES


def test_it_is_declared_as_published():
    assert (SRS.id, SRS.version) == ("srs", "1.0.0")
    assert [(item.link_id, item.label) for item in SRS.items] == [
        ("1", "Relationship"), ("2", "Goals and topics"), ("3", "Approach or method"), ("4", "Overall")]
    assert all((i.type, i.min, i.max, i.step) == ("decimal", 0, 10, Decimal("0.1")) for i in SRS.items)
    assert (SRS.scoring.total_min, SRS.scoring.total_max) == (0, 40)
    assert [band.name for band in SRS.bands] == ["concern", "no_concern"]
    assert [rule.flag for rule in SRS.alert_rules] == ["low_alliance", "low_item"]
    assert (SRS.construct, SRS.direction) == ("alliance", "higher_is_better")
    assert SRS.text_allowed is False and all(item.text is None for item in SRS.items)
    assert "Journal of Brief Therapy 3:3–12" in SRS.reference
    assert_bands_span_the_range(SRS)


def test_its_examples_score_as_declared():
    assert_examples_score_as_declared(SRS)


def test_all_zero_is_the_minimum_with_both_flags():
    score = score_answers(SRS, vas("0.0", "0.0", "0.0", "0.0"))
    assert score.total == 0
    assert (score.band, score.flags) == ("concern", ("low_alliance", "low_item"))


def test_all_ten_is_the_maximum_without_flags():
    score = score_answers(SRS, vas("10.0", "10.0", "10.0", "10.0"))
    assert score.total == 40
    assert (score.band, score.flags) == ("no_concern", ())


def test_the_marks_add_up_exactly_in_decimal():
    score = score_answers(SRS, vas("9.2", "8.7", "9.0", "9.1"))
    assert score.total == Decimal("36.0")
    assert str(score.total) == "36.0"


def test_float_marks_add_up_exactly_too():
    score = score_answers(SRS, {"1": 9.2, "2": 8.7, "3": 9.0, "4": 9.1})
    assert score.total == Decimal("36.0")
    assert score.band == "no_concern"


def test_a_total_of_36_is_not_a_concern():
    score = score_answers(SRS, vas("9.0", "9.0", "9.0", "9.0"))
    assert (score.total, score.band, score.flags) == (36, "no_concern", ())


def test_a_total_just_below_36_is_a_concern():
    score = score_answers(SRS, vas("10.0", "10.0", "10.0", "5.9"))
    assert score.total == Decimal("35.9")
    assert (score.band, score.flags) == ("concern", ("low_alliance", "low_item"))


@pytest.mark.parametrize("link_id", ["1", "2", "3", "4"])
def test_one_mark_below_9_raises_low_item_even_with_a_high_total(link_id):
    values = vas("10.0", "10.0", "10.0", "10.0")
    values[link_id] = Decimal("8.9")
    score = score_answers(SRS, values)
    assert score.total == Decimal("38.9")
    assert (score.band, score.flags) == ("no_concern", ("low_item",))


def test_a_mark_of_exactly_9_is_not_low():
    score = score_answers(SRS, vas("10.0", "9.0", "10.0", "10.0"))
    assert score.flags == ()


def test_a_missing_mark_is_rejected_by_name():
    with pytest.raises(ScoringError) as caught:
        score_answers(SRS, vas("9.0", "9.0", "9.0"))
    assert set(caught.value.problems) == {"4"}
