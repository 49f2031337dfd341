"""Hand-computed cases for rupture/repair (instrument notes) and Jacobson & Truax (1991) reliable change."""

from __future__ import annotations

from decimal import Decimal as D

from questionnaires.change_rules import (
    Norms,
    RuptureParameters,
    fixed_reliable_change,
    jacobson_truax,
    repairs,
    rupture_at,
    sample_sd,
    sd_from_sums,
)

DEFAULTS = RuptureParameters()


def series(*values) -> list[D]:
    return [D(str(value)) for value in values]


def test_the_sample_sd_of_four_sessions_uses_n_minus_one():
    # mean 37.5; squared deviations 2.25 + 0.25 + 0.25 + 2.25 = 5; 5 / 3 = 1.6667; sqrt = 1.2910
    assert sample_sd(series(36, 38, 37, 39)).quantize(D("0.0001")) == D("1.2910")
    assert sd_from_sums(4, D(150), D(36**2 + 38**2 + 37**2 + 39**2)).quantize(D("0.0001")) == D("1.2910")


def test_a_drop_of_two_sigma_after_four_sessions_is_a_rupture_with_sigma_the_larger_sd():
    # sigma = max(1.2910, population 2.0) = 2.0; threshold 4.0; drop 39 - 33 = 6; repair level 39 - 1.0 = 38
    found = rupture_at(series(36, 38, 37, 39, 33), 4, parameters=DEFAULTS, population_sd=D(2))
    assert found is not None
    assert D(found["sigma"]) == D(2)
    assert D(found["threshold"]) == D(4)
    assert D(found["repair_level"]) == D(38)
    assert found["sigma_source"] == "client"


def test_the_clients_own_sd_is_used_when_larger_than_the_population_sd():
    # sigma = max(1.2910, 1.0) = 1.2910; threshold 2.5820; drop 39 - 36.5 = 2.5 is below it
    assert rupture_at(series(36, 38, 37, 39, 36.5), 4, parameters=DEFAULTS, population_sd=D(1)) is None
    # drop 39 - 36.4 = 2.6 reaches it
    assert rupture_at(series(36, 38, 37, 39, 36.4), 4, parameters=DEFAULTS, population_sd=D(1)) is not None


def test_with_fewer_than_four_earlier_sessions_only_the_clinic_sd_counts():
    # earlier 30, 34 (two sessions): sigma = 3.0, threshold 6; drop 34 - 29 = 5
    assert rupture_at(series(30, 34, 29), 2, parameters=DEFAULTS, population_sd=D(3)) is None
    sensitive = RuptureParameters(k=D(1))
    found = rupture_at(series(30, 34, 29), 2, parameters=sensitive, population_sd=D(3))
    assert found is not None and found["sigma_source"] == "population"
    assert rupture_at(series(30, 34, 20), 2, parameters=DEFAULTS, population_sd=None) is None


def test_a_rise_is_never_a_rupture_and_the_first_session_has_none():
    assert rupture_at(series(30, 38), 1, parameters=DEFAULTS, population_sd=D(1)) is None
    assert rupture_at(series(30), 0, parameters=DEFAULTS, population_sd=D(1)) is None


def test_repair_means_back_to_the_pre_rupture_score_less_half_a_sigma():
    assert repairs(D(38), D(38))
    assert not repairs(D("37.9"), D(38))


def test_ors_change_of_five_points_from_intake_is_reliable_and_crossing_25_is_recovery():
    kwargs = dict(reliable_change=D(5), direction="higher_is_better", clinical_cutoff=D(25), clinical_comparison="<")
    up = fixed_reliable_change(D(20), D(25), **kwargs)
    assert up.reliable_improvement and up.crossed_to_functional and up.recovered
    assert not fixed_reliable_change(D(20), D("24.9"), **kwargs).reliable_improvement
    down = fixed_reliable_change(D(20), D(15), **kwargs)
    assert down.reliable_deterioration and not down.reliable_improvement
    stays_high = fixed_reliable_change(D(26), D(32), **kwargs)
    assert stays_high.reliable_improvement and not stays_high.recovered


def test_core_10_improves_downwards_by_six_and_recovers_below_eleven():
    kwargs = dict(reliable_change=D(6), direction="lower_is_better", clinical_cutoff=D(11), clinical_comparison=">=")
    still_clinical = fixed_reliable_change(D(20), D(14), **kwargs)
    assert still_clinical.reliable_improvement and not still_clinical.recovered
    assert fixed_reliable_change(D(20), D(10), **kwargs).recovered
    assert not fixed_reliable_change(D(20), D(15), **kwargs).reliable_improvement
    assert fixed_reliable_change(D(10), D(16), **kwargs).reliable_deterioration


NORMS = Norms(s1=D(6), r=D("0.84"), M0=D(4), s0=D(4), M1=D(18))
# SE = 6 * sqrt(0.16) = 2.4; S_diff = 2.4 * sqrt(2) = 3.3941; c = (4*18 + 6*4) / (4 + 6) = 9.6


def test_jacobson_truax_rc_and_cutoff_by_hand():
    change = jacobson_truax(D(20), D(9), norms=NORMS, direction="lower_is_better")
    assert D(change.details["s_diff"]) == D("3.3941")
    assert D(change.details["cutoff"]) == D("9.6000")
    assert D(change.details["rc"]) == D("-3.2409")  # -11 / 3.3941
    assert change.reliable_improvement and change.recovered


def test_jacobson_truax_needs_rc_beyond_1_96():
    # 6.6 / 3.3941 = 1.9446: not reliable; 6.7 / 3.3941 = 1.9740: reliable
    assert not jacobson_truax(D(20), D("13.4"), norms=NORMS, direction="lower_is_better").reliable_improvement
    assert jacobson_truax(D(20), D("13.3"), norms=NORMS, direction="lower_is_better").reliable_improvement
    worse = jacobson_truax(D(8), D(15), norms=NORMS, direction="lower_is_better")
    assert worse.reliable_deterioration and worse.crossed_to_clinical


def test_on_the_cutoff_itself_is_not_yet_functional():
    at_cutoff = jacobson_truax(D(20), D("9.6"), norms=NORMS, direction="lower_is_better")
    assert at_cutoff.reliable_improvement and not at_cutoff.recovered
