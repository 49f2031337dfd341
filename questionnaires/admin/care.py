"""Admin for the course of care: episodes with their sessions inline, sessions on their own, and a client's
episodes (with an attendance strip) on the client's page.

The clinic of an episode and of a session always follows the client's: it is not a form field,
so an episode can never join another tenant. Any change to sessions renumbers the episode.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.utils.html import format_html_join

from questionnaires.admin.auditing import AuditedAdmin
from questionnaires.admin.scoping import ScopedInline
from questionnaires.admin.tenancy import VIEW, Tenancy
from questionnaires.models import CareSession, ClinicCareSettings, EpisodeOfCare, TherapyClient
from questionnaires.selectors.due import client_due, rules_in_force
from questionnaires.services.care import episode_one_active_check, sessions_renumber
from questionnaires.services.errors import Conflict

ATTENDANCE_MARKS = {
    CareSession.Attendance.BOOKED: ("·", "booked"),
    CareSession.Attendance.ATTENDED: ("●", "attended"),
    CareSession.Attendance.CANCELLED_BY_CLIENT: ("○", "cancelled by client"),
    CareSession.Attendance.CANCELLED_BY_SERVICE: ("◌", "cancelled by service"),
    CareSession.Attendance.DID_NOT_ATTEND: ("✕", "did not attend"),
    CareSession.Attendance.ENTERED_IN_ERROR: ("", "entered in error"),
}


def attendance_strip(episode: EpisodeOfCare) -> str:
    """One mark per session in order (● attended, ✕ did not attend, ○/◌ cancelled, · booked); errors left out."""
    sessions = [session for session in episode.sessions.all() if session.attendance != "entered_in_error"]
    return format_html_join(
        "", '<span title="{} {}">{}</span>',
        (
            (f"{session.scheduled_start:%Y-%m-%d}", ATTENDANCE_MARKS[session.attendance][1],
             ATTENDANCE_MARKS[session.attendance][0])
            for session in sorted(sessions, key=lambda session: (session.scheduled_start, session.pk))
        ),
    ) or "—"


PLAN_SOURCES = {
    "episode": "this episode's own plan (an override of the clinic's)",
    "clinic": "the clinic's default plan",
    "default": "the built-in default plan (no clinic plan set)",
}
MISSED_SHOWN = 10


def rule_when_text(rule: dict) -> str:
    """A plan rule's `when` in words, e.g. "every 5th session from session 3"."""
    when = rule["when"]
    if "every_session" in when:
        text = "every session"
    elif "sessions" in when:
        text = "session" + ("s " if len(when["sessions"]) > 1 else " ") + ", ".join(map(str, when["sessions"]))
    elif "every_n_sessions" in when:
        text = f"every {when['every_n_sessions']} sessions from session {when.get('from', 1)}"
    else:
        text = f"at the first session of every {when['every_n_days']} days"
    return text + (", once goals are agreed" if rule.get("requires_goals") else "")


def client_plan_and_due(*, client: TherapyClient, now=None) -> dict:
    """For the client's page: the plan in force for the active episode and its due list, both from the
    selectors behind `GET /api/v1/clients/{id}/due/` (`client_due`, `rules_in_force`).

    Returns {"due": client_due's body, "source": words for where the plan comes from or None,
    "rules": [{"questionnaire", "rater", "when", "position", "open_hours"}], "due_rows": the due list with
    positions in words, "missed": the latest
    `MISSED_SHOWN` missed measures, newest session first, "missed_more": how many more there are}.
    """
    due = client_due(client=client, now=now)
    if due["episode"] is None:
        return {"due": due, "source": None, "rules": [], "due_rows": [], "missed": [], "missed_more": 0}
    rules, source = rules_in_force(clinic_id=client.clinic_id, episode_id=due["episode"])
    missed = sorted(due["missed"], key=lambda row: (-row["session"], row["questionnaire"], row["rater"]))
    return {
        "due": due,
        "source": PLAN_SOURCES[source],
        "rules": [
            {"questionnaire": rule["questionnaire"], "rater": rule.get("rater", "client"),
             "when": rule_when_text(rule), "position": rule.get("position", "session_start").replace("_", " "),
             "open_hours": rule.get("open_hours", 24)}
            for rule in rules
        ],
        "due_rows": [{**row, "position": row["position"].replace("_", " ")} for row in due["due"]],
        "missed": missed[:MISSED_SHOWN],
        "missed_more": max(len(missed) - MISSED_SHOWN, 0),
    }


EPISODES = Tenancy(clinic="clinic", client="client", supervisor=frozenset({"view", "add", "change"}), clinician=VIEW)
SESSIONS = Tenancy(
    clinic="clinic",
    client="episode__client",
    supervisor=frozenset({"view", "add", "change"}),
    clinician=frozenset({"view", "change"}),  # a clinician records attendance of their own clients' sessions
)
CARE_SETTINGS = Tenancy(clinic="clinic", supervisor=frozenset({"view", "change"}))


class CareSessionInline(ScopedInline, admin.TabularInline):
    tenancy = SESSIONS
    model = CareSession
    fields = ("scheduled_start", "duration_minutes", "attendance", "number", "clinicians", "external_id")
    readonly_fields = ("number",)
    ordering = ("scheduled_start", "id")
    extra = 0


class EpisodeOfCareForm(forms.ModelForm):
    """Refuses a second active episode with the REST rule (`episode_one_active_check`), as a form error on status.

    The admin saves inside one transaction that starts before validation, so the client row the
    check locks stays locked until the episode is saved.
    """

    class Meta:
        model = EpisodeOfCare
        fields = ("client", "external_id", "referral_date", "start_date", "primary_clinician", "clinicians", "status",
                  "end_date", "end_reason")

    def clean(self) -> dict:
        cleaned = super().clean()
        client = cleaned.get("client")
        becomes_active = cleaned.get("status") == EpisodeOfCare.Status.ACTIVE and (
            self.instance.pk is None or "status" in self.changed_data or "client" in self.changed_data
        )
        if client is not None and becomes_active:
            try:
                episode_one_active_check(client, excluding=self.instance.pk)
            except Conflict as conflict:
                self.add_error("status", f"{conflict.detail}")
        return cleaned


@admin.register(EpisodeOfCare)
class EpisodeOfCareAdmin(AuditedAdmin):
    tenancy = EPISODES
    form = EpisodeOfCareForm
    audit_object_type = "episode"
    audit_reads = True
    inlines = (CareSessionInline,)
    list_display = ("id", "client", "clinic", "status", "start_date", "end_date", "end_reason", "primary_clinician",
                    "attendance")
    list_filter = ("status", "end_reason", "clinic")
    list_select_related = ("client", "clinic", "primary_clinician")
    search_fields = ("client__external_id", "external_id")
    autocomplete_fields = ("client", "primary_clinician")
    filter_horizontal = ("clinicians",)
    fields = ("client", "external_id", "referral_date", "start_date", "primary_clinician", "clinicians", "status",
              "end_date", "end_reason", "created_at", "updated_at")
    readonly_fields = ("created_at", "updated_at")

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("sessions")

    @admin.display(description="Attendance")
    def attendance(self, obj: EpisodeOfCare) -> str:
        return attendance_strip(obj)

    def save_model(self, request, obj: EpisodeOfCare, form, change) -> None:
        obj.clinic_id = obj.client.clinic_id
        super().save_model(request, obj, form, change)

    def save_formset(self, request, form, formset, change) -> None:
        for session in formset.save(commit=False):
            session.clinic_id = form.instance.clinic_id
            session.save()
        for session in formset.deleted_objects:
            session.delete()
        formset.save_m2m()

    def save_related(self, request, form, formsets, change) -> None:
        super().save_related(request, form, formsets, change)
        sessions_renumber(episode_ids=[form.instance.pk])


@admin.register(CareSession)
class CareSessionAdmin(AuditedAdmin):
    tenancy = SESSIONS
    audit_object_type = "session"
    audit_reads = True
    list_display = ("id", "episode", "scheduled_start", "attendance", "number", "external_id")
    list_filter = ("attendance", "clinic")
    list_select_related = ("episode__client",)
    search_fields = ("external_id", "episode__client__external_id")
    autocomplete_fields = ("episode",)
    filter_horizontal = ("clinicians",)
    fields = ("episode", "external_id", "scheduled_start", "duration_minutes", "attendance", "number", "clinicians")
    readonly_fields = ("number",)

    def save_model(self, request, obj: CareSession, form, change) -> None:
        obj.clinic_id = obj.episode.clinic_id
        super().save_model(request, obj, form, change)

    def save_related(self, request, form, formsets, change) -> None:
        super().save_related(request, form, formsets, change)
        sessions_renumber(episode_ids=[form.instance.episode_id])


@admin.register(ClinicCareSettings)
class ClinicCareSettingsAdmin(AuditedAdmin):
    tenancy = CARE_SETTINGS
    audit_object_type = "clinic_care_settings"
    list_display = ("clinic", "allow_parallel_episodes", "disengaged_after_weeks", "form_offers_other_instruments",
                    "updated_at")


class EpisodeOnClientInline(ScopedInline, admin.TabularInline):
    """The client's episodes on the client's page, each with its attendance strip; edited on the episode page."""

    tenancy = EPISODES
    model = EpisodeOfCare
    fields = ("start_date", "status", "end_date", "end_reason", "primary_clinician", "attendance")
    readonly_fields = fields
    show_change_link = True
    extra = 0
    can_delete = False
    verbose_name_plural = "episodes of care"

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("primary_clinician").prefetch_related("sessions")

    @admin.display(description="Attendance")
    def attendance(self, obj: EpisodeOfCare) -> str:
        return attendance_strip(obj)
