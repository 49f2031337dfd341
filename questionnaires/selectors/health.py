"""Liveness of the services the API depends on."""

from __future__ import annotations

from django.conf import settings
from django.db import connection
from django.db.utils import Error as DatabaseError


def database_status() -> str | None:
    """None when the database answers, otherwise why not."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except DatabaseError as error:
        return str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    return None


def broker_status() -> str | None:
    """None when the broker answers (or the service runs embedded), otherwise why not."""
    if settings.EMBEDDED:
        return None
    from alliance_api.celery import app

    try:
        with app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
    except Exception as error:  # kombu surfaces many transport-specific errors
        return str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    return None
