"""The one seam through which services hand work to Celery: tasks are named, never imported.

A service that must start a task publishes it here by name (`SCORE_BATCH`, ...); the task modules
under `questionnaires/tasks/` register those names when they are imported (by the worker, and by
`QuestionnairesConfig.ready()` in every Django process), so the import arrows keep pointing from
tasks down to services and never back. The task found by name is published with its own options
and the configured queue routing, and in eager mode (the embedded default) it runs in-process.

Every task published here has its truth in a database row the sweep re-reads, so a lost publish
delays work, it never loses it: a broker outage is logged once and reported as False, not raised.
"""

from __future__ import annotations

import logging
import time
from typing import Any, Protocol

from kombu.exceptions import OperationalError as BrokerError

from alliance_api.celery import app

logger = logging.getLogger(__name__)

SCORE_BATCH = "questionnaires.score_batch"
"""Scoring queue: score these pending responses (`include_failed` to retry failed ones)."""
METRICS_ROLLUP = "questionnaires.metrics_rollup"
"""Aggregation queue: add these scored responses to the clinic-wide rollups."""
OUTCOMES_REFRESH = "questionnaires.metrics_outcomes_refresh"
"""Aggregation queue: bring these episodes' outcome and adherence rollups up to date."""
WEBHOOK_DELIVER = "questionnaires.webhook_deliver"
"""Webhooks queue: one delivery attempt."""
EXPORT_RUN = "questionnaires.export_run"
"""Exports queue: build one export file."""
TASK_NAMES = (SCORE_BATCH, METRICS_ROLLUP, OUTCOMES_REFRESH, WEBHOOK_DELIVER, EXPORT_RUN)

BROKER_BACKOFF_SECONDS = 10.0
"""After a failed publish, skip publishing this long; the sweep catches up."""

_broker_down_until = 0.0


class Publishable(Protocol):
    """What `publish` needs of a task: a Celery task, or a stand-in with the same method."""

    name: str

    def apply_async(self, *, args: list, kwargs: dict, **options: Any) -> Any: ...


def publish(
    task: str | Publishable,
    *,
    args: list | None = None,
    kwargs: dict | None = None,
    what: str = "",
    **options: Any,
) -> bool:
    """Send a task (by registered name, or the task itself); on a broker outage log and return False.

    `options` go to `apply_async` (e.g. `countdown`). An unknown name raises `celery.exceptions.NotRegistered`:
    that is a mistake in the code, not an outage.
    """
    global _broker_down_until
    name = task if isinstance(task, str) else task.name
    if time.monotonic() < _broker_down_until:
        # The outage was logged as a warning when it began; one line per skipped publish would flood the log.
        logger.debug("broker marked down; %s left for the sweep", what or name)
        return False
    found = app.tasks[task] if isinstance(task, str) else task
    try:
        found.apply_async(args=args or [], kwargs=kwargs or {}, **options)
    except (BrokerError, OSError) as error:
        _broker_down_until = time.monotonic() + BROKER_BACKOFF_SECONDS
        logger.warning("broker unavailable (%s); %s left for the sweep", error, what or name)
        return False
    return True


def broker_backoff_reset() -> None:
    """Forget a past outage (tests restart the broker and want publishing at once)."""
    global _broker_down_until
    _broker_down_until = 0.0
