"""Writing EpisodeOfCare, Encounter and Appointment resources through the course-of-care services REST uses.

Create, update by id, and the two conditional forms an EHR resends with: `POST` with
`If-None-Exist: identifier=<system>|<value>` (or the resource's own identifier) and
`PUT <type>?identifier=<system>|<value>`. The identifier's value is the integration's `external_id`.
A POST naming a known identifier with the same content answers the stored resource (200); with
other content it is a 409 (update it with PUT instead), never a silent replay.

Every problem is reported at once: what the resource itself gets wrong and what the service
refuses (an unknown clinician, a second active episode) are both named, each with its FHIRPath;
nothing is written unless all is well.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from django.db import transaction

from questionnaires.fhir.care import Parsed, appointment_parse, encounter_parse, episode_parse
from questionnaires.fhir.outcome import FhirError, Issue, fhir_error
from questionnaires.models import CareSession, EpisodeOfCare, TherapyClient
from questionnaires.principals import Principal
from questionnaires.selectors.care import (
    episode_get_visible,
    episodes_visible_to,
    session_get_visible,
    sessions_with_people,
)
from questionnaires.selectors.clients import clients_visible_to
from questionnaires.services.care import episode_create, episode_update, session_create, session_update
from questionnaires.services.errors import ServiceError

PARSERS: dict[str, Callable[[Any], Parsed]] = {
    "EpisodeOfCare": episode_parse,
    "Encounter": encounter_parse,
    "Appointment": appointment_parse,
}


@dataclass
class Written:
    obj: Any
    created: bool


class _Rollback(Exception):
    """Undo a write made only to collect the service's problems beside the resource's own."""


# --- entry points --------------------------------------------------------------------------------------


def care_create(*, principal: Principal, resource_type: str, payload: Any, identifier: str | None) -> Written:
    """POST: create, or (an identifier already known) answer the stored object if the content is the same."""
    parsed = PARSERS[resource_type](payload)
    identifier = _identifier_agrees(parsed, identifier)
    if identifier is not None:
        found = _by_identifier(principal, resource_type, identifier)
        if found is not None:
            if _same(parsed, found):
                return Written(obj=found, created=False)
            raise FhirError(409, [Issue(
                code="duplicate",
                diagnostics=f"identifier {identifier!r} already names {resource_type}/{found.pk} with other content; "
                f"update it with PUT {resource_type}?identifier=<system>|<value> or PUT {resource_type}/{found.pk}",
                expression=(f"{resource_type}.identifier",),
            )])
    return Written(obj=_write(principal, parsed, None), created=True)


def care_update(*, principal: Principal, resource_type: str, object_id: str, payload: Any) -> Written:
    """PUT <type>/<id>: the whole resource replaces what is stored (FHIR update); unknown ids are 404."""
    stored = _visible(principal, resource_type, object_id)
    if stored is None:
        raise fhir_error(404, "not-found", f"{resource_type}/{object_id} is not known")
    if isinstance(payload, dict) and payload.get("id") not in (None, str(stored.pk)):
        raise fhir_error(400, "invalid", "the resource's id differs from the id in the URL", f"{resource_type}.id")
    parsed = PARSERS[resource_type](payload)
    return Written(obj=_write(principal, parsed, stored), created=False)


def care_conditional_update(*, principal: Principal, resource_type: str, identifier: str, payload: Any) -> Written:
    """PUT <type>?identifier=...: update the object with that identifier, or create it (201) if there is none."""
    parsed = PARSERS[resource_type](payload)
    identifier = _identifier_agrees(parsed, identifier)
    found = _by_identifier(principal, resource_type, identifier)
    return Written(obj=_write(principal, parsed, found), created=found is None)


# --- identifiers ---------------------------------------------------------------------------------------


def _identifier_agrees(parsed: Parsed, identifier: str | None) -> str | None:
    """The identifier the request names; the resource's own must be the same value (or absent: it takes this one)."""
    if identifier is None:
        return parsed.identifier
    if parsed.identifier is not None and parsed.identifier != identifier:
        raise fhir_error(
            400, "invalid", f"the resource's identifier {parsed.identifier!r} differs from the one the request "
            f"names ({identifier!r})", f"{parsed.resource_type}.identifier",
        )
    parsed.identifier = identifier
    parsed.body["external_id"] = identifier
    parsed.paths.setdefault("external_id", f"{parsed.resource_type}.identifier")
    return identifier


def _by_identifier(principal: Principal, resource_type: str, identifier: str) -> Any:
    """The clinic's object with this external id; one the caller may not see is a conflict, never shown."""
    model = EpisodeOfCare if resource_type == "EpisodeOfCare" else CareSession
    stored = model.objects.filter(clinic_id=principal.clinic_id, external_id=identifier).first()
    if stored is None:
        return None
    visible = _visible(principal, resource_type, str(stored.pk))
    if visible is None:
        raise fhir_error(409, "conflict", f"identifier {identifier!r} is already used in this clinic",
                         f"{resource_type}.identifier")
    return visible


def _visible(principal: Principal, resource_type: str, object_id: str) -> Any:
    if resource_type == "EpisodeOfCare":
        return episode_get_visible(principal=principal, episode_id=object_id)
    return session_get_visible(principal=principal, session_id=object_id)


# --- writing -------------------------------------------------------------------------------------------


def _write(principal: Principal, parsed: Parsed, stored: Any) -> Any:
    """Write in one transaction; with problems in the resource the service still runs (rolled back) to name its own."""
    try:
        with transaction.atomic():
            if parsed.resource_type == "EpisodeOfCare":
                written = _episode_write(principal, parsed, stored)
            else:
                written = _session_write(principal, parsed, stored)
            if parsed.issues:
                raise _Rollback
            return written
    except _Rollback:
        raise FhirError(422, parsed.issues) from None
    except ServiceError as error:
        # The resource's own problems come first; a service problem at the same place says the same again.
        status = 422 if error.status == 400 or parsed.issues else error.status
        seen = {issue.expression for issue in parsed.issues}
        extra = [issue for issue in _issues(error, parsed) if issue.expression not in seen]
        raise FhirError(status, [*parsed.issues, *extra]) from None


def _issues(error: ServiceError, parsed: Parsed) -> list[Issue]:
    code = {403: "forbidden", 404: "not-found", 409: "conflict"}.get(error.status, "invalid")
    issues = []
    for problem in error.problems:
        where = parsed.paths.get(problem.field) or parsed.paths.get(problem.field.split(".")[0]) or parsed.resource_type
        issues.append(Issue(code=code, diagnostics=f"{_field_name(problem.field)}: {problem.message}",
                            expression=(where,)))
    return issues or [Issue(code=code, diagnostics=error.detail)]


FIELD_NAMES = {
    "primary_clinician": "careManager", "clinicians": "clinician", "start_date": "period.start",
    "end_date": "period.end", "end_reason": "end reason", "external_id": "identifier", "attendance": "status",
    "scheduled_start": "start", "duration_minutes": "duration", "status": "status",
}


def _field_name(field: str) -> str:
    head, _, rest = field.partition(".")
    return FIELD_NAMES.get(head, head) + (f" {rest}" if rest else "")


def _client(principal: Principal, parsed: Parsed, where: str) -> TherapyClient | None:
    if parsed.patient is None:
        return None
    too_long = len(parsed.patient) > 128 or "\x00" in parsed.patient
    client = None if too_long else clients_visible_to(principal).filter(external_id=parsed.patient).first()
    if client is None:
        parsed.problem("not-found", f"Patient/{parsed.patient} is not a client this credential can see", where)
    return client


def _episode_write(principal: Principal, parsed: Parsed, stored: EpisodeOfCare | None) -> EpisodeOfCare:
    body = dict(parsed.body)
    client = _client(principal, parsed, "EpisodeOfCare.patient")
    if stored is not None:
        if client is not None and client.pk != stored.client_id:
            parsed.problem("business-rule", "an episode cannot move to another patient", "EpisodeOfCare.patient")
        if body.get("status") == EpisodeOfCare.Status.ACTIVE:
            body.pop("end_reason", None)
            body.pop("end_date", None)
        return episode_update(principal=principal, episode=stored, body=body)
    if client is None:
        if parsed.patient is None:
            parsed.problem("required", "patient is required", "EpisodeOfCare.patient")
        raise _Rollback
    ending = {name: body.pop(name) for name in ("status", "end_reason", "end_date") if name in body}
    episode = episode_create(principal=principal, client=client, body=body)
    if ending.get("status") == EpisodeOfCare.Status.FINISHED:
        episode = episode_update(principal=principal, episode=episode, body=ending)
    return episode


def _session_write(principal: Principal, parsed: Parsed, stored: CareSession | None) -> CareSession:
    root = parsed.resource_type
    where = f"{root}.subject" if root == "Encounter" else f"{root}.participant"
    client = _client(principal, parsed, where)
    episode = _episode(principal, parsed, client, stored)
    body = dict(parsed.body)
    if stored is not None:
        if episode is not None and episode.pk != stored.episode_id:
            raise FhirError(409, [*parsed.issues, Issue(
                code="conflict", diagnostics=f"this session belongs to EpisodeOfCare/{stored.episode_id}; a session "
                "does not move between episodes", expression=(parsed.paths.get("episode", root),),
            )])
        if client is not None and client.pk != stored.episode.client_id:
            parsed.problem("business-rule", "a session cannot move to another patient", where)
        return session_update(principal=principal, session=stored, body=body)
    if episode is None:
        raise _Rollback
    if "scheduled_start" not in body:
        parsed.problem("required", "the start is required (period.start / start)", parsed.paths["scheduled_start"])
    return session_create(principal=principal, episode=episode, body=body)


def _episode(
    principal: Principal, parsed: Parsed, client: TherapyClient | None, stored: CareSession | None
) -> EpisodeOfCare | None:
    """The named episode (by id or identifier), else the patient's one active episode (for a new session)."""
    root = parsed.resource_type
    where = f"{root}.episodeOfCare[0]" if root == "Encounter" else f"{root}.supportingInformation"
    parsed.paths["episode"] = where
    visible = episodes_visible_to(principal)
    if parsed.episode_ref is not None:
        kind, value = parsed.episode_ref
        episode = (visible.filter(pk=value) if kind == "episode" else visible.filter(external_id=value)).first()
        if episode is None:
            parsed.problem("not-found", "no such EpisodeOfCare for this credential", where)
        elif client is not None and episode.client_id != client.pk:
            parsed.problem("business-rule", "the episode is another patient's", where)
        return episode
    if stored is not None:
        return None
    if client is None:
        if parsed.patient is None:
            parsed.problem("required", "name the patient (subject) or the episodeOfCare", where)
        return None
    active = list(visible.filter(client=client, status=EpisodeOfCare.Status.ACTIVE)[:2])
    if len(active) != 1:
        parsed.problem("required", "name the episodeOfCare: the patient has no single active episode", where)
        return None
    return active[0]


# --- replays -------------------------------------------------------------------------------------------


def _same(parsed: Parsed, stored: Any) -> bool:
    """Whether a resent resource says what is stored (a replay), field by field of the body it maps to."""
    if parsed.issues:
        return False
    body = parsed.body
    if isinstance(stored, EpisodeOfCare):
        current = {
            "status": stored.status, "end_reason": stored.end_reason or None, "start_date": stored.start_date,
            "end_date": stored.end_date, "referral_date": stored.referral_date,
            "primary_clinician": stored.primary_clinician.username if stored.primary_clinician_id else None,
            "clinicians": sorted(user.username for user in stored.clinicians.all()),
            "external_id": stored.external_id,
        }
    else:
        stored = sessions_with_people(CareSession.objects.filter(pk=stored.pk)).get()
        current = {
            "attendance": stored.attendance, "scheduled_start": stored.scheduled_start,
            "duration_minutes": stored.duration_minutes, "external_id": stored.external_id,
            "clinicians": sorted(user.username for user in stored.clinicians.all()),
        }
        if parsed.episode_ref is not None:
            kind, value = parsed.episode_ref
            if (kind == "episode" and value != stored.episode_id) or (
                kind == "episode_external_id" and value != stored.episode.external_id
            ):
                return False
    for name, value in body.items():
        if name == "clinicians":
            value = sorted(value)
        elif isinstance(current.get(name), datetime) and isinstance(value, str):
            value = datetime.fromisoformat(value)
        elif isinstance(current.get(name), date) and isinstance(value, str):
            value = date.fromisoformat(value)
        if current.get(name) != value:
            return False
    return True
