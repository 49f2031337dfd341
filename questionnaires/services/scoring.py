"""Scoring pending responses in batches, and enqueuing them for a worker after commit."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from uuid import UUID

from django.db import transaction
from kombu.exceptions import OperationalError as BrokerError

from questionnaires.contract import Questionnaire, Score, ScoringError
from questionnaires.models import Response
from questionnaires.models import Score as ScoreRow
from questionnaires.registry import get_registry
from questionnaires.scoring import score_answers

logger = logging.getLogger(__name__)

ENQUEUE_CHUNK = 500
"""Responses per scoring task: hundreds per task keep Celery's per-task overhead small."""

BROKER_BACKOFF_SECONDS = 10.0
"""After a failed publish, skip publishing this long; the sweep catches up."""

_broker_down_until = 0.0


@dataclass
class ScoringOutcome:
    scored: list[UUID] = field(default_factory=list)
    failed: dict[UUID, str] = field(default_factory=dict)


def scoring_enqueue(*, response_ids: Iterable[UUID | str]) -> None:
    """Ask a worker to score these responses once the current transaction commits.

    Never raises for a broker outage: the response rows are already the source of
    truth, and the periodic sweep re-enqueues whatever stays pending. In eager mode
    the scoring runs in-process on commit (tests that assert on it need a real
    commit, i.e. `transactional_db`).
    """
    ids = [str(response_id) for response_id in response_ids]
    if ids:
        transaction.on_commit(lambda: _publish(ids))


def _publish(ids: list[str]) -> None:
    global _broker_down_until
    from questionnaires.tasks.scoring import score_batch

    if time.monotonic() < _broker_down_until:
        logger.warning("broker marked down; %d responses left pending for the sweep", len(ids))
        return
    for start in range(0, len(ids), ENQUEUE_CHUNK):
        try:
            score_batch.apply_async(args=[ids[start : start + ENQUEUE_CHUNK]])
        except (BrokerError, OSError) as error:
            _broker_down_until = time.monotonic() + BROKER_BACKOFF_SECONDS
            logger.warning("broker unavailable (%s); %d responses left pending for the sweep", error, len(ids))
            return


def responses_score(*, response_ids: Sequence[UUID | str], include_failed: bool = False) -> ScoringOutcome:
    """Score the listed responses that are still pending; safe to run twice on the same ids.

    A plugin that raises, or returns a result outside its own declared range or
    bands, fails only its own responses, with the reason and plugin version.
    """
    statuses = [Response.Status.PENDING] + ([Response.Status.FAILED] if include_failed else [])
    rows = list(
        Response.objects.filter(id__in=list(response_ids), status__in=statuses)
        .select_related("questionnaire_version")
        .only("id", "answers", "status", "questionnaire_version__questionnaire_id", "questionnaire_version__version")
    )
    outcome = ScoringOutcome()
    score_rows: list[ScoreRow] = []
    registry = get_registry()
    for row in rows:
        version = row.questionnaire_version
        definition = registry.get(version.questionnaire_id, version.version)
        label = f"{version.questionnaire_id} {version.version}"
        if definition is None:
            outcome.failed[row.id] = f"{label}: plugin not loaded"
            continue
        try:
            score = score_answers(definition, row.answers)
            problem = implausible_score(definition, score)
        except ScoringError as error:
            problem = f"not scoreable: {error}"
        except Exception as error:  # plugin boundary: a broken plugin fails its own responses only
            logger.exception("plugin %s raised while scoring response %s", label, row.id)
            problem = f"plugin raised {type(error).__name__}: {error}"
        if problem:
            outcome.failed[row.id] = f"{label}: {problem}"
            continue
        score_rows.append(score_row(row, definition, score))
        outcome.scored.append(row.id)
    _store(outcome, score_rows)
    return outcome


def implausible_score(definition: Questionnaire, score: Score) -> str | None:
    """Why a plugin's result cannot be stored, or None."""
    scoring = definition.scoring
    if not scoring.total_min <= score.total <= scoring.total_max:
        return f"total {score.total} outside {scoring.total_min}..{scoring.total_max}"
    band_names = {band.name for band in definition.bands}
    if score.band is not None and score.band not in band_names:
        return f"unknown band {score.band!r}"
    return None


def score_row(response: Response, definition: Questionnaire, score: Score) -> ScoreRow:
    return ScoreRow(
        response=response,
        plugin_version=definition.version,
        total=score.total,
        subscales={name: _number(value) for name, value in score.subscales.items()},
        extras={name: _number(value) for name, value in score.extras.items()},
        band=score.band,
        flags=list(score.flags),
    )


def _number(value: Decimal) -> int | float:
    return int(value) if value == value.to_integral_value() else float(value)


def _store(outcome: ScoringOutcome, score_rows: list[ScoreRow]) -> None:
    with transaction.atomic():
        # The unique (response, plugin_version) constraint makes a redelivered batch a no-op.
        ScoreRow.objects.bulk_create(score_rows, ignore_conflicts=True)
        if outcome.scored:
            Response.objects.filter(id__in=outcome.scored).exclude(status=Response.Status.SCORED).update(
                status=Response.Status.SCORED, failure_reason=""
            )
        for response_id, reason in outcome.failed.items():
            Response.objects.filter(id=response_id).exclude(status=Response.Status.SCORED).update(
                status=Response.Status.FAILED, failure_reason=reason[:2000]
            )
