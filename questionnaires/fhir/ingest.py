"""Creating a response from a FHIR QuestionnaireResponse through the same service as a native submission.

The FHIR identifier (or the If-None-Exist identifier) becomes the response's idempotency key,
so a conditional create by the same caller with the same content finds the earlier response
instead of storing a second one.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any
from urllib.parse import unquote

from django.contrib.auth import get_user_model

from questionnaires.fhir.foreign import ForeignForm, foreign_form
from questionnaires.fhir.outcome import FhirError, Issue, fhir_error
from questionnaires.fhir.response import ROOT, ParsedResponse, questionnaire_response_parse
from questionnaires.fhir.response_export import idempotency_key_for
from questionnaires.fhir.search import reference_id
from questionnaires.models import Response
from questionnaires.principals import Principal
from questionnaires.registry import get_registry
from questionnaires.selectors.clinics import clinic_time_zone
from questionnaires.selectors.foreign_questionnaires import foreign_questionnaire_find
from questionnaires.selectors.responses import response_get_visible
from questionnaires.services.corrections import response_amend, response_retract
from questionnaires.services.errors import ServiceError
from questionnaires.services.responses import response_submit

FIELD_PATHS = {
    "client": f"{ROOT}.subject",
    "authored": f"{ROOT}.authored",
    "clinician": f"{ROOT}.author",
    "questionnaire": f"{ROOT}.questionnaire",
    "version": f"{ROOT}.questionnaire",
    "session_id": f"{ROOT}.encounter",
    "session_external_id": f"{ROOT}.encounter",
    "session": f"{ROOT}.encounter",
}


DATE_ONLY_HOUR = time(12)
"""A response dated by day only is placed at noon of that day in the clinic's time zone: the same calendar
day wherever the clinic is, and never a day earlier in UTC-minus zones as midnight UTC would be."""


@dataclass
class Created:
    response: Response
    created: bool
    parsed: ParsedResponse | None


def conditional_identifier(if_none_exist: str | None) -> tuple[str, str] | None:
    """`identifier=system|value` from an If-None-Exist header; other criteria are refused, not ignored."""
    if not if_none_exist:
        return None
    query = if_none_exist.strip().lstrip("?")
    name, _, value = query.partition("=")
    if name.strip() != "identifier" or not value or "&" in value:
        raise fhir_error(400, "not-supported", "If-None-Exist supports only identifier=<system>|<value>")
    system, bar, code = unquote(value).partition("|")
    return (system, code) if bar else ("", system)


DEFAULT_REASON = "corrected by the sender through FHIR"


def fhir_response_create(
    *, principal: Principal, payload: Any, if_none_exist: str | None = None, reason: str | None = None
) -> Created:
    """Store the response (scored after commit) or find the one an identifier already names.

    A resend of this caller's identifier with status `amended` is that response's correction
    (FHIR R4: amended = "completed, then changes or additions made afterwards"): it becomes the
    current version and is re-scored.
    """
    parsed = questionnaire_response_parse(
        payload, registry=get_registry(), registered_form=_registered_forms_of(principal.clinic_id)
    )
    identifier = conditional_identifier(if_none_exist) or parsed.identifier
    # The identifier is this caller's Idempotency-Key: a resend with the same content answers the
    # first response; another caller's identical identifier is another response; other content is a conflict.
    key = idempotency_key_for(*identifier) if identifier else None
    if key is not None and parsed.status == "amended":
        earlier = Response.objects.filter(
            clinic_id=principal.clinic_id, idempotency_scope=principal.idempotency_scope, idempotency_key=key
        ).first()
        if earlier is not None:
            return _amend(principal, earlier, parsed, reason)
    native = {
        "questionnaire": parsed.definition.id,
        "version": parsed.definition.version,  # recorded explicitly even when the EHR left it out
        "client": parsed.client_external_id,
        "rater": parsed.definition.respondent,
        "authored": authored_moment(parsed.authored, clinic_id=principal.clinic_id).isoformat(),
        "answers": parsed.answers,
    }
    clinician = _clinician_username(principal, parsed.author_reference)
    if clinician:
        native["clinician"] = clinician
    if parsed.encounter is not None:
        # The REST submission's own session fields: the session is linked and the credit derived from it there.
        name, value = parsed.encounter
        native[name] = value
    try:
        result = response_submit(principal=principal, payload=native, idempotency_key=key, source=Response.Source.FHIR)
    except ServiceError as error:
        raise _as_fhir_error(error, parsed) from None
    return Created(response=result.response, created=result.created, parsed=parsed)


def authored_moment(authored: datetime | date, *, clinic_id: int) -> datetime:
    """A dateTime as sent; a date alone at DATE_ONLY_HOUR in the clinic's time zone."""
    if isinstance(authored, datetime):
        return authored
    return datetime.combine(authored, DATE_ONLY_HOUR, tzinfo=clinic_time_zone(clinic_id=clinic_id))


def _registered_forms_of(clinic_id: int):
    def find(url: str, version: str | None) -> ForeignForm | None:
        stored = foreign_questionnaire_find(clinic_id=clinic_id, url=url, version=version)
        if stored is None:
            return None
        return foreign_form(stored.url, stored.version, stored.mapping, origin="registered")

    return find


def fhir_response_update(
    *, principal: Principal, response_id: str, payload: Any, reason: str | None = None
) -> Created:
    """`PUT QuestionnaireResponse/{id}`: amend (status completed or amended) or retract (entered-in-error)."""
    response = response_get_visible(principal=principal, response_id=response_id, include_retracted=True)
    if response is None:
        raise fhir_error(404, "not-found", f"QuestionnaireResponse/{response_id} is not known")
    if isinstance(payload, dict) and payload.get("id") not in (None, str(response.pk)):
        raise fhir_error(400, "invalid", "the resource's id differs from the id in the URL",
                         expression=f"{ROOT}.id")
    return _update(principal, response, payload, reason)


def fhir_response_conditional_update(
    *, principal: Principal, identifier: tuple[str, str], payload: Any, reason: str | None = None
) -> Created:
    """`PUT QuestionnaireResponse?identifier=system|value`: update this caller's response with that identifier.

    With none, the resource is created (FHIR conditional update); the identifier must be the resource's own.
    """
    key = idempotency_key_for(*identifier)
    response = Response.objects.filter(
        clinic_id=principal.clinic_id, idempotency_scope=principal.idempotency_scope, idempotency_key=key
    ).first()
    if response is None:
        if isinstance(payload, dict) and payload.get("status") == "entered-in-error":
            raise fhir_error(404, "not-found", "no QuestionnaireResponse of this credential has that identifier")
        return fhir_response_create(
            principal=principal, payload=payload, if_none_exist=f"identifier={identifier[0]}|{identifier[1]}"
        )
    return _update(principal, response, payload, reason)


def fhir_response_retract(*, principal: Principal, response_id: str, reason: str | None = None) -> Response:
    """`DELETE QuestionnaireResponse/{id}`: the response is entered in error; kept, with its history."""
    try:
        return response_retract(
            principal=principal, response_id=response_id, reason=reason or "entered in error (FHIR delete)"
        ).response
    except ServiceError as error:
        raise _as_fhir_error(error, None) from None


def _update(principal: Principal, response: Response, payload: Any, reason: str | None) -> Created:
    if isinstance(payload, dict) and payload.get("status") == "entered-in-error":
        retracted = fhir_response_retract(
            principal=principal, response_id=str(response.pk), reason=reason or "entered in error (FHIR update)"
        )
        return Created(response=retracted, created=False, parsed=None)
    parsed = questionnaire_response_parse(
        payload, registry=get_registry(), registered_form=_registered_forms_of(principal.clinic_id)
    )
    return _amend(principal, response, parsed, reason)


def _amend(principal: Principal, response: Response, parsed: ParsedResponse, reason: str | None) -> Created:
    """The parsed resource as the new version of `response`: same subject and questionnaire, new answers."""
    stored_questionnaire = response.questionnaire_version.questionnaire_id
    if parsed.client_external_id != response.client.external_id:
        raise fhir_error(
            422, "business-rule", "an amendment cannot change the subject", expression=FIELD_PATHS["client"]
        )
    if parsed.definition.id != stored_questionnaire:
        raise fhir_error(422, "business-rule", f"an amendment must answer {stored_questionnaire}",
                         expression=FIELD_PATHS["questionnaire"])
    amendment: dict[str, Any] = {"answers": parsed.answers, "reason": reason or DEFAULT_REASON}
    amendment["authored"] = authored_moment(parsed.authored, clinic_id=principal.clinic_id).isoformat()
    try:
        result = response_amend(principal=principal, response_id=str(response.pk), payload=amendment)
    except ServiceError as error:
        raise _as_fhir_error(error, parsed) from None
    return Created(response=result.response, created=False, parsed=parsed)


def _clinician_username(principal: Principal, author: str | None) -> str | None:
    """`author` = Practitioner/<username> of a staff member of this clinic; any other author is not ours to resolve."""
    if not author or "Practitioner/" not in author:
        return None
    username = reference_id(author, "Practitioner")
    exists = (
        get_user_model()
        .objects.filter(username=username, membership__clinic_id=principal.clinic_id, is_active=True)
        .exists()
    )
    return username if exists else None


def _as_fhir_error(error: ServiceError, parsed: ParsedResponse | None) -> FhirError:
    status = 422 if error.status == 400 else error.status
    issue_code = {
        403: "forbidden", 404: "not-found", 409: "conflict", 422: "invalid", 413: "too-long"
    }.get(error.status, "invalid")
    issues = []
    for problem in error.problems:
        root_field, _, link_id = problem.field.partition(".")
        if root_field == "Idempotency-Key":
            where, issue_code = f"{ROOT}.identifier", "duplicate"
            diagnostics = (
                "this identifier already names a response with other content; send a new identifier for a new "
                "response"
                if problem.code == "idempotency_mismatch"
                else "this identifier already names a response this credential can no longer see"
            )
        elif root_field == "answers" and link_id:
            where, diagnostics = f"{ROOT}.item", f"linkId {link_id!r}: {problem.message}"
        elif root_field == "client" and parsed is not None:
            where = FIELD_PATHS["client"]
            diagnostics = f"Patient/{parsed.client_external_id} is not a client this credential can submit for"
            issue_code = "not-found"
        else:
            where, diagnostics = FIELD_PATHS.get(root_field, ROOT), f"{problem.field}: {problem.message}"
        issues.append(Issue(code=issue_code, diagnostics=diagnostics, expression=(where,)))
    return FhirError(status, issues or [Issue(code=issue_code, diagnostics=error.detail)])
