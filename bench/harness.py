"""What every benchmark shares: environment, provisioning, child processes that always die, the RESULT line.

A benchmark sets the environment before Django loads, provisions one clinic in the bench
database, starts gunicorn and/or a Celery worker on loopback, measures, and kills what it
started in a `finally` (and on SIGTERM/SIGINT), so a failed run leaves nothing behind.
"""

from __future__ import annotations

import atexit
import os
import platform
import signal
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
DATABASE_URL = os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/alliance_bench")
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/7")
LOG_DIR = ROOT / "var" / "bench"

WAI_SR_ANSWERS = {str(number): 4 for number in range(1, 13)}


def bench_environment(**extra: str) -> dict[str, str]:
    """Production-shaped settings on loopback: DEBUG off, no TLS redirect, no throttling."""
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "alliance_api.settings",
        "DATABASE_URL": DATABASE_URL,
        "REDIS_URL": REDIS_URL,
        "CELERY_BROKER_URL": REDIS_URL,
        "SECRET_KEY": "bench-only-secret-key-not-for-production-0123456789abcdef",
        "SECURE_SSL_REDIRECT": "0",
        "DEBUG": "0",
        "THROTTLE_RATE": "",
        "ALLOWED_HOSTS": "127.0.0.1",
        "PYTHONUNBUFFERED": "1",
        # The sweep is not running in a benchmark; keep a beat-less deployment honest.
        "SCORING_SWEEP_PENDING_AFTER_SECONDS": "3600",
    }
    env.update(extra)
    return env


def setup_django(**extra: str) -> None:
    """Load Django in this process against the bench database (provisioning, COPY, checks)."""
    os.environ.update(bench_environment(**extra))
    sys.path.insert(0, str(ROOT))
    _ensure_database()
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)


def _ensure_database() -> None:
    name = DATABASE_URL.rsplit("/", 1)[1]
    server = DATABASE_URL.rsplit("/", 1)[0] + "/postgres"
    import psycopg

    with psycopg.connect(server, autocommit=True) as connection:
        if not connection.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            connection.execute(f'CREATE DATABASE "{name}"')


def reset_data() -> None:
    """Empty the response side of the bench database and the bench broker; definitions and plugins stay."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "TRUNCATE questionnaires_response, questionnaires_metricrollup, questionnaires_auditevent CASCADE"
        )
        # Write out what an earlier benchmark left dirty now, not as a checkpoint in the middle of this one.
        cursor.execute("CHECKPOINT")
    import redis

    redis.Redis.from_url(REDIS_URL).flushdb()


def provision(*, clients: int = 100) -> tuple[str, list[str]]:
    """One clinic with an API key and `clients` therapy clients; returns (key, external ids)."""
    from questionnaires.models import Clinic, TherapyClient
    from questionnaires.services.provisioning import clinic_api_key_create, clinic_create

    clinic = Clinic.objects.filter(slug="bench").first() or clinic_create(slug="bench", name="Bench Clinic")
    _, key = clinic_api_key_create(clinic=clinic, name=f"bench-{int(time.time())}", actor="bench")
    existing = set(TherapyClient.objects.filter(clinic=clinic).values_list("external_id", flat=True))
    wanted = [f"bench-client-{number}" for number in range(clients)]
    TherapyClient.objects.bulk_create(
        [TherapyClient(clinic=clinic, external_id=external_id) for external_id in wanted if external_id not in existing]
    )
    return key, wanted


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Processes:
    """Child processes started by a benchmark; all are killed (process group) on exit, error or signal."""

    def __init__(self) -> None:
        self.children: list[subprocess.Popen] = []
        LOG_DIR.mkdir(parents=True, exist_ok=True)
        atexit.register(self.stop_all)
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, self._on_signal)

    def _on_signal(self, signum, frame) -> None:
        self.stop_all()
        raise SystemExit(128 + signum)

    def start(self, name: str, argv: Sequence[str], env: dict[str, str]) -> subprocess.Popen:
        log = open(LOG_DIR / f"{name}.log", "w")
        child = subprocess.Popen(
            list(argv), cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        self.children.append(child)
        return child

    def stop(self, child: subprocess.Popen, timeout: float = 10) -> None:
        if child.poll() is None:
            try:
                os.killpg(child.pid, signal.SIGTERM)
                child.wait(timeout=timeout)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                try:
                    os.killpg(child.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                child.wait(timeout=5)
        if child in self.children:
            self.children.remove(child)

    def stop_all(self) -> None:
        for child in list(self.children):
            self.stop(child)

    def gunicorn(self, *, port: int, workers: int | None = None, threads: int | None = None, **extra: str):
        env = bench_environment(**extra)
        if workers:
            env["WEB_CONCURRENCY"] = str(workers)
        if threads:
            env["GUNICORN_THREADS"] = str(threads)
        child = self.start(
            f"gunicorn-{port}",
            [str(Path(PYTHON).parent / "gunicorn"), "-c", str(ROOT / "gunicorn.conf.py"), "-b", f"127.0.0.1:{port}",
             "alliance_api.wsgi"],
            env,
        )
        wait_for_http(f"http://127.0.0.1:{port}/healthz", child)
        return child

    def worker(self, *, queues: str = "scoring,aggregation,webhooks", name: str = "bench", **extra: str):
        env = bench_environment(**extra)
        child = self.start(
            f"worker-{name}",
            [PYTHON, "-m", "celery", "-A", "alliance_api", "worker", "-Q", queues, "-P", "solo", "-c", "1",
             "-n", f"{name}-{os.getpid()}@localhost", "--without-gossip", "--without-mingle", "-l", "WARNING"],
            env,
        )
        wait_for_worker(f"{name}-{os.getpid()}@localhost", child)
        return child


def wait_for_http(url: str, child: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if child.poll() is not None:
            raise RuntimeError(f"{url}: server exited with {child.returncode}; see {LOG_DIR}")
        try:
            with urllib.request.urlopen(url, timeout=2) as answer:
                if answer.status < 500:
                    return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer within {timeout}s")


def wait_for_worker(name: str, child: subprocess.Popen, timeout: float = 60) -> None:
    from alliance_api.celery import app

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if child.poll() is not None:
            raise RuntimeError(f"worker exited with {child.returncode}; see {LOG_DIR}")
        if app.control.ping(destination=[name], timeout=0.5):
            return
    raise RuntimeError(f"worker {name} did not answer a ping within {timeout}s")


def percentile(values: Sequence[float], fraction: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(fraction * (len(ordered) - 1))))]


def machine() -> str:
    model = platform.processor() or "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
        memory_kb = next(
            int(line.split()[1]) for line in Path("/proc/meminfo").read_text().splitlines()
            if line.startswith("MemTotal")
        )
    except (OSError, StopIteration):
        memory_kb = 0
    memory = f"{memory_kb / 1024 / 1024:.1f}GiB"
    return f"nproc={os.cpu_count()} cpu={model!r} ram={memory} python={platform.python_version()}"


def result(
    name: str, *, figure: float, unit: str, limit: float, target: str, met: bool, higher_is_better: bool = True
) -> str:
    """Print and return the one summary line every benchmark ends with."""
    ratio = figure / limit if limit else float("nan")
    line = (
        f"RESULT {name} figure={figure:.6g} {unit} limit={limit:.6g} ratio={ratio:.3f} "
        f"target={target.replace(' ', '')} {'met' if met else 'missed'}"
    )
    print(line, flush=True)
    return line


def mean(values: Sequence[float]) -> float:
    return statistics.fmean(values) if values else float("nan")
