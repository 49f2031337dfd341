"""The unsaved rows a submission describes: its response, checked against the definition, and its audit event.

`validated_response` raises InvalidInput naming every problem with the envelope, the names and the
answers; nothing is written here.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from questionnaires.contract import Questionnaire
from questionnaires.dynamic_items import validate_answers_for_client
from questionnaires.models import AuditEvent, Response, TherapyClient
from questionnaires.principals import Principal
from questionnaires.registry import DefinitionChanged, get_registry
from questionnaires.services.audit import audit_event_build
from questionnaires.services.errors import InvalidInput
from questionnaires.services.responses.attribution import (
    Lookups,
    attribution_for,
    credited_user,
    default_client,
    lookups_for,
)
from questionnaires.services.responses.reading import Submission, every_problem, submission_read
from questionnaires.validation import Problem


@dataclass
class SubmitResult:
    response: Response
    created: bool


def response_build(*, principal: Principal, payload: Any, source: str) -> Response:
    """The unsaved response a submission describes, checked as a submission is; InvalidInput names every problem.

    For a caller that stores it another way (an amendment copies its answers onto a stored response).
    """
    submission, problems = read_or_reject(payload)
    return validated_response(principal, submission, problems, source=source)


def read_or_reject(payload: Any) -> tuple[Submission, list[Problem]]:
    submission, problems = submission_read(payload)
    if submission is None:
        raise InvalidInput("The response is not valid; see errors.", problems)
    return submission, problems


def validated_response(
    principal: Principal,
    submission: Submission,
    problems: list[Problem],
    *,
    source: str,
    client_in_insert: bool = False,
) -> Response:
    """The unsaved response, or InvalidInput naming every problem with the envelope, the names and the answers.

    `client_in_insert`: the client is not looked up here but by the insert itself (see
    `single._client_query_for_insert`); the response carries an unsaved stand-in until then. If
    anything else is wrong, the client is looked up after all, so the rejection names it too.
    """
    lookups = lookups_for(principal, [submission], with_clients=not client_in_insert)
    if client_in_insert:
        assert submission.client is not None
        lookups.clients[submission.client] = TherapyClient(clinic_id=principal.clinic_id, external_id=submission.client)
    default_client(principal, submission, lookups)
    response, build_problems = build_response(principal, submission, lookups, source=source)
    if build_problems and client_in_insert:
        return validated_response(principal, submission, problems, source=source)
    problems = every_problem(problems, build_problems)
    if problems:
        raise InvalidInput("The response is not valid; see errors.", problems)
    assert response is not None
    return response


def build_response(
    principal: Principal, submission: Submission, lookups: Lookups, *, source: str
) -> tuple[Response | None, list[Problem]]:
    """An unsaved Response, or every problem with the submission's names and answers."""
    problems: list[Problem] = []
    registry = get_registry()
    definition: Questionnaire | None = registry.get(submission.questionnaire, submission.version)
    if definition is None:
        if submission.version is not None and registry.get(submission.questionnaire) is not None:
            problems.append(
                Problem("version", f"questionnaire {submission.questionnaire!r} has no version {submission.version!r}",
                        "unknown_version")
            )
        else:
            problems.append(Problem("questionnaire", f"unknown questionnaire {submission.questionnaire!r}", "unknown"))

    client = None
    if submission.client is None:
        problems.append(Problem("client", "required", "required"))
    else:
        client = lookups.clients.get(submission.client)
        if client is None:
            problems.append(Problem("client", "unknown client", "unknown"))

    attribution = attribution_for(principal, submission, client, lookups, problems)

    answers: dict = {}
    if definition is not None:
        converted, answer_problems = validate_answers_for_client(definition, client, submission.answers)
        problems.extend(answer_problems)
        answers = {link_id: _storable(value) for link_id, value in converted.items()}
    elif not isinstance(submission.answers, Mapping):
        problems.append(Problem("answers", "must be an object mapping item linkIds to values", "invalid_type"))

    version_row = None
    if definition is not None:
        try:
            version_row = registry.version_row(definition)
        except DefinitionChanged as error:
            problems.append(Problem("questionnaire", f"this version is unavailable: {error}", "unavailable"))
    if problems:
        return None, problems
    assert client is not None
    return (
        Response(
            id=submission.id or uuid.uuid4(),
            clinic_id=principal.clinic_id,
            client=client,
            clinician=credited_user(attribution),
            questionnaire_version=version_row,
            session_id=attribution.session_id,
            session_number=attribution.session_number,
            rater=submission.rater,
            authored_at=submission.authored,
            answers=answers,
            comment=submission.comment,
            source=source,
            submitted_by=principal.label[:100],
            idempotency_scope=principal.idempotency_scope,
        ),
        [],
    )


def _storable(value: Any) -> Any:
    """Answers are stored as JSON numbers; the scoring engine reads floats through `str`, so 9.2 stays 9.2."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() and value.as_tuple().exponent == 0 else float(value)
    return value


def creation_event(principal: Principal, response: Response, *, created: bool) -> AuditEvent:
    return audit_event_build(
        actor=principal.label,
        action="create",
        object_type="response",
        object_ids=[str(response.id)],
        outcome="ok" if created else "replayed",
        clinic_id=principal.clinic_id,
    )

