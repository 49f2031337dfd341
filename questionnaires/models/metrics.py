"""Clinic-wide metric rollups: one row per cell, kept current by the aggregation workers."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class MetricRollup(models.Model):
    """One cell: clinic × scope × clinician × questionnaire × rater × period.

    Sums and sums of squares (not means) are kept so a new score updates a cell in
    O(1) and the mean and SD are derived on read.
    """

    class Scope(models.TextChoices):
        CLINIC = "clinic", "Clinic"
        CLINICIAN = "clinician", "Clinician"

    class Period(models.TextChoices):
        WEEK = "week", "Week"
        MONTH = "month", "Month"

    clinic = models.ForeignKey("questionnaires.Clinic", on_delete=models.CASCADE, related_name="metric_rollups")
    scope = models.CharField(max_length=10, choices=Scope.choices)
    clinician_key = models.BigIntegerField(
        default=0, help_text="The clinician's user id, or 0 for clinic cells (NULL would defeat the unique key)."
    )
    clinician = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    questionnaire_id = models.CharField(max_length=64)
    rater = models.CharField(max_length=10, default="client")
    period = models.CharField(max_length=5, choices=Period.choices)
    period_start = models.DateField()
    n = models.PositiveIntegerField(default=0)
    total_sum = models.DecimalField(max_digits=20, decimal_places=4, default=0)
    total_sum_squares = models.DecimalField(max_digits=28, decimal_places=8, default=0)
    below_cutoff = models.PositiveIntegerField(default=0, help_text="Scores in the instrument's clinical range.")
    alerts = models.JSONField(default=dict, blank=True, help_text="Alerts raised, by kind.")
    reliable_improvement = models.PositiveIntegerField(default=0)
    reliable_deterioration = models.PositiveIntegerField(default=0)
    recovered = models.PositiveIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["clinic", "scope", "clinician_key", "questionnaire_id", "rater", "period", "period_start"],
                name="metric_rollup_cell_unique",
            ),
        ]
        indexes = [
            models.Index(
                fields=["clinic", "questionnaire_id", "period", "period_start"], name="metric_rollup_read_idx"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.clinic_id} {self.scope} {self.questionnaire_id} {self.period} {self.period_start}: n={self.n}"

