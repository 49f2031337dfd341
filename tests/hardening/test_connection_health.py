"""Persistent database connections the server dropped are replaced before use, without a round trip on healthy ones."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request

import psycopg
import pytest
from django.db import connection, connections

from tests import services
from tests.api.conftest import wai_sr
from tests.conftest import _database_url_for_worker

pytestmark = pytest.mark.django_db(transaction=True)


def terminate_other_sessions() -> int:
    """Drop every other session on the test database, as a server restart or an idle timeout would."""
    with psycopg.connect(_database_url_for_worker().replace("postgres://", "postgresql://"), autocommit=True) as admin:
        rows = admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid() AND pid <> %s",
            [connection.connection.info.backend_pid],
        ).fetchall()
    time.sleep(0.5)  # the goodbye reaches the clients' sockets
    return len(rows)


def test_a_quiet_connection_is_kept_without_a_query(monkeypatch):
    services.require_postgresql()
    connection.ensure_connection()
    before = connection.connection
    monkeypatch.setattr(
        type(connections["default"]), "is_usable", lambda self: pytest.fail("a quiet connection needs no SELECT 1")
    )
    connection.health_check_done = False
    connection.close_if_health_check_failed()
    assert connection.connection is before


def test_a_dropped_connection_is_replaced_before_the_next_query():
    services.require_postgresql()
    connection.ensure_connection()
    pid = connection.connection.info.backend_pid
    with psycopg.connect(_database_url_for_worker().replace("postgres://", "postgresql://"), autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", [pid])
    time.sleep(0.3)
    assert not connection.connection_is_quiet()
    connection.health_check_done = False
    connection.close_if_health_check_failed()
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        assert cursor.fetchone()[0] != pid


def test_gunicorn_answers_every_request_after_the_database_dropped_its_sessions(north, gunicorn_server):
    """No 503 from a stale pooled connection: each is checked (for free) and replaced at its next request."""
    url = f"{gunicorn_server.base_url}/api/v1/responses/"
    headers = {"Authorization": f"Api-Key {north.api_key}", "Content-Type": "application/json"}

    def submit() -> int:
        body = json.dumps(wai_sr("north-client-1")).encode()
        request = urllib.request.Request(url, data=body, headers=headers, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=10) as answer:
                return answer.status
        except urllib.error.HTTPError as error:
            return error.code

    assert [submit() for _ in range(16)] == [201] * 16  # every worker thread now holds a connection
    assert terminate_other_sessions() > 0
    statuses = [submit() for _ in range(24)]
    print(f"after the database dropped its sessions: {statuses.count(201)} of {len(statuses)} answered 201")
    assert statuses == [201] * 24
