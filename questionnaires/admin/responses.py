"""Admin for questionnaire versions, responses, scores and alerts: read-only records, alerts acknowledgeable."""

from __future__ import annotations

import uuid

from django.contrib import admin, messages
from django.utils import timezone

from questionnaires.admin.actions import recompute_metrics, rescore_selected
from questionnaires.admin.auditing import AuditedAdmin, admin_actor
from questionnaires.admin.filters import (
    AcknowledgedFilter,
    AlertQuestionnaireFilter,
    QuestionnaireFilter,
    ScoreQuestionnaireFilter,
)
from questionnaires.admin.scoping import ScopedAdmin, ScopedInline
from questionnaires.admin.tenancy import VIEW, Tenancy, is_operator, may
from questionnaires.models import Alert, QuestionnaireVersion, Response, Score
from questionnaires.selectors.alerts import priority_first


class ReadOnlyAdminMixin:
    """Records written only by the service itself: the admin may look, never add, edit or delete."""

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(QuestionnaireVersion)
class QuestionnaireVersionAdmin(ReadOnlyAdminMixin, ScopedAdmin):
    tenancy = Tenancy(clinic=None, supervisor=VIEW, clinician=VIEW)  # definitions every clinic shares
    list_display = ("questionnaire_id", "version", "title", "plugin_source", "content_hash", "synced_at")
    list_filter = ("questionnaire_id",)
    search_fields = ("questionnaire_id", "title")


RESPONSES = Tenancy(clinic="clinic", client="client", supervisor=frozenset({"view", "rescore"}), clinician=VIEW)
SCORES = Tenancy(clinic="response__clinic", client="response__client", supervisor=VIEW, clinician=VIEW)
ALERTS = Tenancy(
    clinic="clinic", client="client", supervisor=frozenset({"view", "acknowledge"}),
    clinician=frozenset({"view", "acknowledge"}),
)


class ScoreInline(ReadOnlyAdminMixin, ScopedInline, admin.TabularInline):
    model = Score
    tenancy = SCORES
    fields = ("plugin_version", "total", "band", "subscales", "flags", "computed_at")
    readonly_fields = fields
    extra = 0


class AlertInline(ReadOnlyAdminMixin, ScopedInline, admin.TabularInline):
    model = Alert
    tenancy = ALERTS
    fields = ("kind", "category", "priority", "message", "raised_at", "acknowledged_at", "resolved_at", "reason")
    readonly_fields = fields
    extra = 0

    def get_queryset(self, request):
        return super().get_queryset(request).filter(withdrawn_at__isnull=True)


@admin.register(Response)
class ResponseAdmin(ReadOnlyAdminMixin, AuditedAdmin):
    audit_object_type = "response"
    audit_reads = True
    tenancy = RESPONSES
    list_display = (
        "received_at",
        "authored_at",
        "clinic",
        "client_external_id",
        "questionnaire",
        "session_number",
        "rater",
        "status",
        "source",
    )
    list_filter = ("status", "source", "clinic", QuestionnaireFilter)
    list_select_related = ("clinic", "client", "questionnaire_version")
    search_fields = ("client__external_id",)
    search_help_text = "A client's external id, or a response id (UUID)."
    show_full_result_count = False
    actions = (rescore_selected, recompute_metrics)

    def has_rescore_permission(self, request) -> bool:
        return may(request.user, self.tenancy, "rescore")

    def has_recompute_permission(self, request) -> bool:
        return is_operator(request.user)  # rebuilds every clinic's rollups
    inlines = (ScoreInline, AlertInline)
    fieldsets = (
        (None, {"fields": ("id", "clinic", "client", "clinician", "questionnaire_version", "session_number", "rater")}),
        ("Submission", {"fields": ("authored_at", "received_at", "source", "submitted_by", "idempotency_key")}),
        ("Answers", {"fields": ("answers", "comment")}),
        ("Scoring", {"fields": ("status", "failure_reason")}),
    )

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("clinic", "client", "questionnaire_version")

    def get_search_results(self, request, queryset, search_term):
        matches, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        try:
            response_id = uuid.UUID(search_term.strip())
        except ValueError:
            return matches, may_have_duplicates
        return matches | queryset.filter(pk=response_id), may_have_duplicates

    @admin.display(description="Client", ordering="client__external_id")
    def client_external_id(self, obj: Response) -> str:
        return obj.client.external_id

    @admin.display(description="Questionnaire", ordering="questionnaire_version__questionnaire_id")
    def questionnaire(self, obj: Response) -> str:
        return f"{obj.questionnaire_version.questionnaire_id} {obj.questionnaire_version.version}"


@admin.register(Score)
class ScoreAdmin(ReadOnlyAdminMixin, AuditedAdmin):
    audit_object_type = "score"
    audit_reads = True
    tenancy = SCORES
    list_display = ("computed_at", "client_external_id", "questionnaire", "total", "band", "plugin_version", "response")
    list_filter = (ScoreQuestionnaireFilter, "band", "plugin_version")
    list_select_related = ("response__client", "response__questionnaire_version")
    search_fields = ("response__client__external_id",)
    show_full_result_count = False

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("response__client", "response__questionnaire_version")

    def audit_clinic_id(self, obj: Score) -> int | None:
        return obj.response.clinic_id

    @admin.display(description="Client", ordering="response__client__external_id")
    def client_external_id(self, obj: Score) -> str:
        return obj.response.client.external_id

    @admin.display(description="Questionnaire", ordering="response__questionnaire_version__questionnaire_id")
    def questionnaire(self, obj: Score) -> str:
        version = obj.response.questionnaire_version
        return f"{version.questionnaire_id} {version.version}"


@admin.register(Alert)
class AlertAdmin(ReadOnlyAdminMixin, AuditedAdmin):
    """Raised by the service; an admin's only write is acknowledging."""

    audit_object_type = "alert"
    audit_reads = True
    tenancy = ALERTS
    list_display = (
        "priority",
        "category",
        "client_external_id",
        "session",
        "questionnaire_id",
        "kind",
        "message",
        "raised_at",
        "clinic",
        "acknowledged",
        "resolved",
    )
    list_filter = ("category", "priority", "kind", AcknowledgedFilter, "clinic", AlertQuestionnaireFilter)
    list_select_related = ("clinic", "client", "response")
    search_fields = ("client__external_id", "kind", "message")
    actions = ("acknowledge_selected",)

    def get_queryset(self, request):
        # Withdrawn rows (of amended or retracted responses) are kept for audit, not shown; risk on top.
        alerts = super().get_queryset(request).filter(withdrawn_at__isnull=True)
        return priority_first(alerts.select_related("clinic", "client", "response"))

    def get_ordering(self, request):
        return ()  # priority_first's order, unless a column header is clicked

    @admin.display(description="Session", ordering="response__authored_at")
    def session(self, obj: Alert) -> str:
        if obj.response is None:
            return "—"
        number = f"{obj.response.session_number}, " if obj.response.session_number else ""
        return f"{number}{timezone.localtime(obj.response.authored_at):%Y-%m-%d}"

    @admin.display(description="Resolved", boolean=True, ordering="resolved_at")
    def resolved(self, obj: Alert) -> bool:
        return obj.resolved_at is not None

    def has_acknowledge_permission(self, request) -> bool:
        return may(request.user, self.tenancy, "acknowledge")

    @admin.display(description="Client", ordering="client__external_id")
    def client_external_id(self, obj: Alert) -> str:
        return obj.client.external_id

    @admin.display(description="Acknowledged", boolean=True, ordering="acknowledged_at")
    def acknowledged(self, obj: Alert) -> bool:
        return obj.acknowledged_at is not None

    @admin.action(description="Acknowledge selected alerts", permissions=["acknowledge"])
    def acknowledge_selected(self, request, queryset) -> None:
        open_alerts = list(queryset.filter(acknowledged_at__isnull=True))
        if open_alerts:
            Alert.objects.filter(pk__in=[alert.pk for alert in open_alerts]).update(
                acknowledged_at=timezone.now(), acknowledged_by=admin_actor(request)
            )
            self.audit(request, action="acknowledge", objects=open_alerts)
        self.message_user(request, f"Acknowledged {len(open_alerts)} alert(s).", messages.SUCCESS)
