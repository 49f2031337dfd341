"""The three credential schemes: `Api-Key` (clinic), `Token` (staff), `Bearer` (one therapy client).

All three are hashed djangorestframework-api-key rows found by their prefix. A credential
that is recognised by prefix but wrong, revoked or expired is remembered on the request so
the problem handler can audit the denied attempt (at most one row per credential a minute,
counting the rest); last use is written at most once a minute. Every refusal gets the same
401 message, so the answer never tells a known prefix from an unknown one.
"""

from __future__ import annotations

from typing import Any

from django.core.cache import cache
from django.db.models import Model
from django.utils import timezone
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework.authentication import BaseAuthentication
from rest_framework.exceptions import AuthenticationFailed

from questionnaires.api.cache_outage import CACHE_ERRORS, log_cache_outage
from questionnaires.api.problems import CHALLENGE
from questionnaires.models import ClientToken, ClinicAPIKey, StaffToken
from questionnaires.principals import Principal
from questionnaires.services.audit import audit_denial_admit, denial_detail

LAST_USED_RESOLUTION_SECONDS = 60
MAX_KEY_LENGTH = 200
REFUSED = "Invalid, expired or revoked credential."


class CredentialAuthentication(BaseAuthentication):
    """Shared flow; subclasses name the scheme, the model and how a row becomes a Principal."""

    keyword = ""
    kind = ""
    model: type[Model]

    def authenticate(self, request: Any) -> tuple[Principal, Any] | None:
        header = request.META.get("HTTP_AUTHORIZATION", "")
        scheme, _, key = header.partition(" ")
        if scheme.lower() != self.keyword.lower():
            return None
        key = key.strip()
        if not key or len(key) > MAX_KEY_LENGTH or not key.isprintable() or " " in key:
            raise AuthenticationFailed(REFUSED)
        prefix, dot, _ = key.partition(".")
        if not dot or not prefix:
            raise AuthenticationFailed(REFUSED)
        row = self.lookup(prefix)
        if row is None:
            raise AuthenticationFailed(REFUSED)
        reason = self.unusable_reason(row, key)
        principal = None if reason else self.principal_for(row)
        if principal is None:
            self.remember_denial(request, row, reason or "not a clinic member")
            raise AuthenticationFailed(REFUSED)
        _touch_last_used(row)
        return principal, row

    def remember_denial(self, request: Any, row: Any, reason: str) -> None:
        """Leave the refused attempt for the error handler to audit, unless this credential's minute already has one."""
        actor = self.actor_label(row)
        folded = audit_denial_admit(actor=actor)
        if folded is not None:
            request.denied_credential = (actor, self.clinic_id(row), denial_detail(reason, folded))

    def authenticate_header(self, request: Any) -> str:
        return CHALLENGE

    def lookup(self, prefix: str) -> Any:
        return self.model.objects.filter(prefix=prefix).first()

    def unusable_reason(self, row: Any, key: str) -> str:
        if not row.is_valid(key):
            return "invalid"
        if row.revoked:
            return "revoked"
        if row.has_expired:
            return "expired"
        return ""

    def actor_label(self, row: Any) -> str:
        return f"{self.kind}:{row.prefix}"

    def clinic_id(self, row: Any) -> int | None:
        raise NotImplementedError

    def principal_for(self, row: Any) -> Principal | None:
        raise NotImplementedError


class ApiKeyAuthentication(CredentialAuthentication):
    """`Authorization: Api-Key <key>`: an integration, seeing its whole clinic."""

    keyword = "Api-Key"
    kind = "api_key"
    model = ClinicAPIKey

    def clinic_id(self, row: ClinicAPIKey) -> int:
        return row.clinic_id

    def principal_for(self, row: ClinicAPIKey) -> Principal:
        return Principal(kind="api_key", clinic_id=row.clinic_id, credential=row, credential_prefix=row.prefix)


class StaffTokenAuthentication(CredentialAuthentication):
    """`Authorization: Token <token>`: a clinician (caseload) or supervisor (whole clinic)."""

    keyword = "Token"
    kind = "staff_token"
    model = StaffToken

    def lookup(self, prefix: str) -> StaffToken | None:
        return StaffToken.objects.select_related("user__membership").filter(prefix=prefix).first()

    def actor_label(self, row: StaffToken) -> str:
        return f"user:{row.user.username}"

    def clinic_id(self, row: StaffToken) -> int | None:
        membership = getattr(row.user, "membership", None)
        return membership.clinic_id if membership is not None else None

    def principal_for(self, row: StaffToken) -> Principal | None:
        user = row.user
        membership = getattr(user, "membership", None)
        if not user.is_active or membership is None:
            return None
        return Principal(
            kind="supervisor" if membership.is_supervisor else "clinician",
            clinic_id=membership.clinic_id,
            credential=row,
            credential_prefix=row.prefix,
            user=user,
        )


class ClientTokenAuthentication(CredentialAuthentication):
    """`Authorization: Bearer <token>`: one therapy client's app; its own questionnaires and scores only."""

    keyword = "Bearer"
    kind = "client_token"
    model = ClientToken

    def lookup(self, prefix: str) -> ClientToken | None:
        return ClientToken.objects.select_related("client").filter(prefix=prefix).first()

    def clinic_id(self, row: ClientToken) -> int:
        return row.client.clinic_id

    def principal_for(self, row: ClientToken) -> Principal:
        return Principal(
            kind="client_token",
            clinic_id=row.client.clinic_id,
            credential=row,
            credential_prefix=row.prefix,
            therapy_client=row.client,
        )


def _touch_last_used(row: Any) -> None:
    """Record last use, but write it at most once a minute per credential rather than on every request."""
    marker = f"credential-used:{row._meta.model_name}:{row.prefix}"
    try:
        first_this_minute = cache.add(marker, 1, LAST_USED_RESOLUTION_SECONDS)
    except CACHE_ERRORS as error:
        log_cache_outage(error, "last-used marks")
        return
    if first_this_minute:
        type(row).objects.filter(pk=row.pk).update(last_used_at=timezone.now())


class _SchemeExtension(OpenApiAuthenticationExtension):
    keyword = ""
    description = ""

    def get_security_definition(self, auto_schema: Any) -> dict:
        return {"type": "apiKey", "in": "header", "name": "Authorization", "description": self.description}


class ApiKeySchemeExtension(_SchemeExtension):
    target_class = "questionnaires.api.authentication.ApiKeyAuthentication"
    name = "ApiKey"
    description = "`Authorization: Api-Key <key>`: a clinic API key (`manage.py create_api_key`)."


class StaffTokenSchemeExtension(_SchemeExtension):
    target_class = "questionnaires.api.authentication.StaffTokenAuthentication"
    name = "StaffToken"
    description = "`Authorization: Token <token>` from `POST /api/v1/auth/token/`."


class ClientTokenSchemeExtension(_SchemeExtension):
    target_class = "questionnaires.api.authentication.ClientTokenAuthentication"
    name = "ClientToken"
    description = "`Authorization: Bearer <token>` from `POST /api/v1/clients/{external_id}/tokens/`."
