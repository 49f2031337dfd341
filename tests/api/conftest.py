"""API test helpers: a fresh cache per test, credentials of every kind, and valid submissions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

from questionnaires.models import ClientToken, StaffToken
from questionnaires.services.credentials import client_token_issue, staff_token_issue


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    """The personas' users get passwords; the production hasher's work factor is seconds per test."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def fresh_cache():
    """Throttle counters and last-used markers live in the cache; no test should see another's."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def frozen_throttle_clock(monkeypatch):
    """Throttle windows are fixed minutes: a test must not straddle a boundary."""
    monkeypatch.setattr("questionnaires.api.throttling.time.time", lambda: 60 * 28_333_333 + 10.0)


def authorized(header: str) -> APIClient:
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=header)
    return api


def staff_api(user) -> APIClient:
    _, key = staff_token_issue(user=user)
    return authorized(f"Token {key}")


def client_token_api(therapy_client) -> APIClient:
    _, key = client_token_issue(client=therapy_client)
    return authorized(f"Bearer {key}")


def recent(minutes: int = 5) -> str:
    return (datetime.now(UTC) - timedelta(minutes=minutes)).isoformat()


def wai_sr(client_external_id: str, value: int = 4, **extra) -> dict:
    """A complete WAI-SR submission: every item answered `value` (total 12 * value)."""
    return {
        "questionnaire": "wai-sr",
        "client": client_external_id,
        "authored": recent(),
        "answers": {str(number): value for number in range(1, 13)},
        **extra,
    }


def srs(client_external_id: str, values=(9.2, 8.7, 9.0, 9.1), **extra) -> dict:
    return {
        "questionnaire": "srs",
        "client": client_external_id,
        "authored": recent(),
        "answers": {str(number): value for number, value in enumerate(values, start=1)},
        **extra,
    }


def problem_fields(response) -> set[str]:
    assert response["Content-Type"] == "application/problem+json", response.content
    return {error["field"] for error in response.json()["errors"]}


@pytest.fixture
def personas(north, south):
    return north, south


__all__ = [
    "ClientToken", "StaffToken", "authorized", "client_token_api", "problem_fields", "recent", "srs", "staff_api",
    "wai_sr",
]
