"""Export jobs: a CSV or FHIR NDJSON file built by a worker, with its progress and the file when done."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models


class ExportJob(models.Model):
    """One export of a clinic's responses; `status` and the row counts are what the admin shows as progress."""

    class Format(models.TextChoices):
        CSV = "csv", "CSV: responses with scores"
        FHIR_QUESTIONNAIRE_RESPONSE = "fhir-qr", "FHIR NDJSON: QuestionnaireResponse"
        FHIR_OBSERVATION = "fhir-obs", "FHIR NDJSON: Observation (scores)"

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    clinic = models.ForeignKey("questionnaires.Clinic", on_delete=models.CASCADE, related_name="exports")
    format = models.CharField(max_length=10, choices=Format.choices, default=Format.CSV)
    questionnaire_id = models.CharField(max_length=64, blank=True, default="", help_text="Empty: every questionnaire.")
    date_from = models.DateField(null=True, blank=True, help_text="Responses authored on or after this day (UTC).")
    date_to = models.DateField(null=True, blank=True, help_text="Responses authored on or before this day (UTC).")
    fhir_base = models.CharField(max_length=300, blank=True, default="", help_text="FHIR base URL for references.")
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    rows_total = models.PositiveIntegerField(default=0)
    rows_done = models.PositiveIntegerField(default=0)
    file = models.FileField(upload_to="exports/", blank=True, default="")
    dictionary = models.FileField(
        upload_to="exports/", blank=True, default="",
        help_text="CSV exports: the data dictionary, one row per column of the file (what it holds, its values).",
    )
    error = models.TextField(blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["clinic", "created_at"], name="export_job_clinic_idx")]

    def __str__(self) -> str:
        return f"{self.get_format_display()} of {self.clinic_id} ({self.status})"

    @property
    def progress_percent(self) -> int:
        if self.status == self.Status.DONE:
            return 100
        if not self.rows_total:
            return 0
        return min(99, int(100 * self.rows_done / self.rows_total))
