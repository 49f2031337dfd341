"""Finding the real services tests need, and failing loudly under REQUIRE_SERVICES when one is missing."""

from __future__ import annotations

import os

import pytest
from django.db import connection

REQUIRE_SERVICES = os.environ.get("REQUIRE_SERVICES", "") not in {"", "0", "false"}


def missing_service(name: str, why: str) -> None:
    """Skip with the service named; under REQUIRE_SERVICES (CI) fail instead."""
    message = f"{name} not available: {why}"
    if REQUIRE_SERVICES:
        pytest.fail(f"{message} (REQUIRE_SERVICES is set, so this is a failure, not a skip)", pytrace=False)
    pytest.skip(message)


def redis_url() -> str:
    url = os.environ.get("REDIS_URL") or os.environ.get("CELERY_BROKER_URL") or ""
    if not url.startswith("redis"):
        missing_service("Redis", "set REDIS_URL to a reachable Redis")
    import redis

    try:
        redis.Redis.from_url(url, socket_connect_timeout=2).ping()
    except redis.RedisError as error:
        missing_service("Redis", f"{url} does not answer ({error})")
    return url


def require_postgresql() -> None:
    if connection.vendor != "postgresql":
        missing_service("PostgreSQL", "set DATABASE_URL to a PostgreSQL database")
