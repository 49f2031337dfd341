"""Questionnaire versions as synced from the plugin registry."""

from __future__ import annotations

from django.db import models


class QuestionnaireVersion(models.Model):
    """One (id, version) of a plugin definition; immutable once a response uses it."""

    questionnaire_id = models.CharField(max_length=64)
    version = models.CharField(max_length=32)
    title = models.CharField(max_length=200)
    content_hash = models.CharField(max_length=64)
    definition = models.JSONField(help_text="The definition as served, for the record.")
    plugin_source = models.CharField(max_length=200, blank=True)
    synced_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["questionnaire_id", "version"], name="questionnaire_version_unique"),
        ]
        ordering = ["questionnaire_id", "version"]

    def __str__(self) -> str:
        return f"{self.questionnaire_id} {self.version}"
