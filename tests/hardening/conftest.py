"""Fixtures for the hardening suite: gunicorn as a real subprocess on a free loopback port, on the test database."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests import services
from tests.api.test_permissions import world  # noqa: F401  (north's objects, shared with the isolation matrix)
from tests.conftest import ROOT, _database_url_for_worker


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Gunicorn:
    """One gunicorn master (gunicorn.conf.py) and its workers, killed as a process group."""

    def __init__(self, env: dict[str, str], log_path: Path) -> None:
        self.env = env
        self.log_path = log_path
        self.port = free_port()
        self.process: subprocess.Popen | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 60) -> None:
        log = open(self.log_path, "w")
        self.process = subprocess.Popen(
            [str(Path(sys.executable).parent / "gunicorn"), "-c", str(ROOT / "gunicorn.conf.py"),
             "-b", f"127.0.0.1:{self.port}", "alliance_api.wsgi"],
            cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited with {self.process.returncode}; see {self.log_path}")
            try:
                with urllib.request.urlopen(f"{self.base_url}/healthz", timeout=2):
                    return
            except OSError:
                time.sleep(0.2)
        raise RuntimeError(f"gunicorn did not answer within {timeout}s; see {self.log_path}")

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        try:
            os.killpg(self.process.pid, 15)
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, 9)
            self.process.wait(timeout=5)
        except ProcessLookupError:
            pass


@pytest.fixture
def gunicorn_server(transactional_db, redis_url, request):
    """gunicorn per gunicorn.conf.py (2 workers x 8 threads, its default) on the test database; rate limits off."""
    services.require_postgresql()
    env = {
        **os.environ,
        "DATABASE_URL": _database_url_for_worker(),
        "REDIS_URL": redis_url,
        "CELERY_BROKER_URL": redis_url,
        "ALLOWED_HOSTS": "127.0.0.1",
        "DEBUG": "0",
        "THROTTLE_RATE": "",
        "WEB_CONCURRENCY": "2",
        "GUNICORN_THREADS": "8",
        "PYTHONUNBUFFERED": "1",
    }
    env.pop("SECRET_KEY", None)  # no TLS redirect on plain loopback HTTP
    log_path = ROOT / "test-artifacts" / f"gunicorn-{request.node.name[:60]}.log"
    log_path.parent.mkdir(exist_ok=True)
    server = Gunicorn(env, log_path)
    server.start()
    yield server
    server.stop()


@pytest.fixture(autouse=True)
def counts_on_the_terminal(capsys):
    """The suite's counts (calls, statuses, submitted/stored/lost) are its report: show them in CI's log."""
    yield
    printed = capsys.readouterr().out
    if printed:
        with capsys.disabled():
            print("\n" + printed, end="")
