"""Benchmark 3: one Celery worker process scoring a backlog of 100,000 responses vs a bare in-process scoring loop.

Run: .venv/bin/python bench/scoring.py [--backlog 100000] [--bare 20000]
The backlog is COPYed in as pending rows and enqueued through the API's own path (500 ids per task);
the limit reads, scores and writes the same kind of rows in this process through the worker's own
read and write paths, without Celery, row locks, alerts or webhooks. Target: ratio >= 0.5 and >= 5,000 responses/s.
"""

from __future__ import annotations

import argparse
import time

import harness
from copyrows import RESPONSE_COLUMNS, copy_rows, response_rows

CHUNK = 500
ANSWER_PATTERNS = [{str(item): (item + shift) % 5 + 1 for item in range(1, 13)} for shift in range(5)]


def load_pending(count: int) -> list[str]:
    """COPY `count` pending WAI-SR responses, about ten per client over 60 days; returns their ids."""
    from django.db import connection

    from questionnaires.models import Clinic, QuestionnaireVersion, TherapyClient
    from questionnaires.registry import get_registry

    definition = get_registry().get("wai-sr")
    version = get_registry().version_row(definition)
    assert QuestionnaireVersion.objects.filter(pk=version.pk).exists()
    clinic = Clinic.objects.get(slug="bench")
    client_ids = list(TherapyClient.objects.filter(clinic=clinic).values_list("id", flat=True))
    ids: list[str] = []
    connection.ensure_connection()
    raw = connection.connection
    with raw.transaction():
        for pattern_number, answers in enumerate(ANSWER_PATTERNS):
            share = count // len(ANSWER_PATTERNS) + (1 if pattern_number < count % len(ANSWER_PATTERNS) else 0)
            rows = list(response_rows(count=share, clinic_id=clinic.id, client_ids=client_ids,
                                      version_id=version.pk, answers=answers, days=60))
            copy_rows(raw, "questionnaires_response", RESPONSE_COLUMNS, rows)
            ids += [str(row[0]) for row in rows]
    return ids


def pending_count() -> int:
    from questionnaires.models import Response

    return Response.objects.filter(status=Response.Status.PENDING).count()


def pending_among(ids: list[str]) -> bool:
    from questionnaires.models import Response

    return Response.objects.filter(id__in=ids, status=Response.Status.PENDING).exists()


def bare_loop(ids: list[str]) -> float:
    """Read, score and write in this process: the same plugin call and the same score rows, nothing else.

    It uses the worker's own read and write paths (one array-parameter SELECT, the scoring engine,
    the JSON-document INSERT of the scores, the status UPDATE) without the claim's row locks, the
    failure bookkeeping, alerts, webhooks or Celery.
    """
    from django.db import transaction

    from questionnaires.models import Response
    from questionnaires.registry import get_registry
    from questionnaires.scoring import score_answers
    from questionnaires.services.scoring import (
        ScoredResponse,
        responses_for_scoring,
        responses_mark_scored,
        scores_write,
    )

    registry = get_registry()
    started = time.perf_counter()
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start : start + CHUNK]
        with transaction.atomic():
            rows = responses_for_scoring(response_ids=chunk, statuses=[Response.Status.PENDING], lock=False)
            scored = []
            for row in rows:
                definition = registry.get(row.questionnaire_version.questionnaire_id, row.questionnaire_version.version)
                scored.append(ScoredResponse(response=row, definition=definition,
                                             score=score_answers(definition, row.answers)))
            scores_write(scored)
            responses_mark_scored([row.id for row in rows])
    return len(ids) / (time.perf_counter() - started)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--backlog", type=int, default=100_000)
    parser.add_argument("--bare", type=int, default=20_000, help="responses the bare loop scores")
    parser.add_argument("--timeout", type=int, default=600)
    parser.add_argument("--clients", type=int, default=10_000, help="backlog spread over this many clients")
    args = parser.parse_args()
    harness.setup_django()
    harness.reset_data()
    harness.provision(clients=args.clients)
    print(harness.machine())
    loaded = time.perf_counter()
    ids = load_pending(args.backlog)
    print(f"backlog of {len(ids)} pending responses COPYed in {time.perf_counter() - loaded:.1f}s")
    processes = harness.Processes()
    try:
        processes.worker(queues="scoring", name="bench-scoring")
        from questionnaires.services.publishing import broker_backoff_reset
        from questionnaires.services.scoring import _publish_chunks

        broker_backoff_reset()
        started = time.perf_counter()
        _publish_chunks(ids)
        deadline = started + args.timeout
        # One solo worker takes the tasks in the order they were published, so watching the last
        # chunk (500 primary-key lookups) tells when it is done without counting the whole backlog
        # twice a second on the cores the worker needs; the full count then confirms it.
        last_chunk = ids[-CHUNK:]
        while pending_among(last_chunk) and time.perf_counter() < deadline:
            time.sleep(0.1)
        elapsed = time.perf_counter() - started
        left = pending_count()
        while left and time.perf_counter() < deadline:
            time.sleep(0.5)
            left = pending_count()
            elapsed = time.perf_counter() - started
    finally:
        processes.stop_all()
    scored = len(ids) - left
    figure = scored / elapsed
    print(f"figure worker: {scored} of {len(ids)} scored in {elapsed:.1f}s = {figure:.0f} responses/s "
          f"(1 process, -P solo, {CHUNK} ids per task, alerts and webhook outbox included)")
    bare_ids = load_pending(args.bare)
    limit = bare_loop(bare_ids)
    print(f"limit  bare loop: {len(bare_ids)} responses at {limit:.0f} responses/s")
    harness.result(
        "scoring", figure=figure, unit="responses/s", limit=limit, target="ratio>=0.5,>=5000/s",
        met=not left and figure / limit >= 0.5 and figure >= 5000,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
