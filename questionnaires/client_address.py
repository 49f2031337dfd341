"""The caller's network address, read the same way by the rate limits, the login lockout and the audit log.

`X-Forwarded-For` is written by whoever sends the request, so only the entries appended by
proxies this deployment runs can be believed. `TRUSTED_PROXY_DEPTH` says how many there are:
0 (the default) takes `REMOTE_ADDR` and ignores the header; N takes the Nth address from the
right of `X-Forwarded-For` (N=1: the address the one proxy in front saw). A caller who adds
entries to the header only adds them on the left, which is never read.
"""

from __future__ import annotations

import ipaddress
from typing import Any

from django.conf import settings


def client_address(request: Any) -> str | None:
    """The caller's IP address as text, or None when the request carries none that parses.

    `request` is a Django `HttpRequest` or a DRF `Request` (both expose `META`).
    """
    meta = getattr(request, "META", None) or {}
    remote = _parsed(meta.get("REMOTE_ADDR", ""))
    depth = getattr(settings, "TRUSTED_PROXY_DEPTH", 0)
    if depth <= 0:
        return remote
    forwarded = [part.strip() for part in str(meta.get("HTTP_X_FORWARDED_FOR", "")).split(",") if part.strip()]
    if not forwarded:
        return remote
    # Fewer entries than proxies: the leftmost one was still appended by a proxy of ours.
    chosen = forwarded[-depth] if len(forwarded) >= depth else forwarded[0]
    return _parsed(chosen) or remote


def _parsed(text: str) -> str | None:
    try:
        return str(ipaddress.ip_address(text.strip()))
    except ValueError:
        return None
