"""Handing single submissions to the scoring queue from a background thread, several ids per task.

A single submission used to publish its own `score_batch` task in its commit hook: a Celery
message built and a Redis round trip on the request's time, one task per response. Here the
commit hook only hands the id to this process's publisher thread, which sends whatever ids have
gathered meanwhile as one task. The promises stay those of `scoring_enqueue`: the row is committed
before the caller is answered, the task is published only after that commit, and an id that is
never published (broker down, process killed first) stays pending for the periodic sweep.
In eager mode (embedded, no broker) there is no thread: scoring runs in the commit hook as before.
"""

from __future__ import annotations

import atexit
import logging
import os
import queue
import threading
import time
from collections.abc import Iterable
from uuid import UUID

from django.db import transaction

from alliance_api.celery import app
from questionnaires.services.publishing import SCORE_BATCH, publish
from questionnaires.services.scoring import ENQUEUE_CHUNK, scoring_enqueue

logger = logging.getLogger(__name__)

GATHER_SECONDS = 0.01
"""How long the thread waits after the first id for others to join it (a fraction of scoring latency)."""
FLUSH_SECONDS = 2.0
"""How long process exit waits for ids still queued."""


def scoring_enqueue_soon(*, response_ids: Iterable[UUID | str]) -> None:
    """Like `scoring_enqueue`, but published by this process's publisher thread after commit, batched."""
    ids = [str(response_id) for response_id in response_ids]
    if not ids:
        return
    if app.conf.task_always_eager:
        scoring_enqueue(response_ids=ids)
        return
    transaction.on_commit(lambda: _publisher().put(ids), robust=True)


class _Publisher:
    """One daemon thread per process; `put` never blocks a request and never raises for the broker."""

    def __init__(self) -> None:
        self.pid = os.getpid()
        self.queue: queue.SimpleQueue[list[str] | None] = queue.SimpleQueue()
        self.thread = threading.Thread(target=self._run, name="score-publisher", daemon=True)
        self.thread.start()

    def put(self, ids: list[str]) -> None:
        self.queue.put(ids)

    def _run(self) -> None:
        while True:
            first = self.queue.get()
            if first is None:
                return
            time.sleep(GATHER_SECONDS)
            ids, stop = self._drain(first)
            self._send(ids)
            if stop:
                return

    def _drain(self, ids: list[str]) -> tuple[list[str], bool]:
        gathered = list(ids)
        while True:
            try:
                more = self.queue.get_nowait()
            except queue.Empty:
                return gathered, False
            if more is None:
                return gathered, True
            gathered.extend(more)

    def _send(self, ids: list[str]) -> None:
        try:
            for start in range(0, len(ids), ENQUEUE_CHUNK):
                chunk = ids[start : start + ENQUEUE_CHUNK]
                if not publish(SCORE_BATCH, args=[chunk], what=f"{len(chunk)} responses to score"):
                    return
        except Exception:  # the thread must outlive any error; the rows stay pending for the sweep
            logger.exception("publishing %d responses to score failed; left for the sweep", len(ids))

    def close(self, timeout: float = FLUSH_SECONDS) -> None:
        """Publish what is still queued (process exit), waiting at most `timeout`."""
        self.queue.put(None)
        self.thread.join(timeout)


_lock = threading.Lock()
_current: _Publisher | None = None


def _publisher() -> _Publisher:
    """This process's publisher, started on first use (and again in a forked child)."""
    global _current
    publisher = _current
    if publisher is not None and publisher.pid == os.getpid():
        return publisher
    with _lock:
        if _current is None or _current.pid != os.getpid():
            _current = _Publisher()
        return _current


@atexit.register
def _flush_at_exit() -> None:
    if _current is not None and _current.pid == os.getpid() and _current.thread.is_alive():
        _current.close()
