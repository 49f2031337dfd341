"""Password guessing at POST /api/v1/auth/token/: limits per address and per username that a header cannot dodge."""

from __future__ import annotations

import pytest

from questionnaires.models import AuditEvent
from tests.api.conftest import authorized

PASSWORD = "correct horse battery"  # tests.factories.UserFactory's password
TOKEN_URL = "/api/v1/auth/token/"


def attempt(username: str, password: str = "wrong", **extra):
    return authorized("").post(TOKEN_URL, {"username": username, "password": password}, format="json", **extra)


@pytest.fixture
def limit_of_three(settings):
    settings.AXES_FAILURE_LIMIT = 3


def test_a_new_forwarded_address_per_request_gives_no_extra_attempts_at_the_throttle(
    north, settings, frozen_throttle_clock
):
    settings.AXES_FAILURE_LIMIT = 100
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {"login": "2/min"}}
    statuses = [
        attempt(f"user-{number}", HTTP_X_FORWARDED_FOR=f"203.0.113.{number}").status_code for number in range(4)
    ]
    assert statuses == [401, 401, 429, 429]


def test_a_new_forwarded_address_per_request_gives_no_extra_attempts_at_the_lockout(north, limit_of_three):
    statuses = [
        attempt("north-clinician", HTTP_X_FORWARDED_FOR=f"203.0.113.{number}").status_code for number in range(4)
    ]
    assert statuses == [401, 401, 429, 429]


def test_one_username_is_locked_out_across_addresses_even_with_the_right_password(north, settings, limit_of_three):
    settings.TRUSTED_PROXY_DEPTH = 1
    for number in range(3):
        attempt("north-clinician", HTTP_X_FORWARDED_FOR=f"203.0.113.{number}")

    locked = attempt("north-clinician", PASSWORD, HTTP_X_FORWARDED_FOR="198.51.100.1")
    assert locked.status_code == 429
    assert locked["Content-Type"] == "application/problem+json"
    assert locked.json()["type"] == "urn:alliance-api:problem:login-locked-out"
    assert int(locked["Retry-After"]) == 15 * 60
    assert "token" not in locked.json()
    # Another user from another address is not affected.
    other = attempt("north-supervisor", PASSWORD, HTTP_X_FORWARDED_FOR="198.51.100.2")
    assert other.status_code == 201


def test_one_address_is_locked_out_across_usernames(north, settings, limit_of_three):
    for number in range(3):
        attempt(f"guess-{number}", REMOTE_ADDR="192.0.2.50")

    assert attempt("north-supervisor", PASSWORD, REMOTE_ADDR="192.0.2.50").status_code == 429
    assert attempt("north-supervisor", PASSWORD, REMOTE_ADDR="192.0.2.51").status_code == 201


def test_the_lockout_is_audited_with_the_source_address(north, limit_of_three):
    for _ in range(3):
        attempt("north-clinician", REMOTE_ADDR="192.0.2.77")

    events = AuditEvent.objects.filter(actor="user:north-clinician", action="token.issue").order_by("id")
    assert [event.outcome for event in events] == ["unauthenticated", "unauthenticated", "locked_out"]
    assert {event.source_address for event in events} == {"192.0.2.77"}
    assert {event.clinic_id for event in events} == {north.clinic.id}


def test_a_successful_login_is_audited_with_the_source_address(north):
    assert attempt("north-clinician", PASSWORD, REMOTE_ADDR="192.0.2.9").status_code == 201
    event = AuditEvent.objects.get(action="token.issue", outcome="ok")
    assert event.source_address == "192.0.2.9"
