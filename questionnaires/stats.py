"""95% confidence intervals for the supervision report: Wilson for proportions, Student's t for means.

Wilson, E. B. (1927). Probable inference, the law of succession, and statistical inference.
JASA 22:209–212 — preferred over the Wald interval for small n and shares near 0 or 1
(Newcombe, R. G. (1998), Statistics in Medicine 17:857–872). Means use Student's t interval
(mean ± t(0.975, n − 1) · s / √n); t quantiles come from the standard table for up to 30
degrees of freedom and from the Cornish–Fisher expansion of Abramowitz & Stegun (1964),
Handbook of Mathematical Functions, 26.7.5, beyond it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from statistics import NormalDist

Z_95 = NormalDist().inv_cdf(0.975)

T_975 = (
    12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228,
    2.201, 2.179, 2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086,
    2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042,
)
"""Two-sided 95% Student t quantiles for 1..30 degrees of freedom."""


def t_quantile_975(degrees_of_freedom: int) -> float:
    if degrees_of_freedom < 1:
        raise ValueError("degrees of freedom must be at least 1")
    if degrees_of_freedom <= len(T_975):
        return T_975[degrees_of_freedom - 1]
    z, nu = Z_95, float(degrees_of_freedom)
    return (
        z
        + (z**3 + z) / (4 * nu)
        + (5 * z**5 + 16 * z**3 + 3 * z) / (96 * nu**2)
        + (3 * z**7 + 19 * z**5 + 17 * z**3 - 15 * z) / (384 * nu**3)
    )


@dataclass(frozen=True)
class Interval:
    low: float | None
    high: float | None


def wilson_interval(successes: int, n: int, *, z: float = Z_95) -> Interval:
    """The Wilson score interval for successes/n; (None, None) for n = 0."""
    if n <= 0:
        return Interval(None, None)
    share = successes / n
    denominator = 1 + z * z / n
    centre = (share + z * z / (2 * n)) / denominator
    half = z * math.sqrt(share * (1 - share) / n + z * z / (4 * n * n)) / denominator
    return Interval(max(0.0, centre - half), min(1.0, centre + half))


def mean_interval(values: Sequence[float]) -> tuple[float | None, float | None, Interval]:
    """Mean, sample SD and the t interval of the mean; the interval needs at least two values."""
    n = len(values)
    if n == 0:
        return None, None, Interval(None, None)
    mean = sum(values) / n
    if n < 2:
        return mean, None, Interval(None, None)
    sd = math.sqrt(sum((value - mean) ** 2 for value in values) / (n - 1))
    half = t_quantile_975(n - 1) * sd / math.sqrt(n)
    return mean, sd, Interval(mean - half, mean + half)
