"""The equity view: alliance or outcome scores broken down by a consented client background category.

Groups are the category's values plus `not_recorded` (clients without a consented value), at clinic
level and per clinician. A cell with fewer than EQUITY_MIN_CELL clients (default 11, after the CMS
cell-size suppression policy) is suppressed, and complementary suppression makes sure no
suppressed cell can be derived by subtraction: every published sum (a row, a column, the clinic
line) holds either no hidden cell or at least two.

Differencing over time: a caller who submits one response and compares the view before and after
would see one group's counts move by one and so learn that client's background. With
EQUITY_CLOSED_MONTHS_ONLY (default on) the view counts only responses received before the current
month began (server time, which a sender cannot back-date), so nothing submitted now shows until the
month has closed with everything else received in it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal

from django.conf import settings
from django.utils import timezone

from questionnaires.contract import Questionnaire
from questionnaires.metric_cells import is_below_cutoff
from questionnaires.models import BackgroundCategory, ClientBackground, Response
from questionnaires.scoring import to_decimal
from questionnaires.selectors.metrics import counted_scores

NOT_RECORDED = "not_recorded"
UNASSIGNED = "__unassigned__"


@dataclass
class EquityCell:
    clinician: str | None
    group: str
    clients: set = field(default_factory=set)
    totals: list[Decimal] = field(default_factory=list)
    below: int = 0
    suppressed: bool = False

    @property
    def n(self) -> int:
        return len(self.clients)

    def as_dict(self) -> dict:
        base: dict = {"group": self.group, "suppressed": self.suppressed}
        if self.clinician is not None:
            base = {"clinician": self.clinician, **base}
        if self.suppressed:
            return {**base, "clients": None, "sessions": None, "mean": None, "below_cutoff_share": None}
        sessions = len(self.totals)
        mean = sum(self.totals, Decimal(0)) / sessions if sessions else None
        return {
            **base,
            "clients": self.n,
            "sessions": sessions,
            "mean": None if mean is None else round(float(mean), 4),
            "below_cutoff_share": round(self.below / sessions, 4) if sessions else None,
        }


def complementary_suppress(equations: Iterable[list[EquityCell]], *, publishable: set[int]) -> None:
    """Hide more cells until no equation (a set of cells with a known sum) has exactly one hidden cell.

    `publishable` holds the ids of cells that are shown when not suppressed; others (the part of a
    column without a clinician) are never shown and are only hidden-or-not for the arithmetic.
    """
    equations = [equation for equation in equations if equation]
    changed = True
    while changed:
        changed = False
        for equation in equations:
            hidden = [cell for cell in equation if cell.suppressed]
            if len(hidden) != 1:
                continue
            candidates = sorted(
                (cell for cell in equation if not cell.suppressed and id(cell) in publishable and cell.n > 0),
                key=lambda cell: (cell.n, cell.group, cell.clinician or ""),
            )
            if candidates:
                candidates[0].suppressed = True
                changed = True


def equity_data_until() -> datetime | None:
    """The start of the current month (UTC): responses received from then on are not counted yet; None if off."""
    if not getattr(settings, "EQUITY_CLOSED_MONTHS_ONLY", True):
        return None
    now = timezone.now().astimezone(UTC)
    return datetime(now.year, now.month, 1, tzinfo=UTC)


def equity_breakdown(
    *, clinic_id: int, definition: Questionnaire, category: BackgroundCategory, min_cell: int | None = None
) -> dict:
    """Clinic-level and clinician-level cells for one instrument (client ratings) and one category."""
    smallest = getattr(settings, "EQUITY_MIN_CELL", 11) if min_cell is None else min_cell
    values = {
        client_id: value
        for client_id, value in ClientBackground.objects.filter(
            category=category, consent=True, client__clinic_id=clinic_id
        ).values_list("client_id", "value")
    }
    groups = [*category.values, NOT_RECORDED]
    rows = counted_scores().filter(
        response__clinic_id=clinic_id,
        response__questionnaire_version__questionnaire_id=definition.id,
        response__rater=Response.Rater.CLIENT,
    )
    until = equity_data_until()
    if until is not None:
        rows = rows.filter(response__received_at__lt=until)
    rows = rows.values_list("response__client_id", "response__clinician__username", "total")
    cutoff = (
        None if definition.clinical_cutoff is None
        else (to_decimal(definition.clinical_cutoff), definition.clinical_cutoff_comparison)
    )
    clinic_cells = {group: EquityCell(None, group) for group in groups}
    clinician_cells: dict[str, dict[str, EquityCell]] = defaultdict(dict)
    for client_id, username, total in rows:
        value = values.get(client_id)
        group = value if value in clinic_cells else NOT_RECORDED
        total = Decimal(total)
        below = int(is_below_cutoff(total, cutoff))
        row_key = username or UNASSIGNED
        cell = clinician_cells[row_key].setdefault(group, EquityCell(username, group))
        for target in (clinic_cells[group], cell):
            target.clients.add(client_id)
            target.totals.append(total)
            target.below += below
    for rows_cells in clinician_cells.values():
        for group in groups:
            rows_cells.setdefault(group, EquityCell(None, group))
    all_cells = [*clinic_cells.values(), *(c for row in clinician_cells.values() for c in row.values())]
    for cell in all_cells:
        cell.suppressed = 0 < cell.n < smallest
    publishable = {id(cell) for cell in clinic_cells.values()} | {
        id(cell) for key, row in clinician_cells.items() if key != UNASSIGNED for cell in row.values()
    }
    equations = [list(clinic_cells.values())]
    equations += [list(row.values()) for key, row in clinician_cells.items() if key != UNASSIGNED]
    equations += [[clinic_cells[group], *(row[group] for row in clinician_cells.values())] for group in groups]
    complementary_suppress(equations, publishable=publishable)
    clinicians = sorted(key for key in clinician_cells if key != UNASSIGNED)
    return {
        "questionnaire": definition.id,
        "category": category.name,
        "groups": groups,
        "min_cell": smallest,
        "received_before": None if until is None else until.isoformat(),
        "unit": "clients (a cell counts the distinct clients whose client-rated scores it holds)",
        "clinic": [clinic_cells[group].as_dict() for group in groups],
        "clinicians": [
            {**cell.as_dict(), "clinician": username}
            for username in clinicians
            for cell in (clinician_cells[username][group] for group in groups)
        ],
    }
