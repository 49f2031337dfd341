"""Pure arithmetic of the history-based alerts: rupture and repair, reliable and clinically significant change.

Rules from the project's instrument notes: rupture after Stiles et al. (2004) and Strauss et al.
(2006) as reviewed by Gumz et al. (2012); reliable change after Jacobson & Truax (1991),
J Consult Clin Psychol 59:12–19. Every value is a `Decimal` so hand-computed cases match exactly.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal, localcontext

from questionnaires.contract import Comparison, Direction
from questionnaires.scoring import compare

Z_RELIABLE = Decimal("1.96")
"""|RC| above this is reliable at p < .05 (Jacobson & Truax 1991)."""


@dataclass(frozen=True)
class RuptureParameters:
    k: Decimal = Decimal(2)
    min_earlier_sessions: int = 4
    repair_window: int = 3
    repair_fraction: Decimal = Decimal("0.5")


@dataclass(frozen=True)
class Norms:
    """Jacobson–Truax norms: clinical SD `s1` and mean `M1`, test–retest reliability `r`, functional `M0`, `s0`."""

    s1: Decimal
    r: Decimal
    M0: Decimal
    s0: Decimal
    M1: Decimal


@dataclass(frozen=True)
class Change:
    """Change from a baseline, oriented so that positive is improvement."""

    improvement: Decimal
    reliable_improvement: bool
    reliable_deterioration: bool
    crossed_to_functional: bool
    crossed_to_clinical: bool
    details: dict

    @property
    def recovered(self) -> bool:
        return self.reliable_improvement and self.crossed_to_functional


def sample_sd(values: Sequence[Decimal]) -> Decimal | None:
    """Sample standard deviation (n − 1 denominator); None for fewer than two values."""
    if len(values) < 2:
        return None
    with localcontext() as context:
        context.prec = 28
        mean = sum(values, Decimal(0)) / len(values)
        variance = sum(((value - mean) ** 2 for value in values), Decimal(0)) / (len(values) - 1)
        return variance.sqrt()


def sd_from_sums(n: int, total: Decimal, squares: Decimal) -> Decimal | None:
    """Sample SD from a count, a sum and a sum of squares (what the rollups keep)."""
    if n < 2:
        return None
    with localcontext() as context:
        context.prec = 28
        variance = (squares - total * total / n) / (n - 1)
        return max(variance, Decimal(0)).sqrt()


def oriented(delta: Decimal, direction: Direction) -> Decimal:
    """A difference made positive-is-better."""
    return delta if direction == "higher_is_better" else -delta


def rupture_sigma(
    earlier: Sequence[Decimal], *, population_sd: Decimal | None, min_earlier_sessions: int
) -> Decimal | None:
    """max(SD of the client's earlier sessions, population SD) with enough sessions; else the population SD."""
    if len(earlier) >= min_earlier_sessions:
        candidates = [sd for sd in (sample_sd(earlier), population_sd) if sd is not None]
        return max(candidates) if candidates else None
    return population_sd


def rupture_at(
    series: Sequence[Decimal],
    position: int,
    *,
    parameters: RuptureParameters,
    population_sd: Decimal | None,
    direction: Direction = "higher_is_better",
) -> dict | None:
    """The rupture at `series[position]`, or None: a drop from the session before of at least k·sigma."""
    if position < 1:
        return None
    earlier = list(series[:position])
    sigma = rupture_sigma(earlier, population_sd=population_sd, min_earlier_sessions=parameters.min_earlier_sessions)
    if sigma is None or sigma <= 0:
        return None
    previous, current = series[position - 1], series[position]
    drop = oriented(previous - current, direction)
    threshold = parameters.k * sigma
    if drop < threshold:
        return None
    repair_level = previous - oriented(parameters.repair_fraction * sigma, direction)
    return {
        "previous": str(previous),
        "current": str(current),
        "drop": str(drop),
        "sigma": str(_rounded(sigma)),
        "k": str(parameters.k),
        "threshold": str(_rounded(threshold)),
        "repair_level": str(_rounded(repair_level)),
        "earlier_sessions": len(earlier),
        "sigma_source": "client" if len(earlier) >= parameters.min_earlier_sessions else "population",
    }


def repairs(value: Decimal, repair_level: Decimal, direction: Direction = "higher_is_better") -> bool:
    """Whether a later score is back to within the repair fraction of sigma below the pre-rupture score."""
    return oriented(value - repair_level, direction) >= 0


def fixed_reliable_change(
    baseline: Decimal,
    current: Decimal,
    *,
    reliable_change: Decimal,
    direction: Direction,
    clinical_cutoff: Decimal | None,
    clinical_comparison: Comparison,
) -> Change:
    """Change against a published fixed reliable-change value (ORS 5, CORE-10 6), with clinical-range crossing."""
    improvement = oriented(current - baseline, direction)
    crossed_to_functional = crossed_to_clinical = False
    if clinical_cutoff is not None:
        was_clinical = compare(baseline, clinical_comparison, clinical_cutoff)
        is_clinical = compare(current, clinical_comparison, clinical_cutoff)
        crossed_to_functional = was_clinical and not is_clinical
        crossed_to_clinical = is_clinical and not was_clinical
    return Change(
        improvement=improvement,
        reliable_improvement=improvement >= reliable_change,
        reliable_deterioration=-improvement >= reliable_change,
        crossed_to_functional=crossed_to_functional,
        crossed_to_clinical=crossed_to_clinical,
        details={
            "method": "fixed",
            "baseline": str(baseline),
            "current": str(current),
            "change": str(current - baseline),
            "reliable_change": str(reliable_change),
            "clinical_cutoff": None if clinical_cutoff is None else str(clinical_cutoff),
        },
    )


def jacobson_truax(baseline: Decimal, current: Decimal, *, norms: Norms, direction: Direction) -> Change:
    """RC = (post − pre) / S_diff with S_diff = √2 · s1 · √(1 − r); cut-off c = (s0·M1 + s1·M0) / (s0 + s1).

    Functional means strictly on M0's side of c (closer to the functional mean).
    """
    with localcontext() as context:
        context.prec = 28
        standard_error = norms.s1 * (Decimal(1) - norms.r).sqrt()
        s_diff = Decimal(2).sqrt() * standard_error
        rc = (current - baseline) / s_diff
        cutoff = (norms.s0 * norms.M1 + norms.s1 * norms.M0) / (norms.s0 + norms.s1)
    oriented_rc = oriented(rc, direction)
    was_functional = oriented(baseline - cutoff, direction) > 0
    is_functional = oriented(current - cutoff, direction) > 0
    return Change(
        improvement=oriented(current - baseline, direction),
        reliable_improvement=oriented_rc > Z_RELIABLE,
        reliable_deterioration=oriented_rc < -Z_RELIABLE,
        crossed_to_functional=is_functional and not was_functional,
        crossed_to_clinical=was_functional and not is_functional,
        details={
            "method": "jacobson-truax",
            "baseline": str(baseline),
            "current": str(current),
            "rc": str(_rounded(rc)),
            "s_diff": str(_rounded(s_diff)),
            "cutoff": str(_rounded(cutoff)),
        },
    )


def _rounded(value: Decimal) -> Decimal:
    return value.quantize(Decimal("0.0001"))
