"""Expected change curves: how much a clinic's clients improve by session number, per instrument and intake band.

A row is written by the scheduled refresh (`services.expected_change`) and read by the not-on-track
alert, the API and the client chart; it carries its provenance (how many finished episodes, when fitted).
"""

from __future__ import annotations

from django.db import models


class ExpectedChangeCurve(models.Model):
    """improvement(s) = intercept + slope * ln(s), in total points in the better direction, for sessions 2..max_session.

    `tolerance` is how far below the curve a client may fall before they are not on track (the 90th
    percentile of the fit's shortfalls, or the published value). `source` tells a curve fitted to the
    clinic's own finished episodes from a published norm a plugin ships.
    """

    class Source(models.TextChoices):
        CLINIC = "clinic", "Fitted to the clinic's finished episodes"
        PUBLISHED = "published", "Published norm shipped by the plugin"

    clinic = models.ForeignKey(
        "questionnaires.Clinic", on_delete=models.CASCADE, related_name="expected_change_curves", db_index=False
    )
    questionnaire_id = models.CharField(max_length=64)
    band = models.CharField(max_length=64, help_text="The instrument's band of the intake score.")
    source = models.CharField(max_length=10, choices=Source.choices, default=Source.CLINIC)
    direction = models.CharField(max_length=20, help_text="The instrument's better direction when fitted.")
    n_episodes = models.PositiveIntegerField(help_text="Finished episodes the curve was fitted to (or published with).")
    n_points = models.PositiveIntegerField(
        default=0, help_text="Scores after intake in the fit (0 for a published curve)."
    )
    intercept = models.FloatField()
    slope = models.FloatField()
    tolerance = models.FloatField()
    max_session = models.PositiveIntegerField(help_text="The last session number in the data; no flag beyond it.")
    fitted_at = models.DateTimeField()
    reference = models.TextField(blank=True, default="", help_text="The method, or the publication of a norm.")

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["clinic", "questionnaire_id", "band"], name="expected_change_curve_unique_per_band"
            ),
        ]
        ordering = ["clinic", "questionnaire_id", "band"]

    def __str__(self) -> str:
        return f"{self.questionnaire_id} {self.band} (n={self.n_episodes}, {self.source})"
