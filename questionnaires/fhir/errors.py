"""Every error under /fhir/ as an OperationOutcome: DRF's exceptions, domain errors, 404s and unexpected failures."""

from __future__ import annotations

import logging
from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404
from rest_framework import exceptions
from rest_framework.response import Response
from rest_framework.views import set_rollback

from questionnaires.api.problems import CHALLENGE, DATABASE_UNAVAILABLE, RETRY_AFTER_SECONDS
from questionnaires.fhir.codes import FHIR_JSON
from questionnaires.fhir.outcome import FhirError, Issue, operation_outcome
from questionnaires.services.errors import ServiceError

logger = logging.getLogger(__name__)

_CODES: list[tuple[type, str]] = [
    (exceptions.NotAuthenticated, "login"),
    (exceptions.AuthenticationFailed, "login"),
    (exceptions.PermissionDenied, "forbidden"),
    (exceptions.NotFound, "not-found"),
    (exceptions.MethodNotAllowed, "not-supported"),
    (exceptions.UnsupportedMediaType, "not-supported"),
    (exceptions.NotAcceptable, "not-supported"),
    (exceptions.ParseError, "structure"),
    (exceptions.Throttled, "throttled"),
    (exceptions.ValidationError, "invalid"),
]


def outcome_response(status: int, issues: list[Issue], headers: dict[str, str] | None = None) -> Response:
    return Response(operation_outcome(issues), status=status, headers=headers or {}, content_type=FHIR_JSON)


def fhir_exception_handler(exc: Exception, context: dict[str, Any]) -> Response:
    """Never None: even an unexpected error answers an OperationOutcome (logged with its traceback), never HTML."""
    set_rollback()
    headers: dict[str, str] = {}
    if isinstance(exc, Http404):
        exc = exceptions.NotFound("No such resource for this caller.")
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    if isinstance(exc, FhirError):
        status, issues = exc.status, exc.issues
    elif isinstance(exc, ServiceError):
        status = exc.status
        issues = [Issue(code="invalid", diagnostics=f"{p.field}: {p.message}") for p in exc.problems] or [
            Issue(code="invalid", diagnostics=exc.detail)
        ]
    elif isinstance(exc, exceptions.APIException):
        status = exc.status_code
        code = next((code for kind, code in _CODES if isinstance(exc, kind)), "processing")
        detail = exc.detail if isinstance(exc.detail, str) else str(exc.detail)
        issues = [Issue(code=code, diagnostics=detail)]
        if status == 401:
            headers["WWW-Authenticate"] = CHALLENGE
        if isinstance(exc, exceptions.Throttled) and exc.wait is not None:
            headers["Retry-After"] = str(max(1, int(exc.wait + 0.999)))
    elif isinstance(exc, DATABASE_UNAVAILABLE):
        # The database is down or restarting: a retryable 503, never a 500.
        logger.warning("database unavailable under /fhir/: %s", exc)
        status, issues = 503, [Issue(code="transient", diagnostics="the database is unavailable; retry shortly")]
        headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
    else:
        logger.exception("unexpected error under /fhir/", exc_info=exc)
        status, issues = 500, [Issue(code="exception", severity="fatal", diagnostics="internal server error")]
    _audit_denial(status, context)
    return outcome_response(status, issues, headers)


def _audit_denial(status: int, context: dict[str, Any]) -> None:
    """A 404 on client data, or a recognised but refused credential, is a denied attempt worth a record."""
    request, view = context.get("request"), context.get("view")
    if request is None or status not in (401, 404):
        return
    from questionnaires.services.audit import audit_record

    object_type = getattr(view, "audit_object_type", "")
    if status == 401:
        attempt = getattr(request, "denied_credential", None)
        if attempt is not None:
            actor, clinic_id, reason = attempt
            audit_record(
                actor=actor,
                action=request.method.lower(),
                object_type=object_type,
                outcome="unauthenticated",
                clinic_id=clinic_id,
                detail=f"{request.method} {request.path}: {reason}",
            )
        return
    principal = getattr(request, "user", None)
    if object_type and getattr(principal, "is_authenticated", False):
        audit_record(
            actor=principal.label,
            action="read",
            object_type=object_type,
            object_ids=[str(value)[:200] for value in (view.kwargs or {}).values()],
            outcome="not_found",
            clinic_id=principal.clinic_id,
            detail=f"{request.method} {request.path}",
        )
