"""Admin for the audit log: searchable and filterable, and as append-only here as in the database."""

from __future__ import annotations

from django.contrib import admin

from questionnaires.admin.filters import ClinicIdFilter
from questionnaires.admin.scoping import ScopedAdmin
from questionnaires.admin.tenancy import Tenancy
from questionnaires.models import AuditEvent


@admin.register(AuditEvent)
class AuditEventAdmin(ScopedAdmin):
    # A supervisor reads their clinic's trail; events of no clinic (logins, operator commands) are operators'.
    tenancy = Tenancy(clinic="clinic_id")
    list_display = ("at", "actor", "action", "object_type", "outcome", "clinic_id", "object_count", "detail")
    list_filter = ("at", "action", "outcome", "object_type", ClinicIdFilter)
    search_fields = ("actor", "action", "object_type", "detail")
    search_help_text = "Actor (e.g. admin:alice, api_key:abc123), action, object type or detail."
    show_full_result_count = False
    readonly_fields = ("at", "clinic_id", "actor", "action", "object_type", "object_ids", "outcome", "detail")

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    @admin.display(description="Objects")
    def object_count(self, obj: AuditEvent) -> int:
        return len(obj.object_ids or [])
