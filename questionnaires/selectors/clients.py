"""Which therapy clients a caller may see, and their API shape.

API keys and supervisors see the whole clinic, clinicians their caseload, a client token
only its own client; everything else does not exist for the caller (404).
"""

from __future__ import annotations

from collections.abc import Iterable

from django.contrib.auth import get_user_model
from django.db.models import Prefetch, QuerySet

from questionnaires.models import TherapyClient
from questionnaires.principals import Principal


def clients_visible_to(principal: Principal) -> QuerySet[TherapyClient]:
    clients = TherapyClient.objects.filter(clinic_id=principal.clinic_id)
    if principal.kind == "clinician":
        clients = clients.filter(clinicians=principal.user_id)
    elif principal.kind == "client_token":
        clients = clients.filter(pk=principal.therapy_client_id)
    return clients


def clients_with_clinicians(clients: QuerySet[TherapyClient]) -> QuerySet[TherapyClient]:
    """The clinicians' usernames in one extra query for a whole page."""
    staff = get_user_model().objects.only("id", "username").order_by("username")
    return clients.prefetch_related(Prefetch("clinicians", queryset=staff))


def client_get_visible(*, principal: Principal, external_id: str) -> TherapyClient | None:
    if not external_id or "\x00" in external_id or len(external_id) > 128:
        return None
    return clients_visible_to(principal).filter(external_id=external_id).first()


def client_as_dict(client: TherapyClient) -> dict:
    return {
        "external_id": client.external_id,
        "clinicians": [user.username for user in client.clinicians.all()],
        "created": client.created_at,
    }


def clients_as_dicts(clients: Iterable[TherapyClient]) -> list[dict]:
    return [client_as_dict(client) for client in clients]
