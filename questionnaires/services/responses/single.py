"""One submission without an Idempotency-Key: the response and its audit event inserted as one statement.

The PostgreSQL path (one data-modifying WITH that also resolves the client, the linked session and
the credit) sits beside its ORM twin (SQLite) in `_insert_with_event`; both are covered by the same
behavioural tests, and `tests/api/test_write_paths_cover_fields.py` fails when a model field is
added that the SQL path does not write. A keyed submission goes to `idempotency`.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from django.db import connection, transaction
from django.db.models import Model

from questionnaires.models import AuditEvent, Response
from questionnaires.principals import Principal
from questionnaires.registry import get_registry
from questionnaires.selectors.care import clients_with_credit, session_window
from questionnaires.selectors.clients import clients_visible_to
from questionnaires.services.errors import InvalidInput
from questionnaires.services.responses.attribution import Attribution, credited_user, mark_saved
from questionnaires.services.responses.building import SubmitResult, creation_event, read_or_reject, validated_response
from questionnaires.services.responses.idempotency import submit_keyed
from questionnaires.services.responses.reading import Submission
from questionnaires.services.score_publisher import scoring_enqueue_soon
from questionnaires.sql_arrays import quoted_table
from questionnaires.validation import Problem


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
        return submit_keyed(principal, payload, idempotency_key, source=source, audited=audited)
    submission, problems = read_or_reject(payload)
    client_query = _client_query_for_insert(principal, submission, problems)
    response = validated_response(
        principal, submission, problems, source=source, client_in_insert=client_query is not None
    )
    event = creation_event(principal, response, created=True) if audited else None
    if not _insert_with_event(response, event, client_query=client_query):
        raise InvalidInput("The response is not valid; see errors.", [Problem("client", "unknown client", "unknown")])
    scoring_enqueue_soon(response_ids=[response.id])
    return SubmitResult(response=response, created=True)


def _client_query_for_insert(
    principal: Principal, submission: Submission, problems: list[Problem]
) -> tuple[str, Sequence] | None:
    """SQL selecting the named client if this caller may submit for it, with its linked session and credited
    clinician, for the insert to use; else None.

    Resolving the client and the attribution inside the insert saves a query and a round trip per
    submission. It is used only when the envelope is sound, no session or clinician is named (those
    are checked first, so a rejection can name them) and the answers do not depend on the client
    (items made of the client's goals); if the answers turn out wrong, `validated_response` looks the
    client up after all, since a rejection lists every problem. Columns: id, linked_session_id,
    linked_session_number, credit, credit_username (see `clients_with_credit`).
    """
    if principal.kind == "client_token" and submission.client is None:
        submission.client = principal.therapy_client.external_id
    if connection.vendor != "postgresql" or problems or submission.client is None:
        return None
    if submission.session_id is not None or submission.session_external_id is not None or submission.clinician:
        return None
    definition = get_registry().get(submission.questionnaire, submission.version)
    if definition is None or definition.dynamic_items is not None:
        return None
    link = submission.session is None
    sql, params, slots = _client_query_template(principal, link=link)
    earliest, latest = session_window(submission.authored) if link else (None, None)
    values = {_CLIENT: submission.client, _EARLIEST: earliest, _LATEST: latest}
    params = list(params)
    for index, slot in slots:
        params[index] = values[slot]
    return sql, params


# Compiling the ORM query above cost about two thirds of a single submission's time in Python (its
# subqueries are resolved and compiled on every call). Its SQL depends only on who calls and on
# whether a session is linked; the client's external id and the session window are parameters. So it
# is compiled once per caller with stand-in values, and the stand-ins' positions are filled in.
_CLIENT, _EARLIEST, _LATEST = "client", "earliest", "latest"
_STAND_IN_CLIENT = "\x1fstand-in client\x1f"
_STAND_IN_AUTHORED = datetime(1901, 1, 1, tzinfo=UTC)
_TEMPLATES: dict[tuple, tuple[str, tuple, tuple[tuple[int, str], ...]]] = {}
_TEMPLATES_MAX = 4096


def _client_query_template(principal: Principal, *, link: bool) -> tuple[str, tuple, tuple[tuple[int, str], ...]]:
    """(sql, params with stand-ins, ((param index, which value), ...)) of `clients_with_credit` for this caller."""
    key = (principal.kind, principal.clinic_id, principal.user_id, principal.therapy_client_id, link,
           connection.alias)
    template = _TEMPLATES.get(key)
    if template is not None:
        return template
    visible = clients_with_credit(
        clients_visible_to(principal).filter(external_id=_STAND_IN_CLIENT),
        authored=_STAND_IN_AUTHORED,
        link=link,
    ).values("id", "linked_session_id", "linked_session_number", "credit", "credit_username")[:1]
    sql, params = visible.query.get_compiler(connection=connection).as_sql()
    earliest, latest = session_window(_STAND_IN_AUTHORED)
    stand_ins = {_STAND_IN_CLIENT: _CLIENT, earliest: _EARLIEST, latest: _LATEST}
    slots = tuple(
        (index, stand_ins[value]) for index, value in enumerate(params)
        if isinstance(value, str | datetime) and value in stand_ins
    )
    found = [slot for _, slot in slots]
    if found.count(_CLIENT) != 1 or (link and not {_EARLIEST, _LATEST} <= set(found)):
        raise RuntimeError("the submission's client query no longer has the parameters it is filled in by")
    if len(_TEMPLATES) >= _TEMPLATES_MAX:
        _TEMPLATES.clear()
    _TEMPLATES[key] = template = (sql, tuple(params), slots)
    return template


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
    derived = client_query is not None
    client_sql, client_params = client_query or ("SELECT %s AS id", [response.client_id])
    quote = connection.ops.quote_name
    columns = {name: Response._meta.get_field(name).column for name in ("client", "session", "session_number",
                                                                           "clinician")}
    # What `visible` supplies: the client always; with `client_query`, also the linked session, and the
    # derived credit unless the response already names its clinician (a staff token is credited to itself).
    expressions = {columns["client"]: "visible.id"}
    if derived:
        expressions[columns["session"]] = "visible.linked_session_id"
        expressions[columns["session_number"]] = "COALESCE(visible.linked_session_number, %s)"
        expressions[columns["clinician"]] = "COALESCE(%s, visible.credit)"
    response_columns, response_values = _insert_columns(response)
    select_list = ", ".join(expressions.get(column, "%s") for column in response_columns)
    returned = ", ".join(quote(columns[name]) for name in ("client", "session", "session_number", "clinician"))
    sql = (
        f"WITH visible AS ({client_sql}), "
        f"stored AS (INSERT INTO {quoted_table(Response)} ({', '.join(map(quote, response_columns))}) "
        f"SELECT {select_list} FROM visible RETURNING {returned})"
    )
    params = [
        *client_params,
        *(
            value for column, value in zip(response_columns, response_values, strict=True)
            if "%s" in expressions.get(column, "%s")
        ),
    ]
    username = "(SELECT credit_username FROM visible)" if derived else "NULL"
    stored_list = ", ".join(f"stored.{quote(columns[name])}" for name in ("client", "session", "session_number",
                                                                           "clinician"))
    if event is not None:
        event_columns, event_values = _insert_columns(event)
        sql += (
            f", event AS (INSERT INTO {quoted_table(AuditEvent)} ({', '.join(map(quote, event_columns))}) "
            f"SELECT {', '.join(['%s'] * len(event_columns))} FROM stored RETURNING id) "
            f"SELECT {stored_list}, {username}, event.id FROM stored CROSS JOIN event"
        )
        params.extend(event_values)
    else:
        sql += f" SELECT {stored_list}, {username}, NULL FROM stored"
    with _hot_cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    if row is None:
        return False
    client_id, session_id, session_number, clinician_id, credit_username, event_id = row
    client = response.client
    if client.pk is None:  # the stand-in: now the stored client's id is known
        client.pk = client_id
        mark_saved(client)
    response.client = client
    response.session_id, response.session_number = session_id, session_number
    if clinician_id is not None and response.clinician_id is None:
        response.clinician = credited_user(
            Attribution(clinician_id=clinician_id, clinician_username=credit_username or "")
        )
    mark_saved(response)
    if event is not None:
        event.pk = event_id
        mark_saved(event)
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

