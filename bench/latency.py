"""Benchmark 5: submit -> score visible, at a steady 100 requests/s, with gunicorn and one worker process.

Run: .venv/bin/python bench/latency.py [--rate 100] [--seconds 20]
A paced Python load generator (separate process, keep-alive http.client threads) records when
each POST was sent; the score's `computed_at` (same machine clock) marks when it became visible.
The limit is the POST's own p95 latency: a score cannot be visible before the submission is answered.
Target: p95 <= 1 s.
"""

from __future__ import annotations

import argparse
import http.client
import json
import multiprocessing
import threading
import time
from datetime import UTC, datetime, timedelta

import harness

THREADS = 8


def paced_sender(port: int, key: str, clients: list[str], rate: float, seconds: float, results) -> None:
    """THREADS keep-alive connections, each sending at rate/THREADS per second on a fixed schedule."""
    authored = (datetime.now(UTC) - timedelta(minutes=1)).isoformat()
    records: list[tuple[str | None, float, float, int]] = []
    lock = threading.Lock()
    start = time.time() + 0.5

    def run(offset: int) -> None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        interval = THREADS / rate
        number = 0
        while True:
            due = start + offset * (1 / rate) + number * interval
            if due > start + seconds:
                break
            pause = due - time.time()
            if pause > 0:
                time.sleep(pause)
            body = json.dumps({
                "questionnaire": "wai-sr", "client": clients[(number * THREADS + offset) % len(clients)],
                "authored": authored, "answers": harness.WAI_SR_ANSWERS,
            })
            sent = time.time()
            try:
                connection.request("POST", "/api/v1/responses/", body=body, headers={
                    "Authorization": f"Api-Key {key}", "Content-Type": "application/json"})
                answer = connection.getresponse()
                payload = answer.read()
                status = answer.status
                response_id = json.loads(payload).get("id") if status == 201 else None
            except OSError:
                connection.close()
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                status, response_id = 0, None
            with lock:
                records.append((response_id, sent, time.time() - sent, status))
            number += 1

    threads = [threading.Thread(target=run, args=(offset,)) for offset in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    results.put(records)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rate", type=float, default=100)
    parser.add_argument("--seconds", type=float, default=20)
    args = parser.parse_args()
    harness.setup_django()
    harness.reset_data()
    key, clients = harness.provision(clients=1000)
    print(harness.machine())
    processes = harness.Processes()
    context = multiprocessing.get_context("spawn")
    try:
        port = harness.free_port()
        processes.gunicorn(port=port)
        processes.worker(queues="scoring,aggregation,webhooks", name="bench-latency")
        from questionnaires.models import Response

        results = context.Queue()
        load = context.Process(target=paced_sender, args=(port, key, clients, args.rate, args.seconds, results))
        load.start()
        records = results.get(timeout=args.seconds * 3 + 60)
        load.join(timeout=10)
        ids = [record[0] for record in records if record[0]]
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if not Response.objects.filter(id__in=ids, status=Response.Status.PENDING).exists():
                break
            time.sleep(0.5)
    finally:
        processes.stop_all()
    from questionnaires.models import Score

    computed = dict(Score.objects.filter(response_id__in=ids).values_list("response_id", "computed_at"))
    sent_at = {record[0]: record[1] for record in records if record[0]}
    delays = [
        computed[response_id].timestamp() - sent_at[str(response_id)]
        for response_id in computed
        if str(response_id) in sent_at
    ]
    post_latencies = [record[2] for record in records if record[3] == 201]
    failures = sum(1 for record in records if record[3] != 201)
    achieved = len(records) / args.seconds
    figure = harness.percentile(delays, 0.95)
    limit = harness.percentile(post_latencies, 0.95)
    print(f"load generator: Python, {THREADS} paced keep-alive threads in one process; "
          f"offered {args.rate:.0f}/s, sent {len(records)} in {args.seconds:.0f}s ({achieved:.1f}/s), "
          f"non-201 {failures}")
    print(f"limit  POST p95 {limit * 1000:.0f} ms (p50 {harness.percentile(post_latencies, 0.5) * 1000:.0f} ms)")
    print(f"figure submit -> score visible: p50 {harness.percentile(delays, 0.5) * 1000:.0f} ms, "
          f"p95 {figure * 1000:.0f} ms, max {max(delays, default=0) * 1000:.0f} ms; "
          f"{len(computed)} of {len(ids)} scored")
    harness.result(
        "latency", figure=figure * 1000, unit="ms_p95", limit=limit * 1000, target="p95<=1000ms@100req/s",
        met=figure <= 1.0 and len(computed) == len(ids) and not failures and achieved >= 0.95 * args.rate,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
