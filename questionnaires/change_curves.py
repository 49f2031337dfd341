"""Expected change curves: the log-linear fit, its tolerance and the not-on-track test, as pure functions.

Method (after Finch, Lambert & Schaalje 2001, "Psychotherapy quality control: the statistical
generation of expected recovery curves for integration into an early warning system", Clinical
Psychology & Psychotherapy 8(4):231-242, and Lambert's signal alarm system: Lambert, Whipple,
Smart, Vermeersch, Nielsen & Hawkins 2001, "The effects of providing therapists with feedback on
patient progress during psychotherapy: are outcomes enhanced?", Psychotherapy Research 11(1):49-68):

- improvement at session s is the change of the total since the episode's intake score, counted in
  the instrument's better direction (PHQ-9 intake 18, now 12: +6; ORS intake 20, now 26: +6);
- expected improvement is `a + b * ln(s)`, fitted by ordinary least squares to every score after
  intake of the clinic's finished episodes that began in the same intake-severity band;
- the tolerance is the 90th percentile of the fit's shortfalls (expected minus observed), so about
  one score in ten of the reference episodes lies further below the curve than it;
- a client is not on track at session s when their improvement is below `a + b * ln(s) - tolerance`.

Finch et al. fitted hierarchical linear models to the OQ-45 and drew tolerance intervals per intake
score; this is the simpler least-squares form of the same idea, fitted per clinic, so it needs no
statistics package (requirements hold none) and runs inside the scheduled refresh.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from questionnaires.contract import Questionnaire
from questionnaires.scoring import compare

TOLERANCE_PERCENTILE = 0.90
"""The share of the reference scores that lie on or above the tolerance line."""


@dataclass(frozen=True)
class Fit:
    """improvement(s) = intercept + slope * ln(s); `tolerance` in the same total points."""

    intercept: float
    slope: float
    tolerance: float
    n_points: int
    max_session: int


def improvement(baseline: Decimal | float, current: Decimal | float, direction: str) -> float:
    """The change since intake in the better direction: positive is improvement, for either direction."""
    change = float(current) - float(baseline)
    return change if direction == "higher_is_better" else -change


def percentile(values: Sequence[float], share: float) -> float:
    """The `share` quantile with linear interpolation between order statistics (Hyndman & Fan 1996, type 7,
    numpy's default): h = (n - 1) * share, value = x[floor h] + (h - floor h) * (x[floor h + 1] - x[floor h])."""
    if not values:
        raise ValueError("no values")
    ordered = sorted(values)
    position = (len(ordered) - 1) * share
    lower = math.floor(position)
    upper = min(lower + 1, len(ordered) - 1)
    return ordered[lower] + (position - lower) * (ordered[upper] - ordered[lower])


def fit_log_linear(points: Sequence[tuple[int, float]]) -> Fit | None:
    """Least-squares `improvement = a + b ln(session)` over (session number, improvement) points.

    None when the points cannot determine a slope (fewer than two distinct session numbers).
    The tolerance is never negative: a fit that every point beats needs no margin below it.
    """
    if len(points) < 2:
        return None
    xs = [math.log(session) for session, _ in points]
    ys = [value for _, value in points]
    n = len(points)
    mean_x, mean_y = sum(xs) / n, sum(ys) / n
    sxx = sum((x - mean_x) ** 2 for x in xs)
    if sxx <= 1e-12:
        return None
    sxy = sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys, strict=True))
    slope = sxy / sxx
    intercept = mean_y - slope * mean_x
    shortfalls = [intercept + slope * x - y for x, y in zip(xs, ys, strict=True)]
    tolerance = max(0.0, percentile(shortfalls, TOLERANCE_PERCENTILE))
    return Fit(
        intercept=intercept,
        slope=slope,
        tolerance=tolerance,
        n_points=n,
        max_session=max(session for session, _ in points),
    )


def expected_improvement(intercept: float, slope: float, session: int) -> float:
    return intercept + slope * math.log(session)


def lower_limit(intercept: float, slope: float, tolerance: float, session: int) -> float:
    """The least improvement still on track at this session."""
    return expected_improvement(intercept, slope, session) - tolerance


def as_total(baseline: Decimal | float, improvement_points: float, direction: str) -> float:
    """The total that shows this much improvement from the baseline (for drawing the curve on a chart)."""
    sign = 1.0 if direction == "higher_is_better" else -1.0
    return float(baseline) + sign * improvement_points


def intake_band(definition: Questionnaire, total: Decimal, stored_band: str | None) -> str:
    """The intake-severity band: the instrument's band of the intake score (as scored), else caseness.

    Instruments without bands fall back to `clinical` / `non_clinical` at the clinical cut-off, and
    to `all` without one either.
    """
    if stored_band:
        return stored_band
    cutoff = definition.clinical_cutoff
    if cutoff is None:
        return "all"
    return "clinical" if compare(total, definition.clinical_cutoff_comparison, cutoff) else "non_clinical"
