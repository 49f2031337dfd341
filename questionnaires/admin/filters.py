"""List filters shared by several admin pages."""

from __future__ import annotations

from django.contrib import admin

from questionnaires.admin.tenancy import visible_clinics
from questionnaires.input_bounds import record_id
from questionnaires.models import QuestionnaireVersion


class QuestionnaireFilter(admin.SimpleListFilter):
    """Filter by questionnaire id, with choices from the small versions table rather than a scan of responses."""

    title = "questionnaire"
    parameter_name = "questionnaire"
    field_path = "questionnaire_version__questionnaire_id"

    def lookups(self, request, model_admin):
        ids = QuestionnaireVersion.objects.order_by("questionnaire_id").values_list("questionnaire_id", flat=True)
        return [(questionnaire_id, questionnaire_id) for questionnaire_id in dict.fromkeys(ids)]

    def queryset(self, request, queryset):
        if self.value():
            return queryset.filter(**{self.field_path: self.value()})
        return queryset


class ScoreQuestionnaireFilter(QuestionnaireFilter):
    field_path = "response__questionnaire_version__questionnaire_id"


class AlertQuestionnaireFilter(QuestionnaireFilter):
    field_path = "questionnaire_id"


class ClinicIdFilter(admin.SimpleListFilter):
    """For rows that keep a plain clinic id (the audit log outlives the clinics it mentions)."""

    title = "clinic"
    parameter_name = "clinic_id"

    def lookups(self, request, model_admin):
        return [(str(pk), name) for pk, name in visible_clinics(request.user).values_list("pk", "name")]

    def queryset(self, request, queryset):
        value = self.value()
        if value is None:
            return queryset
        clinic_id = record_id(value)
        if clinic_id is None:
            return queryset.none()
        return queryset.filter(clinic_id=clinic_id)


class AcknowledgedFilter(admin.SimpleListFilter):
    title = "acknowledged"
    parameter_name = "acknowledged"

    def lookups(self, request, model_admin):
        return [("no", "Open"), ("yes", "Acknowledged")]

    def queryset(self, request, queryset):
        if self.value() == "no":
            return queryset.filter(acknowledged_at__isnull=True)
        if self.value() == "yes":
            return queryset.filter(acknowledged_at__isnull=False)
        return queryset
