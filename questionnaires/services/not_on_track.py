"""The `not_on_track` alert: a client's new score falls below the clinic's expected change curve minus its tolerance.

Evaluated when a batch is scored (called by `alert_rules.alerts_raise`), for client-rated scores on an
outcome instrument in a numbered session of an episode: improvement since the episode's intake score
(in the instrument's better direction) is compared with the stored curve of the intake band, after
Finch, Lambert & Schaalje (2001) and Lambert's signal alarms (see `change_curves`). No curve for the
band (too few finished episodes, no published norm), a session beyond the sessions the curve was fitted
on, or the intake score itself: no flag. Only the first score of a session is judged, so a client
gets at most one such alert per session and instrument; the alert carries the curve's provenance.
"""

from __future__ import annotations

from collections.abc import Sequence

from questionnaires.change_curves import expected_improvement, improvement, lower_limit
from questionnaires.models import Alert, CareSession, ExpectedChangeCurve
from questionnaires.selectors.expected_change import CONSTRUCTS, curves_for, episode_series
from questionnaires.services.scored_responses import ScoredResponse
from questionnaires.sql_arrays import ints_in

KIND = "not_on_track"


def not_on_track_alerts_draft(*, scored: Sequence[ScoredResponse]) -> list[Alert]:
    """Drafts for the batch's scores that are worse than expected; a fixed number of queries, and
    one (for the curves) when the clinic has none."""
    items = [
        item
        for item in scored
        if item.definition.construct in CONSTRUCTS
        and item.response.rater == "client"
        and item.response.session_id is not None
        and item.response.session_number is not None
        and item.response.session_number >= 2
    ]
    if not items:
        return []
    definitions = {item.definition.id: item.definition for item in items}
    curves = curves_for(
        clinic_ids={item.response.clinic_id for item in items}, questionnaire_ids=definitions
    )
    if not curves:
        return []
    with_curves = {(clinic_id, questionnaire_id) for clinic_id, questionnaire_id, _ in curves}
    items = [item for item in items if (item.response.clinic_id, item.definition.id) in with_curves]
    if not items:
        return []
    episodes = dict(
        CareSession.objects.filter(id__in=ints_in({item.response.session_id for item in items}))
        .values_list("id", "episode_id")
    )
    series = episode_series(episode_ids=set(episodes.values()), definitions=definitions)
    drafts = []
    for item in items:
        response, definition = item.response, item.definition
        one = series.get((episodes.get(response.session_id), definition.id))
        if one is None or not any(point.response_id == response.id for point in one.later):
            continue  # the intake itself, or not the first score of its session
        curve = curves.get((response.clinic_id, definition.id, one.band))
        session = response.session_number
        if curve is None or session > curve.max_session:
            continue
        observed = improvement(one.intake.total, item.score.total, definition.direction)
        limit = lower_limit(curve.intercept, curve.slope, curve.tolerance, session)
        if observed >= limit:
            continue
        drafts.append(_draft(item, curve, one.intake.total, one.intake.response_id, one.episode_id, observed, limit))
    return drafts


def curve_provenance(curve: ExpectedChangeCurve) -> dict:
    """What a reader needs to weigh the flag: where the curve comes from, how many episodes, when fitted."""
    return {
        "source": curve.source,
        "band": curve.band,
        "n_episodes": curve.n_episodes,
        "n_points": curve.n_points,
        "fitted_at": curve.fitted_at.isoformat(),
        "intercept": round(curve.intercept, 4),
        "slope": round(curve.slope, 4),
        "tolerance": round(curve.tolerance, 4),
        "max_session": curve.max_session,
        "reference": curve.reference,
    }


def _draft(item, curve, baseline, baseline_response, episode_id, observed: float, limit: float) -> Alert:
    response, definition = item.response, item.definition
    session = response.session_number
    expected = expected_improvement(curve.intercept, curve.slope, session)
    who = "published norm" if curve.source == ExpectedChangeCurve.Source.PUBLISHED else "clinic's finished episodes"
    message = (
        f"{definition.title}: not on track at session {session}: {observed:+.1f} points since intake "
        f"where clients starting in the same band ({curve.band}) improved {expected:+.1f} "
        f"(alarm below {limit:+.1f}); curve from {curve.n_episodes} episodes ({who}), "
        f"fitted {curve.fitted_at:%Y-%m-%d}."
    )
    return Alert(
        clinic_id=response.clinic_id,
        client_id=response.client_id,
        response_id=response.id,
        questionnaire_id=definition.id,
        kind=KIND,
        category=Alert.Category.ALERT,
        priority=Alert.Priority.NORMAL,
        message=message,
        details={
            "session": session,
            "session_id": response.session_id,
            "episode": episode_id,
            "baseline_response": str(baseline_response),
            "baseline_total": str(baseline),
            "total": str(item.score.total),
            "improvement": round(observed, 4),
            "expected_improvement": round(expected, 4),
            "limit": round(limit, 4),
            "curve": curve_provenance(curve),
        },
    )
