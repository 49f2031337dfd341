"""Reads of the metric rollups: the from-scratch GROUP BY, and the suppressed cells the API serves."""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date
from decimal import Decimal

from django.conf import settings
from django.db.models import Case, Count, F, IntegerField, Q, Sum, Value, When
from django.db.models.functions import TruncDate

from questionnaires.change_rules import sd_from_sums
from questionnaires.metric_cells import CellKey, CellValues, cell_keys, contribution
from questionnaires.models import Alert, MetricRollup, Response, Score
from questionnaires.registry import get_registry
from questionnaires.scoring import to_decimal

COMPARISON_LOOKUPS = {"<": "lt", "<=": "lte", ">": "gt", ">=": "gte"}


def instrument_cutoffs() -> dict[tuple[str, str], tuple[Decimal, str]]:
    """(cut-off, comparison) of every loaded definition that has one, by (id, version)."""
    return {
        definition.key: (to_decimal(definition.clinical_cutoff), definition.clinical_cutoff_comparison)
        for definition in get_registry().all()
        if definition.clinical_cutoff is not None
    }


def counted_scores():
    """The scores the metrics count: one per scored response, from the version it was submitted with."""
    return Score.objects.filter(
        response__status=Response.Status.SCORED, plugin_version=F("response__questionnaire_version__version")
    )


DAY_KEY = (
    "response__clinic_id",
    "response__clinician_id",
    "response__questionnaire_version__questionnaire_id",
    "response__rater",
    "day",
)
"""What the from-scratch GROUP BY groups on; a day folds into its week and month cells."""


def metrics_recomputed(*, clinic_ids: Iterable[int] | None = None) -> dict[CellKey, CellValues]:
    """Every rollup cell computed from scratch: one GROUP BY per day, folded into weeks and months."""
    scores = counted_scores()
    if clinic_ids is not None:
        scores = scores.filter(response__clinic_id__in=list(clinic_ids))
    below = Value(0)
    cutoffs = instrument_cutoffs()
    if cutoffs:
        below = Case(
            *[
                When(
                    Q(
                        response__questionnaire_version__questionnaire_id=questionnaire_id,
                        response__questionnaire_version__version=version,
                        **{f"total__{COMPARISON_LOOKUPS[comparison]}": threshold},
                    ),
                    then=Value(1),
                )
                for (questionnaire_id, version), (threshold, comparison) in cutoffs.items()
            ],
            default=Value(0),
            output_field=IntegerField(),
        )
    rows = (
        scores.annotate(day=TruncDate("response__authored_at", tzinfo=UTC))
        .values(*DAY_KEY)
        .annotate(count=Count("id"), total_sum=Sum("total"), squares=Sum(F("total") * F("total")), below=Sum(below))
        .order_by()
    )
    alerts = _alert_counts(clinic_ids)
    cells: dict[CellKey, CellValues] = defaultdict(CellValues)
    for row in rows:
        day_key = tuple(row[name] for name in DAY_KEY)
        values = contribution(
            count=row["count"],
            total_sum=to_decimal(row["total_sum"]),
            total_sum_squares=to_decimal(row["squares"]),
            below_cutoff=row["below"] or 0,
            alert_counts=alerts.get(day_key, Counter()),
        )
        clinic_id, clinician_id, questionnaire_id, rater, day = day_key
        for key in cell_keys(
            clinic_id=clinic_id, clinician_id=clinician_id, questionnaire_id=questionnaire_id, rater=rater, day=day
        ):
            cells[key].add(values)
    return dict(cells)


def _alert_counts(clinic_ids: Iterable[int] | None) -> dict[tuple, Counter]:
    """Alerts on counted responses, by day key and kind.

    A GROUP BY of its own: joining alerts into the score aggregate would repeat a score once per
    alert, and a per-kind subquery there is probed once per score.
    """
    alerts = Alert.objects.filter(
        response__status=Response.Status.SCORED,
        response__scores__plugin_version=F("response__questionnaire_version__version"),
        withdrawn_at__isnull=True,
    )
    if clinic_ids is not None:
        alerts = alerts.filter(response__clinic_id__in=list(clinic_ids))
    rows = (
        alerts.annotate(day=TruncDate("response__authored_at", tzinfo=UTC))
        .values_list(*DAY_KEY, "kind")
        .annotate(count=Count("id"))
        .order_by()
    )
    counts: dict[tuple, Counter] = defaultdict(Counter)
    for *day_key, kind, count in rows:
        counts[tuple(day_key)][kind] += count
    return counts


def rollup_cells(*, clinic_ids: Iterable[int] | None = None) -> dict[CellKey, CellValues]:
    """The stored rollups in the same shape as `metrics_recomputed`, to compare the two."""
    rows = MetricRollup.objects.all()
    if clinic_ids is not None:
        rows = rows.filter(clinic_id__in=list(clinic_ids))
    cells = {}
    for row in rows:
        key = (row.clinic_id, row.scope, row.clinician_key, row.questionnaire_id, row.rater, row.period,
               row.period_start)
        cells[key] = contribution(
            count=row.n,
            total_sum=row.total_sum,
            total_sum_squares=row.total_sum_squares,
            below_cutoff=row.below_cutoff,
            alert_counts=row.alerts,
        )
        cells[key].reliable_improvement = row.reliable_improvement
        cells[key].reliable_deterioration = row.reliable_deterioration
        cells[key].recovered = row.recovered
    return cells


# --- what the API serves ------------------------------------------------------------------------

FIGURE_FIELDS = (
    "n", "total_sum", "total_sum_squares", "below_cutoff", "alerts",
    "reliable_improvement", "reliable_deterioration", "recovered",
)
"""The rollup columns read into a `CellValues`, in its field order (no model per cell on the read path)."""


@dataclass
class MetricCell:
    period_start: date
    clinician_id: int | None
    clinician: str | None
    figures: CellValues
    suppressed: bool = False

    def as_dict(self) -> dict:
        base = {
            "period_start": self.period_start.isoformat(),
            "suppressed": self.suppressed,
        }
        if self.clinician_id is not None:
            base["clinician"] = self.clinician
        if self.suppressed:
            return {**base, "n": None, "mean": None, "sd": None, "below_cutoff_share": None, "alerts": None,
                    "reliable_improvement": None, "reliable_deterioration": None, "recovered": None}
        figures = self.figures
        mean = figures.total_sum / figures.n if figures.n else None
        sd = sd_from_sums(figures.n, figures.total_sum, figures.total_sum_squares)
        return {
            **base,
            "n": figures.n,
            "mean": _float(mean),
            "sd": _float(sd),
            "below_cutoff_share": round(figures.below_cutoff / figures.n, 4) if figures.n else None,
            "alerts": dict(sorted(figures.alerts.items())),
            "reliable_improvement": figures.reliable_improvement,
            "reliable_deterioration": figures.reliable_deterioration,
            "recovered": figures.recovered,
        }


def _float(value: Decimal | None) -> float | None:
    if value is None:
        return None
    number = float(value)
    return round(number, 4) if math.isfinite(number) else None


def metric_cells(
    *,
    clinic_id: int,
    questionnaire_id: str,
    group_by: str,
    period: str,
    date_from: date | None,
    date_to: date | None,
    rater: str = "client",
    clinician_ids: Iterable[int] | None = None,
    min_cell: int | None = None,
    viewer_clinician_id: int | None = None,
) -> list[MetricCell]:
    """Rollup cells of one clinic and instrument, small ones suppressed (see `suppress`).

    `clinician_ids` narrows clinician cells (a clinician sees only their own); suppression is
    decided on all of the clinic's cells first, so narrowing never reveals a suppressed value.
    `viewer_clinician_id`: the clinician asking, who also knows their own cell; a clinic cell is
    suppressed for them where clinic minus own would isolate others (see `suppress_remainders`).
    """
    rows = MetricRollup.objects.filter(
        clinic_id=clinic_id, questionnaire_id=questionnaire_id, period=period, rater=rater
    )
    if date_from is not None:
        rows = rows.filter(period_start__gte=date_from)
    if date_to is not None:
        rows = rows.filter(period_start__lte=date_to)
    if group_by == "clinic" and viewer_clinician_id is None:
        # Clinic cells are suppressed on their own n alone: the clinician rows are not needed.
        rows = rows.filter(scope=MetricRollup.Scope.CLINIC)
    rows = rows.order_by("period_start", "clinician_key").values_list(
        "scope", "period_start", "clinician_key", "clinician__username", *FIGURE_FIELDS
    )
    totals: dict[date, CellValues] = {}
    cells: list[MetricCell] = []
    clinician_counts: dict[date, dict[int, int]] = defaultdict(dict)
    for scope, start, clinician_key, username, *figures in rows:
        shaped = CellValues(*figures)
        if scope == MetricRollup.Scope.CLINIC:
            totals[start] = shaped
            if group_by == "clinic":
                cells.append(MetricCell(start, None, None, shaped))
        elif group_by == "clinician":
            cells.append(MetricCell(start, clinician_key, username, shaped))
        else:
            clinician_counts[start][clinician_key] = shaped.n
    min_cell = settings.METRICS_MIN_CELL if min_cell is None else min_cell
    suppress(cells, totals=totals, min_cell=min_cell)
    if viewer_clinician_id is not None and group_by == "clinic":
        suppress_remainders(cells, clinician_counts, viewer_clinician_id=viewer_clinician_id, min_cell=min_cell)
    if clinician_ids is not None and group_by == "clinician":
        allowed = set(clinician_ids)
        cells = [cell for cell in cells if cell.clinician_id in allowed]
    return cells


def suppress(cells: list[MetricCell], *, totals: dict[date, CellValues], min_cell: int) -> None:
    """Primary suppression (n < min_cell), then complementary suppression per period.

    A clinician cell could be derived as the clinic total minus the other clinicians' cells
    when it is the only suppressed one of its period: then the next-smallest cell of that
    period is suppressed too. The part of the clinic total without a clinician counts as a
    cell of its own here, so it is never the single hidden value either.
    """
    for cell in cells:
        cell.suppressed = cell.figures.n < min_cell
    by_period: dict[date, list[MetricCell]] = defaultdict(list)
    for cell in cells:
        if cell.clinician_id is not None:
            by_period[cell.period_start].append(cell)
    for start, group in by_period.items():
        total = totals.get(start)
        unassigned = (total.n if total else 0) - sum(cell.figures.n for cell in group)
        hidden = [cell for cell in group if cell.suppressed]
        unassigned_hidden = 0 < unassigned < min_cell
        if len(hidden) + int(unassigned_hidden) == 1:
            visible = sorted((cell for cell in group if not cell.suppressed), key=lambda cell: cell.figures.n)
            if visible:
                visible[0].suppressed = True


def suppress_remainders(
    cells: list[MetricCell], clinician_counts: dict[date, dict[int, int]], *, viewer_clinician_id: int, min_cell: int
) -> None:
    """Hide a clinic cell from a clinician where subtracting their own cell would isolate a colleague.

    Clinic minus the viewer's own cell is what everyone else contributed. It is shown only when that
    remainder has at least `min_cell` responses and comes from at least two other contributors (other
    clinicians, or the unattributed part counted as one), so no colleague's exact figures can be
    derived. Complementary to `suppress`, which protects small clinician cells from the clinic total.
    """
    for cell in cells:
        if cell.suppressed:
            continue
        counts = clinician_counts.get(cell.period_start, {})
        remainder = cell.figures.n - counts.get(viewer_clinician_id, 0)
        if remainder == 0:
            continue  # the clinic cell is the viewer's own figures
        others = [n for clinician, n in counts.items() if clinician != viewer_clinician_id and n > 0]
        unattributed = remainder - sum(others)
        contributors = len(others) + int(unattributed > 0)
        if remainder < min_cell or contributors < 2:
            cell.suppressed = True
