"""Schemathesis over /api/schema/: at least 2,000 generated calls, none answered 5xx, none off the documented schema.

Every operation is fuzzed with two credentials (an API key and a supervisor's token) so both the
validation and the authorised paths are reached. Derandomised, so a failure reproduces.
"""

from __future__ import annotations

from collections import Counter

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error, response_schema_conformance

from tests.api.conftest import staff_api

EXAMPLES_PER_OPERATION = 35
MINIMUM_CASES = 2000


@pytest.fixture
def connections_kept_open():
    """The raw WSGI app would otherwise close the test's connection (and its transaction) after each request."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture(autouse=True)
def fuzz_settings(settings):
    """Fast password hashing, and no rate limit: thousands of calls in a minute are the point here."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {"credential": None, "login": None}
    }


@pytest.mark.django_db
def test_two_thousand_generated_calls_find_no_server_error_and_no_schema_violation(north, south, connections_kept_open):
    from django.core.cache import cache

    cache.clear()
    schema = schemathesis.openapi.from_wsgi("/api/schema/", get_wsgi_application())
    operations = [result.ok() for result in schema.get_all_operations()]
    operations = [operation for operation in operations if operation.path.startswith("/api/v1/")]
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
            statuses[response.status_code] += 1
            try:
                case.validate_response(response, checks=[not_a_server_error, response_schema_conformance])
            except Exception as error:  # schemathesis raises a failure group describing every violated check
                failures.append(f"{operation.method.upper()} {operation.path} -> {response.status_code}: {error}"[:600])

        call()

    for operation in operations:
        # A fresh token per operation: fuzzing DELETE /auth/token/ revokes the one it is given.
        staff_token = staff_api(north.supervisor)._credentials["HTTP_AUTHORIZATION"]
        for header in (f"Api-Key {north.api_key}", staff_token):
            fuzz(operation, header)

    total = sum(statuses.values())
    print(f"schemathesis: {len(operations)} operations, {total} calls, statuses {dict(sorted(statuses.items()))}")
    assert total >= MINIMUM_CASES, statuses
    assert not failures, "\n".join(failures[:15])
    assert any(200 <= status < 300 for status in statuses) and any(400 <= status < 500 for status in statuses)
