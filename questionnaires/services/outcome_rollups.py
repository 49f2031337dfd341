"""Keeping the outcome and adherence rollups current: per episode, incrementally, and a full recompute.

A finished episode adds its counts (see `selectors.episode_outcomes.rollup_contribution`) to two cells
of the month it ended in: the clinic's and its primary clinician's. Whenever something an episode's
outcome rests on changes (a response scored, amended or retracted, a session's attendance, the
episode's ending or clinician), `outcomes_refresh` recomputes that episode alone, takes back what it
last added (kept in its `EpisodeOutcomeRecord`) and adds the new counts, in one transaction with
the episode row locked, so concurrent refreshes of one episode serialise and the cells always equal
`outcomes_recompute`'s from-scratch result.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from datetime import date
from uuid import UUID

from django.db import connection, transaction
from django.utils import timezone

from questionnaires.metric_cells import month_start
from questionnaires.models import EpisodeOfCare, EpisodeOutcomeRecord, OutcomeRollup, Response
from questionnaires.selectors.episode_outcomes import (
    episode_facts,
    episode_outcome,
    outcome_rules,
    rollup_contribution,
)
from questionnaires.services.publishing import OUTCOMES_REFRESH, publish

CellKey = tuple[int, str, int, str, date]
"""(clinic_id, scope, clinician_key, questionnaire_id, period_start)."""
FIGURES = (
    "episodes", "dropped_out", "planned_endings", "unplanned_endings", "sessions_attended",
    "sessions_did_not_attend", "sessions_cancelled_by_client", "sessions_cancelled_by_service",
    "case_at_first", "recovered", "reliably_recovered", "reliable_improvement", "reliable_deterioration",
)
CHUNK = 500


def outcomes_refresh_on_commit(*, episode_ids: Iterable[int] = (), response_ids: Iterable[UUID | str] = ()) -> None:
    """After the current transaction commits, publish a refresh of these episodes (or of the responses' episodes)."""
    episodes = sorted({int(episode_id) for episode_id in episode_ids})
    responses = sorted({str(response_id) for response_id in response_ids})
    if not episodes and not responses:
        return
    transaction.on_commit(
        lambda: publish(
            OUTCOMES_REFRESH,
            kwargs={"episode_ids": episodes, "response_ids": responses},
            what=f"outcome refresh of {len(episodes)} episodes and {len(responses)} responses",
        ),
        robust=True,
    )


def outcomes_refresh(*, episode_ids: Sequence[int] = (), response_ids: Sequence[UUID | str] = ()) -> int:
    """Bring these episodes' (and the responses' episodes') rollup contributions up to date; returns episodes seen."""
    ids = {int(episode_id) for episode_id in episode_ids}
    rules = outcome_rules()
    # Episodes reached only through scored responses need only those responses' instruments read again:
    # the other instruments' counts are taken over from the episode's record (see `_refresh_chunk`).
    touched: dict[int, set[str]] = defaultdict(set)
    if response_ids:
        for episode_id, questionnaire_id in (
            Response.objects.filter(pk__in=list(response_ids), session__isnull=False)
            .values_list("session__episode_id", "questionnaire_version__questionnaire_id").distinct()
        ):
            if episode_id not in ids:
                touched[episode_id].add(questionnaire_id)
    whole = sorted(ids)
    for start in range(0, len(whole), CHUNK):
        _refresh_chunk(whole[start:start + CHUNK], rules)
    partly = sorted(touched)
    for start in range(0, len(partly), CHUNK):
        chunk = partly[start:start + CHUNK]
        _refresh_chunk(chunk, rules, instruments=set().union(*(touched[episode_id] for episode_id in chunk)))
    return len(whole) + len(partly)


def _refresh_chunk(episode_ids: list[int], rules: dict, *, instruments: set[str] | None = None) -> None:
    """Recompute these episodes' contributions; with `instruments`, read only those instruments' scores.

    A partial read keeps the record's counts of the other instruments, which is exact while the
    episode's month and clinician are those of its record (their scores did not change); any
    episode whose record is missing or differs is read again in full.
    """
    with transaction.atomic():
        locked = list(
            EpisodeOfCare.objects.select_for_update().filter(pk__in=episode_ids).order_by("pk")
            .values_list("pk", flat=True)
        )
        read_rules = rules if instruments is None else {key: rule for key, rule in rules.items() if key in instruments}
        facts = episode_facts(locked, rules=read_rules)
        records = {record.episode_id: record for record in EpisodeOutcomeRecord.objects.filter(episode_id__in=locked)}
        fresh: dict[int, EpisodeOutcomeRecord] = {}
        again: list[int] = []
        for episode_id in locked:
            record = _record(facts[episode_id], read_rules)
            old = records.get(episode_id)
            if instruments is not None:
                if old is None or (old.period_start, old.clinician_key) != (record.period_start, record.clinician_key):
                    again.append(episode_id)
                    continue
                for key, figures in old.cells.items():
                    if key and key not in read_rules and key in rules:
                        record.cells[key] = figures
            fresh[episode_id] = record
        if again:
            full = episode_facts(again, rules=rules)
            for episode_id in again:
                fresh[episode_id] = _record(full[episode_id], rules)
        deltas: dict[CellKey, Counter] = defaultdict(Counter)
        for episode_id, record in fresh.items():
            old = records.get(episode_id)
            if old is not None and old.period_start is not None:
                _add(deltas, old.clinic_id, old.clinician_key, old.period_start, old.cells, sign=-1)
            if record.period_start is not None:
                _add(deltas, record.clinic_id, record.clinician_key, record.period_start, record.cells, sign=1)
        # Removed episodes (cascade) take their records with them; their cells are fixed by a recompute.
        _apply(deltas)
        EpisodeOutcomeRecord.objects.bulk_create(
            list(fresh.values()), update_conflicts=True, unique_fields=["episode"],
            update_fields=["clinic", "clinician_key", "period_start", "cells", "updated_at"],
        )


def _record(facts, rules: dict) -> EpisodeOutcomeRecord:
    cells = rollup_contribution(episode_outcome(facts, rules))
    period = month_start(facts.end_date) if cells and facts.end_date else None
    return EpisodeOutcomeRecord(
        episode_id=facts.episode_id, clinic_id=facts.clinic_id, clinician_key=facts.primary_clinician_id or 0,
        period_start=period, cells=cells if period else {}, updated_at=timezone.now(),
    )


def _add(
    deltas: dict[CellKey, Counter], clinic_id: int, clinician_key: int, period: date, cells: dict, *, sign: int
) -> None:
    scopes = [(OutcomeRollup.Scope.CLINIC, 0)]
    if clinician_key:
        scopes.append((OutcomeRollup.Scope.CLINICIAN, clinician_key))
    for questionnaire_id, figures in cells.items():
        for scope, key in scopes:
            counter = deltas[(clinic_id, str(scope), key, questionnaire_id, period)]
            for name, value in figures.items():
                counter[name] += sign * value


def _apply(deltas: dict[CellKey, Counter]) -> None:
    """Add the deltas to their cells with one upsert (`INSERT ... ON CONFLICT DO UPDATE`, PostgreSQL and SQLite)."""
    rows = [(key, counter) for key, counter in sorted(deltas.items()) if any(counter.values())]
    if not rows:
        return
    table = OutcomeRollup._meta.db_table
    columns = ["clinic_id", "scope", "clinician_key", "clinician_id", "questionnaire_id", "period_start",
               "updated_at", *FIGURES]
    now = connection.ops.adapt_datetimefield_value(timezone.now())
    placeholders, params = [], []
    for (clinic_id, scope, clinician_key, questionnaire_id, period), counter in rows:
        placeholders.append("(" + ", ".join(["%s"] * len(columns)) + ")")
        params.extend([
            clinic_id, scope, clinician_key, clinician_key or None, questionnaire_id,
            connection.ops.adapt_datefield_value(period), now, *(counter.get(name, 0) for name in FIGURES),
        ])
    updates = ", ".join(f"{name} = {table}.{name} + excluded.{name}" for name in FIGURES)
    sql = (
        f"INSERT INTO {table} ({', '.join(columns)}) VALUES {', '.join(placeholders)} "
        f"ON CONFLICT (clinic_id, scope, clinician_key, questionnaire_id, period_start) "
        f"DO UPDATE SET {updates}, updated_at = excluded.updated_at"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def outcomes_recomputed(*, clinic_ids: Iterable[int] | None = None) -> tuple[dict[CellKey, Counter], list]:
    """Every cell and record computed from scratch: three set-wise queries, then one pass per episode."""
    rules = outcome_rules()
    cells: dict[CellKey, Counter] = defaultdict(Counter)
    records = []
    for facts in episode_facts(None, rules=rules, clinic_ids=clinic_ids).values():
        record = _record(facts, rules)
        if record.period_start is not None:
            _add(cells, record.clinic_id, record.clinician_key, record.period_start, record.cells, sign=1)
        records.append(record)
    return cells, records


def outcomes_recompute() -> int:
    """Rebuild every outcome rollup and episode record from the rows; returns the number of cells written.

    Rows are computed before the transaction; inside it the tables are replaced at once (a concurrent
    refresh waits on the episode lock or runs after, and recomputes its own episodes again).
    """
    cells, records = outcomes_recomputed()
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute(
                    f"LOCK TABLE {OutcomeRollup._meta.db_table}, {EpisodeOutcomeRecord._meta.db_table} "
                    "IN SHARE ROW EXCLUSIVE MODE"
                )
        OutcomeRollup.objects.all().delete()
        EpisodeOutcomeRecord.objects.all().delete()
        EpisodeOutcomeRecord.objects.bulk_create(records, batch_size=2000)
        now = timezone.now()
        OutcomeRollup.objects.bulk_create(
            [
                OutcomeRollup(
                    clinic_id=clinic_id, scope=scope, clinician_key=clinician_key, clinician_id=clinician_key or None,
                    questionnaire_id=questionnaire_id, period_start=period, updated_at=now,
                    **{name: counter.get(name, 0) for name in FIGURES},
                )
                for (clinic_id, scope, clinician_key, questionnaire_id, period), counter in sorted(cells.items())
                if any(counter.values())
            ],
            batch_size=2000,
        )
    return len(cells)
