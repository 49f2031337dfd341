"""Django's PostgreSQL backend, plus a health check that costs no round trip and a cursor for hot statements.

Health check: with `CONN_HEALTH_CHECKS`, Django runs `SELECT 1` before the first query of every
request that reuses a persistent connection: a whole round trip, on every request, to catch a
connection the server dropped (restart, idle timeout, `pg_terminate_backend`). A server that
drops a session sends its goodbye and closes the socket, so an idle connection that has
something to read (or a closed socket) is suspect and a quiet idle one is not: only a suspect
connection pays for the `SELECT 1` (and is replaced if it fails). After a query error Django's
own full check still runs.

Prepared cursor: Django binds parameters client-side and turns prepared statements off, so
the server parses and plans every statement anew. `prepared_cursor()` is for the few fixed
statements a hot path runs once per request (storing a submission): the server binds the
parameters and keeps the plan per connection, which halves that statement's server time.
"""

from __future__ import annotations

import select
from typing import Any

from django.db.backends.postgresql import base, operations
from django.db.backends.utils import CursorWrapper
from psycopg import Cursor, Error, errors, pq

PSYCOPG_DEFAULT_PREPARE_THRESHOLD = 5


class PreparingCursor(Cursor):
    """Server-side binding, and every statement prepared on this connection at its first run."""

    def execute(self, query: Any, params: Any = None, *, prepare: bool | None = None, binary: bool | None = None):
        return super().execute(query, params, prepare=True if prepare is None else prepare, binary=binary)


class DatabaseOperations(operations.DatabaseOperations):
    def last_executed_query(self, cursor: Any, sql: str, params: Any) -> str | None:
        # A prepared statement runs by name, so psycopg keeps no text to log: compose it (debug logging only).
        if isinstance(cursor, PreparingCursor):
            try:
                return self.compose_sql(sql, params)
            except errors.DataError:
                return sql
        return super().last_executed_query(cursor, sql, params)


class DatabaseWrapper(base.DatabaseWrapper):
    ops_class = DatabaseOperations

    def get_connection_params(self) -> dict:
        params = super().get_connection_params()
        if self.settings_dict.get("PREPARED_STATEMENTS", True) and params.get("prepare_threshold") is None:
            # Django switches psycopg's preparation off. Its own cursors bind client-side and never
            # prepare either way, so switching it back on only lets `prepared_cursor()` keep plans.
            params["prepare_threshold"] = PSYCOPG_DEFAULT_PREPARE_THRESHOLD
        return params

    def close_if_health_check_failed(self) -> None:
        if self.connection is None or not self.health_check_enabled or self.health_check_done:
            return
        if not self.connection_is_quiet() and not self.is_usable():
            self.close()
        self.health_check_done = True

    def connection_is_quiet(self) -> bool:
        """True when the connection is open, idle outside a transaction, and the server has sent nothing."""
        connection = self.connection
        if connection is None or connection.closed or connection.broken:
            return False
        try:
            pgconn = connection.pgconn
            if pgconn.status != pq.ConnStatus.OK or pgconn.transaction_status != pq.TransactionStatus.IDLE:
                return False
            poller = select.poll()
            poller.register(pgconn.socket, select.POLLIN | select.POLLPRI)
            return not poller.poll(0)
        except (Error, OSError, ValueError):
            return False

    def prepared_cursor(self) -> CursorWrapper:
        """A Django cursor (query logging, execute wrappers, error translation) whose statements are prepared.

        Only for statements whose text is fixed: each distinct text is kept on the connection
        (psycopg keeps the 100 most recent). Parameters are typed by psycopg: a Python str is
        sent untyped, so it must go where the server can infer a text-like type. With
        `PREPARED_STATEMENTS` off (a transaction-pooling PgBouncer before 1.21 cannot keep them)
        this is Django's plain cursor.
        """
        if not self.settings_dict.get("PREPARED_STATEMENTS", True):
            return self.cursor()
        self.close_if_health_check_failed()
        self.ensure_connection()
        with self.wrap_database_errors:
            cursor = PreparingCursor(self.connection)
            tzloader = self.connection.adapters.get_loader(base.TIMESTAMPTZ_OID, pq.Format.TEXT)
            if self.timezone != tzloader.timezone:
                base.register_tzloader(self.timezone, cursor)
            return self._prepare_cursor(cursor)
