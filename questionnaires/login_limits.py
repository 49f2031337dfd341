"""What a locked-out password login gets back: a problem detail on the API, a page in the admin.

django-axes counts failed passwords per username and per address (settings `LOGIN_FAILURE_LIMIT`,
`LOGIN_COOLOFF_MINUTES`) and flags the request that is refused; its middleware then asks
`lockout_response` (the `AXES_LOCKOUT_CALLABLE`) for the answer.
"""

from __future__ import annotations

import json
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from questionnaires.api.problems import PROBLEM_CONTENT_TYPE, problem_body

LOCKED_OUT_DETAIL = (
    "Too many failed logins for this username or from this address; try again after the cool-off "
    "({minutes} minutes without attempts)."
)


def is_locked_out(request: HttpRequest) -> bool:
    """True when axes refused this login attempt, or when this attempt reached the limit."""
    return bool(getattr(request, "axes_locked_out", False))


def retry_after_seconds() -> int:
    return int(settings.AXES_COOLOFF_TIME.total_seconds())


def locked_out_problem() -> dict[str, Any]:
    return problem_body(
        status=429,
        detail=LOCKED_OUT_DETAIL.format(minutes=retry_after_seconds() // 60),
        slug="login-locked-out",
    )


def lockout_response(
    request: HttpRequest, original_response: HttpResponse | None = None, credentials: dict | None = None
) -> HttpResponse:
    """429 for a locked-out login: the API's problem detail (kept if the view already answered it), else a page."""
    if request.path.startswith("/api/"):
        if original_response is not None and original_response.status_code == 429:
            return original_response
        response = HttpResponse(json.dumps(locked_out_problem()), status=429, content_type=PROBLEM_CONTENT_TYPE)
    else:
        from django.contrib import admin

        context = {**admin.site.each_context(request), "title": "Login locked",
                   "cooloff_minutes": retry_after_seconds() // 60}
        response = render(request, "admin/login_locked.html", context, status=429)
    response["Retry-After"] = str(retry_after_seconds())
    return response
