"""Benchmark 1: single submissions (POST /api/v1/responses/) under gunicorn vs an authenticated GET of a tiny endpoint.

Run: .venv/bin/python bench/single_submission.py [--seconds 15] [--connections 16] [--rounds 3]
Both loads hit the same gunicorn (PostgreSQL + Redis, gunicorn.conf.py) from wrk on loopback.
Each load runs `seconds` in total, split into `rounds` segments that alternate GET and POST, so a
machine shared with other work slows both sides alike rather than whichever ran during a busy spell.
Target: POST rate >= 0.5 x GET rate and >= 250 responses/s; p95 latency reported (percentiles: the worst segment's).
"""

from __future__ import annotations

import argparse
from datetime import UTC, datetime, timedelta

import harness
from loadgen import WrkResult, get_script, post_script, run_wrk, wrk_available

TINY_PATH = "/api/v1/questionnaires/srs/"


def combined(segments: list[WrkResult]) -> WrkResult:
    """One result for several runs of the same load: rate over their total time, the worst segment's percentiles."""
    seconds = sum(segment.requests / segment.rate for segment in segments if segment.rate)
    requests = sum(segment.requests for segment in segments)
    return WrkResult(
        requests=requests,
        rate=requests / seconds if seconds else 0.0,
        non_2xx=sum(segment.non_2xx for segment in segments),
        socket_errors=sum(segment.socket_errors for segment in segments),
        p50_ms=max(segment.p50_ms for segment in segments),
        p95_ms=max(segment.p95_ms for segment in segments),
        p99_ms=max(segment.p99_ms for segment in segments),
        output="\n".join(segment.output for segment in segments),
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=int, default=15)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=3, help="alternating GET/POST segments per load")
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
        post = post_script(key=key, clients=len(clients), authored=authored)
        segment_seconds = max(1, args.seconds // max(1, args.rounds))
        gets: list[WrkResult] = []
        posts: list[WrkResult] = []
        for round_number in range(max(1, args.rounds)):
            gets.append(run_wrk(name=f"tiny_get_{round_number}", script=warm, port=port, seconds=segment_seconds,
                                connections=args.connections))
            posts.append(run_wrk(name=f"single_post_{round_number}", script=post, port=port,
                                 seconds=segment_seconds, connections=args.connections))
            print(f"round {round_number + 1}: GET {gets[-1].rate:.1f}/s, POST {posts[-1].rate:.1f}/s", flush=True)
        limit, figure = combined(gets), combined(posts)
    finally:
        processes.stop_all()
    from questionnaires.models import Response

    stored = Response.objects.count()
    print(f"load generator: wrk, 1 thread, {args.connections} keep-alive connections, {args.seconds}s per load "
          f"in {args.rounds} alternating segments")
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
