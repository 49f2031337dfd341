"""Benchmark 1: single submissions (POST /api/v1/responses/) under gunicorn vs an authenticated GET of a tiny endpoint.

Run: .venv/bin/python bench/single_submission.py [--seconds 15] [--connections 16]
Both loads hit the same gunicorn (PostgreSQL + Redis, gunicorn.conf.py) from wrk on loopback.
Target: POST rate >= 0.5 x GET rate and >= 250 responses/s; p95 latency reported.
"""

from __future__ import annotations

import argparse
from datetime import UTC, datetime, timedelta

import harness
from loadgen import get_script, post_script, run_wrk, wrk_available

TINY_PATH = "/api/v1/questionnaires/srs/"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=int, default=15)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--workers", type=int, default=None, help="gunicorn workers (default: gunicorn.conf.py)")
    parser.add_argument("--threads", type=int, default=None, help="threads per worker (default: gunicorn.conf.py)")
    args = parser.parse_args()
    if not wrk_available():
        raise SystemExit("wrk is not installed (Debian: apt-get install wrk)")
    harness.setup_django()
    harness.reset_data()
    key, clients = harness.provision(clients=100)
    print(harness.machine())
    processes = harness.Processes()
    try:
        port = harness.free_port()
        processes.gunicorn(port=port, workers=args.workers, threads=args.threads)
        authored = (datetime.now(UTC) - timedelta(minutes=1)).isoformat()
        warm = get_script(key=key, path=TINY_PATH)
        run_wrk(name="warmup", script=warm, port=port, seconds=2, connections=args.connections)
        limit = run_wrk(name="tiny_get", script=warm, port=port, seconds=args.seconds, connections=args.connections)
        figure = run_wrk(
            name="single_post", script=post_script(key=key, clients=len(clients), authored=authored), port=port,
            seconds=args.seconds, connections=args.connections,
        )
    finally:
        processes.stop_all()
    from questionnaires.models import Response

    stored = Response.objects.count()
    print(f"load generator: wrk, 1 thread, {args.connections} keep-alive connections, {args.seconds}s per run")
    print(f"limit  GET {TINY_PATH}: {limit.rate:.1f} req/s, p50 {limit.p50_ms:.1f} ms, p95 {limit.p95_ms:.1f} ms, "
          f"non-2xx {limit.non_2xx}")
    print(f"figure POST /api/v1/responses/: {figure.rate:.1f} responses/s, p50 {figure.p50_ms:.1f} ms, "
          f"p95 {figure.p95_ms:.1f} ms, p99 {figure.p99_ms:.1f} ms, non-2xx {figure.non_2xx}, "
          f"socket errors {figure.socket_errors}, rows stored {stored} (wrk counted {figure.requests})")
    ratio = figure.rate / limit.rate if limit.rate else 0.0
    met = ratio >= 0.5 and figure.rate >= 250 and figure.non_2xx == 0
    harness.result(
        "single_submission", figure=figure.rate, unit="responses/s", limit=limit.rate,
        target="ratio>=0.5,>=250/s", met=met,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
