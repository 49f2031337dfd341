"""Storing submitted responses, one at a time or in batches, idempotently, with scoring enqueued on commit.

Every problem with a submission is collected before anything is written; a rejected
response writes nothing. Batches look up clients, clinicians and existing ids in bulk and
insert all new rows at once, so a 1,000-entry call costs a handful of queries.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import orjson
from django.contrib.auth import get_user_model
from django.db import IntegrityError, connection, transaction
from django.db.models import Model
from django.utils import timezone

from questionnaires.contract import Questionnaire
from questionnaires.dynamic_items import validate_answers_for_client
from questionnaires.models import AuditEvent, Response, TherapyClient
from questionnaires.principals import Principal
from questionnaires.registry import DefinitionChanged, get_registry
from questionnaires.selectors.clients import clients_visible_to
from questionnaires.selectors.responses import responses_visible_to
from questionnaires.services.audit import audit_event_build
from questionnaires.services.errors import Conflict, IdempotencyMismatch, InvalidInput
from questionnaires.services.score_publisher import scoring_enqueue_soon
from questionnaires.services.scoring import scoring_enqueue
from questionnaires.sql_arrays import quoted_table
from questionnaires.validation import Problem

BATCH_MAX_ENTRIES = 1000
COMMENT_MAX_LENGTH = 2000
IDEMPOTENCY_KEY_MAX_LENGTH = 200
CLOCK_SKEW = timedelta(minutes=5)
"""How far in the future `authored` may be: device clocks drift."""
SESSION_MAX = 2_147_483_647
EARLIEST_YEAR = 1900

FIELDS = frozenset(
    {"questionnaire", "version", "client", "clinician", "session", "rater", "authored", "answers", "comment"}
)
SERVER_FIELDS = frozenset(
    {
        "id", "clinic", "status", "score", "scores", "received", "received_at", "submitted_by", "source",
        "failure_reason", "idempotency_key", "idempotency_scope", "request_fingerprint", "questionnaire_version",
    }
)
RATERS = frozenset(choice.value for choice in Response.Rater)


@dataclass
class Submission:
    """A submission whose envelope is well formed; names not yet resolved against the database."""

    questionnaire: str
    version: str | None
    client: str | None
    clinician: str | None
    session: int | None
    rater: str
    authored: datetime
    answers: Any
    comment: str
    id: uuid.UUID | None = None


@dataclass
class SubmitResult:
    response: Response
    created: bool


@dataclass
class BatchResult:
    results: list[dict] = field(default_factory=list)
    created: list[uuid.UUID] = field(default_factory=list)
    replayed: list[uuid.UUID] = field(default_factory=list)


def fingerprint(payload: Any) -> str:
    """sha256 of the canonical JSON of a body: sorted keys, no spaces, decimals kept distinct from strings."""
    try:
        canonical = orjson.dumps(payload, default=_canonical_default, option=orjson.OPT_SORT_KEYS)
    except (orjson.JSONEncodeError, TypeError):  # integers beyond 64 bits
        canonical = json.dumps(payload, default=_canonical_default, sort_keys=True, separators=(",", ":")).encode()
    return hashlib.sha256(canonical).hexdigest()


def _canonical_default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return {"$decimal": str(value)}
    return str(value)


# --- the envelope: cheap hand-written checks, shared by single and batch submission ---------------------


def submission_read(
    payload: Any, *, allow_id: bool = False, now: datetime | None = None
) -> tuple[Submission | None, list[Problem]]:
    """The submission, or every problem with its top-level fields (answers are checked later, per definition)."""
    if not isinstance(payload, Mapping):
        return None, [Problem("body", "must be a JSON object", "invalid_type")]
    problems: list[Problem] = []
    for key in payload:
        if key in FIELDS or (allow_id and key == "id"):
            continue
        if key in SERVER_FIELDS:
            problems.append(Problem(str(key), "is set by the server and cannot be sent", "read_only"))
        else:
            problems.append(Problem(str(key), "unknown field", "unknown_field"))

    questionnaire = _text(payload, "questionnaire", problems, required=True, max_length=64)
    version = _text(payload, "version", problems, max_length=32)
    client = _text(payload, "client", problems, max_length=128)
    clinician = _text(payload, "clinician", problems, max_length=150)
    comment = _text(payload, "comment", problems, max_length=COMMENT_MAX_LENGTH, allow_empty=True)

    session = payload.get("session")
    if session is not None and (isinstance(session, bool) or not isinstance(session, int)):
        problems.append(Problem("session", "must be a whole number", "invalid_type"))
        session = None
    elif session is not None and not 1 <= session <= SESSION_MAX:
        problems.append(Problem("session", f"must be between 1 and {SESSION_MAX}", "out_of_range"))
        session = None

    rater = payload.get("rater")
    if rater is None:
        rater = Response.Rater.CLIENT.value
    elif rater not in RATERS:
        problems.append(Problem("rater", f"must be one of {', '.join(sorted(RATERS))}", "invalid_choice"))

    authored = _authored(payload.get("authored"), problems, now or timezone.now())

    if "answers" not in payload:
        problems.append(Problem("answers", "required", "required"))

    response_id = None
    if allow_id and payload.get("id") is not None:
        try:
            response_id = uuid.UUID(payload["id"]) if isinstance(payload["id"], str) else None
        except ValueError:
            response_id = None
        if response_id is None:
            problems.append(Problem("id", "must be a UUID", "invalid"))

    if questionnaire is None:
        return None, problems
    # With envelope problems the submission is still returned, so the questionnaire, client and
    # answers can be checked too: a rejection then lists every problem at once.
    return (
        Submission(
            questionnaire=questionnaire,  # type: ignore[arg-type]
            version=version,
            client=client,
            clinician=clinician,
            session=session,
            rater=rater,
            authored=authored,  # type: ignore[arg-type]
            answers=payload.get("answers"),
            comment=comment or "",
            id=response_id,
        ),
        problems,
    )


def _text(
    payload: Mapping, name: str, problems: list[Problem], *, required: bool = False, max_length: int,
    allow_empty: bool = False,
) -> str | None:
    value = payload.get(name)
    if value is None:
        if required:
            problems.append(Problem(name, "required", "required"))
        return None
    if not isinstance(value, str):
        problems.append(Problem(name, "must be a string", "invalid_type"))
    elif not value and not allow_empty:
        problems.append(Problem(name, "must not be empty", "required"))
    elif len(value) > max_length:
        problems.append(Problem(name, f"must be at most {max_length} characters", "too_long"))
    elif "\x00" in value:
        problems.append(Problem(name, "must not contain NUL characters", "invalid_characters"))
    else:
        return value
    return None


def _authored(value: Any, problems: list[Problem], now: datetime) -> datetime | None:
    if value is None:
        problems.append(Problem("authored", "required", "required"))
        return None
    if not isinstance(value, str) or len(value) > 64:
        problems.append(Problem("authored", "must be an ISO 8601 date-time string", "invalid_type"))
        return None
    try:
        authored = datetime.fromisoformat(value)
    except ValueError:
        problems.append(Problem("authored", "not a valid ISO 8601 date-time", "invalid_datetime"))
        return None
    if authored.tzinfo is None or authored.utcoffset() is None:
        problems.append(Problem("authored", "must include a timezone (e.g. Z or +01:00)", "missing_timezone"))
        return None
    if not EARLIEST_YEAR <= authored.year <= now.year + 1:
        problems.append(Problem("authored", f"must be after {EARLIEST_YEAR} and not in the future", "out_of_range"))
        return None
    if authored > now + CLOCK_SKEW:
        problems.append(Problem("authored", "is in the future", "in_future"))
        return None
    # Stored in UTC: PostgreSQL refuses offsets beyond ±15:59, which Python accepts.
    return authored.astimezone(UTC)


def idempotency_key_problem(key: str) -> Problem | None:
    if len(key) > IDEMPOTENCY_KEY_MAX_LENGTH or not key.isprintable():
        return Problem(
            "Idempotency-Key", f"must be 1 to {IDEMPOTENCY_KEY_MAX_LENGTH} printable characters", "invalid"
        )
    return None


# --- resolving names and answers -----------------------------------------------------------------------


@dataclass
class _Lookups:
    """What a batch (or a single submission) needs from the database, fetched once."""

    clients: dict[str, TherapyClient]
    clinicians: dict[str, Any]


def _lookups(principal: Principal, submissions: Sequence[Submission], *, with_clients: bool = True) -> _Lookups:
    external_ids = {s.client for s in submissions if s.client is not None} if with_clients else set()
    usernames = {s.clinician for s in submissions if s.clinician is not None}
    clients = (
        {c.external_id: c for c in clients_visible_to(principal).filter(external_id__in=external_ids)}
        if external_ids
        else {}
    )
    clinicians = (
        {
            user.username: user
            for user in get_user_model().objects.filter(
                username__in=usernames, membership__clinic_id=principal.clinic_id, is_active=True
            )
        }
        if usernames
        else {}
    )
    return _Lookups(clients=clients, clinicians=clinicians)


def _default_client(principal: Principal, submission: Submission, lookups: _Lookups) -> None:
    """A client token may leave `client` out: it can only mean its own client."""
    if submission.client is None and principal.kind == "client_token":
        submission.client = principal.therapy_client.external_id
        lookups.clients.setdefault(submission.client, principal.therapy_client)


def _build(
    principal: Principal, submission: Submission, lookups: _Lookups, *, source: str
) -> tuple[Response | None, list[Problem]]:
    """An unsaved Response, or every problem with the submission's names and answers."""
    problems: list[Problem] = []
    registry = get_registry()
    definition: Questionnaire | None = registry.get(submission.questionnaire, submission.version)
    if definition is None:
        if submission.version is not None and registry.get(submission.questionnaire) is not None:
            problems.append(
                Problem("version", f"questionnaire {submission.questionnaire!r} has no version {submission.version!r}",
                        "unknown_version")
            )
        else:
            problems.append(Problem("questionnaire", f"unknown questionnaire {submission.questionnaire!r}", "unknown"))

    client = None
    if submission.client is None:
        problems.append(Problem("client", "required", "required"))
    else:
        client = lookups.clients.get(submission.client)
        if client is None:
            problems.append(Problem("client", "unknown client", "unknown"))

    clinician = None
    if submission.clinician is not None:
        clinician = lookups.clinicians.get(submission.clinician)
        if clinician is None:
            problems.append(Problem("clinician", "no such clinician in this clinic", "unknown"))
    elif principal.is_staff_member:
        clinician = principal.user

    answers: dict = {}
    if definition is not None:
        converted, answer_problems = validate_answers_for_client(definition, client, submission.answers)
        problems.extend(answer_problems)
        answers = {link_id: _storable(value) for link_id, value in converted.items()}
    elif not isinstance(submission.answers, Mapping):
        problems.append(Problem("answers", "must be an object mapping item linkIds to values", "invalid_type"))

    version_row = None
    if definition is not None:
        try:
            version_row = registry.version_row(definition)
        except DefinitionChanged as error:
            problems.append(Problem("questionnaire", f"this version is unavailable: {error}", "unavailable"))
    if problems:
        return None, problems
    assert client is not None
    return (
        Response(
            id=submission.id or uuid.uuid4(),
            clinic_id=principal.clinic_id,
            client=client,
            clinician=clinician,
            questionnaire_version=version_row,
            session_number=submission.session,
            rater=submission.rater,
            authored_at=submission.authored,
            answers=answers,
            comment=submission.comment,
            source=source,
            submitted_by=principal.label[:100],
            idempotency_scope=principal.idempotency_scope,
        ),
        [],
    )


def _storable(value: Any) -> Any:
    """Answers are stored as JSON numbers; the scoring engine reads floats through `str`, so 9.2 stays 9.2."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() and value.as_tuple().exponent == 0 else float(value)
    return value


# --- single submission ---------------------------------------------------------------------------------


def response_submit(
    *,
    principal: Principal,
    payload: Any,
    idempotency_key: str | None = None,
    source: str = Response.Source.API,
    audited: bool = False,
) -> SubmitResult:
    """Store one response and enqueue its scoring on commit; a known Idempotency-Key replays the first result.

    With `audited`, the create (or the replay) is written to the audit log atomically with the row:
    one commit per submission, and no stored response without its event.
    Raises InvalidInput (every problem), IdempotencyMismatch (same key, other body) or
    Conflict (the key belongs to a response this caller may not see).
    """
    if idempotency_key:
        return _submit_keyed(principal, payload, idempotency_key, source=source, audited=audited)
    submission, problems = _read(payload)
    client_query = _client_query_for_insert(principal, submission, problems)
    response = _validated(principal, submission, problems, source=source, client_in_insert=client_query is not None)
    event = _creation_event(principal, response, created=True) if audited else None
    if not _insert_with_event(response, event, client_query=client_query):
        raise InvalidInput("The response is not valid; see errors.", [Problem("client", "unknown client", "unknown")])
    scoring_enqueue_soon(response_ids=[response.id])
    return SubmitResult(response=response, created=True)


def response_build(*, principal: Principal, payload: Any, source: str) -> Response:
    """The unsaved response a submission describes, checked as a submission is; InvalidInput names every problem.

    For a caller that stores it another way (an amendment copies its answers onto a stored response).
    """
    submission, problems = _read(payload)
    return _validated(principal, submission, problems, source=source)


def _read(payload: Any) -> tuple[Submission, list[Problem]]:
    submission, problems = submission_read(payload)
    if submission is None:
        raise InvalidInput("The response is not valid; see errors.", problems)
    return submission, problems


def _validated(
    principal: Principal,
    submission: Submission,
    problems: list[Problem],
    *,
    source: str,
    client_in_insert: bool = False,
) -> Response:
    """The unsaved response, or InvalidInput naming every problem with the envelope, the names and the answers.

    `client_in_insert`: the client is not looked up here but by the insert itself (see
    `_client_query_for_insert`); the response carries an unsaved stand-in until then. If
    anything else is wrong, the client is looked up after all, so the rejection names it too.
    """
    lookups = _lookups(principal, [submission], with_clients=not client_in_insert)
    if client_in_insert:
        assert submission.client is not None
        lookups.clients[submission.client] = TherapyClient(clinic_id=principal.clinic_id, external_id=submission.client)
    _default_client(principal, submission, lookups)
    response, build_problems = _build(principal, submission, lookups, source=source)
    if build_problems and client_in_insert:
        return _validated(principal, submission, problems, source=source)
    problems = every_problem(problems, build_problems)
    if problems:
        raise InvalidInput("The response is not valid; see errors.", problems)
    assert response is not None
    return response


def _client_query_for_insert(
    principal: Principal, submission: Submission, problems: list[Problem]
) -> tuple[str, Sequence] | None:
    """SQL selecting the named client's id if this caller may submit for it, for the insert to use; else None.

    Resolving the client inside the insert saves a query and a round trip per submission. It is
    used only when the envelope is sound and the answers do not depend on the client (items made
    of the client's goals); if the answers turn out wrong, `_validated` looks the client up after
    all, since a rejection lists every problem. An API key or a supervisor sees the whole clinic
    (`clients_visible_to`), so its query is written out; other callers use that selector's SQL.
    """
    if connection.vendor != "postgresql" or problems or submission.client is None:
        return None
    definition = get_registry().get(submission.questionnaire, submission.version)
    if definition is None or definition.dynamic_items is not None:
        return None
    if principal.sees_whole_clinic:
        table = quoted_table(TherapyClient)
        return f"SELECT id FROM {table} WHERE clinic_id = %s AND external_id = %s", (
            principal.clinic_id, submission.client,
        )
    visible = clients_visible_to(principal).filter(external_id=submission.client).values("id")[:1]
    return visible.query.get_compiler(connection=connection).as_sql()


def _creation_event(principal: Principal, response: Response, *, created: bool) -> AuditEvent:
    return audit_event_build(
        actor=principal.label,
        action="create",
        object_type="response",
        object_ids=[str(response.id)],
        outcome="ok" if created else "replayed",
        clinic_id=principal.clinic_id,
    )


def _submit_keyed(
    principal: Principal, payload: Any, idempotency_key: str, *, source: str, audited: bool
) -> SubmitResult:
    """With an Idempotency-Key: find a first use, or insert under a savepoint that tells a concurrent twin apart."""
    body_fingerprint = fingerprint(payload)
    with transaction.atomic():
        result = _submit_keyed_in_transaction(principal, payload, idempotency_key, body_fingerprint, source)
        if audited:
            _creation_event(principal, result.response, created=result.created).save()
    return result


def _submit_keyed_in_transaction(
    principal: Principal, payload: Any, idempotency_key: str, body_fingerprint: str, source: str
) -> SubmitResult:
    existing = _keyed_response(principal, idempotency_key)
    if existing is not None:
        return _replay(principal, existing, body_fingerprint)
    submission, problems = _read(payload)
    response = _validated(principal, submission, problems, source=source)
    response.idempotency_key = idempotency_key
    response.request_fingerprint = body_fingerprint
    try:
        with transaction.atomic():
            response.save(force_insert=True)
    except IntegrityError:
        # Another request with the same key committed first: answer as its replay.
        existing = _keyed_response(principal, idempotency_key)
        if existing is None:
            raise Conflict("A request with this Idempotency-Key is in progress; retry.") from None
        return _replay(principal, existing, body_fingerprint)
    scoring_enqueue_soon(response_ids=[response.id])
    return SubmitResult(response=response, created=True)


def _insert_with_event(
    response: Response, event: AuditEvent | None, *, client_query: tuple[str, Sequence] | None = None
) -> bool:
    """Insert the response and its audit event as one statement; False if `client_query` found no client.

    On PostgreSQL a data-modifying WITH makes both inserts one atomic statement: one round trip
    and, in autocommit, one commit, with no BEGIN/COMMIT round trips (inside a caller's
    transaction it simply joins it). The client id comes from `client_query` when given, else
    from the response. Elsewhere (SQLite) the two ORM inserts share a transaction. No save
    signals fire either way, as for `bulk_create`; neither model has receivers.
    """
    if connection.vendor != "postgresql":
        assert client_query is None, "the client is resolved by the insert only on PostgreSQL"
        with transaction.atomic():
            response.save(force_insert=True)
            if event is not None:
                event.save()
        return True
    client_sql, client_params = client_query or ("SELECT %s AS id", [response.client_id])
    quote = connection.ops.quote_name
    client_column = Response._meta.get_field("client").column
    response_columns, response_values = _insert_columns(response)
    select_list = ", ".join("visible.id" if column == client_column else "%s" for column in response_columns)
    sql = (
        f"WITH visible AS ({client_sql}), "
        f"stored AS (INSERT INTO {quoted_table(Response)} ({', '.join(map(quote, response_columns))}) "
        f"SELECT {select_list} FROM visible RETURNING {quote(client_column)})"
    )
    params = [
        *client_params,
        *(value for column, value in zip(response_columns, response_values, strict=True) if column != client_column),
    ]
    if event is not None:
        event_columns, event_values = _insert_columns(event)
        sql += (
            f", event AS (INSERT INTO {quoted_table(AuditEvent)} ({', '.join(map(quote, event_columns))}) "
            f"SELECT {', '.join(['%s'] * len(event_columns))} FROM stored RETURNING id) "
            f"SELECT stored.{quote(client_column)}, event.id FROM stored CROSS JOIN event"
        )
        params.extend(event_values)
    else:
        sql += f" SELECT {quote(client_column)}, NULL FROM stored"
    with _hot_cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    if row is None:
        return False
    client_id, event_id = row
    client = response.client
    if client.pk is None:  # the stand-in: now the stored client's id is known
        client.pk = client_id
        _mark_saved(client)
    response.client = client
    _mark_saved(response)
    if event is not None:
        event.pk = event_id
        _mark_saved(event)
    return True


def _hot_cursor():
    """A cursor whose statements the server keeps prepared (this project's backend), else a plain one."""
    prepared_cursor = getattr(connection, "prepared_cursor", None)
    return prepared_cursor() if prepared_cursor is not None else connection.cursor()


def _insert_columns(row: Model) -> tuple[list[str], list]:
    """Columns and values of one unsaved row, prepared as the ORM's insert prepares them (auto_now_add included)."""
    meta = row._meta
    fields = [field for field in meta.local_concrete_fields if field is not meta.auto_field]
    values = [field.get_db_prep_save(field.pre_save(row, True), connection=connection) for field in fields]
    return [field.column for field in fields], values


def _mark_saved(row: Model) -> None:
    row._state.adding = False
    row._state.db = connection.alias


def _keyed_response(principal: Principal, idempotency_key: str) -> Response | None:
    """The response this caller stored under the key, if any; other callers' keys are never looked at."""
    return Response.objects.filter(
        clinic_id=principal.clinic_id, idempotency_scope=principal.idempotency_scope, idempotency_key=idempotency_key
    ).first()


def _replay(principal: Principal, existing: Response, body_fingerprint: str) -> SubmitResult:
    """The first result again, only for the same caller, the same subject and the same content.

    A key of this caller whose response it can no longer see (a client moved off a clinician's
    caseload) is a 409 that tells nothing of that response.
    """
    if not responses_visible_to(principal).filter(pk=existing.pk).exists():
        raise Conflict(
            "You already used this Idempotency-Key for a response you can no longer see; use a new key.",
            [Problem("Idempotency-Key", "already used", "conflict")],
        )
    if existing.request_fingerprint != body_fingerprint:
        raise IdempotencyMismatch(
            "This Idempotency-Key was already used with a different request body.",
            [Problem("Idempotency-Key", "already used with a different body", "idempotency_mismatch")],
        )
    return SubmitResult(response=existing, created=False)


# --- batch submission ----------------------------------------------------------------------------------


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
        lookups = _lookups(principal, [submission for _, submission, _, _ in pending])
        known = _known_ids(principal, [submission.id for _, submission, _, problems in pending
                                       if submission.id and not problems])
        new_rows: dict[uuid.UUID, tuple[int, Response]] = {}
        seen_in_batch: dict[uuid.UUID, str] = {}
        for index, submission, entry_fingerprint, envelope_problems in pending:
            if submission.id is not None and not envelope_problems:
                verdict = _id_verdict(submission.id, entry_fingerprint, known, seen_in_batch)
                if verdict is not None:
                    results[index] = _verdict_result(index, submission.id, verdict)
                    if verdict == "replay":
                        outcome.replayed.append(submission.id)
                    continue
            _default_client(principal, submission, lookups)
            response, build_problems = _build(principal, submission, lookups, source=Response.Source.BATCH)
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


def every_problem(envelope: list[Problem], built: list[Problem]) -> list[Problem]:
    """The envelope's problems, then the rest; a field the envelope already named is not named twice."""
    named = {problem.field for problem in envelope}
    return [*envelope, *(problem for problem in built if problem.field not in named)]


def _rejected(index: int, status: int, problems: Sequence[Problem]) -> dict:
    return {
        "index": index,
        "status": status,
        "errors": [{"field": p.field, "message": p.message, "code": p.code} for p in problems],
    }


@dataclass(frozen=True)
class _Known:
    fingerprint: str
    visible: bool
    same_clinic: bool
    same_caller: bool


def _known_ids(principal: Principal, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, _Known]:
    if not ids:
        return {}
    rows = Response.objects.filter(pk__in=ids).values_list(
        "pk", "clinic_id", "request_fingerprint", "idempotency_scope"
    )
    in_clinic = [pk for pk, clinic_id, _, _ in rows if clinic_id == principal.clinic_id]
    visible = set(responses_visible_to(principal).filter(pk__in=in_clinic).values_list("pk", flat=True)) if (
        in_clinic and not principal.sees_whole_clinic
    ) else set(in_clinic)
    return {
        pk: _Known(
            fingerprint=fp,
            visible=pk in visible,
            same_clinic=clinic_id == principal.clinic_id,
            # Rows stored before callers had scopes carry none: visibility and content decide for them.
            same_caller=scope in ("", principal.idempotency_scope),
        )
        for pk, clinic_id, fp, scope in rows
    }


def _id_verdict(
    response_id: uuid.UUID, entry_fingerprint: str, known: Mapping[uuid.UUID, _Known], seen: Mapping[uuid.UUID, str]
) -> str | None:
    """None for a new id; "replay", "mismatch" or "conflict" for one already stored or earlier in this batch."""
    if response_id in seen:
        return "replay" if seen[response_id] == entry_fingerprint else "mismatch"
    found = known.get(response_id)
    if found is None:
        return None
    if not found.visible or not found.same_caller:
        return "conflict"
    return "replay" if found.fingerprint == entry_fingerprint else "mismatch"


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
    known: dict[uuid.UUID, _Known],
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
            raced = _known_ids(principal, list(new_rows))
            if not raced:
                raise
            for response_id in raced:
                index, response = new_rows.pop(response_id)
                verdict = _id_verdict(response_id, response.request_fingerprint, raced, {})
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
    "id", "clinic_id", "client_id", "clinician_id", "questionnaire_version_id", "session_number", "rater",
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
                    row.session_number, row.rater, row.authored_at, now, orjson.dumps(row.answers).decode(),
                    row.comment, row.source, row.submitted_by, row.status, row.failure_reason,
                    row.idempotency_key, row.idempotency_scope, row.request_fingerprint,
                ))
