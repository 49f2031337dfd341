"""Client tokens are credentials in URLs (`/take/<token>/...`): no log line may carry one.

A filter rewrites every such path segment to the token's public prefix and `[redacted]` before
the record is printed. It sits on each logger that prints request paths (Django's request,
server and CSRF loggers, gunicorn's access and error logs) and on the console handler, so a
record reaches no handler, capture or file with the secret in it.
"""

from __future__ import annotations

import logging
import logging.config
import re
from typing import Any

PATH_LOGGERS = ("django.request", "django.server", "django.security.csrf", "gunicorn.access", "gunicorn.error")
_TOKEN_SEGMENT = re.compile(r"(/take/)([^/?#\s\"']+)", re.IGNORECASE)


def redact_client_tokens(text: str) -> str:
    """`/take/Ab12Cd34.secret/x` -> `/take/Ab12Cd34.[redacted]/x`; a segment without a dot loses all of it."""
    return _TOKEN_SEGMENT.sub(_redacted_segment, text)


def _redacted_segment(match: re.Match) -> str:
    prefix, dot, _ = match.group(2).partition(".")
    return f"{match.group(1)}{prefix}.[redacted]" if dot else f"{match.group(1)}[redacted]"


class RedactClientTokens(logging.Filter):
    """Formats the record's message once, with any client token redacted; never drops a record."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a malformed record is the handler's problem to report, not ours
            return True
        if "/take/" in message.lower():
            record.msg = redact_client_tokens(message)
            record.args = ()
        return True


def install(logger_names: tuple[str, ...] = PATH_LOGGERS) -> None:
    """Put the filter on each named logger (once)."""
    for name in logger_names:
        logger = logging.getLogger(name)
        if not any(isinstance(existing, RedactClientTokens) for existing in logger.filters):
            logger.addFilter(RedactClientTokens())


def configure_logging(config: dict[str, Any]) -> None:
    """Django's `LOGGING_CONFIG`: the project's dictConfig, then the filter on every logger that prints paths."""
    logging.config.dictConfig(config)
    install()
