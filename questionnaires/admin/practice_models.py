"""Model admins for shared goals and background categories; consented background values are not in the admin.

A client's background value is used only in aggregate, so no admin page lists or shows it; the
equity page (`admin/equity/`) is where it is read, as suppressed groups.
"""

from __future__ import annotations

from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html

from questionnaires.admin.auditing import AuditedAdmin
from questionnaires.admin.tenancy import VIEW, Tenancy
from questionnaires.models import BackgroundCategory, Goal


@admin.register(Goal)
class GoalAdmin(AuditedAdmin):
    """Goals are recorded through the API in session; here they are read (audited) and never edited."""

    audit_object_type = "goal"
    audit_reads = True
    tenancy = Tenancy(clinic="clinic", client="client", supervisor=VIEW, clinician=VIEW)
    list_display = ("id", "client", "status", "created_at", "progress_link")
    list_filter = ("status", "clinic")
    search_fields = ("client__external_id",)
    readonly_fields = (
        "clinic", "client", "text", "status", "replaced_by", "recorded_by", "created_at", "achieved_at",
        "dropped_at", "replaced_at",
    )

    @admin.display(description="progress")
    def progress_link(self, goal: Goal) -> str:
        return format_html('<a href="{}">chart</a>', reverse("admin-client-goals", args=[goal.client_id]))

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(BackgroundCategory)
class BackgroundCategoryAdmin(AuditedAdmin):
    audit_object_type = "background_category"
    tenancy = Tenancy(clinic="clinic", supervisor=frozenset({"view", "add", "change"}))
    list_display = ("name", "title", "clinic")
    list_filter = ("clinic",)
