"""GAD-7 (Spitzer et al. 2006): sum of seven 0–3 items (0–21), bands at 5/10/15."""

import pytest

from plugins.gad_7 import QUESTIONNAIRES
from questionnaires.contract import LOINC, ScoringError
from questionnaires.scoring import score_answers
from tests.plugins import answers, assert_bands_span_the_range, assert_examples_score_as_declared

(GAD_7,) = QUESTIONNAIRES


def with_total(total: int) -> dict[str, int]:
    rest, values = total, []
    for _ in range(7):
        values.append(min(3, rest))
        rest -= values[-1]
    return answers(*values)


def test_it_is_declared_as_published():
    assert (GAD_7.id, GAD_7.version) == ("gad-7", "1.1.0")
    # Caseness >= 8 and reliable change 4: NHS Talking Therapies manual (v7).
    assert (GAD_7.clinical_cutoff, GAD_7.reliable_change) == (8, 4) and "Talking Therapies" in GAD_7.reference
    assert [item.link_id for item in GAD_7.items] == [str(n) for n in range(1, 8)]
    assert (GAD_7.scoring.total_min, GAD_7.scoring.total_max) == (0, 21)
    assert [band.name for band in GAD_7.bands] == ["minimal", "mild", "moderate", "severe"]
    assert [(b.lower, b.upper) for b in GAD_7.bands] == [(0, 5), (5, 10), (10, 15), (15, 21)]
    assert GAD_7.alert_rules == ()
    assert (GAD_7.construct, GAD_7.direction) == ("symptom", "lower_is_better")
    assert (GAD_7.clinical_cutoff, GAD_7.clinical_cutoff_comparison) == (8, ">=")
    assert "Archives of Internal Medicine 166:1092–1097" in GAD_7.reference
    assert_bands_span_the_range(GAD_7)


def test_it_carries_the_loinc_codes_without_mixing_up_panel_item_and_total():
    assert (GAD_7.code.system, GAD_7.code.code) == (LOINC, "69737-5")
    assert (GAD_7.total_code.system, GAD_7.total_code.code) == (LOINC, "70274-6")
    item_codes = [item.code.code for item in GAD_7.items]
    assert item_codes == ["69725-0", "68509-9", "69733-4", "69734-2", "69735-9", "69689-8", "69736-7"]
    assert GAD_7.code.code not in item_codes and GAD_7.total_code.code not in item_codes
    for item in GAD_7.items:
        assert [(o.value, o.code.code) for o in item.options] == [
            (0, "LA6568-5"), (1, "LA6569-3"), (2, "LA6570-1"), (3, "LA6571-9")]


def test_it_serves_the_public_domain_text_with_the_attribution():
    assert GAD_7.text_allowed is True
    assert GAD_7.item("1").text == "Feeling nervous, anxious or on edge"
    assert all(item.text for item in GAD_7.items)
    assert GAD_7.copyright.startswith("Developed by Drs. Robert L. Spitzer, Janet B.W. Williams, Kurt Kroenke")


def test_its_examples_score_as_declared():
    assert_examples_score_as_declared(GAD_7)


def test_all_not_at_all_is_the_minimum():
    assert score_answers(GAD_7, answers(*[0] * 7)).band == "minimal"
    assert score_answers(GAD_7, answers(*[0] * 7)).total == 0


def test_all_nearly_every_day_is_the_maximum():
    score = score_answers(GAD_7, answers(*[3] * 7))
    assert (score.total, score.band, score.flags) == (21, "severe", ())


@pytest.mark.parametrize(
    ("total", "band"),
    [(4, "minimal"), (5, "mild"), (9, "mild"), (10, "moderate"), (14, "moderate"), (15, "severe"), (20, "severe")],
)
def test_each_band_boundary_falls_on_the_published_side(total, band):
    score = score_answers(GAD_7, with_total(total))
    assert (score.total, score.band) == (total, band)


def test_a_missing_item_is_rejected_by_name():
    with pytest.raises(ScoringError) as caught:
        score_answers(GAD_7, answers(1, 1, 1, 1, 1, 1))
    assert set(caught.value.problems) == {"7"}
