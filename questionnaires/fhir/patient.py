"""A minimal FHIR Patient for a clinic's client: its id and identifier only, nothing that describes the person."""

from __future__ import annotations

from django.db.models import QuerySet

from questionnaires.fhir.resources import validated
from questionnaires.models import TherapyClient


def patient_identifier_system(base: str, clinic_slug: str) -> str:
    """The identifier system of a clinic's external ids: the integration's own ids, scoped to the clinic."""
    return f"{base}/clinic/{clinic_slug}/client"


def patient_resource(client: TherapyClient, *, base: str) -> dict:
    """`Patient/<external id>`, the reference QuestionnaireResponse.subject uses; no name, birth date or contact."""
    return validated(
        {
            "resourceType": "Patient",
            "id": client.external_id,
            "meta": {"lastUpdated": client.created_at.isoformat()},
            "identifier": [
                {"system": patient_identifier_system(base, client.clinic.slug), "value": client.external_id}
            ],
            "active": True,
        }
    )


def patients_search(clients: QuerySet[TherapyClient], params: dict[str, list[str]]) -> QuerySet[TherapyClient]:
    """`identifier` (value, or system|value) and `_id`, each repeatable (AND) and comma-separated (OR)."""
    for name in ("identifier", "_id"):
        for value in params.get(name, []):
            wanted = [part.rpartition("|")[2] for part in value.split(",") if part]
            clients = clients.filter(external_id__in=wanted)
    return clients.order_by("external_id")
