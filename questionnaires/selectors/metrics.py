"""Reads of the metric rollups: the from-scratch GROUP BY, and the suppressed cells the API serves."""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date
from decimal import Decimal

from django.conf import settings
from django.db.models import Case, Count, Exists, F, IntegerField, OuterRef, Q, Sum, Value, When
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
    kinds = sorted(set(Alert.objects.values_list("kind", flat=True).distinct()))
    alert_counts = {
        f"alert_{index}": Count(
            "id", filter=Q(Exists(Alert.objects.filter(response_id=OuterRef("response_id"), kind=kind)))
        )
        for index, kind in enumerate(kinds)
    }
    rows = (
        scores.annotate(day=TruncDate("response__authored_at", tzinfo=UTC))
        .values(
            "response__clinic_id",
            "response__clinician_id",
            "response__questionnaire_version__questionnaire_id",
            "response__rater",
            "day",
        )
        .annotate(
            count=Count("id"),
            total_sum=Sum("total"),
            squares=Sum(F("total") * F("total")),
            below=Sum(below),
            **alert_counts,
        )
        .order_by()
    )
    cells: dict[CellKey, CellValues] = defaultdict(CellValues)
    for row in rows:
        values = contribution(
            count=row["count"],
            total_sum=to_decimal(row["total_sum"]),
            total_sum_squares=to_decimal(row["squares"]),
            below_cutoff=row["below"] or 0,
            alert_counts={kind: row[f"alert_{index}"] for index, kind in enumerate(kinds)},  # type: ignore[arg-type]
        )
        for key in cell_keys(
            clinic_id=row["response__clinic_id"],
            clinician_id=row["response__clinician_id"],
            questionnaire_id=row["response__questionnaire_version__questionnaire_id"],
            rater=row["response__rater"],
            day=row["day"],
        ):
            cells[key].add(values)
    return dict(cells)


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

@dataclass
class MetricCell:
    period_start: date
    clinician_id: int | None
    clinician: str | None
    row: MetricRollup
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
        row = self.row
        mean = row.total_sum / row.n if row.n else None
        sd = sd_from_sums(row.n, row.total_sum, row.total_sum_squares)
        return {
            **base,
            "n": row.n,
            "mean": _float(mean),
            "sd": _float(sd),
            "below_cutoff_share": round(row.below_cutoff / row.n, 4) if row.n else None,
            "alerts": dict(sorted(row.alerts.items())),
            "reliable_improvement": row.reliable_improvement,
            "reliable_deterioration": row.reliable_deterioration,
            "recovered": row.recovered,
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
) -> list[MetricCell]:
    """Rollup cells of one clinic and instrument, small ones suppressed (see `suppress`).

    `clinician_ids` narrows clinician cells (a clinician sees only their own); suppression is
    decided on all of the clinic's cells first, so narrowing never reveals a suppressed value.
    """
    rows = MetricRollup.objects.filter(
        clinic_id=clinic_id, questionnaire_id=questionnaire_id, period=period, rater=rater
    ).select_related("clinician")
    if date_from is not None:
        rows = rows.filter(period_start__gte=date_from)
    if date_to is not None:
        rows = rows.filter(period_start__lte=date_to)
    if group_by == "clinic":
        # Clinic cells are suppressed on their own n alone: the clinician rows are not needed.
        rows = rows.filter(scope=MetricRollup.Scope.CLINIC)
    rows = rows.order_by("period_start", "clinician_key")
    totals = {row.period_start: row for row in rows if row.scope == MetricRollup.Scope.CLINIC}
    if group_by == "clinic":
        cells = [MetricCell(start, None, None, row) for start, row in totals.items()]
    else:
        cells = [
            MetricCell(row.period_start, row.clinician_key, row.clinician.username if row.clinician else None, row)
            for row in rows
            if row.scope == MetricRollup.Scope.CLINICIAN
        ]
    suppress(cells, totals=totals, min_cell=settings.METRICS_MIN_CELL if min_cell is None else min_cell)
    if clinician_ids is not None and group_by == "clinician":
        allowed = set(clinician_ids)
        cells = [cell for cell in cells if cell.clinician_id in allowed]
    return cells


def suppress(cells: list[MetricCell], *, totals: dict[date, MetricRollup], min_cell: int) -> None:
    """Primary suppression (n < min_cell), then complementary suppression per period.

    A clinician cell could be derived as the clinic total minus the other clinicians' cells
    when it is the only suppressed one of its period: then the next-smallest cell of that
    period is suppressed too. The part of the clinic total without a clinician counts as a
    cell of its own here, so it is never the single hidden value either.
    """
    for cell in cells:
        cell.suppressed = cell.row.n < min_cell
    by_period: dict[date, list[MetricCell]] = defaultdict(list)
    for cell in cells:
        if cell.clinician_id is not None:
            by_period[cell.period_start].append(cell)
    for start, group in by_period.items():
        total = totals.get(start)
        unassigned = (total.n if total else 0) - sum(cell.row.n for cell in group)
        hidden = [cell for cell in group if cell.suppressed]
        unassigned_hidden = 0 < unassigned < min_cell
        if len(hidden) + int(unassigned_hidden) == 1:
            visible = sorted((cell for cell in group if not cell.suppressed), key=lambda cell: cell.row.n)
            if visible:
                visible[0].suppressed = True
