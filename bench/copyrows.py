"""Raw psycopg COPY of response (and score) rows shaped like the API's: the limit the ingest benchmarks compare with.

Columns match what the batch endpoint writes, so the comparison is row for row.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta

RESPONSE_COLUMNS = (
    "id", "clinic_id", "client_id", "clinician_id", "questionnaire_version_id", "session_number", "rater",
    "authored_at", "received_at", "answers", "comment", "source", "submitted_by", "status", "failure_reason",
    "idempotency_key", "request_fingerprint", "idempotency_scope",
)
SCORE_COLUMNS = ("response_id", "plugin_version", "total", "subscales", "extras", "band", "flags", "computed_at")


def response_rows(
    *, count: int, clinic_id: int, client_ids: Sequence[int], version_id: int, answers: dict, status: str = "pending",
    clinician_ids: Sequence[int | None] = (None,), days: int = 1, start: datetime | None = None,
) -> Iterator[tuple]:
    """`count` rows spread over `days` days and round-robin over clients and clinicians."""
    start = start or datetime.now(UTC) - timedelta(days=days)
    answers_json = json.dumps(answers)
    step = timedelta(days=days) / max(count, 1)
    received = datetime.now(UTC)
    for number in range(count):
        yield (
            uuid.uuid4(), clinic_id, client_ids[number % len(client_ids)], clinician_ids[number % len(clinician_ids)],
            version_id, None, "client", start + step * number, received, answers_json, "", "batch", "bench",
            status, "", None, "", "",
        )


def copy_rows(connection, table: str, columns: Sequence[str], rows) -> int:
    """COPY rows into `table` over a psycopg 3 connection; returns the count."""
    count = 0
    with connection.cursor() as cursor:
        with cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
                count += 1
    return count
