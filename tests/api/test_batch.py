"""`POST /responses/batch/`: per-entry results in input order, client-generated ids, limits, few queries."""

from __future__ import annotations

import uuid

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from questionnaires.models import Response
from questionnaires.services.responses import BATCH_MAX_ENTRIES
from tests.api.conftest import client_token_api, problem_fields, srs, wai_sr

pytestmark = pytest.mark.django_db

URL = "/api/v1/responses/batch/"


def test_it_stores_good_entries_and_reports_bad_ones_in_input_order(north):
    entries = [
        wai_sr(north.client.external_id),
        wai_sr("nobody"),
        srs(north.client.external_id, values=(11, 5, 5, 5)),
        wai_sr(north.client.external_id, session=2),
    ]
    response = north.api().post(URL, {"responses": entries}, format="json")
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["created"], body["replayed"], body["rejected"]) == (2, 0, 2)
    results = body["results"]
    assert [result["index"] for result in results] == [0, 1, 2, 3]
    assert [result["status"] for result in results] == [201, 400, 400, 201]
    assert results[1]["errors"] == [{"field": "client", "message": "unknown client", "code": "unknown"}]
    assert [error["field"] for error in results[2]["errors"]] == ["answers.1"]
    stored = set(Response.objects.values_list("id", flat=True))
    assert stored == {uuid.UUID(results[0]["id"]), uuid.UUID(results[3]["id"])}
    assert set(Response.objects.values_list("source", flat=True)) == {"batch"}


def test_client_generated_ids_make_a_resent_batch_a_replay(north):
    entry = wai_sr(north.client.external_id, id=str(uuid.uuid4()))
    api = north.api()
    first = api.post(URL, {"responses": [entry]}, format="json").json()
    second = api.post(URL, {"responses": [entry]}, format="json").json()
    assert first["results"] == [{"index": 0, "status": 201, "id": entry["id"]}]
    assert second["results"] == [{"index": 0, "status": 201, "id": entry["id"], "replayed": True}]
    assert Response.objects.count() == 1


def test_a_known_id_with_other_content_is_a_422_entry(north):
    response_id = str(uuid.uuid4())
    api = north.api()
    api.post(URL, {"responses": [wai_sr(north.client.external_id, id=response_id, value=4)]}, format="json")
    again = api.post(URL, {"responses": [wai_sr(north.client.external_id, id=response_id, value=5)]}, format="json")
    result = again.json()["results"][0]
    assert result["status"] == 422
    assert result["errors"][0]["field"] == "id"
    assert Response.objects.count() == 1


def test_a_repeated_id_inside_one_batch_is_stored_once(north):
    entry = wai_sr(north.client.external_id, id=str(uuid.uuid4()))
    changed = {**entry, "session": 9}
    body = north.api().post(URL, {"responses": [entry, entry, changed]}, format="json").json()
    assert [result["status"] for result in body["results"]] == [201, 201, 422]
    assert body["results"][1]["replayed"] is True
    assert Response.objects.count() == 1


def test_an_id_used_by_another_clinic_is_a_conflict_without_its_data(north, south):
    response_id = str(uuid.uuid4())
    north.api().post(URL, {"responses": [wai_sr(north.client.external_id, id=response_id)]}, format="json")
    body = south.api().post(URL, {"responses": [wai_sr(south.client.external_id, id=response_id)]}, format="json")
    result = body.json()["results"][0]
    assert result["status"] == 409
    assert "id" not in result
    assert "north" not in body.content.decode()
    assert Response.objects.get().clinic == north.clinic


def test_another_clinics_clients_are_unknown_in_a_batch(north, south):
    body = south.api().post(URL, {"responses": [wai_sr(north.client.external_id)]}, format="json").json()
    assert body["results"][0]["status"] == 400
    assert body["results"][0]["errors"][0]["field"] == "client"
    assert not Response.objects.exists()


def test_a_batch_over_the_limit_is_refused_whole(north):
    entries = [wai_sr(north.client.external_id)] * (BATCH_MAX_ENTRIES + 1)
    response = north.api().post(URL, {"responses": entries}, format="json")
    assert response.status_code == 413
    assert problem_fields(response) == {"responses"}
    assert not Response.objects.exists()


@pytest.mark.parametrize(
    "body, field",
    [
        ({}, "responses"),
        ({"responses": []}, "responses"),
        ({"responses": "many"}, "responses"),
        ({"responses": [], "extra": 1}, "extra"),
        ([], "body"),
    ],
)
def test_a_malformed_batch_envelope_is_a_400(north, body, field):
    response = north.api().post(URL, body, format="json")
    assert response.status_code == 400
    assert field in problem_fields(response)


@pytest.mark.parametrize("entry", [[], 7, None, "x", {"id": "not-a-uuid"}, {"id": 5}])
def test_junk_entries_are_400_entries_not_a_failed_call(north, entry):
    body = north.api().post(URL, {"responses": [entry, wai_sr(north.client.external_id)]}, format="json").json()
    assert [result["status"] for result in body["results"]] == [400, 201]


def test_a_client_token_may_batch_for_its_own_client_only(north):
    from tests.factories import TherapyClientFactory

    other = TherapyClientFactory(clinic=north.clinic, external_id="north-client-2")
    api = client_token_api(north.client)
    entries = [wai_sr(north.client.external_id), wai_sr(other.external_id), {**wai_sr("x"), "client": None}]
    body = api.post(URL, {"responses": entries}, format="json").json()
    assert [result["status"] for result in body["results"]] == [201, 400, 201]
    assert set(Response.objects.values_list("client__external_id", flat=True)) == {"north-client-1"}


def test_a_large_batch_costs_a_constant_number_of_queries(north):
    """Bulk lookups and one bulk insert: other queries must not grow with the entries.

    (SQLite splits a bulk insert into chunks of its parameter limit, so inserts are counted apart.)
    """
    from tests.factories import TherapyClientFactory

    for number in range(2, 6):
        TherapyClientFactory(clinic=north.clinic, external_id=f"north-client-{number}").clinicians.add(north.clinician)
    api = north.api()
    api.get("/api/v1/questionnaires/")  # the credential's once-a-minute last-used update happens here

    def queries_for(count: int) -> tuple[int, int]:
        entries = [wai_sr(f"north-client-{1 + index % 5}", clinician="north-clinician") for index in range(count)]
        with CaptureQueriesContext(connection) as captured:
            response = api.post(URL, {"responses": entries}, format="json")
        assert response.json()["created"] == count
        statements = [query["sql"] for query in captured.captured_queries]
        inserts = [sql for sql in statements if sql.startswith('INSERT INTO "questionnaires_response"')]
        return len(statements) - len(inserts), len(inserts)

    small_other, _ = queries_for(10)
    large_other, large_inserts = queries_for(200)
    assert large_other == small_other
    assert large_inserts <= 200 / 25
