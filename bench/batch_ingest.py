"""Benchmark 2: responses/s through POST /api/v1/responses/batch/ (1,000 per call) vs raw psycopg COPY of the same rows.

Run: .venv/bin/python bench/batch_ingest.py [--calls 30] [--senders 2]
The load generator is Python (http.client keep-alive) in separate processes; gunicorn per gunicorn.conf.py.
Target: ratio >= 0.25 and >= 10,000 responses/s.
"""

from __future__ import annotations

import argparse
import http.client
import json
import multiprocessing
import time
from datetime import UTC, datetime, timedelta

import harness
from copyrows import RESPONSE_COLUMNS, copy_rows, response_rows

BATCH = 1000


def batch_body(clients: list[str]) -> bytes:
    start = datetime.now(UTC) - timedelta(days=2)
    entries = [
        {
            "questionnaire": "wai-sr",
            "client": clients[number % len(clients)],
            "authored": (start + timedelta(seconds=number)).isoformat(),
            "answers": harness.WAI_SR_ANSWERS,
        }
        for number in range(BATCH)
    ]
    return json.dumps({"responses": entries}).encode()


def sender(port: int, key: str, body: bytes, calls: int, results) -> None:
    """One keep-alive connection posting `calls` batches; reports (created, seconds per call)."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    headers = {"Authorization": f"Api-Key {key}", "Content-Type": "application/json"}
    created, durations, errors = 0, [], 0
    for _ in range(calls):
        started = time.perf_counter()
        connection.request("POST", "/api/v1/responses/batch/", body=body, headers=headers)
        answer = connection.getresponse()
        payload = answer.read()
        durations.append(time.perf_counter() - started)
        if answer.status == 200:
            created += json.loads(payload)["created"]
        else:
            errors += 1
    results.put((created, durations, errors))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--calls", type=int, default=30, help="batch calls in total")
    parser.add_argument("--senders", type=int, default=2, help="concurrent sender processes")
    args = parser.parse_args()
    harness.setup_django()
    harness.reset_data()
    key, clients = harness.provision(clients=100)
    print(harness.machine())
    body = batch_body(clients)
    processes = harness.Processes()
    context = multiprocessing.get_context("spawn")
    try:
        port = harness.free_port()
        processes.gunicorn(port=port)
        warm = context.Queue()
        sender(port, key, body, 1, warm)
        warm.get()
        results = context.Queue()
        per_sender = max(1, args.calls // args.senders)
        started = time.perf_counter()
        senders = [
            context.Process(target=sender, args=(port, key, body, per_sender, results)) for _ in range(args.senders)
        ]
        for process in senders:
            process.start()
        outcomes = [results.get(timeout=600) for _ in senders]
        elapsed = time.perf_counter() - started
        for process in senders:
            process.join(timeout=10)
    finally:
        processes.stop_all()
    created = sum(outcome[0] for outcome in outcomes)
    errors = sum(outcome[2] for outcome in outcomes)
    durations = [duration for outcome in outcomes for duration in outcome[1]]
    figure = created / elapsed

    from django.db import connection as django_connection

    from questionnaires.models import Clinic, QuestionnaireVersion, TherapyClient

    clinic = Clinic.objects.get(slug="bench")
    client_ids = list(TherapyClient.objects.filter(clinic=clinic).values_list("id", flat=True))
    version = QuestionnaireVersion.objects.filter(questionnaire_id="wai-sr").order_by("-id").first()
    rows = list(
        response_rows(
            count=created, clinic_id=clinic.id, client_ids=client_ids, version_id=version.id,
            answers=harness.WAI_SR_ANSWERS,
        )
    )
    django_connection.ensure_connection()
    raw = django_connection.connection
    copy_started = time.perf_counter()
    with raw.transaction():
        copy_rows(raw, "questionnaires_response", RESPONSE_COLUMNS, rows)
    limit = len(rows) / (time.perf_counter() - copy_started)

    print(f"load generator: Python http.client keep-alive, {args.senders} sender processes, "
          f"{per_sender * args.senders} calls of {BATCH}")
    print(f"figure batch endpoint: {created} responses in {elapsed:.2f}s = {figure:.0f} responses/s; "
          f"per call p50 {harness.percentile(durations, 0.5) * 1000:.0f} ms, "
          f"p95 {harness.percentile(durations, 0.95) * 1000:.0f} ms; failed calls {errors}")
    print(f"limit  COPY of the same {len(rows)} rows into the same table: {limit:.0f} rows/s")
    ratio = figure / limit if limit else 0.0
    harness.result(
        "batch_ingest", figure=figure, unit="responses/s", limit=limit, target="ratio>=0.25,>=10000/s",
        met=ratio >= 0.25 and figure >= 10_000 and not errors,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
