"""Issuing and revoking the tokens the API accepts; the keys are shown once and stored hashed."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from questionnaires.models import ClientToken, StaffToken, TherapyClient
from questionnaires.services.audit import audit_record

STAFF_TOKEN_LIFETIME = timedelta(hours=getattr(settings, "API_STAFF_TOKEN_HOURS", 24 * 7))
CLIENT_TOKEN_MAX_LIFETIME = timedelta(days=getattr(settings, "API_CLIENT_TOKEN_DAYS", 30))


def staff_token_issue(*, user, name: str = "api") -> tuple[StaffToken, str]:
    """A token for a clinician or supervisor who proved their password; it expires, so a lost one ages out."""
    return StaffToken.objects.create_key(
        user=user, name=name[:50] or "api", expiry_date=timezone.now() + STAFF_TOKEN_LIFETIME
    )


def client_token_issue(
    *, client: TherapyClient, issued_by=None, lifetime: timedelta | None = None, name: str = ""
) -> tuple[ClientToken, str]:
    """A token for one client's app or form; never longer-lived than the configured maximum."""
    lifetime = min(lifetime or CLIENT_TOKEN_MAX_LIFETIME, CLIENT_TOKEN_MAX_LIFETIME)
    return ClientToken.objects.create_key(
        client=client,
        issued_by=issued_by,
        name=(name or f"client {client.external_id}")[:50],
        expiry_date=timezone.now() + lifetime,
    )


def credential_revoke(*, credential: StaffToken | ClientToken) -> None:
    """Revocation cannot be undone (djangorestframework-api-key refuses to un-revoke)."""
    if not credential.revoked:
        credential.revoked = True
        credential.save(update_fields=["revoked"])


def staff_tokens_revoke(*, user, reason: str) -> int:
    """Revoke every live token of one staff user (password changed, account deactivated); audited.

    Returns how many were revoked.
    """
    live = StaffToken.objects.filter(user=user, revoked=False)
    prefixes = list(live.values_list("prefix", flat=True))
    if not prefixes:
        return 0
    live.update(revoked=True)
    membership = getattr(user, "membership", None)
    audit_record(
        actor=f"user:{user.get_username()}",
        action="token.revoke",
        object_type="staff_token",
        object_ids=prefixes,
        clinic_id=membership.clinic_id if membership is not None else None,
        detail=reason,
    )
    return len(prefixes)
