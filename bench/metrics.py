"""Benchmark 4: /api/v1/metrics/ latency over a large generated history, full recompute time, incremental update time.

Run: .venv/bin/python bench/metrics.py [--rows 10000000] [--reuse]
Data comes from bench/generate_data.py (COPY). The recompute is `manage.py recompute_metrics`'s
function; the incremental update is the aggregation task's function on 1,000 new scores. The
endpoint is read through gunicorn with wrk; its limit is the same deployment's tiny authenticated GET.
Targets: metrics p95 <= 20 ms; full recompute <= 60 s; incremental update after 1,000 new scores <= 1 s.
"""

from __future__ import annotations

import argparse
import time
from datetime import UTC, datetime, timedelta

import generate_data
import harness
from loadgen import get_script, run_wrk

CLINIC_PATH = "/api/v1/metrics/?questionnaire=wai-sr&group_by=clinic&period=month"
"""The dashboard's default: every month of the whole history, clinic-wide."""
CLINICIAN_WEEKS = 12
"""Clinician cells by week over the last quarter (all weeks of 50 clinicians over two years is a 1 MB answer)."""
TINY_PATH = "/api/v1/questionnaires/srs/"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--reuse", action="store_true", help="keep the generated rows if the clinic has enough")
    parser.add_argument("--seconds", type=int, default=10)
    args = parser.parse_args()
    harness.setup_django()
    from django.db import connection

    from questionnaires.models import Clinic, Response
    from questionnaires.services.metrics import metrics_recompute, metrics_rollup
    from questionnaires.services.provisioning import clinic_api_key_create, clinic_create

    print(harness.machine())
    clinic = Clinic.objects.filter(slug=generate_data.CLINIC).first() or clinic_create(
        slug=generate_data.CLINIC, name="Bench Metrics Clinic"
    )
    have = Response.objects.filter(clinic=clinic).count() if args.reuse else 0
    if have < args.rows:
        generate_data.clear(connection, clinic.id)
        _, seconds = generate_data.generate(rows=args.rows, care=True)
        print(f"generated {args.rows} responses + scores in {seconds:.1f}s ({args.rows / seconds:.0f}/s)")
    else:
        print(f"reusing {have} generated responses")
    total_rows = Response.objects.count()
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
        cursor.execute("SELECT pg_size_pretty(pg_database_size(current_database()))")
        size = cursor.fetchone()[0]
    print(f"responses in the database: {total_rows}; database size {size}")

    started = time.perf_counter()
    cells = metrics_recompute()
    recompute = time.perf_counter() - started
    print(f"full recompute: {cells} cells in {recompute:.1f}s")

    new_ids, _ = generate_data.generate(
        rows=1000, start=datetime.now(UTC) - timedelta(days=3), span_days=2, in_rollups=False
    )
    started = time.perf_counter()
    added = metrics_rollup(response_ids=new_ids)
    incremental = time.perf_counter() - started
    print(f"incremental update: {added} new scores added to the rollups in {incremental * 1000:.0f} ms")

    _, key = clinic_api_key_create(clinic=clinic, name=f"bench-metrics-{int(time.time())}", actor="bench")
    processes = harness.Processes()
    try:
        port = harness.free_port()
        processes.gunicorn(port=port)
        since = (datetime.now(UTC) - timedelta(weeks=CLINICIAN_WEEKS)).date().isoformat()
        clinician_path = f"/api/v1/metrics/?questionnaire=wai-sr&group_by=clinician&period=week&from={since}"
        run_wrk(name="metrics_warm", script=get_script(key=key, path=CLINIC_PATH), port=port, seconds=2,
                connections=4)
        runs = {}
        for connections in (1, 4):
            for name, path in (("tiny", TINY_PATH), ("clinic", CLINIC_PATH), ("clinician", clinician_path)):
                runs[name, connections] = run_wrk(
                    name=f"metrics_{name}_c{connections}", script=get_script(key=key, path=path), port=port,
                    seconds=args.seconds, connections=connections,
                )
    finally:
        processes.stop_all()
    # The figure is a dashboard's latency, one request at a time; 4 connections saturate the two
    # cores (wrk, gunicorn and PostgreSQL share them), which is reported beside it.
    figure = max(runs["clinic", 1], runs["clinician", 1], key=lambda run: run.p95_ms)
    limit = runs["tiny", 1]
    print(f"load generator: wrk, keep-alive, {args.seconds}s per run, 1 and then 4 connections")
    for connections in (1, 4):
        for name, path in (("tiny", TINY_PATH), ("clinic", CLINIC_PATH), ("clinician", clinician_path)):
            run = runs[name, connections]
            role = "limit " if name == "tiny" else "figure"
            print(f"{role} c={connections} GET {path}: p95 {run.p95_ms:.1f} ms, p50 {run.p50_ms:.1f} ms "
                  f"({run.rate:.0f} req/s, non-2xx {run.non_2xx})")
    met = figure.p95_ms <= 20 and recompute <= 60 and incremental <= 1 and not any(
        run.non_2xx for run in runs.values()
    )
    print(f"targets: p95 {figure.p95_ms:.1f} ms <= 20 ms {'met' if figure.p95_ms <= 20 else 'missed'}; "
          f"recompute {recompute:.1f}s <= 60s {'met' if recompute <= 60 else 'missed'} at {total_rows} rows; "
          f"incremental {incremental:.2f}s <= 1s {'met' if incremental <= 1 else 'missed'}")
    harness.result(
        "metrics", figure=figure.p95_ms, unit="ms_p95", limit=limit.p95_ms,
        target=f"p95<=20ms,recompute<=60s({recompute:.1f}s),incremental<=1s({incremental:.2f}s)@{total_rows}rows",
        met=met,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
