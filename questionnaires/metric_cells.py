"""How one scored response contributes to the metric rollup cells; shared by the incremental and full paths."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from questionnaires.scoring import compare

RELIABLE_KINDS = {
    "reliable_improvement": "reliable_improvement",
    "reliable_deterioration": "reliable_deterioration",
    "recovered": "recovered",
}
"""Alert kinds counted in their own rollup columns as well as under `alerts`."""

CellKey = tuple[int, str, int, str, str, str, date]
"""(clinic id, scope, clinician key, questionnaire id, rater, period, period start)."""


@dataclass
class CellValues:
    n: int = 0
    total_sum: Decimal = Decimal(0)
    total_sum_squares: Decimal = Decimal(0)
    below_cutoff: int = 0
    alerts: Counter = field(default_factory=Counter)
    reliable_improvement: int = 0
    reliable_deterioration: int = 0
    recovered: int = 0

    def add(self, other: CellValues) -> None:
        self.n += other.n
        self.total_sum += other.total_sum
        self.total_sum_squares += other.total_sum_squares
        self.below_cutoff += other.below_cutoff
        self.alerts.update(other.alerts)
        self.reliable_improvement += other.reliable_improvement
        self.reliable_deterioration += other.reliable_deterioration
        self.recovered += other.recovered


def week_start(day: date) -> date:
    """Monday of the ISO week."""
    return day - timedelta(days=day.weekday())


def month_start(day: date) -> date:
    return day.replace(day=1)


def utc_day(moment: datetime) -> date:
    """Periods are cut in UTC, so every worker and the recompute agree whatever their local zone."""
    return moment.astimezone(UTC).date()


def is_below_cutoff(total: Decimal, cutoff: tuple[Decimal, str] | None) -> bool:
    """In the instrument's clinical range (or below its concern cut-off); False without a cut-off."""
    if cutoff is None:
        return False
    threshold, comparison = cutoff
    return compare(total, comparison, threshold)  # type: ignore[arg-type]


def contribution(
    *, count: int, total_sum: Decimal, total_sum_squares: Decimal, below_cutoff: int, alert_counts: Counter
) -> CellValues:
    return CellValues(
        n=count,
        total_sum=total_sum,
        total_sum_squares=total_sum_squares,
        below_cutoff=below_cutoff,
        alerts=Counter({kind: number for kind, number in alert_counts.items() if number}),
        reliable_improvement=alert_counts.get("reliable_improvement", 0),
        reliable_deterioration=alert_counts.get("reliable_deterioration", 0),
        recovered=alert_counts.get("recovered", 0),
    )


def cell_keys(
    *, clinic_id: int, clinician_id: int | None, questionnaire_id: str, rater: str, day: date
) -> list[CellKey]:
    """The four cells a response on `day` lands in: clinic and clinician scope, week and month."""
    keys: list[CellKey] = []
    for period, start in (("week", week_start(day)), ("month", month_start(day))):
        keys.append((clinic_id, "clinic", 0, questionnaire_id, rater, period, start))
        if clinician_id is not None:
            keys.append((clinic_id, "clinician", clinician_id, questionnaire_id, rater, period, start))
    return keys
