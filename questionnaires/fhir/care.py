"""The course of care as FHIR R4: EpisodeOfCare and Encounter (and an EHR's Appointment) to and from our episodes
and sessions.

Mappings (also in the README, "FHIR: the course of care"):

EpisodeOfCare.status -> episode: `planned`, `waitlist`, `active`, `onhold` -> active (the episode
has no waiting or paused state here); `finished` -> finished, end_reason `completed` unless the
end-reason extension says otherwise; `cancelled` ("cancelled before it became active") ->
finished, end_reason `declined` unless the extension says otherwise; `entered-in-error` is refused:
its sessions carry the responses, so mark those Encounters entered-in-error and finish the episode.
Out: active -> `active`; finished -> `finished` (`cancelled` when the reason is `declined`), with
the end reason always in the extension `<FHIR_CANONICAL_BASE>/StructureDefinition/episode-end-reason`.

Encounter.status -> attendance: `planned`, `arrived`, `triaged` -> booked; `in-progress`,
`onleave`, `finished` -> attended; `cancelled` -> who cancelled, from the standard extension
`encounter-reasonCancelled` (appointment-cancellation-reason `pat`/`pat-*` -> cancelled_by_client,
`prov`/`prov-*` and every other code -> cancelled_by_service, our attendance code system's
`did_not_attend` -> did_not_attend); without a reason cancelled_by_service, so a client's
attendance record is never charged with a cancellation the sender did not attribute to them;
`entered-in-error` -> entered_in_error; `unknown` is refused. R4 Encounter has no no-show status:
a no-show is an Appointment with status `noshow` (FHIR R4 AppointmentStatus), which is also
accepted; on output a no-show is a cancelled Encounter whose reasonCancelled carries our code.

Identifiers: the resource's identifier value is the integration's own `external_id` (unique in
the clinic); its system is not stored and is not compared, the value is.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pydantic
from fhir.resources.R4B import get_fhir_model_class

from questionnaires.fhir.codes import UCUM, canonical_base, own_canonical_bases
from questionnaires.fhir.outcome import FhirError, Issue
from questionnaires.fhir.resources import validated
from questionnaires.fhir.search import reference_id
from questionnaires.input_bounds import record_id
from questionnaires.models import CareSession, EpisodeOfCare

Attendance = CareSession.Attendance

REASON_CANCELLED = "http://hl7.org/fhir/StructureDefinition/encounter-reasonCancelled"
CANCELLATION_REASONS = "http://terminology.hl7.org/CodeSystem/appointment-cancellation-reason"
ENCOUNTER_CLASS = {
    "system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "AMB", "display": "ambulatory",
}
MAX_NESTING = 32


def end_reason_extension_url(base: str | None = None) -> str:
    """Where FHIR cannot say why an episode ended: our extension, under FHIR_CANONICAL_BASE."""
    return f"{base or canonical_base()}/StructureDefinition/episode-end-reason"


def referral_date_extension_url(base: str | None = None) -> str:
    return f"{base or canonical_base()}/StructureDefinition/episode-referral-date"


def attendance_system(base: str | None = None) -> str:
    """Our own code system of attendance values (booked, attended, cancelled_by_client, ...)."""
    return f"{base or canonical_base()}/CodeSystem/attendance"


def _is_own(url: str | None, suffix: str) -> bool:
    return bool(url) and any(url == f"{base}{suffix}" for base in own_canonical_bases())


def identifier_system(base: str, clinic_slug: str, kind: str) -> str:
    """The system served with an external id: the integration's own ids, scoped to the clinic (as Patient's)."""
    return f"{base}/clinic/{clinic_slug}/{kind}"


# --- status tables -------------------------------------------------------------------------------------

EPISODE_STATUS_IN = {
    "planned": ("active", None),
    "waitlist": ("active", None),
    "active": ("active", None),
    "onhold": ("active", None),
    "finished": ("finished", "completed"),
    "cancelled": ("finished", "declined"),
}
"""FHIR EpisodeOfCare.status -> (our status, default end_reason); entered-in-error is refused."""

ENCOUNTER_STATUS_IN = {
    "planned": Attendance.BOOKED,
    "arrived": Attendance.BOOKED,
    "triaged": Attendance.BOOKED,
    "in-progress": Attendance.ATTENDED,
    "onleave": Attendance.ATTENDED,
    "finished": Attendance.ATTENDED,
    "cancelled": Attendance.CANCELLED_BY_SERVICE,  # the default when no reason says who cancelled
    "entered-in-error": Attendance.ENTERED_IN_ERROR,
}

APPOINTMENT_STATUS_IN = {
    "proposed": Attendance.BOOKED,
    "pending": Attendance.BOOKED,
    "booked": Attendance.BOOKED,
    "waitlist": Attendance.BOOKED,
    "arrived": Attendance.BOOKED,
    "checked-in": Attendance.BOOKED,
    "fulfilled": Attendance.ATTENDED,
    "cancelled": Attendance.CANCELLED_BY_SERVICE,
    "noshow": Attendance.DID_NOT_ATTEND,
    "entered-in-error": Attendance.ENTERED_IN_ERROR,
}

ENCOUNTER_STATUS_OUT = {
    Attendance.BOOKED: "planned",
    Attendance.ATTENDED: "finished",
    Attendance.CANCELLED_BY_CLIENT: "cancelled",
    Attendance.CANCELLED_BY_SERVICE: "cancelled",
    Attendance.DID_NOT_ATTEND: "cancelled",
    Attendance.ENTERED_IN_ERROR: "entered-in-error",
}

APPOINTMENT_STATUS_OUT = {
    Attendance.BOOKED: "booked",
    Attendance.ATTENDED: "fulfilled",
    Attendance.CANCELLED_BY_CLIENT: "cancelled",
    Attendance.CANCELLED_BY_SERVICE: "cancelled",
    Attendance.DID_NOT_ATTEND: "noshow",
    Attendance.ENTERED_IN_ERROR: "entered-in-error",
}

CANCELLATION_CODE_OUT = {
    Attendance.CANCELLED_BY_CLIENT: {"system": CANCELLATION_REASONS, "code": "pat", "display": "Patient"},
    Attendance.CANCELLED_BY_SERVICE: {"system": CANCELLATION_REASONS, "code": "prov", "display": "Provider"},
}

CANCELLED_ATTENDANCE = frozenset(
    {Attendance.CANCELLED_BY_CLIENT, Attendance.CANCELLED_BY_SERVICE, Attendance.DID_NOT_ATTEND}
)


def attendance_for_status(status: str) -> list[str]:
    """The attendance values an Encounter status search token matches."""
    if status == "cancelled":
        return sorted(CANCELLED_ATTENDANCE)
    return [attendance for attendance, fhir in ENCOUNTER_STATUS_OUT.items() if fhir == status]


# --- parsed input --------------------------------------------------------------------------------------


@dataclass
class Parsed:
    """A resource read into the REST body our services take, with the FHIRPath of each body field."""

    resource_type: str
    body: dict[str, Any]
    paths: dict[str, str]
    patient: str | None = None
    episode_ref: tuple[str, Any] | None = None
    identifier: str | None = None
    issues: list[Issue] = field(default_factory=list)

    def problem(self, code: str, diagnostics: str, expression: str) -> None:
        self.issues.append(Issue(code=code, diagnostics=diagnostics, expression=(expression,)))


def _model(payload: Any, resource_type: str) -> Any:
    """The payload checked as an R4B resource of this type: 400 naming every structural problem."""
    if not isinstance(payload, dict) or payload.get("resourceType") != resource_type:
        found = payload.get("resourceType") if isinstance(payload, dict) else type(payload).__name__
        raise FhirError(
            400, [Issue(code="structure", diagnostics=f"expected a {resource_type} resource, got {found!r}")]
        )
    depth, nul = _shape(payload)
    if depth > MAX_NESTING:
        raise FhirError(400, [Issue(code="too-long", diagnostics="the resource nests too deeply")])
    if nul:
        raise FhirError(400, [Issue(code="value", diagnostics="a string holds a NUL character, which FHIR "
                                    "strings cannot")])
    try:
        return get_fhir_model_class(resource_type).model_validate(payload)
    except pydantic.ValidationError as error:
        issues = []
        for entry in error.errors()[:50]:
            path = resource_type + "".join(
                f"[{part}]" if isinstance(part, int) else f".{part}" for part in entry.get("loc", ())
            )
            issues.append(Issue(code="structure", diagnostics=f"{path}: {entry.get('msg', 'invalid')}",
                                expression=(path,)))
        raise FhirError(400, issues) from None
    except (ValueError, TypeError, RecursionError) as error:
        raise FhirError(400, [Issue(code="structure", diagnostics=f"not a valid {resource_type}: {error}")]) from None


def _shape(payload: Any) -> tuple[int, bool]:
    """How deep the JSON nests (counted without recursion) and whether any key or string holds a NUL."""
    deepest, nul, stack = 0, False, [(payload, 1)]
    while stack:
        value, depth = stack.pop()
        deepest = max(deepest, depth)
        if depth > MAX_NESTING:
            break
        if isinstance(value, str):
            nul = nul or "\x00" in value
            continue
        if isinstance(value, dict):
            nul = nul or any("\x00" in key for key in value if isinstance(key, str))
        children = value.values() if isinstance(value, dict) else value if isinstance(value, list) else ()
        stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list | str))
    return deepest, nul


def _identifier(model: Any, parsed: Parsed, root: str) -> None:
    for index, identifier in enumerate(model.identifier or []):
        if identifier.value:
            parsed.identifier = identifier.value
            parsed.body["external_id"] = identifier.value
            parsed.paths["external_id"] = f"{root}.identifier[{index}].value"
            return


def _patient(reference: Any, parsed: Parsed, where: str) -> None:
    if reference is None:
        return
    if reference.reference:
        if "Patient/" not in reference.reference:
            parsed.problem("invalid", f"{reference.reference!r} is not a Patient reference", f"{where}.reference")
            return
        parsed.patient = reference_id(reference.reference, "Patient")
    elif reference.identifier is not None and reference.identifier.value:
        parsed.patient = reference.identifier.value
    else:
        parsed.problem("required", "a Patient reference (Patient/<external id>) or identifier", where)


def _practitioner(reference: Any, parsed: Parsed, where: str) -> str | None:
    """Practitioner/<username> (or an identifier whose value is the username)."""
    if reference is None:
        return None
    if reference.reference:
        if "Practitioner/" not in reference.reference:
            return None  # a Patient, RelatedPerson or Device in the room is not a clinician
        return reference_id(reference.reference, "Practitioner")
    if reference.identifier is not None and reference.identifier.value:
        return reference.identifier.value
    parsed.problem("required", "a Practitioner reference (Practitioner/<username>)", where)
    return None


def _date_of(value: Any, parsed: Parsed, where: str) -> str | None:
    """A day (a dateTime's own day); a year or a year-month alone cannot say which day, and is refused."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    parsed.problem("value", f"{value!r} is not a whole day: send YYYY-MM-DD", where)
    return None


def _aware(value: Any, where: str, parsed: Parsed) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value if value.tzinfo is not None else value.replace(tzinfo=UTC)
    parsed.problem("value", "a dateTime with its time and offset (e.g. 2026-01-05T10:00:00Z)", where)
    return None


def _extension_code(extensions: Any, matches: Callable[[str], bool]) -> tuple[int, Any] | None:
    for index, extension in enumerate(extensions or []):
        if matches(extension.url):
            return index, extension
    return None


# --- EpisodeOfCare -------------------------------------------------------------------------------------


def episode_parse(payload: Any) -> Parsed:
    """EpisodeOfCare -> {status, end_reason?, end_date?, start_date, referral_date?, primary_clinician?,
    clinicians, external_id?} (the REST episode body) and the patient's external id."""
    root = "EpisodeOfCare"
    model = _model(payload, root)
    parsed = Parsed(resource_type=root, body={}, paths={
        "status": f"{root}.status", "end_reason": f"{root}.extension", "end_date": f"{root}.period.end",
        "start_date": f"{root}.period.start", "referral_date": f"{root}.extension",
        "primary_clinician": f"{root}.careManager", "clinicians": f"{root}.team",
    })
    _identifier(model, parsed, root)
    _patient(model.patient, parsed, f"{root}.patient")
    status = model.status or ""
    if status == "entered-in-error":
        parsed.problem(
            "business-rule",
            "an episode cannot be entered in error here: mark its Encounters entered-in-error (their responses "
            "leave the metrics), then finish the episode (status finished with an end reason)",
            f"{root}.status",
        )
    elif status not in EPISODE_STATUS_IN:
        parsed.problem("code-invalid", f"status {status!r} is not an EpisodeOfCare status", f"{root}.status")
    our_status, default_reason = EPISODE_STATUS_IN.get(status, ("active", None))
    parsed.body["status"] = our_status
    found = _extension_code(model.extension, lambda url: _is_own(url, "/StructureDefinition/episode-end-reason"))
    reason = default_reason
    if found is not None:
        index, extension = found
        parsed.paths["end_reason"] = f"{root}.extension[{index}].valueCode"
        if our_status != "finished":
            parsed.problem("business-rule", "only a finished or cancelled episode has an end reason",
                           parsed.paths["end_reason"])
        reason = extension.valueCode
    if our_status == "finished":
        parsed.body["end_reason"] = reason
    period = model.period
    if period is not None and period.start is not None:
        parsed.body["start_date"] = _date_of(period.start, parsed, f"{root}.period.start")
    if period is not None and period.end is not None:
        if our_status == "finished":
            parsed.body["end_date"] = _date_of(period.end, parsed, f"{root}.period.end")
        else:
            parsed.problem("business-rule", "an active episode has no end (period.end)", f"{root}.period.end")
    referral = _extension_code(model.extension, lambda url: _is_own(url, "/StructureDefinition/episode-referral-date"))
    if referral is not None:
        index, extension = referral
        parsed.paths["referral_date"] = f"{root}.extension[{index}].valueDate"
        parsed.body["referral_date"] = _date_of(extension.valueDate, parsed, parsed.paths["referral_date"])
    manager = _practitioner(model.careManager, parsed, f"{root}.careManager")
    if manager:
        parsed.body["primary_clinician"] = manager
    parsed.body["clinicians"] = _team(model, parsed, root)
    return parsed


def _team(model: Any, parsed: Parsed, root: str) -> list[str]:
    """The usernames of the contained CareTeam(s) the episode's `team` points to (`#id`)."""
    contained = {
        resource.id: resource for resource in (model.contained or []) if type(resource).__name__ == "CareTeam"
    }
    usernames: list[str] = []
    for index, team in enumerate(model.team or []):
        where = f"{root}.team[{index}]"
        reference = team.reference or ""
        care_team = contained.get(reference.removeprefix("#")) if reference.startswith("#") else None
        if care_team is None:
            parsed.problem("not-supported", "a team is read from a contained CareTeam (reference '#<id>')", where)
            continue
        for member_index, participant in enumerate(care_team.participant or []):
            username = _practitioner(participant.member, parsed, f"{where}.participant[{member_index}].member")
            if username and username not in usernames:
                usernames.append(username)
    return usernames


def episode_resource(episode: EpisodeOfCare, *, base: str) -> dict:
    """EpisodeOfCare/<id>: status, patient, period, careManager (primary clinician), the further clinicians as a
    contained CareTeam, and the end reason and referral date in our extensions."""
    resource: dict[str, Any] = {
        "resourceType": "EpisodeOfCare",
        "id": str(episode.pk),
        "meta": {"lastUpdated": episode.updated_at.isoformat()},
        "status": "active",
        "patient": {"reference": f"Patient/{episode.client.external_id}"},
        "period": {"start": episode.start_date.isoformat()},
    }
    extensions = []
    if episode.status == EpisodeOfCare.Status.FINISHED:
        resource["status"] = "cancelled" if episode.end_reason == EpisodeOfCare.EndReason.DECLINED else "finished"
        extensions.append({"url": end_reason_extension_url(base), "valueCode": episode.end_reason})
        if episode.end_date:
            resource["period"]["end"] = episode.end_date.isoformat()
    if episode.referral_date:
        extensions.append({"url": referral_date_extension_url(base), "valueDate": episode.referral_date.isoformat()})
    if extensions:
        resource["extension"] = extensions
    if episode.external_id:
        resource["identifier"] = [
            {"system": identifier_system(base, episode.client.clinic.slug, "episode"), "value": episode.external_id}
        ]
    if episode.primary_clinician_id:
        resource["careManager"] = {"reference": f"Practitioner/{episode.primary_clinician.username}"}
    team = [user.username for user in episode.clinicians.all()]
    if team:
        resource["contained"] = [{
            "resourceType": "CareTeam",
            "id": "team",
            "participant": [{"member": {"reference": f"Practitioner/{username}"}} for username in team],
        }]
        resource["team"] = [{"reference": "#team"}]
    return validated(resource)


# --- Encounter and Appointment -------------------------------------------------------------------------


def encounter_parse(payload: Any) -> Parsed:
    """Encounter -> {attendance, scheduled_start?, duration_minutes?, clinicians, external_id?}, the patient and
    the episode it names (`episodeOfCare`: EpisodeOfCare/<id> or an identifier)."""
    root = "Encounter"
    model = _model(payload, root)
    parsed = Parsed(resource_type=root, body={}, paths={
        "attendance": f"{root}.status", "scheduled_start": f"{root}.period.start",
        "duration_minutes": f"{root}.period.end", "clinicians": f"{root}.participant",
    })
    _identifier(model, parsed, root)
    _patient(model.subject, parsed, f"{root}.subject")
    status = model.status or ""
    if status not in ENCOUNTER_STATUS_IN:
        known = ", ".join(ENCOUNTER_STATUS_IN)
        parsed.problem("code-invalid", f"status {status!r} cannot be recorded: use one of {known}", f"{root}.status")
    attendance = ENCOUNTER_STATUS_IN.get(status, Attendance.BOOKED)
    reason = _extension_code(model.extension, lambda url: url == REASON_CANCELLED)
    if reason is not None:
        index, extension = reason
        where = f"{root}.extension[{index}]"
        if status != "cancelled":
            parsed.problem("business-rule", "reasonCancelled applies only to a cancelled Encounter", where)
        else:
            attendance = _cancelled_by(extension.valueCodeableConcept, parsed, f"{where}.valueCodeableConcept")
    parsed.body["attendance"] = str(attendance)
    _period(model.period, parsed, root)
    if "duration_minutes" not in parsed.body and model.length is not None:
        minutes = _minutes(model.length)
        if minutes is None:
            parsed.problem("value", "length in minutes (unit min) or hours (h)", f"{root}.length")
        else:
            parsed.body["duration_minutes"] = minutes
            parsed.paths["duration_minutes"] = f"{root}.length"
    usernames, indices = [], []
    for index, participant in enumerate(model.participant or []):
        username = _practitioner(participant.individual, parsed, f"{root}.participant[{index}].individual")
        if username and username not in usernames:
            usernames.append(username)
            indices.append(index)
    parsed.body["clinicians"] = usernames
    for position, index in enumerate(indices):
        parsed.paths[f"clinicians.{position}"] = f"{root}.participant[{index}].individual"
    episodes = model.episodeOfCare or []
    if len(episodes) > 1:
        parsed.problem("not-supported", "a session belongs to one episode: name one episodeOfCare",
                       f"{root}.episodeOfCare[1]")
    if episodes:
        parsed.episode_ref = _episode_reference(episodes[0], parsed, f"{root}.episodeOfCare[0]")
    return parsed


def appointment_parse(payload: Any) -> Parsed:
    """An EHR's Appointment -> the same session body; status `noshow` is a did-not-attend.

    The patient and the clinicians are its participants' actors; its episode is the EpisodeOfCare
    among `supportingInformation`, else the patient's one active episode.
    """
    root = "Appointment"
    model = _model(payload, root)
    parsed = Parsed(resource_type=root, body={}, paths={
        "attendance": f"{root}.status", "scheduled_start": f"{root}.start",
        "duration_minutes": f"{root}.end", "clinicians": f"{root}.participant",
    })
    _identifier(model, parsed, root)
    status = model.status or ""
    if status not in APPOINTMENT_STATUS_IN:
        known = ", ".join(APPOINTMENT_STATUS_IN)
        parsed.problem("code-invalid", f"status {status!r} cannot be recorded: use one of {known}", f"{root}.status")
    attendance = APPOINTMENT_STATUS_IN.get(status, Attendance.BOOKED)
    if status == "cancelled" and model.cancelationReason is not None:
        attendance = _cancelled_by(model.cancelationReason, parsed, f"{root}.cancelationReason")
    parsed.body["attendance"] = str(attendance)
    start = _aware(model.start, f"{root}.start", parsed)
    if start is not None:
        parsed.body["scheduled_start"] = start.isoformat()
    end = _aware(model.end, f"{root}.end", parsed)
    if start is not None and end is not None:
        parsed.body["duration_minutes"] = _span(start, end, parsed, f"{root}.end")
    elif model.minutesDuration is not None:
        parsed.body["duration_minutes"] = model.minutesDuration
        parsed.paths["duration_minutes"] = f"{root}.minutesDuration"
    usernames = []
    for index, participant in enumerate(model.participant or []):
        actor = participant.actor
        where = f"{root}.participant[{index}].actor"
        if actor is not None and actor.reference and "Patient/" in actor.reference:
            _patient(actor, parsed, where)
            continue
        username = _practitioner(actor, parsed, where)
        if username and username not in usernames:
            parsed.paths[f"clinicians.{len(usernames)}"] = where
            usernames.append(username)
    parsed.body["clinicians"] = usernames
    for index, information in enumerate(model.supportingInformation or []):
        if information.reference and "EpisodeOfCare/" in information.reference:
            parsed.episode_ref = _episode_reference(information, parsed, f"{root}.supportingInformation[{index}]")
            break
    return parsed


def _cancelled_by(concept: Any, parsed: Parsed, where: str) -> str:
    """Who cancelled, from a cancellation reason; any unrecognised reason is the service's (see the module)."""
    for coding in (concept.coding or []) if concept is not None else []:
        code = coding.code or ""
        if _is_own(coding.system, "/CodeSystem/attendance"):
            if code in CANCELLED_ATTENDANCE:
                return code
            parsed.problem("code-invalid", f"{code!r} is not a cancellation (use one of "
                           f"{', '.join(sorted(CANCELLED_ATTENDANCE))})", where)
            return Attendance.CANCELLED_BY_SERVICE
        if coding.system == CANCELLATION_REASONS:
            if code == "pat" or code.startswith("pat-"):
                return Attendance.CANCELLED_BY_CLIENT
            return Attendance.CANCELLED_BY_SERVICE
    return Attendance.CANCELLED_BY_SERVICE


def _period(period: Any, parsed: Parsed, root: str) -> None:
    if period is None:
        return
    start = _aware(period.start, f"{root}.period.start", parsed)
    if start is not None:
        parsed.body["scheduled_start"] = start.isoformat()
    end = _aware(period.end, f"{root}.period.end", parsed)
    if start is not None and end is not None:
        parsed.body["duration_minutes"] = _span(start, end, parsed, f"{root}.period.end")


def _span(start: datetime, end: datetime, parsed: Parsed, where: str) -> Any:
    minutes = (end - start) / timedelta(minutes=1)
    if minutes <= 0:
        parsed.problem("value", "the end is not after the start", where)
        return None
    return max(1, round(minutes))


def _minutes(length: Any) -> int | None:
    unit = (length.code or length.unit or "").strip()
    if length.value is None or unit not in ("min", "h"):
        return None
    return round(float(length.value) * (60 if unit == "h" else 1))


def _episode_reference(reference: Any, parsed: Parsed, where: str) -> tuple[str, Any] | None:
    """('episode', id) for EpisodeOfCare/<id>, ('episode_external_id', value) for an identifier."""
    if reference.reference:
        pk = record_id(reference_id(reference.reference, "EpisodeOfCare"))
        if "EpisodeOfCare/" not in reference.reference or pk is None:
            parsed.problem("not-found", f"{reference.reference!r} is not an EpisodeOfCare of this server",
                           f"{where}.reference")
            return None
        return "episode", pk
    if reference.identifier is not None and reference.identifier.value:
        return "episode_external_id", reference.identifier.value
    parsed.problem("required", "an EpisodeOfCare reference or identifier", where)
    return None


def encounter_resource(session: CareSession, *, base: str) -> dict:
    """Encounter/<id>: status from attendance (who cancelled in reasonCancelled), period, participants,
    the episode and the patient."""
    episode = session.episode
    start = session.scheduled_start
    resource: dict[str, Any] = {
        "resourceType": "Encounter",
        "id": str(session.pk),
        "meta": {"lastUpdated": session.updated_at.isoformat()},
        "status": ENCOUNTER_STATUS_OUT[session.attendance],
        "class": ENCOUNTER_CLASS,
        "subject": {"reference": f"Patient/{episode.client.external_id}"},
        "episodeOfCare": [{"reference": f"EpisodeOfCare/{episode.pk}"}],
        "period": {
            "start": start.isoformat(),
            "end": (start + timedelta(minutes=session.duration_minutes)).isoformat(),
        },
        "length": {"value": session.duration_minutes, "unit": "min", "system": UCUM, "code": "min"},
    }
    reason = _reason_out(session.attendance, base)
    if reason is not None:
        resource["extension"] = [{"url": REASON_CANCELLED, "valueCodeableConcept": reason}]
    if session.external_id:
        resource["identifier"] = [
            {"system": identifier_system(base, episode.client.clinic.slug, "session"), "value": session.external_id}
        ]
    participants = [
        {"individual": {"reference": f"Practitioner/{user.username}"}} for user in session.clinicians.all()
    ]
    if participants:
        resource["participant"] = participants
    return validated(resource)


def appointment_resource(session: CareSession, *, base: str) -> dict:
    """Appointment/<id>: the same session as its Encounter, as an EHR's scheduling resource."""
    episode = session.episode
    start = session.scheduled_start
    participants = [{"actor": {"reference": f"Patient/{episode.client.external_id}"}, "status": "accepted"}]
    participants += [
        {"actor": {"reference": f"Practitioner/{user.username}"}, "status": "accepted"}
        for user in session.clinicians.all()
    ]
    resource: dict[str, Any] = {
        "resourceType": "Appointment",
        "id": str(session.pk),
        "meta": {"lastUpdated": session.updated_at.isoformat()},
        "status": APPOINTMENT_STATUS_OUT[session.attendance],
        "start": start.isoformat(),
        "end": (start + timedelta(minutes=session.duration_minutes)).isoformat(),
        "minutesDuration": session.duration_minutes,
        "participant": participants,
        "supportingInformation": [{"reference": f"EpisodeOfCare/{episode.pk}"}],
    }
    if session.attendance in CANCELLATION_CODE_OUT:
        resource["cancelationReason"] = {"coding": [CANCELLATION_CODE_OUT[session.attendance]]}
    if session.external_id:
        resource["identifier"] = [
            {"system": identifier_system(base, episode.client.clinic.slug, "session"), "value": session.external_id}
        ]
    return validated(resource)


def _reason_out(attendance: str, base: str) -> dict | None:
    if attendance in CANCELLATION_CODE_OUT:
        return {"coding": [CANCELLATION_CODE_OUT[attendance]]}
    if attendance == Attendance.DID_NOT_ATTEND:
        return {"coding": [{"system": attendance_system(base), "code": attendance, "display": "Did not attend"}]}
    return None
