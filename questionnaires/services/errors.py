"""Domain errors the services raise: a status, a message and every field at fault; the API turns them into problems."""

from __future__ import annotations

from collections.abc import Iterable

from questionnaires.validation import Problem


class ServiceError(Exception):
    """Base of the errors a caller can fix; `problem_type` is the slug of the RFC 9457 `type`."""

    status = 400
    title = "Bad request"
    problem_type = "bad-request"

    def __init__(self, detail: str, problems: Iterable[Problem] = ()) -> None:
        super().__init__(detail)
        self.detail = detail
        self.problems = list(problems)


class InvalidInput(ServiceError):
    status = 400
    title = "Invalid input"
    problem_type = "validation"


class NotFound(ServiceError):
    status = 404
    title = "Not found"
    problem_type = "not-found"


class Forbidden(ServiceError):
    """The caller can see the object but may not do this to it."""

    status = 403
    title = "Forbidden"
    problem_type = "forbidden"


class Conflict(ServiceError):
    status = 409
    title = "Conflict"
    problem_type = "conflict"


class IdempotencyMismatch(ServiceError):
    """The Idempotency-Key (or batch entry id) was already used with a different body."""

    status = 422
    title = "Idempotency key reused with a different body"
    problem_type = "idempotency-mismatch"


class TooLarge(ServiceError):
    status = 413
    title = "Request too large"
    problem_type = "too-large"
