"""Credentials, all stored hashed: clinic API keys, staff tokens and client-scoped tokens."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from rest_framework_api_key.models import AbstractAPIKey


class ClinicAPIKey(AbstractAPIKey):
    """An integration's key: everything inside one clinic."""

    clinic = models.ForeignKey("questionnaires.Clinic", on_delete=models.CASCADE, related_name="api_keys")
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta(AbstractAPIKey.Meta):
        verbose_name = "clinic API key"
        verbose_name_plural = "clinic API keys"


class StaffToken(AbstractAPIKey):
    """A clinician's or supervisor's bearer token from `POST /api/v1/auth/token/`."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens")
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta(AbstractAPIKey.Meta):
        verbose_name = "staff token"
        verbose_name_plural = "staff tokens"


class ClientToken(AbstractAPIKey):
    """A token a clinician issues to one therapy client's app or form page; expiring, revocable."""

    client = models.ForeignKey("questionnaires.TherapyClient", on_delete=models.CASCADE, related_name="tokens")
    issued_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta(AbstractAPIKey.Meta):
        verbose_name = "client token"
        verbose_name_plural = "client tokens"
