"""What a failed response was last tried with, so the sweep re-scores it only once the plugin changed."""

from __future__ import annotations

from django.db import models


class ScoringFailure(models.Model):
    """The plugin fingerprint (version and content hash, or "not loaded") a response failed with."""

    response = models.OneToOneField(
        "questionnaires.Response", on_delete=models.CASCADE, primary_key=True, related_name="scoring_failure"
    )
    plugin_version = models.CharField(max_length=32, blank=True, default="")
    plugin_fingerprint = models.CharField(max_length=64)
    failed_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.response_id} failed with {self.plugin_version or 'no plugin'} ({self.plugin_fingerprint[:12]})"
