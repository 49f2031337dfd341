"""Scoring pending responses in batches, and enqueuing them for a worker after commit.

A batch claims its rows (`FOR UPDATE SKIP LOCKED`), so two workers handed the same ids
never score one response twice; scores, failures, alerts and webhook outbox rows land in
one transaction, and the follow-up work (rollups, deliveries) is published after commit.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import timedelta
from decimal import Decimal
from types import CodeType
from uuid import UUID

import orjson
from django.db import connection, transaction
from django.db.models import DateTimeField
from django.utils import timezone
from psycopg import adapters as psycopg_adapters
from psycopg.postgres import types as postgres_types
from psycopg.pq import Format as PqFormat

from questionnaires.contract import Questionnaire, Score, ScoringError
from questionnaires.models import QuestionnaireVersion, Response, ScoringFailure
from questionnaires.models import Score as ScoreRow
from questionnaires.registry import get_registry
from questionnaires.scoring import score_answers
from questionnaires.services.alert_rules import alerts_raise
from questionnaires.services.publishing import METRICS_ROLLUP, OUTCOMES_REFRESH, SCORE_BATCH, WEBHOOK_DELIVER, publish
from questionnaires.services.scored_responses import ScoredResponse
from questionnaires.services.webhooks import webhook_events_record
from questionnaires.sql_arrays import quoted_table, uuid_array, uuids_in

logger = logging.getLogger(__name__)

ENQUEUE_CHUNK = 500
"""Responses per scoring task: hundreds per task keep Celery's per-task overhead small."""

NOT_LOADED = "not-loaded"
"""The fingerprint recorded when a response failed because its plugin was not loaded at all."""


@dataclass
class ScoringOutcome:
    scored: list[UUID] = field(default_factory=list)
    failed: dict[UUID, str] = field(default_factory=dict)
    alerts: int = 0
    deliveries: list[int] = field(default_factory=list)


def scoring_enqueue(*, response_ids: Iterable[UUID | str], include_failed: bool = False) -> None:
    """Ask a worker to score these responses once the current transaction commits.

    Never raises for a broker outage: the response rows are already the source of
    truth, and the periodic sweep re-enqueues whatever stays pending. In eager mode
    the scoring runs in-process on commit (tests that assert on it need a real
    commit, i.e. `transactional_db`); `robust` keeps an error there from turning the
    caller's already committed submission into a 500 (it is logged, and the row stays
    pending for the sweep).
    """
    ids = [str(response_id) for response_id in response_ids]
    if ids:
        transaction.on_commit(lambda: _publish_chunks(ids, include_failed=include_failed), robust=True)


def _publish_chunks(ids: list[str], *, include_failed: bool = False) -> None:
    for start in range(0, len(ids), ENQUEUE_CHUNK):
        chunk = ids[start : start + ENQUEUE_CHUNK]
        kwargs = {"include_failed": True} if include_failed else {}
        if not publish(SCORE_BATCH, args=[chunk], kwargs=kwargs, what=f"{len(chunk)} responses to score"):
            return


COALESCE_WINDOW_SECONDS = 600
"""How recent a pending response must be for another task to score it alongside its own ids."""


def responses_score(
    *, response_ids: Sequence[UUID | str], include_failed: bool = False, coalesce: int = 0
) -> ScoringOutcome:
    """Score the listed responses that are still pending; safe to run twice, or on two workers at once.

    A plugin that raises, or returns a result outside its own declared range or
    bands, fails only its own responses, with the reason and plugin version.
    `coalesce` > 0 also claims up to that many other recently received pending rows: single
    submissions enqueue one task each, and under load a task that scores the queue's backlog
    in one transaction leaves the later tasks with nothing to do (they find no pending rows).
    """
    statuses = [Response.Status.PENDING] + ([Response.Status.FAILED] if include_failed else [])
    outcome = ScoringOutcome()
    with transaction.atomic():
        # Rows another worker holds are skipped, not waited for: that worker scores them.
        rows = responses_for_scoring(response_ids=response_ids, statuses=statuses, lock=True)
        if coalesce > len(rows):
            rows = _with_backlog(rows, response_ids, coalesce - len(rows))
        if not rows:
            return outcome
        scored: list[ScoredResponse] = []
        failures: list[ScoringFailure] = []
        for row, definition, label in _with_definitions(rows):
            if definition is None:
                outcome.failed[row.id] = f"{label}: plugin not loaded"
                failures.append(ScoringFailure(response=row, plugin_version="", plugin_fingerprint=NOT_LOADED))
                continue
            try:
                score = score_answers(definition, row.answers)
                problem = implausible_score(definition, score)
            except ScoringError as error:
                problem = f"not scoreable: {error}"
            except Exception as error:  # plugin boundary: a broken plugin fails its own responses only
                logger.exception("plugin %s raised while scoring response %s", label, row.id)
                problem = f"plugin raised {type(error).__name__}: {error}"
            if problem:
                outcome.failed[row.id] = f"{label}: {problem}"
                fingerprint = plugin_fingerprint(definition)
                failures.append(
                    ScoringFailure(response=row, plugin_version=definition.version, plugin_fingerprint=fingerprint)
                )
                continue
            scored.append(ScoredResponse(response=row, definition=definition, score=score))
            outcome.scored.append(row.id)
        # Only a response claimed as failed can have a failure record (nothing sets a failed one back to pending).
        retried = [item.response.id for item in scored if item.response.status == Response.Status.FAILED]
        _store(outcome, scored, failures, retried)
        raised = alerts_raise(scored=scored)
        scored = [_with_history_flags(item, raised.history_flags.get(item.response.id, ())) for item in scored]
        outcome.alerts = len(raised.alerts)
        outcome.deliveries = webhook_events_record(scored=scored, alerts=raised.alerts)
        scored_ids = [str(response_id) for response_id in outcome.scored]
        deliveries = list(outcome.deliveries)
        transaction.on_commit(lambda: _after_scoring(scored_ids, deliveries))
    return outcome


def responses_for_scoring(
    *, response_ids: Sequence[UUID | str], statuses: Sequence[str], lock: bool
) -> list[Response]:
    """The listed responses in these statuses, oldest authored first; with `lock`, claimed FOR UPDATE SKIP LOCKED.

    On PostgreSQL one hand-written query with the ids as a single array parameter: the ORM
    spent more on 500 bound ids and three model instances per row than the scoring itself.
    The instances carry their questionnaire version (without its stored definition).
    """
    if connection.vendor != "postgresql":
        query = Response.objects.filter(id__in=list(response_ids), status__in=statuses)
        if lock:
            query = query.select_for_update(skip_locked=True, of=("self",))
        # The stored definition is kilobytes of JSON: decoding it once per row cost more than scoring.
        return list(
            query.select_related("questionnaire_version").defer("questionnaire_version__definition")
            .order_by("authored_at", "id")
        )
    # `|| ''` keeps the status index out of it: with statistics that lag behind a fresh backlog the
    # planner would otherwise read every pending entry of that index to find these few hundred ids.
    where = "r.id = ANY(%s::uuid[]) AND r.status || '' = ANY(%s::varchar[]) ORDER BY r.authored_at, r.id"
    return _fetch_responses(where, [uuid_array(response_ids), [str(status) for status in statuses]], lock=lock)


def _with_backlog(rows: list[Response], response_ids: Sequence[UUID | str], limit: int) -> list[Response]:
    """Claim (SKIP LOCKED) up to `limit` more recent pending rows, oldest first; the batch stays in authored order."""
    since = timezone.now() - timedelta(seconds=COALESCE_WINDOW_SECONDS)
    if connection.vendor != "postgresql":
        extra = list(
            Response.objects.select_for_update(skip_locked=True, of=("self",))
            .filter(status=Response.Status.PENDING, received_at__gte=since)
            .exclude(id__in=list(response_ids))  # the listed ids were claimed above, or are locked by another task
            .select_related("questionnaire_version")
            .defer("questionnaire_version__definition")
            .order_by("received_at")[:limit]
        )
    else:
        # The listed ids were claimed above, or are locked by another task.
        where = "r.status = %s AND r.received_at >= %s AND NOT (r.id = ANY(%s::uuid[])) ORDER BY r.received_at LIMIT %s"
        extra = _fetch_responses(where, [Response.Status.PENDING, since, uuid_array(response_ids), limit], lock=True)
    return sorted([*rows, *extra], key=lambda row: (row.authored_at, str(row.id)))


_RESPONSE_FIELDS = list(Response._meta.concrete_fields)


_TIMESTAMPTZ_LOADER = psycopg_adapters.get_loader(postgres_types["timestamptz"].oid, PqFormat.TEXT)


def _fetch_responses(where: str, params: list, *, lock: bool) -> list[Response]:
    """Response instances (every column loaded) for a WHERE ... ORDER BY ... clause over `r`, PostgreSQL only."""
    columns = ", ".join(f"r.{field.column}" for field in _RESPONSE_FIELDS)
    sql = f"SELECT {columns} FROM {quoted_table(Response)} r WHERE {where}"
    if lock:
        sql += " FOR UPDATE OF r SKIP LOCKED"
    with connection.cursor() as cursor:
        # The driver's compiled timestamp parser, then the time zone Django's own (pure-Python) loader sets.
        cursor.cursor.adapters.register_loader("timestamptz", _TIMESTAMPTZ_LOADER)
        cursor.execute(sql, params)
        records = cursor.fetchall()
    names = [field.attname for field in _RESPONSE_FIELDS]
    answers_at = names.index("answers")
    datetimes_at = [index for index, field in enumerate(_RESPONSE_FIELDS) if isinstance(field, DateTimeField)]
    zone = connection.timezone
    rows = []
    for record in records:
        values = list(record)
        values[answers_at] = _json_loads(values[answers_at])
        for index in datetimes_at:
            if values[index] is not None:
                values[index] = values[index].replace(tzinfo=zone)
        rows.append(Response.from_db(connection.alias, names, values))
    versions = QuestionnaireVersion.objects.defer("definition").in_bulk({row.questionnaire_version_id for row in rows})
    cache = Response.questionnaire_version.field.set_cached_value
    for row in rows:
        cache(row, versions[row.questionnaire_version_id])
    return rows


def _json_loads(value):
    if not isinstance(value, str | bytes):
        return value  # already decoded by the driver
    try:
        return orjson.loads(value)
    except orjson.JSONDecodeError:  # e.g. an integer beyond 64 bits, which json reads exactly
        return json.loads(value)


def _with_definitions(rows: list[Response]) -> Iterable[tuple[Response, Questionnaire | None, str]]:
    """Each row with its plugin definition (None when not loaded) and "<id> <version>", looked up once per version."""
    registry = get_registry()
    found: dict[int, tuple[Questionnaire | None, str]] = {}
    for row in rows:
        entry = found.get(row.questionnaire_version_id)
        if entry is None:
            version = row.questionnaire_version
            entry = found[row.questionnaire_version_id] = (
                registry.get(version.questionnaire_id, version.version),
                f"{version.questionnaire_id} {version.version}",
            )
        yield row, entry[0], entry[1]


def _with_history_flags(item: ScoredResponse, extra: tuple[str, ...]) -> ScoredResponse:
    if not extra:
        return item
    flags = tuple(dict.fromkeys((*item.score.flags, *extra)))
    return replace(item, score=replace(item.score, flags=flags))


def _after_scoring(scored_ids: list[str], delivery_ids: list[int]) -> None:
    """Hand the follow-up work to the aggregation and webhook queues; the sweep covers a lost publish."""
    if scored_ids:
        publish(METRICS_ROLLUP, args=[scored_ids], what=f"rollup of {len(scored_ids)} responses")
        publish(OUTCOMES_REFRESH, kwargs={"response_ids": scored_ids}, what=f"outcomes of {len(scored_ids)} responses")
    for delivery_id in delivery_ids:
        if not publish(WEBHOOK_DELIVER, args=[delivery_id], what=f"webhook delivery {delivery_id}"):
            break


def implausible_score(definition: Questionnaire, score: Score) -> str | None:
    """Why a plugin's result cannot be stored, or None."""
    scoring = definition.scoring
    if not isinstance(score.total, Decimal | int) or not scoring.total_min <= score.total <= scoring.total_max:
        return f"total {score.total} outside {scoring.total_min}..{scoring.total_max}"
    band_names = {band.name for band in definition.bands}
    if score.band is not None and score.band not in band_names:
        return f"unknown band {score.band!r}"
    return None


def plugin_fingerprint(definition: Questionnaire) -> str:
    """What identifies the code a response was scored with: content hash plus the score() body.

    The sweep re-scores a failed response only when this differs from the one it failed with,
    so a fixed plugin (usually a new version) is retried and a still-broken one is not.
    """
    from questionnaires.definitions import content_hash

    digest = hashlib.sha256(content_hash(definition).encode())
    code = getattr(definition.score, "__code__", None)
    if code is not None:
        _digest_code(digest, code)
    return digest.hexdigest()


def _digest_code(digest, code: CodeType) -> None:
    """Hash a code object's bytecode and constants, recursing into nested code (whose repr holds an address)."""
    digest.update(code.co_code)
    for constant in code.co_consts:
        if isinstance(constant, CodeType):
            _digest_code(digest, constant)
        else:
            digest.update(repr(constant).encode())


def score_row(response: Response, definition: Questionnaire, score: Score) -> ScoreRow:
    return ScoreRow(
        response=response,
        plugin_version=definition.version,
        total=score.total,
        subscales={name: _number(value) for name, value in score.subscales.items()},
        extras={name: _number(value) for name, value in score.extras.items()},
        band=score.band,
        flags=list(score.flags),
    )


def _number(value: Decimal) -> int | float:
    return int(value) if value == value.to_integral_value() else float(value)


def scores_write(scored: Sequence[ScoredResponse]) -> None:
    """Insert the score rows; the unique (response, plugin_version) constraint makes a redelivered batch a no-op.

    On PostgreSQL the rows travel as one JSON document expanded by `jsonb_to_recordset`: the same
    columns and values `bulk_create` writes (the total as its exact decimal text), without adapting
    thousands of parameters in Python.
    """
    if not scored:
        return
    if connection.vendor != "postgresql":
        rows = [score_row(item.response, item.definition, item.score) for item in scored]
        ScoreRow.objects.bulk_create(rows, ignore_conflicts=True)
        return
    document = orjson.dumps([
        {
            "r": str(item.response.id),
            "v": item.definition.version,
            "t": str(item.score.total),
            "s": {name: _number(value) for name, value in item.score.subscales.items()},
            "e": {name: _number(value) for name, value in item.score.extras.items()},
            "b": item.score.band,
            "f": list(item.score.flags),
        }
        for item in scored
    ]).decode()
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {quoted_table(ScoreRow)} "
            "(response_id, plugin_version, total, subscales, extras, band, flags, computed_at) "
            "SELECT x.r, x.v, x.t, x.s, x.e, x.b, x.f, %s FROM jsonb_to_recordset(%s::jsonb) "
            "AS x(r uuid, v varchar, t numeric, s jsonb, e jsonb, b varchar, f jsonb) ON CONFLICT DO NOTHING",
            [timezone.now(), document],
        )


def responses_mark_scored(response_ids: Sequence[UUID]) -> None:
    """Status `scored`, clearing any earlier failure reason."""
    if not response_ids:
        return
    if connection.vendor != "postgresql":
        Response.objects.filter(id__in=response_ids).update(status=Response.Status.SCORED, failure_reason="")
        return
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {quoted_table(Response)} SET status = %s, failure_reason = '' WHERE id = ANY(%s::uuid[])",
            [Response.Status.SCORED.value, uuid_array(response_ids)],
        )


def _store(
    outcome: ScoringOutcome, scored: list[ScoredResponse], failures: list[ScoringFailure], retried: list[UUID]
) -> None:
    scores_write(scored)
    responses_mark_scored(outcome.scored)
    if retried:
        ScoringFailure.objects.filter(response_id__in=uuids_in(retried)).delete()
    for response_id, reason in outcome.failed.items():
        Response.objects.filter(id=response_id).update(status=Response.Status.FAILED, failure_reason=reason[:2000])
    if failures:
        ScoringFailure.objects.bulk_create(
            failures,
            update_conflicts=True,
            unique_fields=["response"],
            update_fields=["plugin_version", "plugin_fingerprint", "failed_at"],
        )
