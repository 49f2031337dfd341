"""Outcome and adherence rollups per finished episode of care, kept current by the aggregation workers.

`OutcomeRollup` holds counts (never rates) per cell, so an episode's contribution is added or taken
back in O(1); `EpisodeOutcomeRecord` remembers what each episode last contributed, which is what an
incremental update takes back before adding the new contribution.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models

ADHERENCE = ""
"""The `questionnaire_id` of a cell's adherence row (episodes, endings, attendance)."""


class OutcomeRollup(models.Model):
    """One cell: clinic × scope × clinician × questionnaire (or adherence) × month of the episode's end."""

    class Scope(models.TextChoices):
        CLINIC = "clinic", "Clinic"
        CLINICIAN = "clinician", "Clinician"

    clinic = models.ForeignKey("questionnaires.Clinic", on_delete=models.CASCADE, related_name="outcome_rollups")
    scope = models.CharField(max_length=10, choices=Scope.choices)
    clinician_key = models.BigIntegerField(default=0, help_text="The primary clinician's user id; 0 for clinic cells.")
    clinician = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    questionnaire_id = models.CharField(max_length=64, blank=True, help_text="Empty: the adherence row.")
    period_start = models.DateField(help_text="First day of the month the episodes ended in.")
    episodes = models.IntegerField(
        default=0,
        help_text="Adherence row: episodes ended; instrument rows: episodes with two or more scored sessions.",
    )
    dropped_out = models.IntegerField(default=0)
    planned_endings = models.IntegerField(default=0)
    unplanned_endings = models.IntegerField(default=0)
    sessions_attended = models.IntegerField(default=0)
    sessions_did_not_attend = models.IntegerField(default=0)
    sessions_cancelled_by_client = models.IntegerField(default=0)
    sessions_cancelled_by_service = models.IntegerField(default=0)
    case_at_first = models.IntegerField(default=0)
    recovered = models.IntegerField(default=0)
    reliably_recovered = models.IntegerField(default=0)
    reliable_improvement = models.IntegerField(default=0)
    reliable_deterioration = models.IntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["clinic", "scope", "clinician_key", "questionnaire_id", "period_start"],
                name="outcome_rollup_cell_unique",
            ),
        ]
        indexes = [
            models.Index(fields=["clinic", "questionnaire_id", "period_start"], name="outcome_rollup_read_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.clinic_id} {self.scope} {self.questionnaire_id or 'adherence'} {self.period_start}"


class EpisodeOutcomeRecord(models.Model):
    """What one episode last added to the outcome rollups (`cells`: {questionnaire_id or "": {field: count}})."""

    episode = models.OneToOneField(
        "questionnaires.EpisodeOfCare", on_delete=models.CASCADE, primary_key=True, related_name="outcome_record"
    )
    clinic = models.ForeignKey("questionnaires.Clinic", on_delete=models.CASCADE, related_name="+", db_index=False)
    clinician_key = models.BigIntegerField(default=0)
    period_start = models.DateField(null=True, blank=True, help_text="Null while the episode is active.")
    cells = models.JSONField(default=dict, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"outcome record of episode {self.episode_id}"
