"""The admin login is under the same password limits as the API, and every attempt is audited with its address."""

from __future__ import annotations

import pytest
from django.test import Client

from questionnaires.models import AuditEvent
from tests.factories import MembershipFactory, UserFactory

PASSWORD = "correct horse battery"  # tests.factories.UserFactory's password
LOGIN_URL = "/admin/login/"

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def operator():
    return UserFactory(username="operator", is_staff=True, is_superuser=True)


def log_in(username: str, password: str, address: str = "192.0.2.20"):
    client = Client()
    response = client.post(LOGIN_URL, {"username": username, "password": password, "next": "/admin/"},
                           REMOTE_ADDR=address)
    return client, response


def test_a_successful_admin_login_is_audited_with_its_source_address(operator):
    client, response = log_in("operator", PASSWORD, "198.51.100.30")

    assert response.status_code == 302
    event = AuditEvent.objects.get(action="login")
    assert (event.actor, event.outcome, event.source_address) == ("admin:operator", "ok", "198.51.100.30")
    assert event.object_ids == [str(operator.pk)]


def test_a_failed_admin_login_is_audited_with_its_source_address_and_the_clinic(db):
    member = MembershipFactory(user__username="north-supervisor", user__is_staff=True)

    _, response = log_in("north-supervisor", "wrong", "198.51.100.31")

    assert response.status_code == 200  # the login form again, with its error
    event = AuditEvent.objects.get(action="login")
    assert (event.actor, event.outcome, event.source_address) == (
        "admin:north-supervisor", "unauthenticated", "198.51.100.31"
    )
    assert event.clinic_id == member.clinic_id


def test_an_unknown_username_at_the_admin_is_audited_too(db):
    log_in("nobody\u202ehere", "wrong")

    event = AuditEvent.objects.get(action="login")
    assert event.actor == "admin:nobody?here"
    assert event.outcome == "unauthenticated"


def test_the_admin_login_is_locked_out_after_the_limit_even_for_the_right_password(operator, settings):
    settings.AXES_FAILURE_LIMIT = 3
    statuses = [log_in("operator", "wrong", f"203.0.113.{number}")[1].status_code for number in range(3)]

    client, locked = log_in("operator", PASSWORD, "203.0.113.99")

    assert statuses == [200, 200, 429]
    assert locked.status_code == 429
    assert b"Too many failed logins" in locked.content
    assert int(locked["Retry-After"]) == 15 * 60
    assert "_auth_user_id" not in client.session
    outcomes = list(AuditEvent.objects.filter(action="login").order_by("id").values_list("outcome", flat=True))
    assert outcomes == ["unauthenticated", "unauthenticated", "locked_out", "locked_out"]


def test_api_failures_count_towards_the_admin_lockout(north, operator, settings):
    settings.AXES_FAILURE_LIMIT = 3
    api = Client()
    for _ in range(3):
        api.post("/api/v1/auth/token/", {"username": "operator", "password": "wrong"}, content_type="application/json")

    assert log_in("operator", PASSWORD, "198.51.100.40")[1].status_code == 429
