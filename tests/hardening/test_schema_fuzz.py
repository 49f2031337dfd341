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


EDGE_VALUES = [
    "²", "٣", "１", "9" * 25, "9" * 5000, "-1", "0", "1e3",
    "0001-01-01", "9999-12-31", "0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00", "２０２４-01-01",
]
"""The input that once gave 500s: non-ASCII digits, numbers past 64 bits, dates at the calendar's ends."""
NOT_UTF8_BODIES = [b'{"a": "\xff"}', b"\xfe\xff{}", b'{"username": "\xc3\x28"}', b"\xed\xa0\x80"]


@pytest.mark.django_db
def test_edge_numbers_dates_and_non_utf8_bodies_on_every_operation_are_4xx_problems(north):
    """Every documented query and path parameter gets each edge value; every body-taking operation a non-UTF-8 body."""
    from rest_framework.test import APIClient

    schema = APIClient().get("/api/schema/", {"format": "json"}).json()
    callers = [north.api(), staff_api(north.supervisor), APIClient()]
    for caller in callers:
        caller.raise_request_exception = False
    calls: list[str] = []
    failures: list[str] = []

    def check(what: str, response) -> None:
        calls.append(what)
        if response.status_code >= 500 or (
            response.status_code >= 400 and response["Content-Type"] != "application/problem+json"
        ):
            failures.append(f"{what} -> {response.status_code} {response.content[:200]!r}")

    for template, operations in schema["paths"].items():
        if not template.startswith("/api/v1/"):
            continue
        for method, operation in operations.items():
            if method not in ("get", "post", "patch", "put", "delete"):
                continue
            parameters = operation.get("parameters", [])
            concrete = template
            for parameter in parameters:
                if parameter["in"] == "path":
                    concrete = concrete.replace("{" + parameter["name"] + "}", "north-client-1")
            for caller in callers[:2]:
                for parameter in parameters:
                    if parameter["in"] == "path":
                        for value in EDGE_VALUES[:5]:
                            path = template.replace("{" + parameter["name"] + "}", value)
                            check(f"{method.upper()} {path}", caller.generic(method.upper(), path))
                    if parameter["in"] == "query" and method == "get":
                        for value in EDGE_VALUES:
                            check(f"GET {concrete}?{parameter['name']}={value[:30]}",
                                  caller.get(concrete, {parameter["name"]: value}))
                if "requestBody" in operation:
                    for body in NOT_UTF8_BODIES:
                        check(f"{method.upper()} {concrete} {body!r}",
                              caller.generic(method.upper(), concrete, body, content_type="application/json"))
            if template == "/api/v1/auth/token/":
                for body in NOT_UTF8_BODIES:  # the unauthenticated login too
                    check(f"anonymous POST {template} {body!r}",
                          callers[2].generic("POST", template, body, content_type="application/json"))
    print(f"edge values: {len(calls)} calls")
    assert len(calls) > 500
    assert not failures, "\n".join(failures[:15])
