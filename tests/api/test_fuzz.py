"""OpenAPI-driven fuzzing (schemathesis) of every /api/v1/ operation: whatever it sends, no 5xx.

Bounded (a few dozen examples per operation, derandomised) so the whole test stays well under a minute.
"""

from __future__ import annotations

from collections import Counter

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, given, settings

from tests.api.conftest import staff_api

EXAMPLES_PER_OPERATION = 25


@pytest.fixture
def connections_kept_open():
    """Like Django's test client: the raw WSGI app would otherwise close the test's connection after each request."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.mark.django_db
def test_fuzzing_every_operation_finds_no_server_error(north, south, connections_kept_open):
    staff_token = staff_api(north.supervisor)._credentials["HTTP_AUTHORIZATION"]
    schema = schemathesis.openapi.from_wsgi("/api/schema/", get_wsgi_application())
    operations = [result.ok() for result in schema.get_all_operations()]
    operations = [operation for operation in operations if operation.path.startswith("/api/v1/")]
    assert len(operations) >= 15
    failures: list[str] = []
    statuses: Counter[int] = Counter()

    def fuzz(operation, header: str) -> None:
        @settings(
            max_examples=EXAMPLES_PER_OPERATION,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        @given(case=operation.as_strategy())
        def call(case) -> None:
            response = case.call(headers={"Authorization": header})
            statuses[response.status_code // 100] += 1
            if response.status_code >= 500:
                failures.append(f"{operation.method.upper()} {operation.path}: {response.status_code} for {case!r}")

        call()

    for operation in operations:
        for header in (f"Api-Key {north.api_key}", staff_token):
            fuzz(operation, header)

    assert not failures, "\n".join(failures[:20])
    assert statuses[2] and statuses[4], statuses  # the fuzzer got both through and turned away
