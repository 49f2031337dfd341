"""A batch of up to 1,000 submissions: each entry validated on its own, the good ones stored in one bulk insert.

Clients, clinicians, sessions and known ids are looked up once for the whole batch. On PostgreSQL
the rows go in with one COPY, beside its ORM twin (`bulk_create`, SQLite).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from questionnaires.models import Response
from questionnaires.principals import Principal
from questionnaires.services.errors import Conflict, InvalidInput
from questionnaires.services.responses.attribution import default_client, lookups_for
from questionnaires.services.responses.building import build_response
from questionnaires.services.responses.idempotency import Known, fingerprint, id_verdict, known_ids
from questionnaires.services.responses.reading import Submission, every_problem, submission_read
from questionnaires.services.scoring import scoring_enqueue
from questionnaires.validation import Problem

BATCH_MAX_ENTRIES = 1000


@dataclass
class BatchResult:
    results: list[dict] = field(default_factory=list)
    created: list[uuid.UUID] = field(default_factory=list)
    replayed: list[uuid.UUID] = field(default_factory=list)


def responses_submit_batch(*, principal: Principal, entries: Sequence[Any]) -> BatchResult:
    """Validate each entry on its own and store the good ones in one transaction with one bulk insert.

    Results come back in input order as {"index", "status", "id"?, "errors"?, "replayed"?}.
    An entry may carry a client-generated UUID `id`: a known id with the same content is
    replayed (201), with other content 422; an id used in another clinic is a 409 without data.
    """
    if len(entries) > BATCH_MAX_ENTRIES:
        raise InvalidInput(
            f"At most {BATCH_MAX_ENTRIES} responses per batch.",
            [Problem("responses", f"at most {BATCH_MAX_ENTRIES} entries, got {len(entries)}", "too_many")],
        )
    now = timezone.now()
    results: list[dict | None] = [None] * len(entries)
    pending: list[tuple[int, Submission, str, list[Problem]]] = []
    for index, entry in enumerate(entries):
        submission, problems = submission_read(entry, allow_id=True, now=now)
        if submission is None:
            results[index] = _rejected(index, 400, problems)
        else:
            pending.append((index, submission, fingerprint(entry), problems))

    outcome = BatchResult()
    with transaction.atomic():
        lookups = lookups_for(principal, [submission for _, submission, _, _ in pending], single=False)
        known = known_ids(principal, [submission.id for _, submission, _, problems in pending
                                      if submission.id and not problems])
        new_rows: dict[uuid.UUID, tuple[int, Response]] = {}
        seen_in_batch: dict[uuid.UUID, str] = {}
        for index, submission, entry_fingerprint, envelope_problems in pending:
            if submission.id is not None and not envelope_problems:
                verdict = id_verdict(submission.id, entry_fingerprint, known, seen_in_batch)
                if verdict is not None:
                    results[index] = _verdict_result(index, submission.id, verdict)
                    if verdict == "replay":
                        outcome.replayed.append(submission.id)
                    continue
            default_client(principal, submission, lookups)
            response, build_problems = build_response(principal, submission, lookups, source=Response.Source.BATCH)
            problems = every_problem(envelope_problems, build_problems)
            if problems:
                results[index] = _rejected(index, 400, problems)
                continue
            response.request_fingerprint = entry_fingerprint
            seen_in_batch[response.id] = entry_fingerprint
            new_rows[response.id] = (index, response)
        _insert(principal, new_rows, results, outcome, known)
        if outcome.created:
            scoring_enqueue(response_ids=outcome.created)
    outcome.results = results  # type: ignore[assignment]
    return outcome


def _rejected(index: int, status: int, problems: Sequence[Problem]) -> dict:
    return {
        "index": index,
        "status": status,
        "errors": [{"field": p.field, "message": p.message, "code": p.code} for p in problems],
    }


def _verdict_result(index: int, response_id: uuid.UUID, verdict: str) -> dict:
    if verdict == "replay":
        return {"index": index, "status": 201, "id": response_id, "replayed": True}
    if verdict == "mismatch":
        return _rejected(index, 422, [Problem("id", "already used with different content", "idempotency_mismatch")])
    return _rejected(index, 409, [Problem("id", "already used", "conflict")])


def _insert(
    principal: Principal,
    new_rows: dict[uuid.UUID, tuple[int, Response]],
    results: list[dict | None],
    outcome: BatchResult,
    known: dict[uuid.UUID, Known],
) -> None:
    """Bulk insert; if a concurrent call stored some of the same ids first, sort those out and insert the rest."""
    for _attempt in range(2):
        if not new_rows:
            return
        try:
            with transaction.atomic():
                # Inserting in id order makes two batches that share ids wait for each other instead of deadlocking.
                _bulk_insert([new_rows[response_id][1] for response_id in sorted(new_rows)])
        except IntegrityError:
            raced = known_ids(principal, list(new_rows))
            if not raced:
                raise
            for response_id in raced:
                index, response = new_rows.pop(response_id)
                verdict = id_verdict(response_id, response.request_fingerprint, raced, {})
                results[index] = _verdict_result(index, response_id, verdict or "conflict")
                if verdict == "replay":
                    outcome.replayed.append(response_id)
            known.update(raced)
            continue
        for response_id, (index, _response) in new_rows.items():
            results[index] = {"index": index, "status": 201, "id": response_id}
            outcome.created.append(response_id)
        return
    raise Conflict("Concurrent batches keep colliding on the same ids; retry.")


_COPY_COLUMNS = (
    "id", "clinic_id", "client_id", "clinician_id", "questionnaire_version_id", "session_id", "session_number", "rater",
    "authored_at", "received_at", "answers", "comment", "source", "submitted_by", "status", "failure_reason",
    "idempotency_key", "idempotency_scope", "request_fingerprint",
)


def _bulk_insert(rows: list[Response]) -> None:
    """One COPY on PostgreSQL: Django's bulk_create spends most of a 1,000-row batch adapting parameter arrays.

    Batch rows never carry an Idempotency-Key, and signals do not fire for bulk_create either, so
    COPY writes exactly what bulk_create would. A duplicate id surfaces as Django's IntegrityError.
    """
    if connection.vendor != "postgresql":
        Response.objects.bulk_create(rows)
        return
    now = timezone.now()
    with connection.cursor() as cursor, connection.wrap_database_errors:
        with cursor.cursor.copy(f"COPY {Response._meta.db_table} ({', '.join(_COPY_COLUMNS)}) FROM STDIN") as copy:
            for row in rows:
                row.received_at = now
                copy.write_row((
                    row.id, row.clinic_id, row.client_id, row.clinician_id, row.questionnaire_version_id,
                    row.session_id, row.session_number, row.rater, row.authored_at, now,
                    orjson.dumps(row.answers).decode(), row.comment, row.source, row.submitted_by, row.status,
                    row.failure_reason, row.idempotency_key, row.idempotency_scope, row.request_fingerprint,
                ))
