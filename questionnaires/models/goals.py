"""Shared goals (Goal-Based Outcomes): up to three active goals per client, in the client's own words.

Goals are never deleted: a goal that is achieved, dropped or replaced keeps its row, its status
times and (when replaced) a link to the goal that took its place, so the history can be read back.
Progress ratings are the answers of `gbo` responses, keyed by the goal's id.
"""

from __future__ import annotations

from django.db import models

MAX_ACTIVE_GOALS = 3


class Goal(models.Model):
    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        ACHIEVED = "achieved", "Achieved"
        DROPPED = "dropped", "Dropped"
        REPLACED = "replaced", "Replaced"

    clinic = models.ForeignKey("questionnaires.Clinic", on_delete=models.CASCADE, related_name="goals")
    client = models.ForeignKey("questionnaires.TherapyClient", on_delete=models.CASCADE, related_name="goals")
    text = models.TextField(help_text="The goal in the client's own words; client data, audited on every read.")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.ACTIVE)
    replaced_by = models.OneToOneField(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="replaces"
    )
    recorded_by = models.CharField(max_length=100, blank=True, help_text="The credential that recorded it.")
    created_at = models.DateTimeField(auto_now_add=True)
    achieved_at = models.DateTimeField(null=True, blank=True)
    dropped_at = models.DateTimeField(null=True, blank=True)
    replaced_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["client", "status"], name="goal_client_status_idx")]
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"goal {self.pk} of {self.client_id} ({self.status})"
