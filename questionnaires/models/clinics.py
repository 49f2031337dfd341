"""Clinics (the tenants), their staff and their therapy clients."""

from __future__ import annotations

import zoneinfo

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models


def validate_time_zone(value: str) -> None:
    try:
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ValidationError(f"{value!r} is not an IANA time zone (e.g. Europe/Berlin)") from None


class Clinic(models.Model):
    slug = models.SlugField(unique=True)
    name = models.CharField(max_length=200)
    created_at = models.DateTimeField(auto_now_add=True)
    time_zone = models.CharField(
        max_length=64,
        default="UTC",
        validators=[validate_time_zone],
        help_text="IANA time zone of the clinic (e.g. Europe/Berlin): pages for its clients show dates and times "
        "in it, and a date sent without a time is read as noon here.",
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

    def save(self, *args, **kwargs) -> None:
        """A client's clinic is fixed once created: its responses, scores, alerts and goals stay in that clinic,
        so moving the client alone would split its record between two tenants."""
        if not self._state.adding and self.pk is not None:
            stored = TherapyClient.objects.filter(pk=self.pk).values_list("clinic_id", flat=True).first()
            if stored is not None and stored != self.clinic_id:
                raise ValueError("a therapy client's clinic cannot be changed")
        super().save(*args, **kwargs)
