"""A steady submission load that retries like a well-behaved integration, and the counts that prove nothing was lost.

Each logical submission carries its own Idempotency-Key and is retried with that key after a
retryable answer (503, 409 in progress, a refused or dropped connection) until acknowledged, so
duplicates would show up as two rows for one key and losses as an acknowledged key with no row.
"""

from __future__ import annotations

import http.client
import json
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

RETRYABLE = {0, 409, 429, 502, 503, 504}
"""0 is a connection that was refused, reset or timed out."""


@dataclass
class Submission:
    key: str
    attempts: int = 0
    acknowledged_id: str | None = None
    rejected: int | None = None


@dataclass
class SteadyLoad:
    port: int
    api_key: str
    client: str
    rate: float = 20.0
    threads: int = 4
    retry_interval: float = 0.25
    submissions: list[Submission] = field(default_factory=list)
    statuses: Counter = field(default_factory=Counter)

    def __post_init__(self) -> None:
        self._stop = threading.Event()
        self._give_up_at = float("inf")
        self._lock = threading.Lock()
        self._workers: list[threading.Thread] = []

    def start(self) -> None:
        self._workers = [
            threading.Thread(target=self._run, args=(offset,), daemon=True) for offset in range(self.threads)
        ]
        for worker in self._workers:
            worker.start()

    def stop(self, grace: float = 90) -> None:
        """Stop starting new submissions; keep retrying unacknowledged ones for up to `grace` seconds."""
        self._give_up_at = time.monotonic() + grace
        self._stop.set()
        for worker in self._workers:
            worker.join(timeout=grace + 30)

    def _run(self, offset: int) -> None:
        connection: http.client.HTTPConnection | None = None
        interval = self.threads / self.rate
        next_at = time.monotonic() + offset / self.rate
        number = 0
        while not self._stop.is_set():
            pause = next_at - time.monotonic()
            if pause > 0:
                time.sleep(pause)
            next_at += interval
            submission = Submission(key=f"hardening-{uuid.uuid4()}")
            with self._lock:
                self.submissions.append(submission)
            body = json.dumps({
                "questionnaire": "srs",
                "client": self.client,
                "authored": (datetime.now(UTC) - timedelta(minutes=1)).isoformat(),
                "answers": {"1": 8.5, "2": 9.0, "3": 7.5, "4": 9.5},
                "session": number % 1000 + 1,
            })
            number += 1
            while True:
                submission.attempts += 1
                status, payload, connection = self._post(connection, body, submission.key)
                with self._lock:
                    self.statuses[status] += 1
                if status == 201:
                    submission.acknowledged_id = json.loads(payload)["id"]
                    break
                if status not in RETRYABLE:
                    submission.rejected = status
                    break
                if time.monotonic() > self._give_up_at:
                    break
                time.sleep(self.retry_interval)

    def _post(self, connection, body: str, key: str):
        try:
            if connection is None:
                connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
            connection.request("POST", "/api/v1/responses/", body=body, headers={
                "Authorization": f"Api-Key {self.api_key}", "Content-Type": "application/json",
                "Idempotency-Key": key,
            })
            answer = connection.getresponse()
            return answer.status, answer.read(), connection
        except (OSError, http.client.HTTPException):
            if connection is not None:
                connection.close()
            return 0, b"", None


@dataclass
class Counts:
    submitted: int
    acknowledged: int
    stored: int
    scored: int
    duplicates: int
    lost: int
    server_errors: int
    statuses: dict

    def line(self, scenario: str) -> str:
        return (
            f"{scenario}: submitted={self.submitted} acknowledged={self.acknowledged} stored={self.stored} "
            f"scored={self.scored} duplicates={self.duplicates} lost={self.lost} "
            f"server_errors={self.server_errors} statuses={self.statuses}"
        )


def counts(load: SteadyLoad, clinic_id: int) -> Counts:
    """What the database holds for the load's keys, against what the load was told."""
    from django.db.models import Count

    from questionnaires.models import Response

    keys = [submission.key for submission in load.submissions]
    rows = Response.objects.filter(clinic_id=clinic_id, idempotency_key__in=keys)
    per_key = rows.values("idempotency_key").annotate(n=Count("id"))
    stored_keys = {row["idempotency_key"] for row in per_key}
    acknowledged = {s.key: s.acknowledged_id for s in load.submissions if s.acknowledged_id}
    ids_by_key = dict(rows.values_list("idempotency_key", "id"))
    lost = [key for key, response_id in acknowledged.items()
            if key not in stored_keys or str(ids_by_key[key]) != response_id]
    return Counts(
        submitted=len(keys),
        acknowledged=len(acknowledged),
        stored=rows.count(),
        scored=rows.filter(status=Response.Status.SCORED).count(),
        duplicates=sum(row["n"] - 1 for row in per_key),
        lost=len(lost),
        server_errors=sum(n for status, n in load.statuses.items() if status >= 500 and status != 503),
        statuses=dict(sorted(load.statuses.items())),
    )
