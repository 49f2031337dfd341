"""Fixtures for the alliance-practice tests: fast passwords, a clean cache, and submissions scored on commit."""

from __future__ import annotations

import pytest
from django.core.cache import cache

from tests.practice.helpers import submit


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def fresh_cache():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def scored(django_capture_on_commit_callbacks):
    """Submit through the API and run what the commit triggers (eager scoring, rollups, webhook outbox)."""

    def submit_and_score(api, body: dict, expect: int = 201) -> dict:
        with django_capture_on_commit_callbacks(execute=True):
            created = submit(api, body, expect=expect)
        if expect != 201:
            return created
        return api.get(f"/api/v1/responses/{created['id']}/").json()

    return submit_and_score
