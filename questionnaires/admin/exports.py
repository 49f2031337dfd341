"""Admin for export jobs: start one with the add form, watch its progress, download the file when done."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.urls import reverse
from django.utils.html import format_html

from questionnaires.admin.auditing import AuditedAdmin, admin_actor
from questionnaires.admin.tenancy import Tenancy, object_or_404
from questionnaires.fhir.views import fhir_base
from questionnaires.models import ExportJob
from questionnaires.registry import get_registry
from questionnaires.services.audit import audit_record
from questionnaires.services.exports import export_job_enqueue

EXPORTS = Tenancy(clinic="clinic", supervisor=frozenset({"view", "add"}))
"""A whole clinic's responses: supervisors' (and operators'), never a clinician's."""


class ExportJobForm(forms.ModelForm):
    questionnaire_id = forms.ChoiceField(required=False, label="Questionnaire")

    class Meta:
        model = ExportJob
        fields = ("clinic", "format", "questionnaire_id", "date_from", "date_to")

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        ids = sorted({definition.id for definition in get_registry().all()})
        self.fields["questionnaire_id"].choices = [("", "every questionnaire"), *((i, i) for i in ids)]

    def clean(self):
        cleaned = super().clean()
        date_from, date_to = cleaned.get("date_from"), cleaned.get("date_to")
        if date_from and date_to and date_from > date_to:
            self.add_error("date_to", "must not be before the start date")
        return cleaned


@admin.register(ExportJob)
class ExportJobAdmin(AuditedAdmin):
    audit_object_type = "export"
    tenancy = EXPORTS
    form = ExportJobForm
    list_display = (
        "created_at", "clinic", "format", "questionnaire_id", "date_from", "date_to", "status", "progress", "download",
    )
    list_filter = ("status", "format", "clinic")
    list_select_related = ("clinic",)
    readonly_fields = (
        "status", "rows_total", "rows_done", "error", "requested_by", "created_at", "started_at", "finished_at",
        "download",
    )
    actions = ("run_again",)

    def get_fields(self, request, obj=None):
        if obj is None:
            return ("clinic", "format", "questionnaire_id", "date_from", "date_to")
        return (*ExportJobForm.Meta.fields, *self.readonly_fields)

    def has_change_permission(self, request, obj=None) -> bool:
        return False  # a job is started, watched and downloaded, never edited

    def save_model(self, request, obj: ExportJob, form, change) -> None:
        obj.requested_by = request.user
        obj.fhir_base = fhir_base(request)
        super().save_model(request, obj, form, change)
        export_job_enqueue(job=obj)

    def changelist_view(self, request, extra_context=None):
        active = self.get_queryset(request).filter(
            status__in=[ExportJob.Status.PENDING, ExportJob.Status.RUNNING]
        ).exists()
        return super().changelist_view(request, {**(extra_context or {}), "exports_active": active})

    @admin.display(description="Progress")
    def progress(self, obj: ExportJob) -> str:
        if obj.status == ExportJob.Status.FAILED:
            return "failed"
        return f"{obj.progress_percent}% ({obj.rows_done} of {obj.rows_total})"

    @admin.display(description="File")
    def download(self, obj: ExportJob) -> str:
        if obj.status != ExportJob.Status.DONE or not obj.file:
            return "—"
        url = reverse("admin-export-download", args=[obj.pk])
        if not obj.dictionary:
            return format_html('<a href="{}" class="export-download">Download</a>', url)
        return format_html(
            '<a href="{}" class="export-download">Download</a> · '
            '<a href="{}?part=dictionary" class="export-dictionary">Data dictionary</a>',
            url, url,
        )

    @admin.action(description="Run the selected exports again")
    def run_again(self, request, queryset) -> None:
        jobs = list(queryset)
        for job in jobs:
            ExportJob.objects.filter(pk=job.pk).update(status=ExportJob.Status.PENDING, rows_done=0, error="")
            export_job_enqueue(job=job)
        self.audit(request, action="rerun", objects=jobs)
        self.message_user(request, f"Queued {len(jobs)} export(s) again.", messages.SUCCESS)


def export_download_view(request: HttpRequest, job_id: str) -> HttpResponse:
    """The finished file, for those who see the job in the admin; anything else is a 404."""
    try:
        job = object_or_404(ExportJob.objects.select_related("clinic"), request.user, EXPORTS, pk=job_id)
    except (ValueError, ValidationError):
        raise Http404 from None
    if job.status != ExportJob.Status.DONE or not job.file:
        raise Http404
    audit_record(
        actor=admin_actor(request),
        action="download",
        object_type="export",
        object_ids=[str(job.pk)],
        clinic_id=job.clinic_id,
        detail=job.format,
    )
    content_type = "text/csv; charset=utf-8" if job.format == ExportJob.Format.CSV else "application/fhir+ndjson"
    stored = job.file
    if request.GET.get("part") == "dictionary":
        if not job.dictionary:
            raise Http404
        stored, content_type = job.dictionary, "text/csv; charset=utf-8"
    name = stored.name.rsplit("/", 1)[-1]
    return FileResponse(stored.open("rb"), as_attachment=True, filename=name, content_type=content_type)
