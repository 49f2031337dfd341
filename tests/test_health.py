"""`/healthz`, and a real task round trip through Redis and a worker process."""

from __future__ import annotations

import pytest

from questionnaires.tasks.health import ping


@pytest.mark.django_db
def test_healthz_reports_database_and_broker(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["database"]["ok"] is True
    assert body["broker"]["ok"] is True


@pytest.mark.django_db
def test_healthz_names_the_failing_part(client, monkeypatch):
    monkeypatch.setattr("questionnaires.views.health.broker_status", lambda: "Connection refused")
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["failing"] == ["broker"]
    assert response.json()["broker"]["error"] == "Connection refused"


@pytest.mark.services
def test_a_task_round_trips_through_redis_and_a_real_worker(celery_worker_process):
    result = ping.delay("hello from the test")
    assert result.get(timeout=20) == "hello from the test"
