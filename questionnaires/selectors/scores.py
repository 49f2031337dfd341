"""Reading scores in the shape the API serves."""

from __future__ import annotations

from collections.abc import Iterable
from uuid import UUID

from questionnaires.models import Score


def score_as_dict(score: Score) -> dict:
    total = score.total
    return {
        "total": int(total) if total == total.to_integral_value() else float(total.normalize()),
        "subscales": score.subscales,
        "band": score.band,
        "flags": score.flags,
        "extras": score.extras,
        "plugin_version": score.plugin_version,
        "computed_at": score.computed_at,
    }


def latest_scores_for(response_ids: Iterable[UUID | str]) -> dict[UUID, Score]:
    """The most recent score of each response, in one query."""
    latest: dict[UUID, Score] = {}
    for score in Score.objects.filter(response_id__in=list(response_ids)).order_by("computed_at", "id"):
        latest[score.response_id] = score
    return latest
