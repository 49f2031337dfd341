"""The append-only audit log of every read and write of client data."""

from __future__ import annotations

from django.db import models


class AuditEvent(models.Model):
    """Who did what to which client data, when, and how it ended. Never updated or deleted."""

    at = models.DateTimeField(auto_now_add=True, db_index=True)
    clinic_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    actor = models.CharField(max_length=150, help_text="e.g. api_key:abc123, user:alice, client_token:xyz, admin:bob")
    action = models.CharField(max_length=32)
    object_type = models.CharField(max_length=64, blank=True)
    object_ids = models.JSONField(default=list, blank=True)
    outcome = models.CharField(max_length=32, default="ok")
    detail = models.CharField(max_length=300, blank=True, default="")
    source_address = models.GenericIPAddressField(
        null=True, blank=True, help_text="The caller's address, when the event was caused by a request."
    )

    class Meta:
        ordering = ["-at"]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M:%S} {self.actor} {self.action} {self.object_type} {self.outcome}"

    def save(self, *args, **kwargs) -> None:
        if self.pk is not None:
            raise ValueError("audit events are append-only")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ValueError("audit events are append-only")
