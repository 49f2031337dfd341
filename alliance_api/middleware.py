"""Response headers every page of a kind needs, set in one place rather than view by view."""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse


class NoStoreMiddleware:
    """`Cache-Control: no-store` on every response under the prefixes in `NO_STORE_PATH_PREFIXES`.

    The REST API, FHIR and the client's form pages answer with client data (or a credential, at
    login): no browser, proxy or shared cache may keep a copy (RFC 9111 5.2.2.5). Whatever a view
    set is replaced, so no view can opt out by accident. `NO_STORE_EXEMPT_PATHS` lists the public,
    data-free documents (the FHIR CapabilityStatement) that stay cacheable.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self.prefixes = tuple(settings.NO_STORE_PATH_PREFIXES)
        self.exempt = frozenset(settings.NO_STORE_EXEMPT_PATHS)

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if request.path.startswith(self.prefixes) and request.path not in self.exempt:
            response["Cache-Control"] = "no-store"
            response.headers.pop("Expires", None)
        return response
