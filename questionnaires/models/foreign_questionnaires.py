"""A clinic's registered foreign Questionnaire: a sender's own form mapped onto one of the product's instruments."""

from __future__ import annotations

from django.db import models


class ForeignQuestionnaire(models.Model):
    """The sender's form as posted, and how its items and answer weights map onto a plugin's items.

    It never replaces a plugin: responses naming its canonical are scored by the plugin's current
    version, with the answer weights the form declares (`mapping`, built by the FHIR edge).
    """

    clinic = models.ForeignKey("questionnaires.Clinic", on_delete=models.CASCADE, related_name="foreign_questionnaires")
    url = models.CharField(max_length=500, help_text="The form's canonical URL.")
    version = models.CharField(max_length=64, blank=True, default="")
    questionnaire_id = models.CharField(max_length=100, help_text="The plugin the form maps onto.")
    resource = models.JSONField(help_text="The Questionnaire resource as registered.")
    mapping = models.JSONField(help_text="Sender linkId -> plugin item, total, and answer weights.")
    registered_by = models.CharField(max_length=200, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=("clinic", "url", "version"), name="foreign_questionnaire_unique_canonical")
        ]

    def __str__(self) -> str:
        return f"{self.url}|{self.version} -> {self.questionnaire_id}"
