"""`POST /responses/`, `GET /responses/`, `GET /responses/{id}/`: validation, storage, scoring, isolation."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from questionnaires.models import Response
from tests.api.conftest import authorized, problem_fields, recent, srs, wai_sr

pytestmark = pytest.mark.django_db


def test_it_stores_a_valid_response_and_answers_201_with_location(north, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = north.api().post("/api/v1/responses/", wai_sr(north.client.external_id), format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["questionnaire"] == "wai-sr"
    assert body["version"] == "1.0.0"
    assert body["client"] == "north-client-1"
    assert body["rater"] == "client"
    assert response["Location"] == f"/api/v1/responses/{body['id']}/"
    row = Response.objects.get(pk=body["id"])
    assert row.clinic == north.clinic
    assert row.answers == {str(number): 4 for number in range(1, 13)}
    assert row.submitted_by.startswith("api_key:")


def test_it_scores_after_commit_so_the_detail_carries_the_score(north, django_capture_on_commit_callbacks):
    api = north.api()
    with django_capture_on_commit_callbacks(execute=True):
        created = api.post("/api/v1/responses/", wai_sr(north.client.external_id, value=4), format="json").json()
    detail = api.get(f"/api/v1/responses/{created['id']}/")
    assert detail.status_code == 200
    body = detail.json()
    assert body["status"] == "scored"
    # WAI-SR: sum of 12 items answered 4 = 48; goal, task and bond subscales 4 items each = 16.
    assert body["score"]["total"] == 48
    assert body["score"]["subscales"] == {"goal": 16, "task": 16, "bond": 16}
    assert body["score"]["plugin_version"] == "1.0.0"


@pytest.mark.django_db(transaction=True)
def test_in_eager_mode_the_201_already_carries_the_score(north):
    response = north.api().post("/api/v1/responses/", srs(north.client.external_id), format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["status"] == "scored"
    # SRS: 9.2 + 8.7 + 9.0 + 9.1 = 36.0, exactly (Decimal sums), which is not below the 36 cut-off.
    assert body["score"]["total"] == 36
    assert body["score"]["band"] == "no_concern"


def test_it_keeps_decimal_answers_exact(north):
    response = north.api().post("/api/v1/responses/", srs(north.client.external_id), format="json")
    assert response.status_code == 201
    assert Response.objects.get(pk=response.json()["id"]).answers == {"1": 9.2, "2": 8.7, "3": 9.0, "4": 9.1}


def test_it_lists_every_problem_in_one_400_and_writes_nothing(north):
    payload = {
        "questionnaire": "wai-sr",
        "client": "nobody",
        "clinician": "ghost",
        "session": 0,
        "rater": "parent",
        "authored": "yesterday",
        "answers": {"1": 6, "2": "4", "3": True, "99": 1},
        "status": "scored",
        "colour": "blue",
    }
    response = north.api().post("/api/v1/responses/", payload, format="json")
    assert response.status_code == 400
    body = response.json()
    assert body["type"] == "urn:alliance-api:problem:validation"
    assert body["status"] == 400
    assert body["title"]
    fields = problem_fields(response)
    # envelope, references and answers together: one round trip shows the caller everything to fix
    missing_items = {f"answers.{n}" for n in range(4, 13)}
    assert fields == {
        "status", "colour", "session", "rater", "authored", "client", "clinician",
        "answers.1", "answers.2", "answers.3", "answers.99", *missing_items,
    }
    assert not Response.objects.exists()


def test_a_batch_entry_lists_its_envelope_and_answer_problems_together(north):
    entry = {"questionnaire": "srs", "client": north.client.external_id, "authored": "soon", "answers": {"1": 11}}
    response = north.api().post("/api/v1/responses/batch/", {"responses": [entry]}, format="json")
    assert response.status_code == 200
    (result,) = response.json()["results"]
    assert result["status"] == 400
    assert {error["field"] for error in result["errors"]} == {"authored", "answers.1", "answers.2", "answers.3",
                                                               "answers.4"}
    assert not Response.objects.exists()


def test_it_names_each_answer_problem_with_its_path(north):
    payload = wai_sr(north.client.external_id)
    payload["answers"].update({"1": 6, "2": "4", "3": True, "99": 1})
    del payload["answers"]["12"]
    response = north.api().post("/api/v1/responses/", payload, format="json")
    assert response.status_code == 400
    errors = {error["field"]: error for error in response.json()["errors"]}
    assert set(errors) == {"answers.1", "answers.2", "answers.3", "answers.99", "answers.12"}
    assert errors["answers.99"]["code"] == "unknown_item"
    assert errors["answers.12"]["code"] == "required"


def test_it_names_unknown_client_clinician_and_questionnaire_together(north):
    payload = wai_sr("nobody", clinician="ghost")
    payload["questionnaire"] = "no-such-thing"
    response = north.api().post("/api/v1/responses/", payload, format="json")
    assert response.status_code == 400
    assert problem_fields(response) == {"questionnaire", "client", "clinician"}


def test_it_names_an_unknown_version(north):
    response = north.api().post("/api/v1/responses/", wai_sr(north.client.external_id, version="9.9.9"), format="json")
    assert response.status_code == 400
    assert problem_fields(response) == {"version"}


@pytest.mark.parametrize(
    "authored, code",
    [
        ("not a date", "invalid_datetime"),
        ("2024-05-01T10:00:00", "missing_timezone"),
        ((datetime.now(UTC) + timedelta(hours=1)).isoformat(), "in_future"),
        ("0001-01-01T00:00:00+05:00", "out_of_range"),
        (12345, "invalid_type"),
    ],
)
def test_it_rejects_an_unusable_authored_time(north, authored, code):
    response = north.api().post(
        "/api/v1/responses/", wai_sr(north.client.external_id, authored=authored), format="json"
    )
    assert response.status_code == 400
    assert [(e["field"], e["code"]) for e in response.json()["errors"]] == [("authored", code)]


def test_it_allows_a_few_minutes_of_clock_skew(north):
    authored = (datetime.now(UTC) + timedelta(minutes=2)).isoformat()
    response = north.api().post(
        "/api/v1/responses/", wai_sr(north.client.external_id, authored=authored), format="json"
    )
    assert response.status_code == 201


@pytest.mark.parametrize(
    "field, value",
    [
        ("session", True),
        ("session", 10**30),
        ("session", 1.5),
        ("comment", "x" * 2001),
        ("comment", "bad\x00byte"),
        ("client", ["a"]),
        ("questionnaire", {"id": "wai-sr"}),
        ("answers", [1, 2, 3]),
        ("answers", "all fours"),
    ],
)
def test_it_rejects_junk_in_a_field_with_a_400_naming_it(north, field, value):
    payload = wai_sr(north.client.external_id)
    payload[field] = value
    response = north.api().post("/api/v1/responses/", payload, format="json")
    assert response.status_code == 400
    assert field in problem_fields(response)


@pytest.mark.parametrize("body", [b"[]", b"42", b"null", b'"text"', b"{", b"[" * 100000, b'{"a": NaN}'])
def test_it_answers_a_body_that_is_not_an_object_with_a_400_problem(north, body):
    response = north.api().post("/api/v1/responses/", body, content_type="application/json")
    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["errors"][0]["field"] == "body"


def test_it_refuses_form_encoded_bodies_with_415(north):
    response = north.api().post("/api/v1/responses/", {"questionnaire": "wai-sr"})
    assert response.status_code == 415
    assert response["Content-Type"] == "application/problem+json"


def test_it_refuses_a_body_over_the_size_limit_with_413(north, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    payload = wai_sr(north.client.external_id, comment="x" * 1500)
    response = north.api().post("/api/v1/responses/", payload, format="json")
    assert response.status_code == 413
    assert response["Content-Type"] == "application/problem+json"


def test_a_staff_submission_defaults_the_clinician_to_the_caller(north):
    from tests.api.conftest import staff_api

    response = staff_api(north.clinician).post(
        "/api/v1/responses/", wai_sr(north.client.external_id, session=3, rater="clinician"), format="json"
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["clinician"] == "north-clinician"
    assert body["session"] == 3
    assert body["rater"] == "clinician"


def test_it_accepts_a_named_clinician_of_the_clinic_but_not_of_another(north, south):
    ok = north.api().post("/api/v1/responses/", wai_sr("north-client-1", clinician="north-clinician"), format="json")
    assert ok.status_code == 201
    other = north.api().post("/api/v1/responses/", wai_sr("north-client-1", clinician="south-clinician"), format="json")
    assert other.status_code == 400
    assert problem_fields(other) == {"clinician"}


def test_another_clinics_client_is_as_unknown_as_a_missing_one(north, south):
    foreign = north.api().post("/api/v1/responses/", wai_sr(south.client.external_id), format="json")
    missing = north.api().post("/api/v1/responses/", wai_sr("south-client-404"), format="json")
    assert foreign.status_code == missing.status_code == 400
    assert foreign.json()["errors"][0]["code"] == missing.json()["errors"][0]["code"] == "unknown"
    assert not Response.objects.exists()


def test_the_detail_of_another_clinics_response_is_404(north, south):
    created = north.api().post("/api/v1/responses/", wai_sr(north.client.external_id), format="json").json()
    response = south.api().get(f"/api/v1/responses/{created['id']}/")
    assert response.status_code == 404
    assert response["Content-Type"] == "application/problem+json"
    assert "north" not in response.content.decode()


@pytest.mark.parametrize("bad_id", ["not-a-uuid", "0", "%00", "1" * 300])
def test_a_malformed_response_id_is_a_404_problem(north, bad_id):
    response = north.api().get(f"/api/v1/responses/{bad_id}/")
    assert response.status_code == 404
    assert response["Content-Type"] == "application/problem+json"


def test_the_list_filters_by_client_questionnaire_status_and_authored_range(north, south):
    api = north.api()
    old = (datetime.now(UTC) - timedelta(days=30)).isoformat()
    api.post("/api/v1/responses/", wai_sr("north-client-1", authored=old), format="json")
    api.post("/api/v1/responses/", srs("north-client-1"), format="json")
    south.api().post("/api/v1/responses/", wai_sr(south.client.external_id), format="json")

    everything = api.get("/api/v1/responses/").json()
    assert everything["count"] == 2
    assert {row["client"] for row in everything["results"]} == {"north-client-1"}
    assert api.get("/api/v1/responses/?questionnaire=srs").json()["count"] == 1
    assert api.get("/api/v1/responses/?client=north-client-1&status=pending").json()["count"] == 2
    assert api.get("/api/v1/responses/?status=scored").json()["count"] == 0
    cutoff = (datetime.now(UTC) - timedelta(days=1)).isoformat()
    after = api.get("/api/v1/responses/", {"authored_after": cutoff}).json()
    assert [row["questionnaire"] for row in after["results"]] == ["srs"]
    before = api.get("/api/v1/responses/", {"authored_before": cutoff}).json()
    assert [row["questionnaire"] for row in before["results"]] == ["wai-sr"]


@pytest.mark.parametrize("query", ["status=done", "authored_after=last-week", "client=%00"])
def test_a_bad_filter_value_is_a_400_naming_the_parameter(north, query):
    response = north.api().get(f"/api/v1/responses/?{query}")
    assert response.status_code == 400
    assert problem_fields(response) == {query.split("=")[0]}


def test_the_page_size_is_capped_not_refused(north):
    api = north.api()
    for _ in range(3):
        api.post("/api/v1/responses/", wai_sr("north-client-1"), format="json")
    page = api.get("/api/v1/responses/?page_size=100000").json()
    assert page["count"] == 3 and len(page["results"]) == 3
    small = api.get("/api/v1/responses/?page_size=2").json()
    assert len(small["results"]) == 2 and small["next"]


def test_without_a_credential_it_is_401_with_a_challenge():
    response = authorized("").post("/api/v1/responses/", {}, format="json")
    assert response.status_code == 401
    assert response["Content-Type"] == "application/problem+json"
    assert "Api-Key" in response["WWW-Authenticate"]


def test_recent_helper_is_in_the_past():
    assert datetime.fromisoformat(recent()) < datetime.now(UTC)


def test_an_authored_offset_postgresql_would_refuse_is_stored_in_utc(north):
    """Python accepts offsets up to ±23:59, PostgreSQL only ±15:59: found by the fuzzer."""
    day = (datetime.now(UTC) - timedelta(days=30)).date()
    payload = wai_sr(north.client.external_id, authored=f"{day.isoformat()}T22:32:57-20:53")
    response = north.api().post("/api/v1/responses/", payload, format="json")
    assert response.status_code == 201, response.content
    stored = Response.objects.get(pk=response.json()["id"]).authored_at
    assert stored == datetime(day.year, day.month, day.day, 19, 25, 57, tzinfo=UTC) + timedelta(days=1)


@pytest.mark.parametrize("value", ["0054-02-28T22:32:57.06-20:53", "0001-01-01T00:00:00+05:00"])
def test_a_date_filter_at_the_edge_of_the_calendar_is_not_a_500(north, value):
    response = north.api().get("/api/v1/responses/", {"authored_before": value})
    assert response.status_code in (200, 400)
