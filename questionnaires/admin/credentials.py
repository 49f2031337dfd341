"""Admin for clinic API keys, staff tokens and client tokens: shown once on creation, stored hashed, revocable."""

from __future__ import annotations

from django.contrib import admin, messages
from rest_framework_api_key.admin import APIKeyModelAdmin

from questionnaires.admin.auditing import AuditedAdmin
from questionnaires.admin.tenancy import Tenancy
from questionnaires.models import ClientToken, ClinicAPIKey, StaffToken


class CredentialAdmin(AuditedAdmin, APIKeyModelAdmin):
    """The library admin (key shown once in a message, never stored in plain) plus usage columns and revocation."""

    actions = ("revoke_selected",)
    list_filter = ("revoked", "created", "expiry_date")

    def audit_object_id(self, obj) -> str:
        # The primary key embeds the key's hash; the prefix identifies a key without it.
        return obj.prefix

    bound_to: tuple[str, ...] = ()
    """Who the credential speaks for; fixed once issued, or editing it would hand the holder another's access."""

    def get_readonly_fields(self, request, obj=None):
        bound = self.bound_to if obj is not None else ()
        return (*super().get_readonly_fields(request, obj), "created", "last_used_at", *bound)

    @admin.action(description="Revoke selected credentials", permissions=["change"])
    def revoke_selected(self, request, queryset) -> None:
        live = list(queryset.filter(revoked=False))
        if live:
            queryset.model.objects.filter(pk__in=[credential.pk for credential in live]).update(revoked=True)
            self.audit(request, action="revoke", objects=live)
        self.message_user(request, f"Revoked {len(live)} credential(s); this cannot be undone.", messages.SUCCESS)


@admin.register(ClinicAPIKey)
class ClinicAPIKeyAdmin(CredentialAdmin):
    audit_object_type = "clinic_api_key"
    tenancy = Tenancy(clinic="clinic", supervisor=frozenset({"view", "add", "change"}))
    bound_to = ("clinic",)
    list_display = ("prefix", "name", "clinic", "created", "last_used_at", "expiry_date", "_has_expired", "revoked")
    list_filter = ("clinic", *CredentialAdmin.list_filter)
    list_select_related = ("clinic",)
    search_fields = ("name", "prefix", "clinic__slug")


@admin.register(StaffToken)
class StaffTokenAdmin(CredentialAdmin):
    audit_object_type = "staff_token"
    # A clinician sees and may revoke their own tokens; a supervisor every token of the clinic's staff.
    tenancy = Tenancy(
        clinic="user__membership__clinic", own="user", supervisor=frozenset({"view", "change"}),
        clinician=frozenset({"view", "change"}),
    )
    bound_to = ("user",)
    list_display = ("prefix", "name", "user", "created", "last_used_at", "expiry_date", "_has_expired", "revoked")
    list_select_related = ("user__membership",)
    search_fields = ("name", "prefix", "user__username")
    autocomplete_fields = ("user",)

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("user__membership")

    def audit_clinic_id(self, obj: StaffToken) -> int | None:
        membership = getattr(obj.user, "membership", None)
        return membership.clinic_id if membership else None


@admin.register(ClientToken)
class ClientTokenAdmin(CredentialAdmin):
    """Who holds a live link to which client is client data: list and change pages are audited reads."""

    audit_object_type = "client_token"
    audit_reads = True
    tenancy = Tenancy(
        clinic="client__clinic", client="client", supervisor=frozenset({"view", "add", "change"}),
        clinician=frozenset({"view", "add", "change"}),
    )
    bound_to = ("client", "issued_by")
    list_display = (
        "prefix",
        "name",
        "client",
        "issued_by",
        "created",
        "last_used_at",
        "expiry_date",
        "_has_expired",
        "revoked",
    )
    list_filter = ("client__clinic", *CredentialAdmin.list_filter)
    list_select_related = ("client__clinic", "issued_by")
    search_fields = ("name", "prefix", "client__external_id")
    autocomplete_fields = ("client", "issued_by")

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("client__clinic", "issued_by")

    def audit_clinic_id(self, obj: ClientToken) -> int | None:
        return obj.client.clinic_id

    def save_model(self, request, obj, form, change) -> None:
        if not change and obj.issued_by_id is None:
            obj.issued_by = request.user
        super().save_model(request, obj, form, change)
