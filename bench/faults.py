"""Fault drill outside the tests: steady submissions while Redis is stopped (60 s default), then PostgreSQL restarts.

Run: .venv/bin/python bench/faults.py [--redis-outage 60] [--rate 20]   (FAULT_REDIS_OUTAGE_SECONDS also sets it)
Uses the hardening suite's load (tests/hardening/load.py): every submission has its own Idempotency-Key and
is retried with it until acknowledged. Stops machine-wide services: Redis and PostgreSQL are restarted in
`finally` blocks, but other users of this machine see the outage.
Prints submitted / acknowledged / stored / scored / duplicates / lost per scenario; the target is 0 and 0.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import harness

sys.path.insert(0, str(harness.ROOT))


def sweep_until_scored(clinic_id: int, timeout: float = 300) -> None:
    from questionnaires.models import Response
    from questionnaires.services.publishing import broker_backoff_reset
    from questionnaires.services.sweep import responses_sweep

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        broker_backoff_reset()
        responses_sweep(pending_after_seconds=0)
        if not Response.objects.filter(clinic_id=clinic_id, status=Response.Status.PENDING).exists():
            return
        time.sleep(3)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--redis-outage", type=float, default=float(os.environ.get("FAULT_REDIS_OUTAGE_SECONDS", 60)))
    parser.add_argument("--rate", type=float, default=20)
    args = parser.parse_args()
    harness.setup_django()
    harness.reset_data()
    harness.provision(clients=1)
    from django.db import connection

    from questionnaires.models import Clinic
    from questionnaires.services.provisioning import clinic_api_key_create
    from tests.hardening.load import SteadyLoad, counts
    from tests.hardening.test_faults import ensure_postgresql, postgresql_ctl
    from tests.workers.worker_tools import redis_start, redis_stop

    clinic = Clinic.objects.get(slug="bench")
    _, key = clinic_api_key_create(clinic=clinic, name=f"bench-faults-{int(time.time())}", actor="bench")
    print(harness.machine())
    processes = harness.Processes()
    bad = 0
    try:
        port = harness.free_port()
        processes.gunicorn(port=port, workers=2, threads=4)
        processes.worker(name="bench-faults")
        for scenario in ("redis", "postgresql"):
            load = SteadyLoad(port=port, api_key=key, client="bench-client-0", rate=args.rate)
            load.start()
            try:
                time.sleep(3)
                if scenario == "redis":
                    redis_stop()
                    time.sleep(args.redis_outage)
                else:
                    postgresql_ctl("restart")
            finally:
                redis_start()
                ensure_postgresql()
            time.sleep(3)
            load.stop()
            connection.close()
            sweep_until_scored(clinic.id)
            result = counts(load, clinic.id)
            label = f"Redis down {args.redis_outage:.0f}s" if scenario == "redis" else "PostgreSQL restart"
            print(result.line(label))
            bad += result.duplicates + result.lost + result.server_errors + (result.stored - result.scored)
    finally:
        processes.stop_all()
        redis_start()
        ensure_postgresql()
    harness.result("faults", figure=bad, unit="lost+duplicated+5xx+unscored", limit=0, target="0", met=bad == 0)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
