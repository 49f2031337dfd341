"""PHQ-9 (Kroenke et al. 2001): sum of items 1–9 (0–27), bands at 5/10/15/20, risk when item 9 >= 1."""

from decimal import Decimal

import pytest

from plugins.phq_9 import QUESTIONNAIRES
from questionnaires.contract import LOINC, ScoringError
from questionnaires.scoring import score_answers
from tests.plugins import answers, assert_bands_span_the_range, assert_examples_score_as_declared

(PHQ_9,) = QUESTIONNAIRES
ATTRIBUTION = (
    "Developed by Drs. Robert L. Spitzer, Janet B.W. Williams, Kurt Kroenke and colleagues, with an educational "
    "grant from Pfizer Inc. No permission required to reproduce, translate, display or distribute."
)


def with_total(total: int, item_9: int = 0) -> dict[str, int]:
    """Items 1–8 filled from the front with 3s to reach `total` together with item 9."""
    rest, values = total - item_9, []
    for _ in range(8):
        values.append(min(3, rest))
        rest -= values[-1]
    assert rest == 0
    return answers(*values, item_9)


def test_it_is_declared_as_published():
    assert (PHQ_9.id, PHQ_9.version) == ("phq-9", "1.1.0")
    # Caseness >= 10 and reliable change 6: NHS Talking Therapies manual (v7).
    assert PHQ_9.reliable_change == 6 and "Talking Therapies" in PHQ_9.reference
    assert [item.link_id for item in PHQ_9.items] == [str(n) for n in range(1, 11)]
    assert (PHQ_9.scoring.total_min, PHQ_9.scoring.total_max) == (0, 27)
    assert [band.name for band in PHQ_9.bands] == ["none_minimal", "mild", "moderate", "moderately_severe", "severe"]
    assert [(b.lower, b.upper) for b in PHQ_9.bands] == [(0, 5), (5, 10), (10, 15), (15, 20), (20, 27)]
    assert (PHQ_9.construct, PHQ_9.direction) == ("symptom", "lower_is_better")
    assert (PHQ_9.clinical_cutoff, PHQ_9.clinical_cutoff_comparison) == (10, ">=")
    assert "Journal of General Internal Medicine 16:606–613" in PHQ_9.reference
    assert_bands_span_the_range(PHQ_9)


def test_it_carries_the_loinc_codes():
    assert (PHQ_9.code.system, PHQ_9.code.code) == (LOINC, "44249-1")
    assert (PHQ_9.total_code.system, PHQ_9.total_code.code) == (LOINC, "44261-6")
    assert [item.code.code for item in PHQ_9.items] == [
        "44250-9", "44255-8", "44259-0", "44254-1", "44251-7", "44258-2", "44252-5", "44253-3", "44260-8", "69722-7"]
    for item in PHQ_9.items[:9]:
        assert [(o.value, o.code.system, o.code.code) for o in item.options] == [
            (0, LOINC, "LA6568-5"), (1, LOINC, "LA6569-3"), (2, LOINC, "LA6570-1"), (3, LOINC, "LA6571-9")]
        assert [o.label for o in item.options] == [
            "Not at all", "Several days", "More than half the days", "Nearly every day"]


def test_it_serves_the_public_domain_text_with_the_attribution():
    assert PHQ_9.text_allowed is True
    assert all(item.text for item in PHQ_9.items)
    assert PHQ_9.item("1").text == "Little interest or pleasure in doing things"
    assert PHQ_9.copyright == ATTRIBUTION


def test_the_difficulty_item_is_optional_and_never_scored():
    difficulty = PHQ_9.item("10")
    assert (difficulty.required, difficulty.scored) == (False, False)
    assert [o.code.code for o in difficulty.options] == ["LA6572-7", "LA6573-5", "LA6575-0", "LA6574-3"]
    without = score_answers(PHQ_9, answers(*[1] * 9))
    with_it = score_answers(PHQ_9, answers(*[1] * 9, 3))
    assert without.total == with_it.total == 9


def test_its_examples_score_as_declared():
    assert_examples_score_as_declared(PHQ_9)


def test_all_not_at_all_is_the_minimum():
    score = score_answers(PHQ_9, answers(*[0] * 9))
    assert (score.total, score.band, score.flags) == (0, "none_minimal", ())


def test_all_nearly_every_day_is_the_maximum_with_risk():
    score = score_answers(PHQ_9, answers(*[3] * 9))
    assert (score.total, score.band, score.flags) == (27, "severe", ("risk",))


@pytest.mark.parametrize(
    ("total", "band"),
    [(4, "none_minimal"), (5, "mild"), (9, "mild"), (10, "moderate"), (14, "moderate"),
     (15, "moderately_severe"), (19, "moderately_severe"), (20, "severe"), (24, "severe")],
)
def test_each_band_boundary_falls_on_the_published_side(total, band):
    score = score_answers(PHQ_9, with_total(total))
    assert score.total == total
    assert (score.band, score.flags) == (band, ())


@pytest.mark.parametrize("item_9", [1, 2, 3])
def test_item_9_at_1_or_more_raises_risk_whatever_the_total(item_9):
    score = score_answers(PHQ_9, with_total(item_9, item_9=item_9))
    assert score.band == "none_minimal"
    assert score.flags == ("risk",)


def test_a_high_total_with_item_9_at_0_raises_no_risk():
    score = score_answers(PHQ_9, answers(3, 3, 3, 3, 3, 3, 3, 3, 0))
    assert (score.total, score.band, score.flags) == (24, "severe", ())


def test_the_risk_rule_is_high_priority():
    (rule,) = PHQ_9.alert_rules
    assert (rule.flag, rule.on, rule.items, rule.comparison, rule.threshold, rule.priority) == (
        "risk", "any_item", ("9",), ">=", Decimal(1), "high")


def test_a_missing_item_is_rejected_by_name_but_the_difficulty_item_may_be_absent():
    values = answers(*[1] * 9)
    del values["9"], values["3"]
    with pytest.raises(ScoringError) as caught:
        score_answers(PHQ_9, values)
    assert set(caught.value.problems) == {"3", "9"}
