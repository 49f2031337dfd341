"""Reads for expected change curves: each episode's client-rated outcome scores by session, and the stored curves.

Only scored responses count (a retracted one is `retracted`, never `scored`), each with the score of
the plugin version it was submitted on, client-rated and in a session of the episode (numbered:
attended). A session's first score is its score; the episode's first is its intake.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from uuid import UUID

from django.db.models import F, Q

from questionnaires.change_curves import intake_band
from questionnaires.contract import Questionnaire
from questionnaires.models import EpisodeOfCare, ExpectedChangeCurve, Response, Score
from questionnaires.registry import get_registry
from questionnaires.sql_arrays import ints_in

CONSTRUCTS = ("outcome", "symptom")


def expected_change_instruments() -> list[Questionnaire]:
    """The latest definition of every outcome instrument that declares a clinical cut-off, a reliable-change
    value or a published norm curve (PHQ-9, GAD-7, CORE-10, ORS among the built-ins)."""
    return [
        definition
        for definition in get_registry().latest()
        if definition.construct in CONSTRUCTS
        and (definition.clinical_cutoff is not None or definition.reliable_change is not None or definition.norm_curves)
    ]


@dataclass(frozen=True)
class SeriesPoint:
    response_id: UUID
    session_number: int
    total: Decimal


@dataclass(frozen=True)
class EpisodeSeries:
    """One episode's scores on one instrument: the intake, its band, and one score per later session."""

    episode_id: int
    questionnaire_id: str
    band: str
    intake: SeriesPoint
    later: tuple[SeriesPoint, ...]


def _series_rows(condition: Q):
    return (
        Score.objects.filter(
            condition,
            response__status=Response.Status.SCORED,
            response__rater=Response.Rater.CLIENT,
            response__session_number__isnull=False,
            plugin_version=F("response__questionnaire_version__version"),
        )
        .order_by(
            "response__session__episode_id",
            "response__questionnaire_version__questionnaire_id",
            "response__session_number",
            "response__authored_at",
            "response_id",
        )
        .values_list(
            "response__session__episode_id",
            "response__questionnaire_version__questionnaire_id",
            "response_id",
            "response__session_number",
            "total",
            "band",
        )
    )


def _series(rows, definitions: dict[str, Questionnaire]) -> list[EpisodeSeries]:
    """Rows ordered by episode, instrument, session, authored time: one series per (episode, instrument)."""
    found: list[EpisodeSeries] = []
    key = None
    intake: SeriesPoint | None = None
    band = ""
    later: list[SeriesPoint] = []

    def close() -> None:
        if key is not None and intake is not None:
            found.append(EpisodeSeries(key[0], key[1], band, intake, tuple(later)))

    for episode_id, questionnaire_id, response_id, session_number, total, stored_band in rows:
        if (episode_id, questionnaire_id) != key:
            close()
            key, later = (episode_id, questionnaire_id), []
            intake = SeriesPoint(response_id, session_number, Decimal(total))
            band = intake_band(definitions[questionnaire_id], intake.total, stored_band)
            continue
        last_session = later[-1].session_number if later else intake.session_number  # type: ignore[union-attr]
        if session_number > last_session:
            later.append(SeriesPoint(response_id, session_number, Decimal(total)))
    close()
    return found


def finished_episode_series(*, clinic_id: int, definitions: dict[str, Questionnaire]) -> list[EpisodeSeries]:
    """Every finished episode of the clinic with an intake score on these instruments, in one query."""
    rows = _series_rows(
        Q(
            response__clinic_id=clinic_id,
            response__session__episode__clinic_id=clinic_id,
            response__session__episode__status=EpisodeOfCare.Status.FINISHED,
            response__questionnaire_version__questionnaire_id__in=list(definitions),
        )
    )
    return _series(rows.iterator(chunk_size=5000), definitions)


def episode_series(
    *, episode_ids: Iterable[int], definitions: dict[str, Questionnaire]
) -> dict[tuple[int, str], EpisodeSeries]:
    """The series of these episodes on these instruments, by (episode id, questionnaire id), in one query."""
    rows = _series_rows(
        Q(
            response__session__episode_id__in=ints_in(episode_ids),
            response__questionnaire_version__questionnaire_id__in=list(definitions),
        )
    )
    return {(series.episode_id, series.questionnaire_id): series for series in _series(rows, definitions)}


def curves_for(
    *, clinic_ids: Iterable[int], questionnaire_ids: Iterable[str]
) -> dict[tuple[int, str, str], ExpectedChangeCurve]:
    """Stored curves by (clinic id, questionnaire id, band)."""
    curves = ExpectedChangeCurve.objects.filter(
        clinic_id__in=ints_in(clinic_ids), questionnaire_id__in=list(questionnaire_ids)
    )
    return {(curve.clinic_id, curve.questionnaire_id, curve.band): curve for curve in curves}


def clinic_curves(*, clinic_id: int, questionnaire_id: str | None = None) -> list[ExpectedChangeCurve]:
    """The clinic's stored curves, by instrument and band."""
    curves = ExpectedChangeCurve.objects.filter(clinic_id=clinic_id)
    if questionnaire_id is not None:
        curves = curves.filter(questionnaire_id=questionnaire_id)
    return list(curves.order_by("questionnaire_id", "band"))


@dataclass(frozen=True)
class ChartOverlay:
    """What a client's chart draws behind one instrument's series: the curve from their latest episode's intake."""

    curve: ExpectedChangeCurve
    series: EpisodeSeries


def client_chart_overlays(*, client_id: int, clinic_id: int) -> dict[str, ChartOverlay]:
    """Per instrument, the client's latest episode with an intake score and a stored curve for its band."""
    definitions = {definition.id: definition for definition in expected_change_instruments()}
    if not definitions:
        return {}
    episodes = list(
        EpisodeOfCare.objects.filter(client_id=client_id, clinic_id=clinic_id)
        .order_by("-start_date", "-id")
        .values_list("id", flat=True)
    )
    if not episodes:
        return {}
    series = episode_series(episode_ids=episodes, definitions=definitions)
    curves = curves_for(clinic_ids=[clinic_id], questionnaire_ids=definitions)
    overlays: dict[str, ChartOverlay] = {}
    decided: set[str] = set()
    for episode_id in episodes:  # latest first: an instrument's latest episode decides, curve or not
        for questionnaire_id in definitions:
            one = series.get((episode_id, questionnaire_id))
            if one is None or questionnaire_id in decided:
                continue
            decided.add(questionnaire_id)
            curve = curves.get((clinic_id, questionnaire_id, one.band))
            if curve is not None:
                overlays[questionnaire_id] = ChartOverlay(curve=curve, series=one)
    return overlays
