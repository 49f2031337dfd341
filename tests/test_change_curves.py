"""The pure expected-change maths, on cases small enough to compute by hand."""

from __future__ import annotations

import math
from dataclasses import replace
from decimal import Decimal

import pytest

from questionnaires.change_curves import (
    as_total,
    fit_log_linear,
    improvement,
    intake_band,
    lower_limit,
    percentile,
)
from questionnaires.contract import NormCurve
from questionnaires.registry import definition_problems, get_registry

L = math.log(2)


def test_the_percentile_interpolates_between_order_statistics_like_numpy():
    # h = 9 * 0.9 = 8.1: x[8] + 0.1 * (x[9] - x[8]) = 9 + 0.1 = 9.1
    assert percentile([10, 1, 9, 2, 8, 3, 7, 4, 6, 5], 0.9) == pytest.approx(9.1)
    assert percentile([5.0], 0.9) == 5.0


def test_points_on_a_log_linear_curve_are_fitted_exactly_with_no_tolerance():
    # x = ln 2, ln 4, ln 8 = L, 2L, 3L; y = 1, 3, 5: slope 2 / L, intercept 3 - (2 / L) * 2L = -1.
    fit = fit_log_linear([(2, 1.0), (4, 3.0), (8, 5.0)])
    assert fit is not None
    assert fit.slope == pytest.approx(2 / L)
    assert fit.intercept == pytest.approx(-1.0)
    assert fit.tolerance == pytest.approx(0.0, abs=1e-9)
    assert (fit.n_points, fit.max_session) == (3, 8)


def test_the_tolerance_is_the_90th_percentile_of_the_shortfalls():
    # x = L, L, 2L, 2L; y = 1, 3, 3, 5. Mean x 1.5L, mean y 3; Sxx = L^2, Sxy = 2L: slope 2 / L, intercept 0.
    # Fitted 2 and 4; shortfalls (fitted - observed) 1, -1, 1, -1; sorted [-1, -1, 1, 1], h = 3 * 0.9 = 2.7 -> 1.
    fit = fit_log_linear([(2, 1.0), (2, 3.0), (4, 3.0), (4, 5.0)])
    assert fit is not None
    assert fit.intercept == pytest.approx(0.0, abs=1e-9)
    assert fit.slope == pytest.approx(2 / L)
    assert fit.tolerance == pytest.approx(1.0)
    # At session 4 the alarm sits at 4 - 1 = 3 points of improvement.
    assert lower_limit(fit.intercept, fit.slope, fit.tolerance, 4) == pytest.approx(3.0)


def test_one_session_number_cannot_give_a_slope():
    assert fit_log_linear([(3, 1.0), (3, 2.0), (3, 4.0)]) is None
    assert fit_log_linear([(3, 1.0)]) is None


def test_improvement_counts_in_the_instruments_better_direction():
    assert improvement(Decimal(18), Decimal(12), "lower_is_better") == 6.0  # PHQ-9 18 -> 12
    assert improvement(Decimal(20), Decimal(26), "higher_is_better") == 6.0  # ORS 20 -> 26
    assert improvement(Decimal(18), Decimal(21), "lower_is_better") == -3.0
    assert as_total(18, 6.0, "lower_is_better") == 12.0
    assert as_total(20, 6.0, "higher_is_better") == 26.0


def test_the_intake_band_is_the_scored_band_else_caseness_at_the_cutoff():
    phq9 = get_registry().get("phq-9")
    assert intake_band(phq9, Decimal(18), "moderately_severe") == "moderately_severe"
    unbanded = replace(phq9, bands=())
    assert intake_band(unbanded, Decimal(10), None) == "clinical"  # PHQ-9 caseness: 10 or more
    assert intake_band(unbanded, Decimal(9), None) == "non_clinical"
    assert intake_band(replace(unbanded, clinical_cutoff=None), Decimal(9), None) == "all"


def test_a_published_norm_curve_must_name_a_band_a_sample_and_its_source():
    phq9 = get_registry().get("phq-9")
    good = NormCurve(band="severe", intercept=Decimal(1), slope=Decimal(3), tolerance=Decimal(2), n_episodes=100,
                     reference="A publication")
    assert definition_problems(replace(phq9, norm_curves=(good,))) == []
    bad = replace(good, band="nope", tolerance=Decimal(-1), n_episodes=0, reference=" ", max_session=1)
    problems = definition_problems(replace(phq9, norm_curves=(bad,)))
    assert len(problems) == 5, problems
    assert any("not one of the questionnaire's bands" in problem for problem in problems)
    assert definition_problems(replace(phq9, norm_curves=(good, good))) == ["norm curve 'severe': declared twice"]
