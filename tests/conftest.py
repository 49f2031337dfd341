"""Shared fixtures: two clinic personas ("north" and "south") and a real Celery worker process."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.db import connection
from rest_framework.test import APIClient

from questionnaires.models import ClinicAPIKey, StaffMembership, TherapyClient
from tests import services
from tests.factories import ClinicFactory, MembershipFactory, TherapyClientFactory

ROOT = Path(__file__).resolve().parent.parent


@dataclass
class Persona:
    """One clinic with an API key, a clinician, a supervisor and a client on the clinician's caseload."""

    clinic: object
    api_key: str
    clinician: object
    supervisor: object
    client: TherapyClient

    def api(self) -> APIClient:
        api = APIClient()
        api.credentials(HTTP_AUTHORIZATION=f"Api-Key {self.api_key}")
        return api


def make_persona(slug: str) -> Persona:
    clinic = ClinicFactory(slug=slug, name=f"{slug.title()} Clinic")
    _, key = ClinicAPIKey.objects.create_key(name=f"{slug}-integration", clinic=clinic)
    clinician = MembershipFactory(clinic=clinic, user__username=f"{slug}-clinician").user
    supervisor = MembershipFactory(
        clinic=clinic, user__username=f"{slug}-supervisor", role=StaffMembership.Role.SUPERVISOR
    ).user
    client = TherapyClientFactory(clinic=clinic, external_id=f"{slug}-client-1")
    client.clinicians.add(clinician)
    return Persona(clinic=clinic, api_key=key, clinician=clinician, supervisor=supervisor, client=client)


@pytest.fixture(autouse=True)
def _fhir_canonical_base(settings) -> None:
    """The test client reaches the server as http://testserver; its canonicals say the same (FHIR_CANONICAL_BASE)."""
    settings.FHIR_CANONICAL_BASE = "http://testserver/fhir"
    settings.FHIR_CANONICAL_ALIASES = []


@pytest.fixture
def north(db) -> Persona:
    return make_persona("north")


@pytest.fixture
def south(db) -> Persona:
    return make_persona("south")


@pytest.fixture(autouse=True)
def fresh_audit_denial_windows(monkeypatch):
    """Refused-credential audit windows live in the shared cache; each test starts with its own."""
    import uuid

    monkeypatch.setattr("questionnaires.services.audit.DENIAL_KEY_PREFIX", f"audit-denial-{uuid.uuid4().hex}")


@pytest.fixture(autouse=True)
def eager_celery_by_default(settings):
    """Unit tests run tasks in-process; tests with a real worker switch this off."""
    from alliance_api.celery import app

    previous = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = previous


@pytest.fixture
def redis_url() -> str:
    return services.redis_url()


def _database_url_for_worker() -> str:
    """The URL of the database this test run uses (pytest-django's test database)."""
    params = connection.settings_dict
    user = params.get("USER") or ""
    password = f":{params['PASSWORD']}" if params.get("PASSWORD") else ""
    auth = f"{user}{password}@" if user else ""
    host = params.get("HOST") or "127.0.0.1"
    port = f":{params['PORT']}" if params.get("PORT") else ""
    return f"postgres://{auth}{host}{port}/{params['NAME']}"


@pytest.fixture
def celery_worker_process(transactional_db, redis_url, request):
    """A real `celery worker` subprocess on Redis and the test PostgreSQL database.

    Tests using it commit their data (transactional_db), since the worker reads it
    over its own connection.
    """
    services.require_postgresql()
    from alliance_api.celery import app

    app.conf.task_always_eager = False
    env = {
        **os.environ,
        "DATABASE_URL": _database_url_for_worker(),
        "CELERY_BROKER_URL": redis_url,
        "REDIS_URL": redis_url,
        "PYTHONUNBUFFERED": "1",
    }
    log_path = ROOT / "test-artifacts" / f"worker-{request.node.name[:60]}.log"
    log_path.parent.mkdir(exist_ok=True)
    log = open(log_path, "w")
    worker = WorkerProcess(env=env, log=log)
    try:
        worker.start()
        yield worker
    finally:
        worker.stop()
        log.close()


class WorkerProcess:
    """Starts, kills and restarts one `celery worker` process."""

    queues = "scoring,aggregation,webhooks,exports"

    def __init__(self, env: dict, log) -> None:
        self.env = env
        self.log = log
        self.process: subprocess.Popen | None = None

    def start(self, timeout: float = 30) -> None:
        from alliance_api.celery import app

        name = f"test-{os.getpid()}-{time.monotonic_ns()}@localhost"
        self.process = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "alliance_api", "worker", "-Q", self.queues,
             "-P", "solo", "-c", "1", "-n", name, "--without-gossip", "--without-mingle", "-l", "INFO"],
            cwd=ROOT, env=self.env, stdout=self.log, stderr=subprocess.STDOUT,
        )
        try:
            self._wait_for_ping(app, name, timeout)
        except BaseException:
            self.kill()  # a worker that never answered must not outlive the test
            raise

    def _wait_for_ping(self, app, name: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"celery worker exited with {self.process.returncode}; see {self.log.name}")
            try:
                if app.control.ping(destination=[name], timeout=0.5):
                    return
            except OSError:  # the broker is briefly unreachable: keep asking until the deadline
                time.sleep(0.5)
        raise RuntimeError(f"celery worker did not answer a ping within {timeout}s; see {self.log.name}")

    def kill(self) -> None:
        """SIGKILL: the worker gets no chance to ack or clean up."""
        if self.process and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill()


@pytest.fixture
def licensed_text_pack(settings, tmp_path):
    """A local text pack for SRS and ORS, as a licensed deployment would have: without one, an
    instrument whose item text is not licensed is not offered on the client form page.

    The wording is made up for tests (each item's short label plus a marker); German uses the labels.
    """
    import json

    from questionnaires.registry import get_registry

    pack: dict = {}
    for questionnaire_id in ("srs", "ors"):
        definition = get_registry().get(questionnaire_id)
        german = definition.translations["de"].labels
        pack[questionnaire_id] = {"*": {
            "en": {item.link_id: f"{item.label} (licensed test wording)" for item in definition.items},
            "de": {item.link_id: german[item.link_id] for item in definition.items},
        }}
    path = tmp_path / "licensed-text-pack.json"
    path.write_text(json.dumps(pack), encoding="utf-8")
    settings.QUESTIONNAIRE_TEXT_PACKS = [str(path)]
    return path
