"""The course of care: a client's episodes of care and the sessions (appointments) within them.

An episode runs from referral or start to a recorded ending; its sessions carry the attendance an
EHR records. Attended sessions are numbered by the server (1, 2, ...) in order of their start,
so a response's session number follows from the session it belongs to, never from an app's count.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models


class EpisodeOfCare(models.Model):
    """One course of therapy for one client (FHIR EpisodeOfCare)."""

    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        FINISHED = "finished", "Finished"

    class EndReason(models.TextChoices):
        COMPLETED = "completed", "Completed (planned ending)"
        DROPPED_OUT = "dropped_out", "Dropped out (no agreed ending)"
        REFERRED_ON = "referred_on", "Referred on"
        DECLINED = "declined", "Declined"
        OTHER = "other", "Other"

    clinic = models.ForeignKey("questionnaires.Clinic", on_delete=models.CASCADE, related_name="episodes")
    client = models.ForeignKey("questionnaires.TherapyClient", on_delete=models.CASCADE, related_name="episodes")
    external_id = models.CharField(
        max_length=128, null=True, blank=True, help_text="The integration's own identifier, unique in the clinic."
    )
    referral_date = models.DateField(null=True, blank=True)
    start_date = models.DateField()
    primary_clinician = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="primary_episodes"
    )
    clinicians = models.ManyToManyField(
        settings.AUTH_USER_MODEL, blank=True, related_name="episodes", help_text="Further clinicians."
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.ACTIVE)
    end_date = models.DateField(null=True, blank=True)
    end_reason = models.CharField(max_length=20, choices=EndReason.choices, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "episode of care"
        verbose_name_plural = "episodes of care"
        constraints = [
            models.UniqueConstraint(
                fields=["clinic", "external_id"],
                condition=models.Q(external_id__isnull=False),
                name="episode_external_id_unique_in_clinic",
            ),
            models.CheckConstraint(
                condition=models.Q(status="active") | ~models.Q(end_reason="") & models.Q(end_date__isnull=False),
                name="episode_finished_has_end_reason_and_date",
            ),
        ]
        indexes = [models.Index(fields=["client", "status"], name="episode_client_status_idx")]
        ordering = ["-start_date", "-id"]

    def __str__(self) -> str:
        return f"episode {self.pk} of {self.client_id} ({self.status})"


class CareSession(models.Model):
    """One appointment of an episode (FHIR Encounter); `number` counts attended sessions only."""

    class Attendance(models.TextChoices):
        BOOKED = "booked", "Booked"
        ATTENDED = "attended", "Attended"
        CANCELLED_BY_CLIENT = "cancelled_by_client", "Cancelled by client"
        CANCELLED_BY_SERVICE = "cancelled_by_service", "Cancelled by service"
        DID_NOT_ATTEND = "did_not_attend", "Did not attend"
        ENTERED_IN_ERROR = "entered_in_error", "Entered in error"

    clinic = models.ForeignKey("questionnaires.Clinic", on_delete=models.CASCADE, related_name="care_sessions")
    # No index of its own: `session_episode_start_idx` (episode, scheduled_start) serves every episode lookup, and
    # a second index only slowed inserts (a session batch writes a thousand rows a call).
    episode = models.ForeignKey(EpisodeOfCare, on_delete=models.CASCADE, related_name="sessions", db_index=False)
    external_id = models.CharField(
        max_length=128, null=True, blank=True,
        help_text="The integration's own session identifier, unique in the clinic.",
    )
    scheduled_start = models.DateTimeField()
    duration_minutes = models.PositiveSmallIntegerField(default=50)
    clinicians = models.ManyToManyField(
        settings.AUTH_USER_MODEL, blank=True, related_name="care_sessions", help_text="The clinicians in the room."
    )
    attendance = models.CharField(max_length=24, choices=Attendance.choices, default=Attendance.BOOKED)
    number = models.PositiveIntegerField(
        null=True, blank=True, editable=False, help_text="Position among the episode's attended sessions."
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "session"
        verbose_name_plural = "sessions"
        constraints = [
            models.UniqueConstraint(
                fields=["clinic", "external_id"],
                condition=models.Q(external_id__isnull=False),
                name="session_external_id_unique_in_clinic",
            ),
        ]
        indexes = [models.Index(fields=["episode", "scheduled_start"], name="session_episode_start_idx")]
        ordering = ["scheduled_start", "id"]

    def __str__(self) -> str:
        label = f"session {self.number}" if self.number else f"{self.attendance} session"
        return f"{label} at {self.scheduled_start:%Y-%m-%d %H:%M}"


COUNTED_ATTENDANCE = (CareSession.Attendance.ATTENDED,)
"""Only attended sessions are numbered; a cancellation, a no-show or an error never takes a number."""
LINKABLE_ATTENDANCE = (CareSession.Attendance.BOOKED, CareSession.Attendance.ATTENDED)
"""A response without a named session joins the client's current session only if it is one of these."""


class CareNotice(models.Model):
    """A course-of-care event already emitted: a `measure.due` or `measure.missed` webhook event, or a
    `disengaged` alert. Its unique `key` is what makes the periodic task emit each one once only."""

    class Kind(models.TextChoices):
        MEASURE_DUE = "measure.due", "Measure due"
        MEASURE_MISSED = "measure.missed", "Measure missed"
        DISENGAGED = "disengaged", "Disengaged"

    clinic = models.ForeignKey("questionnaires.Clinic", on_delete=models.CASCADE, related_name="care_notices")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    key = models.CharField(max_length=120, unique=True, help_text="e.g. measure.due:<session>:<questionnaire>:<rater>")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "course-of-care notice"

    def __str__(self) -> str:
        return self.key
