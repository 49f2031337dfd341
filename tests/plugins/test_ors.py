"""ORS (Miller et al. 2003): exact VAS sum 0–40, adult clinical range below 25, reliable change 5."""

from decimal import Decimal

import pytest

from plugins.ors import QUESTIONNAIRES
from questionnaires.contract import ScoringError
from questionnaires.scoring import score_answers
from tests.plugins import assert_bands_span_the_range, assert_examples_score_as_declared, vas

(ORS,) = QUESTIONNAIRES


def test_it_is_declared_as_published():
    assert (ORS.id, ORS.version) == ("ors", "1.0.0")
    assert [(item.link_id, item.label) for item in ORS.items] == [
        ("1", "Individually"), ("2", "Interpersonally"), ("3", "Socially"), ("4", "Overall")]
    assert all((i.type, i.min, i.max, i.step) == ("decimal", 0, 10, Decimal("0.1")) for i in ORS.items)
    assert (ORS.scoring.total_min, ORS.scoring.total_max) == (0, 40)
    assert [band.name for band in ORS.bands] == ["clinical", "non_clinical"]
    assert ORS.alert_rules == ()
    assert (ORS.construct, ORS.direction) == ("outcome", "higher_is_better")
    assert (ORS.reliable_change, ORS.clinical_cutoff, ORS.clinical_cutoff_comparison) == (5, 25, "<")
    assert ORS.text_allowed is False and all(item.text is None for item in ORS.items)
    assert "Journal of Brief Therapy 2:91–100" in ORS.reference
    assert_bands_span_the_range(ORS)


def test_its_examples_score_as_declared():
    assert_examples_score_as_declared(ORS)


def test_all_zero_is_the_minimum_in_the_clinical_range():
    score = score_answers(ORS, vas("0.0", "0.0", "0.0", "0.0"))
    assert (score.total, score.band, score.flags) == (0, "clinical", ())


def test_all_ten_is_the_maximum():
    score = score_answers(ORS, vas("10.0", "10.0", "10.0", "10.0"))
    assert (score.total, score.band, score.flags) == (40, "non_clinical", ())


def test_25_is_outside_the_adult_clinical_range():
    score = score_answers(ORS, vas("6.2", "6.3", "6.2", "6.3"))
    assert score.total == Decimal("25.0")
    assert score.band == "non_clinical"


def test_just_below_25_is_in_the_clinical_range():
    score = score_answers(ORS, vas("6.2", "6.2", "6.3", "6.2"))
    assert score.total == Decimal("24.9")
    assert score.band == "clinical"


def test_the_marks_add_up_exactly_in_decimal():
    score = score_answers(ORS, {"1": 0.1, "2": 0.2, "3": 0.3, "4": 0.4})
    assert score.total == Decimal("1.0")
    assert str(score.total) == "1.0"


def test_a_missing_mark_is_rejected_by_name():
    with pytest.raises(ScoringError) as caught:
        score_answers(ORS, {"1": Decimal("5.0"), "3": Decimal("5.0")})
    assert set(caught.value.problems) == {"2", "4"}
