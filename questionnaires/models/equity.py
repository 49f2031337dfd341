"""Optional client background categories a clinic defines, and consented values used only in aggregate.

A value is stored only with the client's consent and is sensitive: the API accepts it but never
returns it for one client; it appears only as a group in the suppressed equity breakdown.
"""

from __future__ import annotations

from django.db import models


class BackgroundCategory(models.Model):
    """A controlled list, e.g. "preferred language" with values ["English", "Polish", "Arabic"]."""

    clinic = models.ForeignKey(
        "questionnaires.Clinic", on_delete=models.CASCADE, related_name="background_categories"
    )
    name = models.SlugField(max_length=64, help_text="A slug, e.g. preferred-language.")
    title = models.CharField(max_length=200, blank=True)
    values = models.JSONField(default=list, help_text="The allowed values, a list of short strings.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["clinic", "name"], name="background_category_unique_in_clinic"),
        ]
        verbose_name_plural = "background categories"

    def __str__(self) -> str:
        return f"{self.name} ({self.clinic_id})"


class ClientBackground(models.Model):
    """One consented value of one category for one client; withdrawing consent deletes the row."""

    client = models.ForeignKey(
        "questionnaires.TherapyClient", on_delete=models.CASCADE, related_name="backgrounds"
    )
    category = models.ForeignKey(BackgroundCategory, on_delete=models.CASCADE, related_name="client_values")
    value = models.CharField(max_length=100)
    consent = models.BooleanField(default=False)
    consented_at = models.DateTimeField(null=True, blank=True)
    recorded_by = models.CharField(max_length=100, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["client", "category"], name="client_background_once_per_category"),
        ]

    def __str__(self) -> str:
        return f"background {self.category_id} of {self.client_id}"
