"""Admin for clinics, their staff (also inline on the user page) and their therapy clients."""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin

from questionnaires.admin.auditing import AuditedAdmin, admin_actor
from questionnaires.admin.care import EpisodeOnClientInline
from questionnaires.admin.scoping import ScopedInline
from questionnaires.admin.tenancy import CLIENTS, CLINICS, Tenancy
from questionnaires.models import Clinic, StaffMembership, TherapyClient
from questionnaires.services.audit import audit_record

User = get_user_model()


@admin.register(Clinic)
class ClinicAdmin(AuditedAdmin):
    audit_object_type = "clinic"
    tenancy = CLINICS
    list_display = ("slug", "name", "time_zone", "created_at")
    search_fields = ("slug", "name")
    ordering = ("slug",)

    def get_prepopulated_fields(self, request, obj=None):
        return {"slug": ("name",)} if obj is None else {}

    def audit_clinic_id(self, obj) -> int | None:
        return obj.pk

    def get_readonly_fields(self, request, obj=None):
        # Integrations and operators address a clinic by slug; renaming it would break them.
        return ("slug", "created_at") if obj is not None else ("created_at",)


@admin.register(StaffMembership)
class StaffMembershipAdmin(AuditedAdmin):
    audit_object_type = "staff_membership"
    tenancy = Tenancy(clinic="clinic", own="user")
    list_display = ("user", "clinic", "role")
    list_filter = ("role", "clinic")
    list_select_related = ("user", "clinic")
    search_fields = ("user__username", "user__email", "clinic__slug")
    autocomplete_fields = ("user",)


class TherapyClientForm(forms.ModelForm):
    class Meta:
        model = TherapyClient
        fields = ("clinic", "external_id", "clinicians")

    def clean(self):
        cleaned = super().clean()
        clinic = cleaned.get("clinic") or (self.instance.clinic if self.instance.pk else None)
        clinicians = cleaned.get("clinicians")
        if clinic is not None and clinicians:
            outsiders = [user.username for user in clinicians if not _is_member_of(user, clinic)]
            if outsiders:
                self.add_error("clinicians", f"not staff of {clinic}: {', '.join(outsiders)}")
        return cleaned


def _is_member_of(user, clinic: Clinic) -> bool:
    return StaffMembership.objects.filter(user=user, clinic=clinic).exists()


@admin.register(TherapyClient)
class TherapyClientAdmin(AuditedAdmin):
    """A client's clinic is set once, when the client is created: moving a client would leave its responses,
    scores and alerts in the old clinic, so the field is read-only afterwards (and the model refuses it)."""

    audit_object_type = "client"
    audit_reads = True
    tenancy = CLIENTS
    form = TherapyClientForm
    list_display = ("external_id", "clinic", "caseload_of", "created_at")
    list_filter = ("clinic",)
    list_select_related = ("clinic",)
    search_fields = ("external_id",)
    ordering = ("external_id",)
    filter_horizontal = ("clinicians",)
    readonly_fields = ("created_at",)
    inlines = (EpisodeOnClientInline,)

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("clinicians")

    def get_readonly_fields(self, request, obj=None):
        readonly = super().get_readonly_fields(request, obj)
        return (*readonly, "clinic") if obj is not None else readonly

    @admin.display(description="Caseload of")
    def caseload_of(self, obj: TherapyClient) -> str:
        return ", ".join(sorted(user.get_username() for user in obj.clinicians.all()))


class StaffMembershipInline(ScopedInline, admin.StackedInline):
    model = StaffMembership
    tenancy = Tenancy(clinic="clinic", own="user")
    fields = ("clinic", "role")
    extra = 0
    verbose_name = "clinic membership"


admin.site.unregister(User)


@admin.register(User)
class AllianceUserAdmin(AuditedAdmin, UserAdmin):
    """The stock user admin plus the clinic membership, so a clinician is set up on one page."""

    audit_object_type = "user"
    tenancy = Tenancy(clinic="membership__clinic", own="pk")
    inlines = (*UserAdmin.inlines, StaffMembershipInline)
    list_display = ("username", "email", "clinic", "role", "is_staff", "is_superuser", "is_active")
    list_select_related = ("membership__clinic",)

    def audit_clinic_id(self, obj) -> int | None:
        membership = StaffMembership.objects.filter(user_id=obj.pk).values_list("clinic_id", flat=True).first()
        return membership

    @admin.display(description="Clinic", ordering="membership__clinic__slug")
    def clinic(self, obj) -> str:
        membership = _membership_or_none(obj)
        return membership.clinic.slug if membership else "—"

    @admin.display(description="Role", ordering="membership__role")
    def role(self, obj) -> str:
        membership = _membership_or_none(obj)
        return membership.get_role_display() if membership else "—"

    def user_change_password(self, request, id, form_url=""):
        response = super().user_change_password(request, id, form_url)
        if request.method == "POST" and response.status_code == 302:
            audit_record(actor=admin_actor(request), action="password_set", object_type="user", object_ids=[str(id)])
        return response


def _membership_or_none(user) -> StaffMembership | None:
    try:
        return user.membership
    except StaffMembership.DoesNotExist:
        return None
