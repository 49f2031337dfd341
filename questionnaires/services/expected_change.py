"""Refitting a clinic's expected change curves from its finished episodes (run by celery beat, see tasks).

Per outcome instrument and intake-severity band: a log-linear least-squares curve with a tolerance at
the 90th percentile of its shortfalls (`change_curves`, after Finch, Lambert & Schaalje 2001 and
Lambert's signal alarms), fitted only where the band has at least `EXPECTED_CHANGE_MIN_EPISODES`
finished episodes (default 30). Below that the plugin's published norm curve stands in, if it ships
one; otherwise there is no curve, and so no not-on-track flag: never an invented norm.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from questionnaires.change_curves import fit_log_linear, improvement
from questionnaires.contract import Questionnaire
from questionnaires.models import Clinic, ExpectedChangeCurve
from questionnaires.selectors.expected_change import (
    EpisodeSeries,
    expected_change_instruments,
    finished_episode_series,
)

logger = logging.getLogger(__name__)

METHOD = (
    "Log-linear least squares, improvement = a + b ln(session), tolerance = 90th percentile of shortfalls; "
    "after Finch, Lambert & Schaalje (2001) Clin Psychol Psychother 8:231-242 and Lambert et al. (2001) "
    "Psychother Res 11:49-68."
)


def min_episodes() -> int:
    return max(2, int(getattr(settings, "EXPECTED_CHANGE_MIN_EPISODES", 30)))


@dataclass
class RefreshOutcome:
    clinics: int = 0
    curves: int = 0
    published: int = 0
    too_few: dict[str, int] = field(default_factory=dict)
    """Bands left without a curve, by "<clinic id>:<questionnaire id>:<band>", with their episode count."""


def expected_change_curves_refresh(
    *, clinic_ids: Iterable[int] | None = None, now: datetime | None = None
) -> RefreshOutcome:
    """Refit every curve of these clinics (all clinics when None); each clinic's set is replaced in one transaction.

    Returns what was written. A band that lost its curve (episodes amended away, a plugin's norm
    removed) loses its row too, so no stale curve keeps flagging.
    """
    fitted_at = now or timezone.now()
    outcome = RefreshOutcome()
    clinics = Clinic.objects.order_by("id").values_list("id", flat=True)
    if clinic_ids is not None:
        clinics = clinics.filter(id__in=list(clinic_ids))
    instruments = {definition.id: definition for definition in expected_change_instruments()}
    for clinic_id in clinics:
        by_instrument: dict[str, list[EpisodeSeries]] = defaultdict(list)
        if instruments:
            for series in finished_episode_series(clinic_id=clinic_id, definitions=instruments):
                by_instrument[series.questionnaire_id].append(series)
        rows: list[ExpectedChangeCurve] = []
        for questionnaire_id, definition in sorted(instruments.items()):
            rows.extend(_curves(clinic_id, definition, by_instrument[questionnaire_id], fitted_at, outcome))
        with transaction.atomic():
            kept = ExpectedChangeCurve.objects.filter(clinic_id=clinic_id)
            wanted = {(row.questionnaire_id, row.band) for row in rows}
            stale = [curve.id for curve in kept if (curve.questionnaire_id, curve.band) not in wanted]
            if stale:
                ExpectedChangeCurve.objects.filter(id__in=stale).delete()
            if rows:
                ExpectedChangeCurve.objects.bulk_create(
                    rows,
                    update_conflicts=True,
                    unique_fields=["clinic", "questionnaire_id", "band"],
                    update_fields=[
                        "source", "direction", "n_episodes", "n_points", "intercept", "slope", "tolerance",
                        "max_session", "fitted_at", "reference",
                    ],
                )
        outcome.clinics += 1
        outcome.curves += len(rows)
    logger.info(
        "expected change curves refreshed: %d clinics, %d curves (%d published norms)",
        outcome.clinics, outcome.curves, outcome.published,
    )
    return outcome


def _curves(
    clinic_id: int,
    definition: Questionnaire,
    episodes: list[EpisodeSeries],
    fitted_at: datetime,
    outcome: RefreshOutcome,
) -> list[ExpectedChangeCurve]:
    points_by_band: dict[str, list[tuple[int, float]]] = defaultdict(list)
    episodes_by_band: dict[str, int] = defaultdict(int)
    for series in episodes:
        if not series.later:
            continue  # an episode counts only with a score after intake
        episodes_by_band[series.band] += 1
        points_by_band[series.band].extend(
            (point.session_number, improvement(series.intake.total, point.total, definition.direction))
            for point in series.later
        )
    rows = []
    enough = min_episodes()
    for band, n_episodes in sorted(episodes_by_band.items()):
        fit = fit_log_linear(points_by_band[band]) if n_episodes >= enough else None
        if fit is None:
            outcome.too_few[f"{clinic_id}:{definition.id}:{band}"] = n_episodes
            continue
        rows.append(
            ExpectedChangeCurve(
                clinic_id=clinic_id,
                questionnaire_id=definition.id,
                band=band,
                source=ExpectedChangeCurve.Source.CLINIC,
                direction=definition.direction,
                n_episodes=n_episodes,
                n_points=fit.n_points,
                intercept=fit.intercept,
                slope=fit.slope,
                tolerance=fit.tolerance,
                max_session=fit.max_session,
                fitted_at=fitted_at,
                reference=METHOD,
            )
        )
    fitted = {row.band for row in rows}
    for norm in definition.norm_curves:
        if norm.band in fitted:
            continue
        outcome.published += 1
        rows.append(
            ExpectedChangeCurve(
                clinic_id=clinic_id,
                questionnaire_id=definition.id,
                band=norm.band,
                source=ExpectedChangeCurve.Source.PUBLISHED,
                direction=definition.direction,
                n_episodes=norm.n_episodes,
                n_points=0,
                intercept=float(norm.intercept),
                slope=float(norm.slope),
                tolerance=float(norm.tolerance),
                max_session=norm.max_session,
                fitted_at=fitted_at,
                reference=norm.reference,
            )
        )
    return rows
