"""The layers written in pyproject.toml hold, and the tasks services publish by name exist on their queues."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from alliance_api.celery import app
from questionnaires.services.publishing import (
    EXPORT_RUN,
    METRICS_ROLLUP,
    OUTCOMES_REFRESH,
    SCORE_BATCH,
    TASK_NAMES,
    WEBHOOK_DELIVER,
)

ROOT = Path(__file__).resolve().parent.parent


def test_the_import_contracts_hold_layers_and_no_cycles():
    # The same check `make lint` runs in CI; here too so `make test` alone catches a wrong-way import.
    # In a process of its own: import-linter changes process-wide state (logging) that later tests read.
    linted = subprocess.run(
        [str(Path(sys.executable).with_name("lint-imports")), "--no-cache", "--no-logo"],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )
    assert linted.returncode == 0, linted.stdout + linted.stderr


@pytest.mark.parametrize(
    ("name", "queue"),
    [
        (SCORE_BATCH, "scoring"), (METRICS_ROLLUP, "aggregation"), (OUTCOMES_REFRESH, "aggregation"),
        (WEBHOOK_DELIVER, "webhooks"), (EXPORT_RUN, "exports"),
    ],
)
def test_each_task_published_by_name_is_registered_and_routed_to_its_queue(name, queue):
    assert name in TASK_NAMES
    assert name in app.tasks  # registered in this (Django) process by QuestionnairesConfig.ready()
    assert app.amqp.router.route({}, name)["queue"].name == queue  # by the settings' routes alone
    assert app.amqp.router.route({}, name, task_type=app.tasks[name])["queue"].name == queue


def test_the_registry_and_the_contract_import_without_django_configured():
    # Plugin authors and tooling load and check definitions without a Django project.
    environment = {key: value for key, value in os.environ.items() if key != "DJANGO_SETTINGS_MODULE"}
    loaded = subprocess.run(
        [sys.executable, "-c", "import questionnaires.registry, questionnaires.contract, plugins"],
        cwd=ROOT, env=environment, capture_output=True, text=True, timeout=60,
    )
    assert loaded.returncode == 0, loaded.stderr
