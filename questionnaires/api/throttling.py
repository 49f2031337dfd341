"""Per-credential rate limits with a fixed-window counter in the default cache (Redis when configured).

DRF's SimpleRateThrottle keeps every request time in one cached list, rewritten on each
request: at thousands of requests a minute that list is the cost. A counter per window is
one atomic increment.
"""

from __future__ import annotations

import time
from typing import Any

from django.conf import settings
from django.core.cache import cache
from rest_framework.throttling import BaseThrottle

from questionnaires.api.cache_outage import CACHE_ERRORS, log_cache_outage
from questionnaires.client_address import client_address

_DURATIONS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_rate(rate: str | None) -> tuple[int, int] | None:
    """"6000/min" -> (6000, 60); None or "" disables the throttle."""
    if not rate:
        return None
    count, _, period = rate.partition("/")
    return int(count), _DURATIONS[period.strip()[0]]


class CounterThrottle(BaseThrottle):
    scope = ""

    def __init__(self) -> None:
        rates = settings.REST_FRAMEWORK.get("DEFAULT_THROTTLE_RATES", {})
        self.rate = parse_rate(rates.get(self.scope))
        self.retry_after: float | None = None

    def get_ident(self, request: Any) -> str:
        """The caller's address by the configured proxy depth, never a header value the caller chose."""
        return client_address(request) or "unknown"

    def identity(self, request: Any) -> str:
        principal = request.user
        if getattr(principal, "is_authenticated", False):
            return principal.label
        return f"ip:{self.get_ident(request)}"

    def allow_request(self, request: Any, view: Any) -> bool:
        if self.rate is None:
            return True
        limit, duration = self.rate
        now = time.time()
        window = int(now // duration)
        key = f"throttle:{self.scope}:{self.identity(request)}:{window}"
        try:
            count = self._count(key, duration)
        except CACHE_ERRORS as error:
            log_cache_outage(error, "rate limits")
            return True
        if count > limit:
            self.retry_after = duration - (now % duration)
            return False
        return True

    @staticmethod
    def _count(key: str, duration: int) -> int:
        if cache.add(key, 1, duration + 1):
            return 1
        try:
            return cache.incr(key)
        except ValueError:  # expired between add and incr
            cache.add(key, 1, duration + 1)
            return 1

    def wait(self) -> float | None:
        return self.retry_after


class CredentialThrottle(CounterThrottle):
    """Every authenticated caller, keyed by its credential (or staff user)."""

    scope = "credential"


class LoginThrottle(CounterThrottle):
    """Password attempts at the token endpoint, keyed by the caller's address."""

    scope = "login"

    def identity(self, request: Any) -> str:
        return f"ip:{self.get_ident(request)}"
