"""Idempotency-Key on `POST /responses/`: replay, mismatch, clinic scope, and a real race on PostgreSQL."""

from __future__ import annotations

import threading

import pytest
from django.db import connection

from questionnaires.models import Response
from tests import services
from tests.api.conftest import problem_fields, wai_sr


def post(api, payload, key):
    return api.post("/api/v1/responses/", payload, format="json", HTTP_IDEMPOTENCY_KEY=key)


@pytest.mark.django_db
def test_the_same_key_and_body_replays_the_first_result_and_stores_one_row(north):
    api = north.api()
    payload = wai_sr(north.client.external_id)
    first = post(api, payload, "visit-42")
    second = post(api, payload, "visit-42")
    assert first.status_code == second.status_code == 201
    assert second.json() == first.json()
    assert second["Idempotent-Replayed"] == "true"
    assert Response.objects.count() == 1


@pytest.mark.django_db
def test_the_same_key_with_another_body_is_422_and_stores_nothing_new(north):
    api = north.api()
    post(api, wai_sr(north.client.external_id, value=4), "visit-42")
    response = post(api, wai_sr(north.client.external_id, value=5), "visit-42")
    assert response.status_code == 422
    assert response.json()["type"] == "urn:alliance-api:problem:idempotency-mismatch"
    assert problem_fields(response) == {"Idempotency-Key"}
    assert Response.objects.count() == 1


@pytest.mark.django_db
def test_keys_are_scoped_to_the_clinic(north, south):
    post(north.api(), wai_sr(north.client.external_id), "shared-key")
    response = post(south.api(), wai_sr(south.client.external_id), "shared-key")
    assert response.status_code == 201
    assert Response.objects.count() == 2


@pytest.mark.django_db
def test_a_rejected_request_does_not_burn_the_key(north):
    api = north.api()
    bad = post(api, wai_sr("nobody"), "retry-me")
    assert bad.status_code == 400
    good = post(api, wai_sr(north.client.external_id), "retry-me")
    assert good.status_code == 201


@pytest.mark.django_db
@pytest.mark.parametrize("key", ["x" * 201, "tab\there"])
def test_an_unusable_key_is_a_400_naming_the_header(north, key):
    response = post(north.api(), wai_sr(north.client.external_id), key)
    assert response.status_code == 400
    assert problem_fields(response) == {"Idempotency-Key"}


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_concurrent_requests_with_one_key_store_one_row(north):
    """Threads on their own PostgreSQL connections race past the lookup; the unique constraint decides."""
    services.require_postgresql()
    payload = wai_sr(north.client.external_id)
    threads_count = 8
    barrier = threading.Barrier(threads_count)
    statuses: list[int] = []
    bodies: list[dict] = []
    lock = threading.Lock()

    def submit() -> None:
        try:
            api = north.api()
            barrier.wait()
            response = post(api, payload, "race-key")
            with lock:
                statuses.append(response.status_code)
                bodies.append(response.json())
        finally:
            connection.close()

    threads = [threading.Thread(target=submit) for _ in range(threads_count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert Response.objects.filter(idempotency_key="race-key").count() == 1
    assert len(statuses) == threads_count
    assert set(statuses) <= {201, 409}
    stored_id = str(Response.objects.get(idempotency_key="race-key").id)
    assert all(body["id"] == stored_id for body, status in zip(bodies, statuses, strict=True) if status == 201)


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_concurrent_batches_with_the_same_entry_ids_store_each_entry_once(north):
    """Mobile offline sync resending the same batch from two connections at once."""
    import uuid

    services.require_postgresql()
    entries = [wai_sr(north.client.external_id, id=str(uuid.uuid4()), session=index + 1) for index in range(20)]
    threads_count = 4
    barrier = threading.Barrier(threads_count)
    results: list[list[int]] = []
    lock = threading.Lock()

    def submit() -> None:
        try:
            api = north.api()
            barrier.wait()
            response = api.post("/api/v1/responses/batch/", {"responses": entries}, format="json")
            with lock:
                results.append([row["status"] for row in response.json()["results"]])
        finally:
            connection.close()

    threads = [threading.Thread(target=submit) for _ in range(threads_count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert Response.objects.filter(id__in=[entry["id"] for entry in entries]).count() == 20
    assert results == [[201] * 20] * threads_count
