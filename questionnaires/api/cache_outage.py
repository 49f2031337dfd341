"""The shared cache (Redis) is an optimisation for the API: when it is down, requests go on.

Rate limits and last-used marks are skipped during an outage rather than failing a
submission, since a response the API can store must never be refused for a cache error.
"""

from __future__ import annotations

import logging
import time

from redis.exceptions import RedisError

logger = logging.getLogger(__name__)

CACHE_ERRORS: tuple[type[BaseException], ...] = (RedisError, OSError)

_LOG_EVERY_SECONDS = 30.0
_last_logged = 0.0


def log_cache_outage(error: BaseException, skipped: str) -> None:
    """Log at most every 30 s, so an outage under load does not flood the log."""
    global _last_logged
    now = time.monotonic()
    if now - _last_logged >= _LOG_EVERY_SECONDS:
        _last_logged = now
        logger.warning("cache unavailable (%s): %s skipped", error, skipped)
