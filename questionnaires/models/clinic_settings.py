"""Per-clinic parameters: history-based alert rules (rupture, repair, rater gap, Jacobson–Truax), course of care."""

from __future__ import annotations

from decimal import Decimal

from django.db import models


class ClinicAlertSettings(models.Model):
    """One clinic's alert parameters; a clinic without a row uses the defaults below.

    The defaults follow the project's rupture rule (k = 2, at least 4 earlier sessions,
    repair within 3 sessions to within half a sigma of the pre-rupture score).
    """

    clinic = models.OneToOneField("questionnaires.Clinic", on_delete=models.CASCADE, related_name="alert_settings")
    rupture_k = models.DecimalField(max_digits=4, decimal_places=2, default=Decimal(2))
    rupture_min_earlier_sessions = models.PositiveSmallIntegerField(default=4)
    repair_window_sessions = models.PositiveSmallIntegerField(default=3)
    repair_fraction = models.DecimalField(max_digits=4, decimal_places=2, default=Decimal("0.5"))
    clinic_sd_min_n = models.PositiveIntegerField(
        default=20, help_text="Scores the clinic needs on an instrument before its own SD replaces the fallback."
    )
    population_sd = models.JSONField(
        default=dict,
        blank=True,
        help_text='Fallback SD per questionnaire when clinic data is too thin, e.g. {"srs": 4.0}.',
    )
    rater_gap_threshold = models.JSONField(
        default=dict,
        blank=True,
        help_text='Client minus clinician total that raises `rater_gap`, per questionnaire, e.g. {"srs": 8}.',
    )
    jacobson_truax_norms = models.JSONField(
        default=dict,
        blank=True,
        help_text=(
            'Per questionnaire: {"s1": SD of the clinical sample, "r": reliability, "M0": functional mean, '
            '"s0": functional SD, "M1": clinical mean}. Enables reliable and clinically significant change.'
        ),
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "clinic alert settings"
        verbose_name_plural = "clinic alert settings"

    def __str__(self) -> str:
        return f"alert settings of {self.clinic}"


class ClinicCareSettings(models.Model):
    """How one clinic runs its course of care; a clinic without a row uses the defaults below."""

    clinic = models.OneToOneField("questionnaires.Clinic", on_delete=models.CASCADE, related_name="care_settings")
    allow_parallel_episodes = models.BooleanField(
        default=False, help_text="A client may have more than one active episode (e.g. individual and group work)."
    )
    disengaged_after_weeks = models.PositiveSmallIntegerField(
        null=True, blank=True,
        help_text="Weeks without an attended session after which an active episode raises a `disengaged` alert; "
        "empty: the DISENGAGED_AFTER_WEEKS setting (default 4).",
    )
    form_offers_other_instruments = models.BooleanField(
        default=False,
        help_text="The client's form page also lists instruments that are not due now (it always opens on what "
        "is due); clients without an active episode always see every instrument offered to them.",
    )
    client_progress = models.JSONField(
        default=dict,
        blank=True,
        help_text=(
            'Which instruments a client sees in their own progress, e.g. {"srs": true, "phq-9": false}. '
            "Unlisted: outcome, symptom and goal instruments are shown, alliance instruments are not "
            "(some clinics keep alliance results from clients)."
        ),
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "clinic care settings"
        verbose_name_plural = "clinic care settings"

    def __str__(self) -> str:
        return f"care settings of {self.clinic}"
