"""Idempotency and replay: an Idempotency-Key on a single submission, a client-generated id in a batch.

A repeat by the same caller with the same content (same canonical-JSON fingerprint) replays the
first result; other content is a 422; a key or id this caller may not see is a 409 that tells
nothing of the stored response.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import orjson
from django.db import IntegrityError, transaction

from questionnaires.models import Response
from questionnaires.principals import Principal
from questionnaires.selectors.responses import responses_visible_to
from questionnaires.services.errors import Conflict, IdempotencyMismatch
from questionnaires.services.responses.building import SubmitResult, creation_event, read_or_reject, validated_response
from questionnaires.services.score_publisher import scoring_enqueue_soon
from questionnaires.validation import Problem

IDEMPOTENCY_KEY_MAX_LENGTH = 200


def fingerprint(payload: Any) -> str:
    """sha256 of the canonical JSON of a body: sorted keys, no spaces, decimals kept distinct from strings."""
    try:
        canonical = orjson.dumps(payload, default=_canonical_default, option=orjson.OPT_SORT_KEYS)
    except (orjson.JSONEncodeError, TypeError):  # integers beyond 64 bits
        canonical = json.dumps(payload, default=_canonical_default, sort_keys=True, separators=(",", ":")).encode()
    return hashlib.sha256(canonical).hexdigest()


def _canonical_default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return {"$decimal": str(value)}
    return str(value)


def idempotency_key_problem(key: str) -> Problem | None:
    if len(key) > IDEMPOTENCY_KEY_MAX_LENGTH or not key.isprintable():
        return Problem(
            "Idempotency-Key", f"must be 1 to {IDEMPOTENCY_KEY_MAX_LENGTH} printable characters", "invalid"
        )
    return None


def submit_keyed(
    principal: Principal, payload: Any, idempotency_key: str, *, source: str, audited: bool
) -> SubmitResult:
    """With an Idempotency-Key: find a first use, or insert under a savepoint that tells a concurrent twin apart."""
    body_fingerprint = fingerprint(payload)
    with transaction.atomic():
        result = _submit_keyed_in_transaction(principal, payload, idempotency_key, body_fingerprint, source)
        if audited:
            creation_event(principal, result.response, created=result.created).save()
    return result


def _submit_keyed_in_transaction(
    principal: Principal, payload: Any, idempotency_key: str, body_fingerprint: str, source: str
) -> SubmitResult:
    existing = _keyed_response(principal, idempotency_key)
    if existing is not None:
        return _replay(principal, existing, body_fingerprint)
    submission, problems = read_or_reject(payload)
    response = validated_response(principal, submission, problems, source=source)
    response.idempotency_key = idempotency_key
    response.request_fingerprint = body_fingerprint
    try:
        with transaction.atomic():
            response.save(force_insert=True)
    except IntegrityError:
        # Another request with the same key committed first: answer as its replay.
        existing = _keyed_response(principal, idempotency_key)
        if existing is None:
            raise Conflict("A request with this Idempotency-Key is in progress; retry.") from None
        return _replay(principal, existing, body_fingerprint)
    scoring_enqueue_soon(response_ids=[response.id])
    return SubmitResult(response=response, created=True)


def _keyed_response(principal: Principal, idempotency_key: str) -> Response | None:
    """The response this caller stored under the key, if any; other callers' keys are never looked at."""
    return Response.objects.filter(
        clinic_id=principal.clinic_id, idempotency_scope=principal.idempotency_scope, idempotency_key=idempotency_key
    ).first()


def _replay(principal: Principal, existing: Response, body_fingerprint: str) -> SubmitResult:
    """The first result again, only for the same caller, the same subject and the same content.

    A key of this caller whose response it can no longer see (a client moved off a clinician's
    caseload) is a 409 that tells nothing of that response.
    """
    if not responses_visible_to(principal).filter(pk=existing.pk).exists():
        raise Conflict(
            "You already used this Idempotency-Key for a response you can no longer see; use a new key.",
            [Problem("Idempotency-Key", "already used", "conflict")],
        )
    if existing.request_fingerprint != body_fingerprint:
        raise IdempotencyMismatch(
            "This Idempotency-Key was already used with a different request body.",
            [Problem("Idempotency-Key", "already used with a different body", "idempotency_mismatch")],
        )
    return SubmitResult(response=existing, created=False)


@dataclass(frozen=True)
class Known:
    """A batch entry's id as already stored: whose it is and with which content."""

    fingerprint: str
    visible: bool
    same_clinic: bool
    same_caller: bool


def known_ids(principal: Principal, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, Known]:
    """The stored responses among `ids`, in any clinic (an id used elsewhere is a conflict, told without data)."""
    if not ids:
        return {}
    rows = Response.objects.filter(pk__in=ids).values_list(
        "pk", "clinic_id", "request_fingerprint", "idempotency_scope"
    )
    in_clinic = [pk for pk, clinic_id, _, _ in rows if clinic_id == principal.clinic_id]
    visible = set(responses_visible_to(principal).filter(pk__in=in_clinic).values_list("pk", flat=True)) if (
        in_clinic and not principal.sees_whole_clinic
    ) else set(in_clinic)
    return {
        pk: Known(
            fingerprint=fp,
            visible=pk in visible,
            same_clinic=clinic_id == principal.clinic_id,
            # Rows stored before callers had scopes carry none: visibility and content decide for them.
            same_caller=scope in ("", principal.idempotency_scope),
        )
        for pk, clinic_id, fp, scope in rows
    }


def id_verdict(
    response_id: uuid.UUID, entry_fingerprint: str, known: Mapping[uuid.UUID, Known], seen: Mapping[uuid.UUID, str]
) -> str | None:
    """None for a new id; "replay", "mismatch" or "conflict" for one already stored or earlier in this batch."""
    if response_id in seen:
        return "replay" if seen[response_id] == entry_fingerprint else "mismatch"
    found = known.get(response_id)
    if found is None:
        return None
    if not found.visible or not found.same_caller:
        return "conflict"
    return "replay" if found.fingerprint == entry_fingerprint else "mismatch"

