"""Submitted responses, their scores and the alerts they raise."""

from __future__ import annotations

import uuid
from datetime import datetime

from django.conf import settings
from django.db import models
from django.utils import timezone


class Response(models.Model):
    """One completed questionnaire; its `status` is the single truth the API, sweeper and admin read."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        SCORED = "scored", "Scored"
        FAILED = "failed", "Failed"
        RETRACTED = "retracted", "Retracted (entered in error)"

    class Source(models.TextChoices):
        API = "api", "REST API"
        BATCH = "batch", "REST API batch"
        FHIR = "fhir", "FHIR"
        FORM = "form", "Client form"
        SEED = "seed", "Demo data"

    class Rater(models.TextChoices):
        CLIENT = "client", "Client"
        CLINICIAN = "clinician", "Clinician"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    # No single-column indexes on clinic and client: the composite indexes below lead with them, and
    # every extra index is written again by each insert and each status update.
    clinic = models.ForeignKey(
        "questionnaires.Clinic", on_delete=models.PROTECT, related_name="responses", db_index=False
    )
    client = models.ForeignKey(
        "questionnaires.TherapyClient", on_delete=models.PROTECT, related_name="responses", db_index=False
    )
    clinician = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="responses",
        help_text="The credited clinician, derived by the server (session, episode, caseload); null: unattributed.",
    )
    questionnaire_version = models.ForeignKey(
        "questionnaires.QuestionnaireVersion", on_delete=models.PROTECT, related_name="responses"
    )
    session = models.ForeignKey(
        "questionnaires.CareSession",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="responses",
        help_text="The session it belongs to; its number is then the session's number.",
    )
    session_number = models.PositiveIntegerField(null=True, blank=True)
    rater = models.CharField(max_length=10, choices=Rater.choices, default=Rater.CLIENT)
    authored_at = models.DateTimeField()
    received_at = models.DateTimeField(auto_now_add=True)
    answers = models.JSONField()
    comment = models.TextField(blank=True, default="")
    source = models.CharField(max_length=10, choices=Source.choices, default=Source.API)
    submitted_by = models.CharField(max_length=100, blank=True, help_text="The credential that submitted it.")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    failure_reason = models.TextField(blank=True, default="")
    idempotency_key = models.CharField(max_length=200, null=True, blank=True)
    corrected_at = models.DateTimeField(null=True, blank=True, help_text="When it was last amended or retracted.")
    version = models.PositiveIntegerField(
        default=1, db_default=1, help_text="1 as submitted; each amendment adds one (earlier ones in its revisions)."
    )
    idempotency_scope = models.CharField(
        max_length=40,
        blank=True,
        default="",
        help_text="The caller whose keys this response's key is unique among (see Principal.idempotency_scope).",
    )
    request_fingerprint = models.CharField(max_length=64, blank=True, default="")

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["clinic", "idempotency_scope", "idempotency_key"],
                condition=models.Q(idempotency_key__isnull=False),
                name="response_idempotency_key_unique_per_caller",
            ),
        ]
        indexes = [
            models.Index(fields=["client", "questionnaire_version", "authored_at"], name="response_trajectory_idx"),
            models.Index(fields=["clinic", "authored_at"], name="response_clinic_authored_idx"),
            models.Index(fields=["status", "received_at"], name="response_status_received_idx"),
        ]
        ordering = ["-authored_at"]

    def __str__(self) -> str:
        return f"{self.questionnaire_version} for {self.client.external_id} ({self.status})"


class Score(models.Model):
    """The result of scoring one response with one plugin version."""

    # Indexed by the unique (response, plugin_version) constraint, which leads with it.
    response = models.ForeignKey(Response, on_delete=models.CASCADE, related_name="scores", db_index=False)
    plugin_version = models.CharField(max_length=32)
    total = models.DecimalField(max_digits=12, decimal_places=4)
    subscales = models.JSONField(default=dict, blank=True)
    extras = models.JSONField(default=dict, blank=True)
    band = models.CharField(max_length=64, null=True, blank=True)
    flags = models.JSONField(default=list, blank=True)
    computed_at = models.DateTimeField(auto_now_add=True)
    in_rollups = models.BooleanField(
        default=False,
        db_default=False,
        help_text="Added to the metric rollups: set once, by the task that adds it or by a full recompute.",
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["response", "plugin_version"], name="score_unique_per_plugin_version"),
        ]
        indexes = [
            # Only the few scores not yet counted are indexed: what the rollup task, the sweep and a
            # recompute look for, without an index entry per counted score.
            models.Index(fields=["response"], condition=models.Q(in_rollups=False), name="score_not_in_rollups_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.total} ({self.plugin_version})"


class Alert(models.Model):
    """One reason a session needs a clinician's eye (or a note of good news); stored once per response and kind.

    What people see is one alert per client and session that lists its reasons: the live rows of one
    client, category and `session_key`, grouped by `selectors.alerts` (rows stay per response so a
    correction withdraws exactly the reasons of the version it replaces). `category` tells alerts from notes: recovery,
    leaving the clinical range, reliable improvement and repair are good news, not work.
    """

    class Priority(models.TextChoices):
        LOW = "low", "Low"
        NORMAL = "normal", "Normal"
        HIGH = "high", "High"

    class Category(models.TextChoices):
        ALERT = "alert", "Alert"
        NOTE = "note", "Note"

    # clinic and response are indexed by alert_clinic_open_idx and the unique (response, kind), which lead with them.
    clinic = models.ForeignKey("questionnaires.Clinic", on_delete=models.CASCADE, related_name="alerts", db_index=False)
    client = models.ForeignKey("questionnaires.TherapyClient", on_delete=models.CASCADE, related_name="alerts")
    response = models.ForeignKey(
        Response, on_delete=models.CASCADE, related_name="alerts", null=True, blank=True, db_index=False
    )
    questionnaire_id = models.CharField(max_length=64)
    kind = models.CharField(max_length=64)
    priority = models.CharField(max_length=10, choices=Priority.choices, default=Priority.NORMAL)
    message = models.TextField()
    details = models.JSONField(default=dict, blank=True)
    raised_at = models.DateTimeField(auto_now_add=True)
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    acknowledged_by = models.CharField(max_length=150, blank=True, default="")
    withdrawn_at = models.DateTimeField(
        null=True, blank=True, help_text="Set when the response version that raised it was amended or retracted."
    )
    category = models.CharField(
        max_length=5, choices=Category.choices, default=Category.ALERT, db_default=Category.ALERT,
        help_text="`note` for positive events (recovery, out of the clinical range, reliable improvement, repair).",
    )
    snoozed_until = models.DateTimeField(null=True, blank=True, help_text="Hidden from open lists until then.")
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.CharField(max_length=150, blank=True, default="")
    reason = models.TextField(blank=True, default="", help_text="Why it was last snoozed or resolved.")
    session_key = models.CharField(
        max_length=32, blank=True, default="",
        help_text="The client's session this reason belongs to: its number, else the day (YYYY-MM-DD) it was authored. "
        "Rows of one client, category and session key are one alert.",
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["response", "kind"],
                condition=models.Q(withdrawn_at__isnull=True),
                name="alert_once_per_response_and_kind",
            ),
        ]
        indexes = [
            models.Index(fields=["clinic", "acknowledged_at", "raised_at"], name="alert_clinic_open_idx"),
            models.Index(fields=["client", "category", "session_key"], name="alert_session_idx"),
        ]
        ordering = ["-raised_at"]

    def __str__(self) -> str:
        return f"{self.kind} for {self.client.external_id}"

    def save(self, *args, **kwargs) -> None:
        if not self.session_key:
            self.session_key = alert_session_key(self.response, self.raised_at)
        super().save(*args, **kwargs)


def alert_session_key(response: Response | None, raised_at: datetime | None = None) -> str:
    """The session an alert row belongs to: the response's session number, else the local day it was
    authored (the day it was raised for a row without a response)."""
    if response is not None and response.session_number is not None:
        return str(response.session_number)
    when = response.authored_at if response is not None else (raised_at or timezone.now())
    return timezone.localtime(when).date().isoformat()


class ResponseRevision(models.Model):
    """An earlier version of a response, kept when it is amended or retracted: nothing is lost.

    The response row always holds the current version; each revision is the state it replaced,
    with its score and alerts as they were, and who changed it, when and why.
    """

    class Change(models.TextChoices):
        AMENDED = "amended", "Amended"
        RETRACTED = "retracted", "Retracted"

    response = models.ForeignKey(Response, on_delete=models.CASCADE, related_name="revisions")
    corrected_at = models.DateTimeField(null=True, blank=True, help_text="When it was last amended or retracted.")
    version = models.PositiveIntegerField(help_text="The version this row preserves.")
    change = models.CharField(max_length=10, choices=Change.choices, help_text="What replaced this version.")
    answers = models.JSONField()
    authored_at = models.DateTimeField()
    comment = models.TextField(blank=True, default="")
    status = models.CharField(max_length=10, help_text="Scoring status of this version when it was replaced.")
    received_at = models.DateTimeField(help_text="When this version was received.")
    score = models.JSONField(null=True, blank=True, help_text="Its score as the API showed it.")
    alerts = models.JSONField(default=list, blank=True, help_text="Kinds of the alerts it had raised.")
    changed_at = models.DateTimeField(auto_now_add=True)
    changed_by = models.CharField(max_length=100, help_text="The credential that amended or retracted it.")
    reason = models.TextField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["response", "version"], name="response_revision_unique_version"),
        ]
        ordering = ["response", "version"]

    def __str__(self) -> str:
        return f"{self.response_id} v{self.version} ({self.change})"
