"""Amending and retracting stored responses: every version kept, scores, alerts and rollups moved exactly.

An amendment replaces the answers (and optionally `authored` and `comment`) of the current
version: the old version goes into a `ResponseRevision` with its score and alerts, its rollup
contribution is subtracted, its alerts are withdrawn, and the new version is scored like a new
submission (new alerts, a `response.scored` event of its own). A retraction (FHIR
`entered-in-error`) takes the response out of metrics, search, trajectories and exports and keeps
it, and its history, for audit. Both are audited and announced by webhook
(`response.amended`, `response.retracted`) in the same transaction.

Who may correct: the clinic's integration (an API key) what an integration submitted; a clinician
or supervisor any response of a client they can see; a client token its own responses, within
`RESPONSE_CLIENT_CORRECTION_HOURS` of receipt.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from questionnaires.models import Alert, Response, ResponseRevision, Score
from questionnaires.principals import Principal
from questionnaires.selectors.responses import response_get_visible
from questionnaires.selectors.scores import latest_scores_for, score_as_dict
from questionnaires.services.audit import audit_event_build
from questionnaires.services.errors import Conflict, Forbidden, InvalidInput, NotFound
from questionnaires.services.metrics import metrics_withdraw
from questionnaires.services.outcome_rollups import outcomes_refresh_on_commit
from questionnaires.services.responses import response_build
from questionnaires.services.score_publisher import scoring_enqueue_soon
from questionnaires.services.webhooks import webhook_correction_record, webhook_deliveries_publish_on_commit
from questionnaires.validation import Problem

REASON_MAX_LENGTH = 2000
AMENDABLE_FIELDS = frozenset({"answers", "authored", "comment", "reason"})


@dataclass
class CorrectionResult:
    response: Response
    changed: bool
    delivery_ids: list[int]


def response_amend(*, principal: Principal, response_id: str, payload: Any) -> CorrectionResult:
    """Store a new version of the response's answers and re-score it.

    `payload`: {"answers": {linkId: value}, "authored"?: ISO 8601, "comment"?: str, "reason": str}.
    The same answers, authored time and comment again are a no-op (`changed` False), so a retried
    amendment is safe. Raises NotFound (not visible), Forbidden (not this caller's to correct),
    Conflict (retracted) or InvalidInput naming every problem, as a submission would.
    """
    problems: list[Problem] = []
    if not isinstance(payload, dict):
        raise InvalidInput("The amendment must be a JSON object.", [Problem("body", "must be a JSON object")])
    problems += [Problem(str(key), "unknown field; send answers, authored, comment, reason", "unknown_field")
                 for key in payload if key not in AMENDABLE_FIELDS]
    reason = _reason(payload.get("reason"), problems)
    if "answers" not in payload:
        problems.append(Problem("answers", "required: the whole set of answers of the new version", "required"))
    current = _correctable(principal, response_id)
    if current.status == Response.Status.RETRACTED:
        raise Conflict("This response was retracted (entered in error); submit a new one instead.",
                       [Problem("status", "retracted", "conflict")])
    if problems:
        raise InvalidInput("The amendment is not valid; see errors.", problems)
    candidate = response_build(principal=principal, payload=_as_submission(current, payload), source=current.source)
    if (candidate.answers, candidate.authored_at, candidate.comment) == (
        current.answers, current.authored_at, current.comment
    ):
        return CorrectionResult(response=current, changed=False, delivery_ids=[])
    with transaction.atomic():
        response = _locked(current.pk)
        if response.status == Response.Status.RETRACTED or response.version != current.version:
            raise Conflict("The response changed while this amendment was made; read it again and retry.")
        _keep_revision(response, change=ResponseRevision.Change.AMENDED, principal=principal, reason=reason)
        Score.objects.filter(response=response).delete()
        response.answers = candidate.answers
        response.authored_at = candidate.authored_at
        response.comment = candidate.comment
        response.version += 1
        response.status = Response.Status.PENDING
        response.failure_reason = ""
        response.corrected_at = timezone.now()
        response.save(update_fields=[
            "answers", "authored_at", "comment", "version", "status", "failure_reason", "corrected_at"
        ])
        _audit(principal, response, action="amend", reason=reason)
        delivery_ids = webhook_correction_record(
            response=response, event="response.amended", reason=reason, changed_by=principal.label
        )
        webhook_deliveries_publish_on_commit(delivery_ids)
        scoring_enqueue_soon(response_ids=[response.id])
    return CorrectionResult(response=response, changed=True, delivery_ids=delivery_ids)


def response_retract(*, principal: Principal, response_id: str, reason: Any) -> CorrectionResult:
    """Mark the response entered in error: out of metrics, search and exports, kept with its history.

    Retracting a retracted response again changes nothing (`changed` False).
    """
    problems: list[Problem] = []
    reason_text = _reason(reason, problems)
    current = _correctable(principal, response_id)
    if problems:
        raise InvalidInput("The retraction is not valid; see errors.", problems)
    if current.status == Response.Status.RETRACTED:
        return CorrectionResult(response=current, changed=False, delivery_ids=[])
    with transaction.atomic():
        response = _locked(current.pk)
        if response.status == Response.Status.RETRACTED:
            return CorrectionResult(response=response, changed=False, delivery_ids=[])
        delivery_ids = _retract_locked(principal, response, reason_text)
        webhook_deliveries_publish_on_commit(delivery_ids)
    return CorrectionResult(response=response, changed=True, delivery_ids=delivery_ids)


def session_responses_retract(*, principal: Principal, session_id: int, reason: str) -> list:
    """Retract every live response of a session entered in error; returns their ids.

    A session that never took place has no answers to count: its responses leave metrics, search
    and exports exactly as a single retraction would take them out (history, audit, webhook each).
    Whoever may mark the session entered in error may do this (the session's visibility was checked
    by the caller), whoever submitted the responses. Call inside the transaction that changes the
    session. Setting the session back to another attendance does not restore them: a retraction is final.
    """
    live = list(
        Response.objects.filter(session_id=session_id)
        .exclude(status=Response.Status.RETRACTED)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    retracted, delivery_ids = [], []
    for response_id in live:
        response = _locked(response_id)
        if response.status == Response.Status.RETRACTED:
            continue
        delivery_ids += _retract_locked(principal, response, reason)
        retracted.append(response.pk)
    webhook_deliveries_publish_on_commit(delivery_ids)
    return retracted


def _retract_locked(principal: Principal, response: Response, reason: str) -> list[int]:
    """Retract a row already locked and withdrawn from the rollups (`_locked`); returns the webhook delivery ids."""
    _keep_revision(response, change=ResponseRevision.Change.RETRACTED, principal=principal, reason=reason)
    response.version += 1
    response.status = Response.Status.RETRACTED
    response.corrected_at = timezone.now()
    response.save(update_fields=["version", "status", "corrected_at"])
    _audit(principal, response, action="retract", reason=reason)
    return webhook_correction_record(
        response=response, event="response.retracted", reason=reason, changed_by=principal.label
    )


def correction_denial(principal: Principal, response: Response) -> str | None:
    """Why this caller may not correct this (visible) response, or None if it may."""
    if principal.is_staff_member:
        return None
    if principal.kind == "api_key":
        if response.submitted_by.startswith("api_key:"):
            return None
        return "An integration may correct only what an integration submitted; ask the client's clinician."
    if principal.kind == "client_token":
        window = timedelta(hours=settings.RESPONSE_CLIENT_CORRECTION_HOURS)
        if response.submitted_by.startswith("client_token:") and timezone.now() - response.received_at <= window:
            return None
        return (
            f"A client may correct their own answers within {settings.RESPONSE_CLIENT_CORRECTION_HOURS} hours; "
            "ask your clinician."
        )
    return "This credential may not correct responses."


def _correctable(principal: Principal, response_id: str) -> Response:
    response = response_get_visible(principal=principal, response_id=response_id, include_retracted=True)
    if response is None:
        raise NotFound("No such response.")
    denial = correction_denial(principal, response)
    if denial:
        raise Forbidden(denial)
    return response


def _locked(response_id) -> Response:
    """The row under lock, after its counted score has left the rollups (their alerts still counted there)."""
    metrics_withdraw(response_ids=[response_id])
    outcomes_refresh_on_commit(response_ids=[response_id])
    return (
        Response.objects.select_for_update(of=("self",))
        .select_related("client", "questionnaire_version")
        .get(pk=response_id)
    )


def _reason(value: Any, problems: list[Problem]) -> str:
    if not isinstance(value, str) or not value.strip():
        problems.append(Problem("reason", "required: why the response is corrected (audited)", "required"))
        return ""
    if len(value) > REASON_MAX_LENGTH:
        problems.append(Problem("reason", f"at most {REASON_MAX_LENGTH} characters", "too_long"))
    return value.strip()[:REASON_MAX_LENGTH]


def _as_submission(current: Response, payload: dict) -> dict:
    """The amendment as a full submission of the stored questionnaire version, for the submission's checks."""
    submission: dict[str, Any] = {
        "questionnaire": current.questionnaire_version.questionnaire_id,
        "version": current.questionnaire_version.version,
        "client": current.client.external_id,
        "rater": current.rater,
        "authored": payload.get("authored", current.authored_at.isoformat()),
        "answers": payload["answers"],
        "comment": payload.get("comment", current.comment),
    }
    if current.session_number is not None:
        submission["session"] = current.session_number
    return submission


def _keep_revision(response: Response, *, change: str, principal: Principal, reason: str) -> None:
    score = latest_scores_for([response.id]).get(response.id)
    live_alerts = Alert.objects.filter(response=response, withdrawn_at__isnull=True)
    ResponseRevision.objects.create(
        response=response,
        version=response.version,
        change=change,
        answers=response.answers,
        authored_at=response.authored_at,
        comment=response.comment,
        status=response.status,
        received_at=response.received_at,
        score=_jsonable(score_as_dict(score)) if score is not None else None,
        alerts=sorted(live_alerts.values_list("kind", flat=True)),
        changed_by=principal.label[:100],
        reason=reason,
    )
    live_alerts.update(withdrawn_at=timezone.now())


def _jsonable(score: dict) -> dict:
    return {**score, "computed_at": score["computed_at"].isoformat()}


def _audit(principal: Principal, response: Response, *, action: str, reason: str) -> None:
    audit_event_build(
        actor=principal.label,
        action=action,
        object_type="response",
        object_ids=[str(response.id)],
        clinic_id=response.clinic_id,
        detail=f"v{response.version}: {reason}",
    ).save()
