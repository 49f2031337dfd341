"""RFC 9457 problem details for every error the API answers, with a field-level `errors` list.

One DRF exception handler turns domain errors (`ServiceError`), DRF's own exceptions and
Django's Http404/PermissionDenied into `application/problem+json`, and writes the audit
event for a denied attempt at client data. Anything else is left to Django: a logged 500.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from http import HTTPStatus
from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.db import InterfaceError, OperationalError
from django.http import Http404
from rest_framework import exceptions
from rest_framework.response import Response

from questionnaires.services.errors import ServiceError
from questionnaires.validation import Problem

logger = logging.getLogger(__name__)

PROBLEM_CONTENT_TYPE = "application/problem+json"
PROBLEM_TYPE_PREFIX = "urn:alliance-api:problem:"
"""Problem types are URNs: stable identifiers an integrator can switch on; plain HTTP errors use about:blank."""

CHALLENGE = 'Api-Key realm="api", Token realm="api", Bearer realm="api"'
ROOT_FIELD = "body"
"""The field named when the body as a whole is at fault (not an object, malformed JSON)."""

DATABASE_UNAVAILABLE = (OperationalError, InterfaceError)
"""Connection-level database errors (server down, restarting, connection lost); data errors are not among them."""
RETRY_AFTER_SECONDS = 5

_TYPES_BY_EXCEPTION: dict[type, str] = {
    exceptions.ValidationError: "validation",
    exceptions.ParseError: "malformed-json",
    exceptions.UnsupportedMediaType: "unsupported-media-type",
    exceptions.Throttled: "throttled",
}


def problem_type(slug: str | None) -> str:
    return f"{PROBLEM_TYPE_PREFIX}{slug}" if slug else "about:blank"


def problem_body(
    *,
    status: int,
    detail: str,
    errors: Iterable[Mapping[str, str]] = (),
    slug: str | None = None,
    title: str | None = None,
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "type": problem_type(slug),
        "title": title or _reason(status),
        "status": status,
        "detail": detail,
        "errors": list(errors),
    }
    return body


def problem_response(*, status: int, detail: str, headers: Mapping[str, str] | None = None, **fields: Any) -> Response:
    return Response(
        problem_body(status=status, detail=detail, **fields),
        status=status,
        content_type=PROBLEM_CONTENT_TYPE,
        headers=dict(headers or {}),
    )


def problems_as_errors(problems: Iterable[Problem]) -> list[dict[str, str]]:
    return [{"field": problem.field, "message": problem.message, "code": problem.code} for problem in problems]


def flatten_validation_detail(detail: Any, prefix: str = "") -> list[dict[str, str]]:
    """DRF's nested error detail as a flat list of {"field": "a.0.b", "message", "code"}."""
    errors: list[dict[str, str]] = []
    if isinstance(detail, Mapping):
        for key, value in detail.items():
            name = ROOT_FIELD if key in ("non_field_errors", "detail") and not prefix else str(key)
            errors.extend(flatten_validation_detail(value, f"{prefix}.{name}" if prefix else name))
    elif isinstance(detail, list):
        for index, value in enumerate(detail):
            if isinstance(value, Mapping | list):
                errors.extend(flatten_validation_detail(value, f"{prefix}.{index}" if prefix else str(index)))
            else:
                errors.extend(flatten_validation_detail(value, prefix))
    else:
        code = getattr(detail, "code", "invalid")
        errors.append({"field": prefix or ROOT_FIELD, "message": str(detail), "code": code})
    return errors


def exception_handler(exc: Exception, context: Mapping[str, Any]) -> Response | None:
    request = context.get("request")
    view = context.get("view")
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()

    if isinstance(exc, ServiceError):
        response = problem_response(
            status=exc.status,
            detail=exc.detail,
            errors=problems_as_errors(exc.problems),
            slug=exc.problem_type,
            title=exc.title,
        )
    elif isinstance(exc, exceptions.APIException):
        response = _api_exception_response(exc, request)
    elif isinstance(exc, DATABASE_UNAVAILABLE):
        # A restart or failover: tell the caller to retry (with the same Idempotency-Key) rather than answer 500.
        logger.warning("database unavailable: %s", exc)
        response = problem_response(
            status=503,
            detail="The database is unavailable; retry shortly with the same Idempotency-Key.",
            slug="unavailable",
            headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
        )
    else:
        return None  # DRF re-raises; Django logs it and answers 500.

    _audit_denial(response.status_code, request, view)
    return response


def _api_exception_response(exc: exceptions.APIException, request: Any) -> Response:
    status = exc.status_code
    headers: dict[str, str] = {}
    if isinstance(exc, exceptions.ValidationError):
        errors = flatten_validation_detail(exc.detail)
        detail = "The request has invalid fields; see errors."
    else:
        errors = []
        detail = str(exc.detail) if not isinstance(exc.detail, Mapping | list) else "; ".join(
            error["message"] for error in flatten_validation_detail(exc.detail)
        )
        if isinstance(exc, exceptions.ParseError):
            errors = [{"field": ROOT_FIELD, "message": detail, "code": "parse_error"}]
    if status == 401:
        headers["WWW-Authenticate"] = CHALLENGE
    if isinstance(exc, exceptions.Throttled) and exc.wait is not None:
        headers["Retry-After"] = str(max(1, int(exc.wait + 0.999)))
    return problem_response(
        status=status,
        detail=detail,
        errors=errors,
        slug=_TYPES_BY_EXCEPTION.get(type(exc)),
        headers=headers,
    )


def _reason(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def _audit_denial(status: int, request: Any, view: Any) -> None:
    """401 with a credential we recognise, and 403/404 on a client-data route, are denied attempts worth a record."""
    if status not in (401, 403, 404) or request is None:
        return
    from questionnaires.services.audit import audit_record

    if status == 401:
        attempt = getattr(request, "denied_credential", None)
        if attempt is None:
            return
        actor, clinic_id, reason = attempt
        audit_record(
            actor=actor,
            action=_action(request, view),
            object_type=getattr(view, "audit_object_type", ""),
            outcome="unauthenticated",
            clinic_id=clinic_id,
            detail=_printable(f"{request.method} {request.path}: {reason}")[:300],
        )
        return
    object_type = getattr(view, "audit_object_type", "")
    principal = getattr(request, "user", None)
    if not object_type or not getattr(principal, "is_authenticated", False):
        return
    lookup = view.kwargs if view is not None else {}
    audit_record(
        actor=principal.label,
        action=_action(request, view),
        object_type=object_type,
        object_ids=[_printable(str(value))[:200] for value in lookup.values()],
        outcome="forbidden" if status == 403 else "not_found",
        clinic_id=principal.clinic_id,
        detail=_printable(f"{request.method} {request.path}")[:300],
    )


def _printable(text: str) -> str:
    """Caller-chosen text for the audit row: PostgreSQL refuses NUL, so control characters are escaped."""
    return "".join(char if char.isprintable() else repr(char)[1:-1] for char in text)


def _action(request: Any, view: Any) -> str:
    actions = getattr(view, "audit_actions", None) or {}
    return actions.get(request.method, request.method.lower())
