"""Webhook subscriptions of a clinic and the log of every delivery attempt."""

from __future__ import annotations

from django.db import models


class WebhookSubscription(models.Model):
    """A clinic's endpoint for `response.scored` and `alert.raised` events."""

    class Event(models.TextChoices):
        RESPONSE_SCORED = "response.scored", "Response scored"
        ALERT_RAISED = "alert.raised", "Alert raised"
        RESPONSE_AMENDED = "response.amended", "Response amended"
        RESPONSE_RETRACTED = "response.retracted", "Response retracted"
        NOT_ON_TRACK = "not_on_track", "Client not on track (worse than the expected change curve)"
        MEASURE_DUE = "measure.due", "Measure due"
        MEASURE_MISSED = "measure.missed", "Measure missed"

    clinic = models.ForeignKey("questionnaires.Clinic", on_delete=models.CASCADE, related_name="webhooks")
    url = models.URLField(max_length=500)
    events = models.JSONField(default=list)
    # Stored in clear on purpose: HMAC signing needs the secret itself, so unlike API keys it
    # cannot be hashed. It is shown once on creation and never served again.
    secret = models.CharField(max_length=128)
    active = models.BooleanField(default=True)
    description = models.CharField(max_length=200, blank=True, default="")
    created_by = models.CharField(max_length=150, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.url} ({self.clinic_id})"


class WebhookDelivery(models.Model):
    """One event for one subscription: created with the score (an outbox), then sent and retried."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        DELIVERED = "delivered", "Delivered"
        FAILED = "failed", "Failed"

    subscription = models.ForeignKey(WebhookSubscription, on_delete=models.CASCADE, related_name="deliveries")
    event_id = models.CharField(max_length=100)
    event = models.CharField(max_length=32)
    payload = models.JSONField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True, default="")
    response_code = models.PositiveIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["subscription", "event_id"], name="webhook_delivery_once_per_event"),
        ]
        indexes = [models.Index(fields=["status", "next_attempt_at"], name="webhook_delivery_due_idx")]
        ordering = ["-created_at"]
        verbose_name_plural = "webhook deliveries"

    def __str__(self) -> str:
        return f"{self.event} {self.event_id} → {self.subscription.url} ({self.status})"
