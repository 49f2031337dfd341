"""Keeping the metric rollups current: add newly scored responses exactly once, or recompute everything.

Each cell keeps n, a sum and a sum of squares, so adding a batch is O(batch) and upserted with
`INSERT ... ON CONFLICT DO UPDATE` on PostgreSQL (a locked read-modify-write on SQLite, whose
writers are serialised anyway). A score's `in_rollups` flag, set in the same transaction as the
upsert, is what makes a redelivered task a no-op.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import Sequence
from decimal import Decimal
from uuid import UUID

from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from questionnaires.metric_cells import CellKey, CellValues, cell_keys, contribution, is_below_cutoff, utc_day
from questionnaires.models import Alert, MetricRollup, Score
from questionnaires.selectors.metrics import counted_scores, instrument_cutoffs, metrics_recomputed

ROLLUP_TABLE = MetricRollup._meta.db_table


def metrics_rollup(*, response_ids: Sequence[UUID | str]) -> int:
    """Add these scored responses to the rollups unless already added; returns how many were added."""
    with transaction.atomic():
        _lock_rollups("ROW EXCLUSIVE")  # waits while a full recompute runs
        # Scores another task holds are skipped: that task is counting them. A score another task
        # flagged after this statement began is re-checked under its lock and left out.
        fresh = list(
            counted_scores()
            .select_for_update(skip_locked=True, of=("self",))
            .filter(response_id__in=list(response_ids), in_rollups=False)
            .values_list("id", "response_id")
        )
        if not fresh:
            return 0
        Score.objects.filter(id__in=[score_id for score_id, _ in fresh]).update(in_rollups=True)
        _upsert(_contributions([response_id for _, response_id in fresh]))
    return len(fresh)


def _contributions(response_ids: list[UUID]) -> dict[CellKey, CellValues]:
    cutoffs = instrument_cutoffs()
    kinds: dict[UUID, Counter] = defaultdict(Counter)
    live_alerts = Alert.objects.filter(response_id__in=response_ids, withdrawn_at__isnull=True)
    for response_id, kind in live_alerts.values_list("response_id", "kind"):
        kinds[response_id][kind] += 1
    rows = Score.objects.filter(
        response_id__in=response_ids, plugin_version=F("response__questionnaire_version__version")
    ).values_list(
        "response_id",
        "response__clinic_id",
        "response__clinician_id",
        "response__questionnaire_version__questionnaire_id",
        "response__questionnaire_version__version",
        "response__rater",
        "response__authored_at",
        "total",
    )
    cells: dict[CellKey, CellValues] = defaultdict(CellValues)
    for response_id, clinic_id, clinician_id, questionnaire_id, version, rater, authored_at, total in rows:
        total = Decimal(total)
        values = contribution(
            count=1,
            total_sum=total,
            total_sum_squares=total * total,
            below_cutoff=int(is_below_cutoff(total, cutoffs.get((questionnaire_id, version)))),
            alert_counts=kinds[response_id],
        )
        for key in cell_keys(
            clinic_id=clinic_id,
            clinician_id=clinician_id,
            questionnaire_id=questionnaire_id,
            rater=rater,
            day=utc_day(authored_at),
        ):
            cells[key].add(values)
    return dict(cells)


def metrics_withdraw(*, response_ids: Sequence[UUID | str]) -> int:
    """Take these responses' counted scores out of the rollups, exactly as they were added; returns how many.

    Called in the transaction that amends or retracts them, before their alerts are withdrawn (the
    alert counts are part of what was added). A score a rollup task is counting right now is waited
    for, then subtracted; one never counted is left alone. Cells left empty are deleted, so the
    rollups stay equal to a recompute.
    """
    _lock_rollups("ROW EXCLUSIVE")
    counted = list(
        counted_scores()
        .select_for_update(of=("self",))
        .filter(response_id__in=list(response_ids), in_rollups=True)
        .values_list("id", "response_id")
    )
    if not counted:
        return 0
    cells = _contributions([response_id for _, response_id in counted])
    _subtract(cells)
    Score.objects.filter(id__in=[score_id for score_id, _ in counted]).update(in_rollups=False)
    return len(counted)


def _subtract(cells: dict[CellKey, CellValues]) -> None:
    """Take contributions out of cells that hold them: a locked read-modify-write, emptied cells deleted.

    Not an upsert: PostgreSQL checks the proposed row (negative counts) before it sees the conflict.
    """
    keys = set(cells)
    rows = MetricRollup.objects.select_for_update().filter(
        clinic_id__in={key[0] for key in keys},
        questionnaire_id__in={key[3] for key in keys},
        period_start__in={key[6] for key in keys},
    ).order_by("pk")
    changed, emptied = [], []
    for row in rows:
        key = (row.clinic_id, row.scope, row.clinician_key, row.questionnaire_id, row.rater, row.period,
               row.period_start)
        if key not in keys:
            continue
        values = cells[key]
        row.n -= values.n
        row.total_sum = Decimal(row.total_sum) - values.total_sum
        row.total_sum_squares = Decimal(row.total_sum_squares) - values.total_sum_squares
        row.below_cutoff -= values.below_cutoff
        row.alerts = dict(Counter(row.alerts) - values.alerts)
        row.reliable_improvement -= values.reliable_improvement
        row.reliable_deterioration -= values.reliable_deterioration
        row.recovered -= values.recovered
        row.updated_at = timezone.now()
        (emptied if row.n <= 0 else changed).append(row)
    if changed:
        MetricRollup.objects.bulk_update(
            changed,
            ["n", "total_sum", "total_sum_squares", "below_cutoff", "alerts", "reliable_improvement",
             "reliable_deterioration", "recovered", "updated_at"],
        )
    if emptied:
        MetricRollup.objects.filter(pk__in=[row.pk for row in emptied]).delete()


def _upsert(cells: dict[CellKey, CellValues]) -> None:
    if not cells:
        return
    ordered = sorted(cells.items())  # one lock order for every worker: no deadlocks between batches
    if connection.vendor == "postgresql":
        _upsert_postgresql(ordered)
    else:
        _upsert_portable(ordered)


_POSTGRESQL_UPSERT = f"""
INSERT INTO {ROLLUP_TABLE} AS cell (
    clinic_id, scope, clinician_key, clinician_id, questionnaire_id, rater, period, period_start,
    n, total_sum, total_sum_squares, below_cutoff, alerts,
    reliable_improvement, reliable_deterioration, recovered, updated_at
) VALUES {{values}}
ON CONFLICT (clinic_id, scope, clinician_key, questionnaire_id, rater, period, period_start) DO UPDATE SET
    n = cell.n + EXCLUDED.n,
    total_sum = cell.total_sum + EXCLUDED.total_sum,
    total_sum_squares = cell.total_sum_squares + EXCLUDED.total_sum_squares,
    below_cutoff = cell.below_cutoff + EXCLUDED.below_cutoff,
    alerts = (
        SELECT COALESCE(jsonb_object_agg(kind, COALESCE((cell.alerts ->> kind)::bigint, 0)
                                              + COALESCE((EXCLUDED.alerts ->> kind)::bigint, 0)), '{{{{}}}}'::jsonb)
        FROM (SELECT jsonb_object_keys(cell.alerts) UNION SELECT jsonb_object_keys(EXCLUDED.alerts)) AS keys (kind)
    ),
    reliable_improvement = cell.reliable_improvement + EXCLUDED.reliable_improvement,
    reliable_deterioration = cell.reliable_deterioration + EXCLUDED.reliable_deterioration,
    recovered = cell.recovered + EXCLUDED.recovered,
    updated_at = EXCLUDED.updated_at
"""


def _upsert_postgresql(ordered: list[tuple[CellKey, CellValues]]) -> None:
    now = timezone.now()
    placeholders = []
    params: list = []
    for (clinic_id, scope, clinician_key, questionnaire_id, rater, period, start), values in ordered:
        placeholders.append("(" + ", ".join(["%s"] * 12) + ", %s::jsonb, %s, %s, %s, %s)")
        params += [
            clinic_id, scope, clinician_key, clinician_key or None, questionnaire_id, rater, period, start,
            values.n, values.total_sum, values.total_sum_squares, values.below_cutoff,
            json.dumps(dict(values.alerts)),
            values.reliable_improvement, values.reliable_deterioration, values.recovered, now,
        ]
    with connection.cursor() as cursor:
        cursor.execute(_POSTGRESQL_UPSERT.format(values=", ".join(placeholders)), params)


def _upsert_portable(ordered: list[tuple[CellKey, CellValues]]) -> None:
    """Read-modify-write for SQLite: its writers are serialised, so no concurrent insert can race this."""
    existing = {}
    keys = {key for key, _ in ordered}
    clinic_ids = {key[0] for key in keys}
    for row in MetricRollup.objects.filter(clinic_id__in=clinic_ids):
        key = (row.clinic_id, row.scope, row.clinician_key, row.questionnaire_id, row.rater, row.period,
               row.period_start)
        if key in keys:
            existing[key] = row
    to_create, to_update = [], []
    for key, values in ordered:
        row = existing.get(key)
        if row is None:
            row = _new_row(key)
            to_create.append(row)
        else:
            to_update.append(row)
        row.n += values.n
        row.total_sum = Decimal(row.total_sum) + values.total_sum
        row.total_sum_squares = Decimal(row.total_sum_squares) + values.total_sum_squares
        row.below_cutoff += values.below_cutoff
        row.alerts = dict(Counter(row.alerts) + values.alerts)
        row.reliable_improvement += values.reliable_improvement
        row.reliable_deterioration += values.reliable_deterioration
        row.recovered += values.recovered
        row.updated_at = timezone.now()
    MetricRollup.objects.bulk_create(to_create)
    if to_update:
        MetricRollup.objects.bulk_update(
            to_update,
            ["n", "total_sum", "total_sum_squares", "below_cutoff", "alerts", "reliable_improvement",
             "reliable_deterioration", "recovered", "updated_at"],
        )


def _new_row(key: CellKey) -> MetricRollup:
    clinic_id, scope, clinician_key, questionnaire_id, rater, period, start = key
    return MetricRollup(
        clinic_id=clinic_id, scope=scope, clinician_key=clinician_key, clinician_id=clinician_key or None,
        questionnaire_id=questionnaire_id, rater=rater, period=period, period_start=start,
        n=0, total_sum=Decimal(0), total_sum_squares=Decimal(0), below_cutoff=0, alerts={},
    )


def metrics_recompute() -> int:
    """Rebuild every cell from scratch and flag every counted score as in the rollups; returns the cell count.

    On PostgreSQL the rollup table is locked against the incremental tasks and the two reads
    share one snapshot, so a response is counted either here or by its task, never both.
    """
    outermost = not connection.in_atomic_block
    with transaction.atomic():
        if connection.vendor == "postgresql" and outermost:  # inside a caller's transaction, its isolation holds
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        _lock_rollups("SHARE ROW EXCLUSIVE")
        cells = metrics_recomputed()
        MetricRollup.objects.all().delete()
        rows = []
        for key, values in sorted(cells.items()):
            row = _new_row(key)
            row.n, row.total_sum, row.total_sum_squares = values.n, values.total_sum, values.total_sum_squares
            row.below_cutoff, row.alerts = values.below_cutoff, dict(values.alerts)
            row.reliable_improvement = values.reliable_improvement
            row.reliable_deterioration = values.reliable_deterioration
            row.recovered = values.recovered
            rows.append(row)
        MetricRollup.objects.bulk_create(rows, batch_size=2000)
        _flag_counted()
    return len(rows)


def _flag_counted() -> None:
    """Flag every counted score as in the rollups; only the unflagged few are touched (a partial index)."""
    counted_scores().filter(in_rollups=False).update(in_rollups=True)


def _lock_rollups(mode: str) -> None:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(f"LOCK TABLE {ROLLUP_TABLE} IN {mode} MODE")
