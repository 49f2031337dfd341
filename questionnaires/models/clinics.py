"""Clinics (the tenants), their staff and their therapy clients."""

from __future__ import annotations

from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models


def _validate_time_zone(value: str) -> None:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError) as error:
        raise ValidationError(f"{value!r} is not an IANA time zone (e.g. Europe/Berlin).") from error


class Clinic(models.Model):
    slug = models.SlugField(unique=True)
    name = models.CharField(max_length=200)
    created_at = models.DateTimeField(auto_now_add=True)
    time_zone = models.CharField(
        max_length=64, default="UTC", db_default="UTC", validators=[_validate_time_zone],
        help_text="IANA time zone (e.g. Europe/Berlin) in which pages for its clients show dates and times.",
    )

    def __str__(self) -> str:
        return self.name


class StaffMembership(models.Model):
    """Binds a staff user to one clinic with a role."""

    class Role(models.TextChoices):
        CLINICIAN = "clinician", "Clinician"
        SUPERVISOR = "supervisor", "Supervisor"

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="membership")
    clinic = models.ForeignKey(Clinic, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=20, choices=Role.choices, default=Role.CLINICIAN)

    def __str__(self) -> str:
        return f"{self.user} ({self.role}, {self.clinic.slug})"

    @property
    def is_supervisor(self) -> bool:
        return self.role == self.Role.SUPERVISOR


class TherapyClient(models.Model):
    """A person in therapy, known by the integration's own `external_id`."""

    clinic = models.ForeignKey(Clinic, on_delete=models.CASCADE, related_name="clients")
    external_id = models.CharField(max_length=128)
    clinicians = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True, related_name="caseload")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["clinic", "external_id"], name="client_external_id_unique_in_clinic"),
        ]

    def __str__(self) -> str:
        return f"{self.external_id} ({self.clinic.slug})"
