"""Bad configuration stops a process at start with one line naming the setting."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
REAL_LOOKING_SECRET = "k3y-" + "x7Qp9sLm2vR8tZ4wN6yB1cD5fG0hJ3kA" * 2


def run_python(code: str, **env: str) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL"}}
    return subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env={**clean, **env}, capture_output=True, text=True, timeout=60
    )


@pytest.mark.parametrize(
    ("setting", "value"),
    [("DATABASE_URL", "postgres//missing-colon"), ("DATABASE_URL", "nosuchdb://x"), ("DEBUG", "maybe")],
)
def test_an_unusable_setting_fails_fast_with_one_line_naming_it(setting, value):
    setup = "import os, django; os.environ['DJANGO_SETTINGS_MODULE'] = 'alliance_api.settings'; django.setup()"
    result = run_python(setup, **{setting: value})
    assert result.returncode == 2
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert lines == [lines[0]] and lines[0].startswith(f"configuration error: {setting}:")
    assert "Traceback" not in result.stderr


def test_a_web_process_stops_when_the_broker_is_unreachable():
    result = run_python("import alliance_api.wsgi", CELERY_BROKER_URL="redis://127.0.0.1:1/0")
    assert result.returncode == 2
    assert "configuration error: CELERY_BROKER_URL:" in result.stderr
    assert "Traceback" not in result.stderr


def test_the_production_checklist_is_clean_with_a_real_secret_and_hosts():
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env={
            **{k: v for k, v in os.environ.items() if k != "DJANGO_ALLOW_ASYNC_UNSAFE"},
            "SECRET_KEY": REAL_LOOKING_SECRET,
            "ALLOWED_HOSTS": "alliance.example.org",
        },
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr
