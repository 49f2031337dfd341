"""Measurement plans: which instrument is due at which session, for which rater, and for how long it stays open.

A clinic has at most one default plan and an episode at most one override; without either the
built-in `DEFAULT_RULES` below apply. Rules are data (a JSON
list checked by the plan service), so a clinic edits them without a deployment.
"""

from __future__ import annotations

from django.db import models

DEFAULT_RULES: tuple[dict, ...] = (
    # PCOMS: ORS at the start and SRS at the end of every session (Duncan & Miller; Miller, Duncan, Brown,
    # Sparks & Claud 2006, Journal of Brief Therapy 5(1):5-22).
    {"questionnaire": "ors", "rater": "client", "when": {"every_session": True}, "position": "session_start",
     "open_hours": 24},
    {"questionnaire": "srs", "rater": "client", "when": {"every_session": True}, "position": "session_end",
     "open_hours": 24},
    # Session-by-session outcome monitoring in NHS Talking Therapies (The NHS Talking Therapies Manual, v7 2024;
    # formerly the IAPT Manual): PHQ-9 and GAD-7 at every contact.
    {"questionnaire": "phq-9", "rater": "client", "when": {"every_session": True}, "position": "session_start",
     "open_hours": 24},
    {"questionnaire": "gad-7", "rater": "client", "when": {"every_session": True}, "position": "session_start",
     "open_hours": 24},
    # Working alliance once it has formed (session 3, Horvath & Symonds 1991; Munder et al. 2010 for the
    # WAI-SR), then every fifth session.
    {"questionnaire": "wai-sr", "rater": "client", "when": {"every_n_sessions": 5, "from": 3},
     "position": "session_end", "open_hours": 48},
    # Goal-Based Outcomes at every session once goals are agreed (Law & Jacob 2015, Goals and Goal Based
    # Outcomes, CAMHS Press).
    {"questionnaire": "gbo", "rater": "client", "when": {"every_session": True}, "position": "session_start",
     "open_hours": 24, "requires_goals": True},
)
"""The built-in plan, with the source of each rule; rules for instruments not installed are skipped."""


class MeasurementPlan(models.Model):
    clinic = models.ForeignKey("questionnaires.Clinic", on_delete=models.CASCADE, related_name="measurement_plans")
    episode = models.OneToOneField(
        "questionnaires.EpisodeOfCare", on_delete=models.CASCADE, null=True, blank=True,
        related_name="measurement_plan", help_text="Empty: the clinic's default plan.",
    )
    rules = models.JSONField(
        default=list,
        help_text='e.g. [{"questionnaire": "ors", "rater": "client", "when": {"every_session": true}, '
                  '"position": "session_start", "open_hours": 24}]',
    )
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.CharField(max_length=100, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["clinic"], condition=models.Q(episode__isnull=True), name="one_default_plan_per_clinic"
            ),
        ]

    def __str__(self) -> str:
        return f"plan of episode {self.episode_id}" if self.episode_id else f"default plan of clinic {self.clinic_id}"
