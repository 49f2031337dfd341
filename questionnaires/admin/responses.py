"""Admin for questionnaire versions, responses, scores and alerts: read-only records; alerts are acknowledged,
snoozed and resolved (with a reason) one session alert at a time."""

from __future__ import annotations

import uuid

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.admin.views.main import ChangeList
from django.db.models import Exists, Max, Min, OuterRef, Q, QuerySet, Subquery
from django.template.response import TemplateResponse
from django.utils import timezone
from django.utils.html import format_html_join
from django.utils.safestring import mark_safe

from questionnaires.admin.actions import recompute_metrics, rescore_selected
from questionnaires.admin.auditing import AuditedAdmin, admin_actor
from questionnaires.admin.filters import (
    AcknowledgedFilter,
    AlertQuestionnaireFilter,
    QuestionnaireFilter,
    ScoreQuestionnaireFilter,
)
from questionnaires.admin.scoping import ScopedAdmin, ScopedInline
from questionnaires.admin.tenancy import VIEW, Tenancy, is_operator, may, scoped
from questionnaires.models import Alert, QuestionnaireVersion, Response, Score
from questionnaires.selectors.alerts import (
    PRIORITY_RANK,
    SessionAlert,
    priority_rank,
    session_alerts,
    session_alerts_of,
    session_of,
)
from questionnaires.services.alerts import alerts_acknowledge, alerts_resolve, alerts_snooze


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
    clinic="clinic", client="client", supervisor=frozenset({"view", "acknowledge", "snooze", "resolve"}),
    clinician=frozenset({"view", "acknowledge", "snooze", "resolve"}),
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


class AlertReasonForm(forms.Form):
    """What the snooze and resolve actions ask before they act."""

    reason = forms.CharField(
        max_length=2000, widget=forms.Textarea(attrs={"rows": 3}), help_text="Why, e.g. discussed in session 7."
    )


class AlertSnoozeForm(AlertReasonForm):
    until = forms.DateTimeField(help_text="Hidden from open lists until then (the clinic's time).")

    field_order = ("until", "reason")

    def clean_until(self):
        until = self.cleaned_data["until"]
        if until <= timezone.now():
            raise forms.ValidationError("Snooze until a time in the future.")
        return until


class SessionAlertChangeList(ChangeList):
    """Each row is a session alert's first reason: give it the whole session alert to show (one query per page)."""

    def get_results(self, request) -> None:
        super().get_results(request)
        rows = list(self.result_list)
        keys = [{"client_id": row.client_id, "category": row.category, "session_key": row.session_key} for row in rows]
        groups = session_alerts_of(keys, Alert.objects.filter(withdrawn_at__isnull=True))
        by_key = {(group.client_id, group.category, group.session_key): group for group in groups}
        for row in rows:
            row.session_alert = by_key.get(session_of(row))
        self.result_list = rows


class SessionReasonFilter(admin.SimpleListFilter):
    """Session alerts that have a live reason matching `reason_filter`."""

    def reason_filter(self, value: str) -> Q:
        raise NotImplementedError

    def queryset(self, request, queryset):
        value = self.value()
        if not value:
            return queryset
        return queryset.filter(Exists(_same_session().filter(self.reason_filter(value))))


class AlertPriorityFilter(SessionReasonFilter):
    title = "priority"
    parameter_name = "priority"

    def lookups(self, request, model_admin):
        return Alert.Priority.choices

    def queryset(self, request, queryset):
        rank = PRIORITY_RANK.get(self.value()) if self.value() else None
        return queryset if rank is None else queryset.filter(session_rank=rank)


class AlertKindFilter(SessionReasonFilter):
    title = "reason"
    parameter_name = "kind"

    def lookups(self, request, model_admin):
        kinds = scoped(Alert.objects.all(), request.user, ALERTS).order_by().values_list("kind", flat=True).distinct()
        return [(kind, kind) for kind in sorted(kinds)[:50]]

    def reason_filter(self, value: str) -> Q:
        return Q(kind=value)


class SessionAcknowledgedFilter(AcknowledgedFilter):
    """Acknowledged: every reason is; open: a reason is not (a later reason opens it again)."""

    def queryset(self, request, queryset):
        unacknowledged = Exists(_same_session().filter(acknowledged_at__isnull=True))
        if self.value() == "no":
            return queryset.filter(unacknowledged)
        if self.value() == "yes":
            return queryset.filter(~unacknowledged)
        return queryset


def _same_session() -> QuerySet[Alert]:
    """The live rows of the outer row's session alert (for Exists / Subquery)."""
    return Alert.objects.filter(
        client_id=OuterRef("client_id"), category=OuterRef("category"), session_key=OuterRef("session_key"),
        withdrawn_at__isnull=True,
    )


def _session_rank() -> Subquery:
    """The rank (3 high … 1 low) of the outer row's session alert: that of its highest live reason."""
    rank = _same_session().order_by().values("client_id").annotate(rank=Max(priority_rank())).values("rank")
    return Subquery(rank[:1])


@admin.register(Alert)
class AlertAdmin(ReadOnlyAdminMixin, AuditedAdmin):
    """One row per client and session (and category): the session alert with its reasons, risk on top.

    Raised by the service; an admin acknowledges, snoozes or resolves (with a reason) whole session
    alerts, as the API does. A reason raised later opens the alert again (`selectors.alerts`).
    """

    audit_object_type = "alert"
    audit_reads = True
    tenancy = ALERTS
    list_display = (
        "session_priority",
        "category",
        "client_external_id",
        "session",
        "reasons",
        "raised_at",
        "clinic",
        "acknowledged",
        "snoozed",
        "resolved",
    )
    list_filter = (
        "category", AlertPriorityFilter, AlertKindFilter, SessionAcknowledgedFilter, "clinic", AlertQuestionnaireFilter
    )
    list_select_related = ("clinic", "client", "response")
    search_fields = ("client__external_id", "kind", "message")
    actions = ("acknowledge_selected", "snooze_selected", "resolve_selected")

    def get_queryset(self, request):
        # Withdrawn rows (of amended or retracted responses) are kept for audit, not shown. Each session
        # alert is listed once, by its first live reason, ranked by its highest reason: risk on top.
        alerts = super().get_queryset(request).filter(withdrawn_at__isnull=True)
        leads = alerts.order_by().values("client_id", "category", "session_key").annotate(lead=Min("id")).values("lead")
        return (
            alerts.filter(id__in=leads)
            .annotate(session_rank=_session_rank())
            .select_related("clinic", "client", "response")
        )

    def get_ordering(self, request):
        # Alerts before notes, the highest reason first (risk on top), then the latest session; unless a
        # column header is clicked. (An empty ordering would fall back to the model's newest-first.)
        return ("category", _session_rank().desc(), "-response__authored_at", "-id")

    def response_action(self, request, queryset):
        # Actions take any reason of a listed session alert (the API's ids work here too), never one outside
        # the page's filters or the user's scope; the scope check of ScopedAdmin then applies to those rows.
        listed = queryset.filter(
            client_id=OuterRef("client_id"), category=OuterRef("category"), session_key=OuterRef("session_key")
        )
        reasons = super().get_queryset(request).filter(withdrawn_at__isnull=True).filter(Exists(listed))
        return super().response_action(request, reasons)

    def get_changelist(self, request, **kwargs):
        return SessionAlertChangeList

    def audit(self, request, *, action, objects, detail=""):
        """A listed row stands for its session alert: every reason shown is audited."""
        rows = []
        for obj in objects:
            group = getattr(obj, "session_alert", None)
            rows.extend(group.reasons if group is not None else [obj])
        super().audit(request, action=action, objects=rows, detail=detail)

    @staticmethod
    def _group(obj: Alert) -> SessionAlert | None:
        return getattr(obj, "session_alert", None)

    @admin.display(description="Priority", ordering="session_rank")
    def session_priority(self, obj: Alert) -> str:
        group = self._group(obj)
        return Alert.Priority(group.priority if group else obj.priority).label

    @admin.display(description="Session", ordering="response__authored_at")
    def session(self, obj: Alert) -> str:
        if obj.response is None:
            return obj.session_key or "—"
        number = f"{obj.response.session_number}, " if obj.response.session_number else ""
        return f"{number}{timezone.localtime(obj.response.authored_at):%Y-%m-%d}"

    @admin.display(description="Reasons")
    def reasons(self, obj: Alert):
        group = self._group(obj)
        reasons = group.reasons if group else (obj,)
        return format_html_join(
            mark_safe("<br>"), "<strong>{}</strong> ({}): {}",
            ((reason.kind, reason.questionnaire_id, reason.message) for reason in reasons),
        )

    @admin.display(description="Resolved", boolean=True)
    def resolved(self, obj: Alert) -> bool:
        group = self._group(obj)
        return (group.resolved_at if group else obj.resolved_at) is not None

    @admin.display(description="Snoozed until")
    def snoozed(self, obj: Alert) -> str:
        group = self._group(obj)
        until = group.snoozed_until if group else obj.snoozed_until
        return f"{timezone.localtime(until):%Y-%m-%d %H:%M}" if until and until > timezone.now() else "—"

    def has_acknowledge_permission(self, request) -> bool:
        return may(request.user, self.tenancy, "acknowledge")

    def has_snooze_permission(self, request) -> bool:
        return may(request.user, self.tenancy, "snooze")

    def has_resolve_permission(self, request) -> bool:
        return may(request.user, self.tenancy, "resolve")

    @admin.display(description="Client", ordering="client__external_id")
    def client_external_id(self, obj: Alert) -> str:
        return obj.client.external_id

    @admin.display(description="Acknowledged", boolean=True)
    def acknowledged(self, obj: Alert) -> bool:
        group = self._group(obj)
        return (group.acknowledged_at if group else obj.acknowledged_at) is not None

    @admin.action(description="Acknowledge selected alerts", permissions=["acknowledge"])
    def acknowledge_selected(self, request, queryset) -> None:
        stamped = alerts_acknowledge(alerts=list(queryset), actor=admin_actor(request))
        if stamped:
            self.audit(request, action="acknowledge", objects=stamped)
        self.message_user(request, f"Acknowledged {len(stamped)} reason(s).", messages.SUCCESS)

    @admin.action(description="Snooze selected alerts (asks until when and why)", permissions=["snooze"])
    def snooze_selected(self, request, queryset):
        return self._with_reason(request, queryset, AlertSnoozeForm, "snooze_selected", "Snooze", alerts_snooze)

    @admin.action(description="Resolve selected alerts (asks why)", permissions=["resolve"])
    def resolve_selected(self, request, queryset):
        return self._with_reason(request, queryset, AlertReasonForm, "resolve_selected", "Resolve", alerts_resolve)

    def _with_reason(self, request, queryset, form_class, action: str, verb: str, service):
        """First call: a page asking the reason (and time). Its submit: act on the session alerts, audited."""
        selected = list(queryset)
        form = form_class(request.POST if "apply" in request.POST else None)
        if "apply" in request.POST and form.is_valid():
            done = service(alerts=selected, actor=admin_actor(request), **form.cleaned_data)
            if done:
                self.audit(request, action=verb.lower(), objects=done, detail=form.cleaned_data["reason"][:200])
            self.message_user(request, f"{verb}d {len(done)} reason(s).", messages.SUCCESS)
            return None
        groups = session_alerts(_reasons_for(selected))
        context = {
            **self.admin_site.each_context(request),
            "title": f"{verb} alerts",
            "verb": verb,
            "form": form,
            "groups": groups,
            "selected": selected,
            "action": action,
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "admin/questionnaires/alert/reason_form.html", context)


def _reasons_for(alerts: list[Alert]) -> QuerySet[Alert]:
    if not alerts:
        return Alert.objects.none()
    match = Q()
    for alert in alerts:
        match |= Q(client_id=alert.client_id, category=alert.category, session_key=alert.session_key)
    return Alert.objects.filter(match, withdrawn_at__isnull=True).select_related("client", "response")
