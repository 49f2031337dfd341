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
}

INTERACTIONS = {
    "Questionnaire": ["read", "vread", "search-type", "create"],
    "QuestionnaireResponse": ["read", "vread", "history-instance", "search-type", "create", "update", "delete"],
    "Observation": ["read", "search-type"],
    "Patient": ["read", "search-type"],
}

PROFILES = {
    "Questionnaire": "http://hl7.org/fhir/StructureDefinition/Questionnaire",
    "QuestionnaireResponse": "http://hl7.org/fhir/StructureDefinition/QuestionnaireResponse",
    "Observation": "http://hl7.org/fhir/StructureDefinition/Observation",
    "Patient": "http://hl7.org/fhir/StructureDefinition/Patient",
}


def capability_statement(*, base: str, software_version: str = "1.0.0") -> dict:
    resources = []
    for resource_type, interactions in INTERACTIONS.items():
        entry = {
            "type": resource_type,
            "profile": PROFILES[resource_type],
            "interaction": [{"code": code} for code in interactions],
            "searchParam": [
                {"name": name, "type": kind, "documentation": doc} for name, kind, doc in SEARCH_PARAMS[resource_type]
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
        resources.append(entry)
    resources.append({
        "type": "EpisodeOfCare",
        "profile": "http://hl7.org/fhir/StructureDefinition/EpisodeOfCare",
        "operation": [{
            "name": "outcome",
            "definition": f"{base}/OperationDefinition/episode-outcome",
            "documentation": (
                "GET EpisodeOfCare/<id>/$outcome: a collection Bundle of Observations focused on the episode, one "
                "per outcome instrument (first, last, change, reliable change, caseness, recovery) and one for "
                "adherence (attendance, dropout)."
            ),
        }],
    })
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
