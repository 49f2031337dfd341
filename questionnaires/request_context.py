"""The source address of the request being served, for audit events written anywhere below the view.

Services write audit events without a request in hand; the middleware puts the caller's
address (see `client_address`) in a context variable for the length of one request, so every
event of that request carries it. Outside a request (commands, workers) it is None.
"""

from __future__ import annotations

from collections.abc import Callable
from contextvars import ContextVar

from django.http import HttpRequest, HttpResponse

from questionnaires.client_address import client_address

_source_address: ContextVar[str | None] = ContextVar("source_address", default=None)


def current_source_address() -> str | None:
    return _source_address.get()


class RequestContextMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        token = _source_address.set(client_address(request))
        try:
            return self.get_response(request)
        finally:
            _source_address.reset(token)
