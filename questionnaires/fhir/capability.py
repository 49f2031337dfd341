"""The CapabilityStatement at /fhir/metadata: what this server reads, creates and searches, in which format."""

from __future__ import annotations

from django.utils import timezone

from questionnaires.fhir.codes import FHIR_JSON, FHIR_VERSION
from questionnaires.fhir.resources import validated

SEARCH_PARAMS = {
    "Questionnaire": [
        ("url", "uri", "The canonical URL, with or without |version"),
        ("version", "token", "The questionnaire version (semver)"),
        ("name", "string", "The computable name (e.g. PHQ_9) or the id (e.g. phq-9); starts-with, any case"),
        ("title", "string", "The title; starts-with, any case"),
        ("status", "token", "Always active"),
        ("code", "token", "The panel code, e.g. http://loinc.org|44249-1"),
        ("_id", "token", "The questionnaire id, e.g. phq-9"),
    ],
    "QuestionnaireResponse": [
        ("subject", "reference", "Patient/<external id> (or the bare external id)"),
        ("patient", "reference", "Same as subject"),
        ("questionnaire", "reference", "The canonical URL (|version optional) or the questionnaire id"),
        ("status", "token", "completed (stored responses are always completed)"),
        ("authored", "date", "Authored time; prefixes eq, ne, gt, lt, ge, le, sa, eb; repeat for a range"),
        ("_lastUpdated", "date", "When the current version was stored (received, amended or retracted): for sync"),
        ("author", "reference", "Practitioner/<username> or Patient/<external id>"),
        ("identifier", "token", "The identifier the EHR sent: system|value"),
        ("_id", "token", "The response id"),
    ],
    "Observation": [
        ("subject", "reference", "Patient/<external id> (or the bare external id)"),
        ("patient", "reference", "Same as subject"),
        ("code", "token", "A total's code, e.g. http://loinc.org|44261-6 or phq-9-total"),
        ("date", "date", "Effective (authored) time; prefixes eq, ne, gt, lt, ge, le, sa, eb"),
        ("category", "token", "survey"),
        ("derived-from", "reference", "QuestionnaireResponse/<id>"),
        ("_id", "token", "The observation id"),
    ],
    "Patient": [
        ("identifier", "token", "The client's external id (system|value or the value)"),
        ("_id", "token", "The client's external id"),
    ],
    "EpisodeOfCare": [
        ("patient", "reference", "Patient/<external id> (or the bare external id)"),
        ("subject", "reference", "Same as patient"),
        ("status", "token", "active, finished or cancelled (finished with end reason declined)"),
        ("identifier", "token", "The integration's episode id: system|value or the value"),
        ("date", "date", "The episode's start; prefixes eq, ne, gt, lt, ge, le, sa, eb"),
        ("care-manager", "reference", "Practitioner/<username> of the primary clinician"),
        ("_lastUpdated", "date", "When the episode last changed: for sync"),
        ("_id", "token", "The episode id"),
    ],
    "Encounter": [
        ("patient", "reference", "Patient/<external id> (or the bare external id)"),
        ("subject", "reference", "Same as patient"),
        ("status", "token", "planned, finished, cancelled or entered-in-error (left out unless asked for)"),
        ("identifier", "token", "The integration's session id: system|value or the value"),
        ("date", "date", "The scheduled start; prefixes eq, ne, gt, lt, ge, le, sa, eb; repeat for a range"),
        ("episode-of-care", "reference", "EpisodeOfCare/<id>"),
        ("practitioner", "reference", "Practitioner/<username> in the room"),
        ("participant", "reference", "Same as practitioner"),
        ("_lastUpdated", "date", "When the session last changed: for sync"),
        ("_id", "token", "The session id"),
    ],
}

INTERACTIONS = {
    "Questionnaire": ["read", "vread", "search-type", "create"],
    "QuestionnaireResponse": ["read", "vread", "history-instance", "search-type", "create", "update", "delete"],
    "Observation": ["read", "search-type"],
    "Patient": ["read", "search-type"],
    "EpisodeOfCare": ["read", "search-type", "create", "update"],
    "Encounter": ["read", "search-type", "create", "update"],
    "Appointment": ["read", "create", "update"],
}

PROFILES = {
    "Questionnaire": "http://hl7.org/fhir/StructureDefinition/Questionnaire",
    "QuestionnaireResponse": "http://hl7.org/fhir/StructureDefinition/QuestionnaireResponse",
    "Observation": "http://hl7.org/fhir/StructureDefinition/Observation",
    "Patient": "http://hl7.org/fhir/StructureDefinition/Patient",
    "EpisodeOfCare": "http://hl7.org/fhir/StructureDefinition/EpisodeOfCare",
    "Encounter": "http://hl7.org/fhir/StructureDefinition/Encounter",
    "Appointment": "http://hl7.org/fhir/StructureDefinition/Appointment",
}

CARE_DOCUMENTATION = {
    "EpisodeOfCare": (
        "A client's episode of care. status planned, waitlist, active and onhold are stored as active; finished "
        "and cancelled as finished, with the end reason (completed, dropped_out, referred_on, declined, other) in "
        "the extension <canonical base>/StructureDefinition/episode-end-reason (default: completed for finished, "
        "declined for cancelled); entered-in-error is refused. careManager is the primary clinician, a contained "
        "CareTeam in team the further clinicians (Practitioner/<username>). Conditional create (If-None-Exist or "
        "the resource's identifier) and conditional update (PUT ?identifier=<system>|<value>) by the "
        "integration's episode id."
    ),
    "Encounter": (
        "A session. status planned, arrived, triaged: booked; in-progress, onleave, finished: attended; cancelled: "
        "cancelled_by_client when the extension encounter-reasonCancelled carries appointment-cancellation-reason "
        "pat (or pat-*), did_not_attend with <canonical base>/CodeSystem/attendance|did_not_attend, else "
        "cancelled_by_service; entered-in-error takes the session's responses out of metrics (retracted). "
        "participant Practitioner/<username> are the clinicians in the room, period.start the scheduled start, "
        "episodeOfCare the episode (default: the patient's one active episode). Conditional create and update by "
        "the integration's session id, as for EpisodeOfCare."
    ),
    "Appointment": (
        "Accepted from EHRs that model attendance on the Appointment: status noshow is did_not_attend, fulfilled "
        "attended, cancelled by cancelationReason (pat*: the client, else the service). It writes the same session "
        "as the Encounter with the same id or identifier; the episode is an EpisodeOfCare in supportingInformation "
        "or the patient's one active episode."
    ),
}


def capability_statement(*, base: str, software_version: str = "1.0.0") -> dict:
    resources = []
    for resource_type, interactions in INTERACTIONS.items():
        entry = {
            "type": resource_type,
            "profile": PROFILES[resource_type],
            "interaction": [{"code": code} for code in interactions],
            "searchParam": [
                {"name": name, "type": kind, "documentation": doc}
                for name, kind, doc in SEARCH_PARAMS.get(resource_type, [])
            ]
            + [
                {"name": "_count", "type": "number", "documentation": "Page size (default 50, at most 500)"},
                {"name": "_offset", "type": "number", "documentation": "Entries to skip (next links set it)"},
            ],
        }
        if resource_type == "Questionnaire":
            entry["versioning"] = "versioned"
            entry["readHistory"] = False
        if resource_type == "QuestionnaireResponse":
            entry["conditionalCreate"] = True
            entry["conditionalUpdate"] = True
            entry["conditionalDelete"] = "not-supported"
            entry["versioning"] = "versioned-update"
            entry["readHistory"] = True
            entry["updateCreate"] = False
            entry["documentation"] = (
                "create accepts status completed or amended (in-progress is refused with an OperationOutcome); "
                "questionnaire as url or url|version (without a version the current one is used and recorded); "
                "subject as Patient/<external id> or an identifier. Conditional create by If-None-Exist: "
                "identifier=<system>|<value>, or by the resource's own identifier. Stored responses are scored "
                "and published as Observations. Corrections: update (PUT by id, or conditional by "
                "?identifier=<system>|<value>, If-Match honoured) stores a new version and re-scores it; a resend "
                "of the caller's identifier with status amended does the same; status entered-in-error (by update "
                "or DELETE) retracts it. Every version stays readable through _history. The reason may be sent in "
                "the X-Correction-Reason header."
            )
        if resource_type in CARE_DOCUMENTATION:
            entry["conditionalCreate"] = True
            entry["conditionalUpdate"] = True
            entry["updateCreate"] = False
            entry["documentation"] = CARE_DOCUMENTATION[resource_type]
        if resource_type == "EpisodeOfCare":
            entry["operation"] = [{
                "name": "outcome",
                "definition": f"{base}/OperationDefinition/episode-outcome",
                "documentation": (
                    "GET EpisodeOfCare/<id>/$outcome: a collection Bundle of Observations focused on the episode, "
                    "one per outcome instrument (first, last, change, reliable change, caseness, recovery) and one "
                    "for adherence (attendance, dropout)."
                ),
            }]
        if not SEARCH_PARAMS.get(resource_type):
            del entry["searchParam"]
        resources.append(entry)
    return validated(
        {
            "resourceType": "CapabilityStatement",
            "status": "active",
            "date": timezone.now().date().isoformat(),
            "publisher": "Alliance API",
            "kind": "instance",
            "software": {"name": "Alliance API", "version": software_version},
            "implementation": {"description": "Alliance API FHIR R4 endpoint", "url": base},
            "fhirVersion": FHIR_VERSION,
            "format": [FHIR_JSON, "json"],
            "rest": [
                {
                    "mode": "server",
                    "documentation": (
                        "Same credentials as the REST API, clinic by clinic. Search parameters not listed here are "
                        "ignored, left out of the Bundle's links and named in an OperationOutcome entry (search "
                        "mode outcome); with 'Prefer: handling=strict' they are a 400 OperationOutcome. JSON only: "
                        "an Accept or _format asking for anything else is a 406."
                    ),
                    "security": {
                        "cors": False,
                        "description": (
                            "Send 'Authorization: Api-Key <key>' (clinic integrations), 'Token <staff token>' or "
                            "'Bearer <client token>'. Another clinic's resources answer 404."
                        ),
                    },
                    "resource": resources,
                }
            ],
        }
    )
