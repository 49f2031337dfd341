"""Reading a submission's envelope: cheap hand-written checks of its top-level fields, shared by single and batch.

The answers are checked later, per definition (`building`). Every problem is collected, so a
rejection lists them all at once.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from django.conf import settings
from django.utils import timezone

from questionnaires.models import Response
from questionnaires.validation import Problem

COMMENT_MAX_LENGTH = 2000
CLOCK_SKEW = timedelta(minutes=5)
"""How far in the future `authored` may be: device clocks drift."""
SESSION_MAX = 2_147_483_647
SESSION_ID_MAX = 2**63 - 1
EARLIEST_YEAR = 1900

FIELDS = frozenset(
    {
        "questionnaire", "version", "client", "clinician", "session", "session_id", "session_external_id", "rater",
        "authored", "answers", "comment",
    }
)
SERVER_FIELDS = frozenset(
    {
        "id", "clinic", "status", "score", "scores", "received", "received_at", "submitted_by", "source",
        "failure_reason", "idempotency_key", "idempotency_scope", "request_fingerprint", "questionnaire_version",
    }
)
RATERS = frozenset(choice.value for choice in Response.Rater)


@dataclass
class Submission:
    """A submission whose envelope is well formed; names not yet resolved against the database."""

    questionnaire: str
    version: str | None
    client: str | None
    clinician: str | None
    session: int | None
    rater: str
    authored: datetime
    answers: Any
    comment: str
    id: uuid.UUID | None = None
    session_id: int | None = None
    session_external_id: str | None = None
    rater_sent: bool = False
    """Whether the body named `rater` (a client token may not name `clinician`)."""


def submission_read(
    payload: Any, *, allow_id: bool = False, now: datetime | None = None
) -> tuple[Submission | None, list[Problem]]:
    """The submission, or every problem with its top-level fields (answers are checked later, per definition)."""
    if not isinstance(payload, Mapping):
        return None, [Problem("body", "must be a JSON object", "invalid_type")]
    problems: list[Problem] = []
    for key in payload:
        if key in FIELDS or (allow_id and key == "id"):
            continue
        if key in SERVER_FIELDS:
            problems.append(Problem(str(key), "is set by the server and cannot be sent", "read_only"))
        else:
            problems.append(Problem(str(key), "unknown field", "unknown_field"))

    questionnaire = _text(payload, "questionnaire", problems, required=True, max_length=64)
    version = _text(payload, "version", problems, max_length=32)
    client = _text(payload, "client", problems, max_length=128)
    clinician = _text(payload, "clinician", problems, max_length=150)
    comment = _text(payload, "comment", problems, max_length=COMMENT_MAX_LENGTH, allow_empty=True)

    session = payload.get("session")
    if session is not None and (isinstance(session, bool) or not isinstance(session, int)):
        problems.append(Problem("session", "must be a whole number", "invalid_type"))
        session = None
    elif session is not None and not 1 <= session <= SESSION_MAX:
        problems.append(Problem("session", f"must be between 1 and {SESSION_MAX}", "out_of_range"))
        session = None
    session_id = payload.get("session_id")
    if session_id is not None and (
        isinstance(session_id, bool) or not isinstance(session_id, int) or not 1 <= session_id <= SESSION_ID_MAX
    ):
        problems.append(Problem("session_id", "must be the id of a session", "invalid_type"))
        session_id = None
    session_external_id = _text(payload, "session_external_id", problems, max_length=128)
    if session_id is not None and session_external_id is not None:
        problems.append(Problem("session_external_id", "name the session by session_id or by this, not both",
                                "conflicting"))

    rater = payload.get("rater")
    if rater is None:
        rater = Response.Rater.CLIENT.value
    elif rater not in RATERS:
        problems.append(Problem("rater", f"must be one of {', '.join(sorted(RATERS))}", "invalid_choice"))

    authored = _authored(payload.get("authored"), problems, now or timezone.now())

    if "answers" not in payload:
        problems.append(Problem("answers", "required", "required"))

    response_id = None
    if allow_id and payload.get("id") is not None:
        try:
            response_id = uuid.UUID(payload["id"]) if isinstance(payload["id"], str) else None
        except ValueError:
            response_id = None
        if response_id is None:
            problems.append(Problem("id", "must be a UUID", "invalid"))

    if questionnaire is None:
        return None, problems
    # With envelope problems the submission is still returned, so the questionnaire, client and
    # answers can be checked too: a rejection then lists every problem at once.
    return (
        Submission(
            questionnaire=questionnaire,  # type: ignore[arg-type]
            version=version,
            client=client,
            clinician=clinician,
            session=session,
            rater=rater,
            authored=authored,  # type: ignore[arg-type]
            answers=payload.get("answers"),
            comment=comment or "",
            id=response_id,
            session_id=session_id,
            session_external_id=session_external_id,
            rater_sent=payload.get("rater") is not None,
        ),
        problems,
    )


def _text(
    payload: Mapping, name: str, problems: list[Problem], *, required: bool = False, max_length: int,
    allow_empty: bool = False,
) -> str | None:
    value = payload.get(name)
    if value is None:
        if required:
            problems.append(Problem(name, "required", "required"))
        return None
    if not isinstance(value, str):
        problems.append(Problem(name, "must be a string", "invalid_type"))
    elif not value and not allow_empty:
        problems.append(Problem(name, "must not be empty", "required"))
    elif len(value) > max_length:
        problems.append(Problem(name, f"must be at most {max_length} characters", "too_long"))
    elif "\x00" in value:
        problems.append(Problem(name, "must not contain NUL characters", "invalid_characters"))
    else:
        return value
    return None


def _authored(value: Any, problems: list[Problem], now: datetime) -> datetime | None:
    if value is None:
        problems.append(Problem("authored", "required", "required"))
        return None
    if not isinstance(value, str) or len(value) > 64:
        problems.append(Problem("authored", "must be an ISO 8601 date-time string", "invalid_type"))
        return None
    try:
        authored = datetime.fromisoformat(value)
    except ValueError:
        problems.append(Problem("authored", "not a valid ISO 8601 date-time", "invalid_datetime"))
        return None
    if authored.tzinfo is None or authored.utcoffset() is None:
        problems.append(Problem("authored", "must include a timezone (e.g. Z or +01:00)", "missing_timezone"))
        return None
    if not EARLIEST_YEAR <= authored.year <= now.year + 1:
        problems.append(Problem("authored", f"must be after {EARLIEST_YEAR} and not in the future", "out_of_range"))
        return None
    if authored > now + CLOCK_SKEW:
        problems.append(Problem("authored", "is in the future", "in_future"))
        return None
    max_days = settings.RESPONSE_MAX_BACKDATE_DAYS
    if authored < now - timedelta(days=max_days):
        problems.append(
            Problem("authored", f"is more than {max_days} days in the past (RESPONSE_MAX_BACKDATE_DAYS)", "too_old")
        )
        return None
    # Stored in UTC: PostgreSQL refuses offsets beyond ±15:59, which Python accepts.
    return authored.astimezone(UTC)


def every_problem(envelope: list[Problem], built: list[Problem]) -> list[Problem]:
    """The envelope's problems, then the rest; a field the envelope already named is not named twice."""
    named = {problem.field for problem in envelope}
    return [*envelope, *(problem for problem in built if problem.field not in named)]

