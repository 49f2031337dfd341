"""Start-up checks for a production process: fail fast, in one line, when a service is unreachable."""

from __future__ import annotations

from django.conf import settings

from alliance_api.config import ConfigError, exit_on_config_error
from questionnaires.selectors.health import broker_status, database_status


def require_reachable_services() -> None:
    """Stop a web process whose database or (production) broker cannot be reached."""
    try:
        problem = database_status()
        if problem:
            raise ConfigError(f"DATABASE_URL: {problem}")
        if not settings.EMBEDDED:
            problem = broker_status()
            if problem:
                raise ConfigError(f"CELERY_BROKER_URL: {problem}")
    except ConfigError as error:
        exit_on_config_error(error)
