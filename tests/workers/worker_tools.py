"""Tools for the real-worker tests: waiting on database state, restarting the worker, stopping Redis."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable

import redis

REDIS_START = [
    "redis-server", "--daemonize", "yes", "--bind", "127.0.0.1", "-::1", "--port", "6379", "--save", "",
    "--appendonly", "no", "--dir", "/var/lib/redis", "--logfile", "/var/log/redis/ci.log",
]


def wait_until(condition: Callable[[], bool], *, timeout: float = 90, interval: float = 0.25, what: str = "") -> None:
    """Poll until `condition()` holds; a deadline is only a guard against hanging, never an assertion on speed."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(interval)
    raise AssertionError(f"gave up waiting for {what or condition}")


def restart_worker(worker, **env: str) -> None:
    worker.stop()
    worker.env.update(env)
    worker.start()


def redis_stop() -> None:
    subprocess.run(["redis-cli", "-h", "127.0.0.1", "-p", "6379", "shutdown", "nosave"], check=False,
                   capture_output=True, timeout=10)
    wait_until(lambda: not _redis_answers(), timeout=15, what="Redis to stop")


def redis_start() -> None:
    if not _redis_answers():
        subprocess.run(REDIS_START, check=False, capture_output=True, timeout=10)
    wait_until(_redis_answers, timeout=30, what="Redis to answer again")


def _redis_answers() -> bool:
    try:
        return bool(redis.Redis(host="127.0.0.1", port=6379, socket_connect_timeout=0.5).ping())
    except redis.RedisError:
        return False
