"""Reads of the outcome and adherence rollups: rates with Wilson intervals, small cells suppressed.

Each period (month, quarter or year of the episodes' end) and group (the clinic, or each primary
clinician) shows: episodes ended, dropout and planned-ending rates, attendance rate (attended ÷
(attended + did not attend + cancelled by the client)), and per outcome instrument the share of
counted episodes (two or more scored sessions) with reliable improvement and with reliable
deterioration, and among those that were cases at the first score, the recovery and reliable-recovery
rates. Each rate carries its numerator, denominator and a 95% Wilson interval (Wilson 1927, see
`questionnaires.stats`). Suppression follows `GET /metrics/`: a table (adherence, or one instrument)
hides cells resting on fewer than METRICS_MIN_CELL episodes, a second cell where one hidden clinician
cell could be derived from the clinic total, and, for a clinician, a clinic cell from which their own
would leave fewer than METRICS_MIN_CELL episodes or a single colleague.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date

from django.conf import settings

from questionnaires.models import OutcomeRollup
from questionnaires.selectors.metrics import suppress, suppress_remainders
from questionnaires.stats import wilson_interval

PERIODS = ("month", "quarter", "year")
FIGURES = (
    "episodes", "dropped_out", "planned_endings", "unplanned_endings", "sessions_attended",
    "sessions_did_not_attend", "sessions_cancelled_by_client", "sessions_cancelled_by_service",
    "case_at_first", "recovered", "reliably_recovered", "reliable_improvement", "reliable_deterioration",
)


@dataclass
class Figures:
    values: dict[str, int] = field(default_factory=dict)

    @property
    def n(self) -> int:
        return self.values.get("episodes", 0)

    def add(self, row: dict[str, int]) -> None:
        for name, value in row.items():
            self.values[name] = self.values.get(name, 0) + value


@dataclass
class OutcomeCell:
    """One group and period of one table; the shape `suppress` reads (`figures.n`, `clinician_id`)."""

    period_start: date
    clinician_id: int | None
    clinician: str | None
    figures: Figures
    suppressed: bool = False


def period_of(day: date, period: str) -> date:
    if period == "year":
        return day.replace(month=1, day=1)
    if period == "quarter":
        return day.replace(month=(day.month - 1) // 3 * 3 + 1, day=1)
    return day.replace(day=1)


def rate(successes: int, n: int) -> dict:
    """{"rate", "numerator", "n", "ci95"}: a share with its 95% Wilson interval (null rate for n = 0)."""
    interval = wilson_interval(successes, n)
    return {
        "rate": round(successes / n, 4) if n else None,
        "numerator": successes,
        "n": n,
        "ci95": [None if interval.low is None else round(interval.low, 4),
                 None if interval.high is None else round(interval.high, 4)],
    }


def _adherence(values: dict[str, int]) -> dict:
    episodes = values.get("episodes", 0)
    attended = values.get("sessions_attended", 0)
    kept_or_missed = attended + values.get("sessions_did_not_attend", 0) + values.get("sessions_cancelled_by_client", 0)
    return {
        "episodes": episodes,
        "dropout": rate(values.get("dropped_out", 0), episodes),
        "planned_ending": rate(values.get("planned_endings", 0), episodes),
        "unplanned_ending": rate(values.get("unplanned_endings", 0), episodes),
        "attendance": rate(attended, kept_or_missed),
        "sessions_attended": attended,
        "sessions_did_not_attend": values.get("sessions_did_not_attend", 0),
        "sessions_cancelled_by_client": values.get("sessions_cancelled_by_client", 0),
        "sessions_cancelled_by_service": values.get("sessions_cancelled_by_service", 0),
    }


def _outcome(values: dict[str, int]) -> dict:
    counted, cases = values.get("episodes", 0), values.get("case_at_first", 0)
    return {
        "episodes": counted,
        "case_at_first": cases,
        "recovery": rate(values.get("recovered", 0), cases),
        "reliable_recovery": rate(values.get("reliably_recovered", 0), cases),
        "reliable_improvement": rate(values.get("reliable_improvement", 0), counted),
        "reliable_deterioration": rate(values.get("reliable_deterioration", 0), counted),
    }


def outcome_tables(
    *,
    clinic_id: int,
    group_by: str,
    period: str,
    date_from: date | None,
    date_to: date | None,
    clinician_ids: Iterable[int] | None = None,
    viewer_clinician_id: int | None = None,
    min_cell: int | None = None,
) -> list[dict]:
    """The `/outcomes/` results: one entry per period and group, each with adherence and outcomes by instrument.

    Read from the rollups only (one indexed query); suppression is decided on all of the clinic's cells
    before narrowing to a clinician's own, so narrowing never reveals a suppressed value.
    """
    rows = OutcomeRollup.objects.filter(clinic_id=clinic_id)
    if date_from is not None:
        rows = rows.filter(period_start__gte=period_of(date_from, period))
    if date_to is not None:
        rows = rows.filter(period_start__lte=date_to)
    if group_by == "clinic" and viewer_clinician_id is None:
        rows = rows.filter(scope=OutcomeRollup.Scope.CLINIC)
    tables: dict[str, dict[tuple, OutcomeCell]] = defaultdict(dict)
    totals: dict[str, dict[date, Figures]] = defaultdict(dict)
    counts: dict[str, dict[date, dict[int, int]]] = defaultdict(lambda: defaultdict(dict))
    for scope, start, clinician_key, username, questionnaire_id, *figures in rows.values_list(
        "scope", "period_start", "clinician_key", "clinician__username", "questionnaire_id", *FIGURES
    ):
        values = dict(zip(FIGURES, figures, strict=True))
        start = period_of(start, period)
        if scope == OutcomeRollup.Scope.CLINIC:
            totals[questionnaire_id].setdefault(start, Figures()).add(values)
            if group_by == "clinic":
                cell = tables[questionnaire_id].setdefault((start, None), OutcomeCell(start, None, None, Figures()))
                cell.figures.add(values)
        elif group_by == "clinician":
            cell = tables[questionnaire_id].setdefault(
                (start, clinician_key), OutcomeCell(start, clinician_key, username, Figures())
            )
            cell.figures.add(values)
        else:
            by_clinician = counts[questionnaire_id][start]
            by_clinician[clinician_key] = by_clinician.get(clinician_key, 0) + values["episodes"]
    min_cell = settings.METRICS_MIN_CELL if min_cell is None else min_cell
    for questionnaire_id, table in tables.items():
        cells = list(table.values())
        suppress(cells, totals=totals[questionnaire_id], min_cell=min_cell)  # type: ignore[arg-type]
        if viewer_clinician_id is not None and group_by == "clinic":
            suppress_remainders(
                cells, counts[questionnaire_id], viewer_clinician_id=viewer_clinician_id,  # type: ignore[arg-type]
                min_cell=min_cell,
            )
    allowed = None if clinician_ids is None else set(clinician_ids)
    results: dict[tuple, dict] = {}
    for questionnaire_id, table in sorted(tables.items()):
        for (start, clinician_key), cell in sorted(table.items(), key=lambda item: (item[0][0], item[0][1] or 0)):
            if group_by == "clinician" and allowed is not None and clinician_key not in allowed:
                continue
            entry = results.setdefault(
                (start, clinician_key),
                {"period_start": start.isoformat(), **({"clinician": cell.clinician} if clinician_key else {}),
                 "adherence": None, "outcomes": {}},
            )
            shaped = {"suppressed": True} if cell.suppressed else {
                "suppressed": False, **(_adherence(cell.figures.values) if questionnaire_id == ""
                                        else _outcome(cell.figures.values))
            }
            if questionnaire_id == "":
                entry["adherence"] = shaped
            else:
                entry["outcomes"][questionnaire_id] = shaped
    return [results[key] for key in sorted(results, key=lambda key: (key[0], key[1] or 0))]
