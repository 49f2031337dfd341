"""`/clients/`: create, list, detail and the score trajectory."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from questionnaires.models import TherapyClient
from tests.api.conftest import problem_fields, srs, staff_api, wai_sr

pytestmark = pytest.mark.django_db


def test_an_integration_creates_a_client_with_its_clinicians(north):
    response = north.api().post(
        "/api/v1/clients/", {"external_id": "ehr-77", "clinicians": ["north-clinician"]}, format="json"
    )
    assert response.status_code == 201, response.content
    assert response.json()["external_id"] == "ehr-77"
    assert response.json()["clinicians"] == ["north-clinician"]
    assert response["Location"] == "/api/v1/clients/ehr-77/"
    assert TherapyClient.objects.get(external_id="ehr-77").clinic == north.clinic


def test_a_clinician_who_creates_a_client_gets_it_on_their_caseload(north, settings):
    settings.CLINICIANS_MAY_REGISTER_CLIENTS = True
    api = staff_api(north.clinician)
    created = api.post("/api/v1/clients/", {"external_id": "walk-in"}, format="json")
    assert created.json()["clinicians"] == ["north-clinician"]
    assert api.get("/api/v1/clients/walk-in/").status_code == 200


def test_a_duplicate_external_id_is_a_409(north):
    response = north.api().post("/api/v1/clients/", {"external_id": "north-client-1"}, format="json")
    assert response.status_code == 409
    assert problem_fields(response) == {"external_id"}


def test_the_same_external_id_may_exist_in_two_clinics(north, south):
    response = south.api().post("/api/v1/clients/", {"external_id": "north-client-1"}, format="json")
    assert response.status_code == 201


@pytest.mark.parametrize("external_id", ["a/b", "", "x" * 129, "nul\x00", " padded", 42, None])
def test_an_unusable_external_id_is_a_400_naming_it(north, external_id):
    response = north.api().post("/api/v1/clients/", {"external_id": external_id}, format="json")
    assert response.status_code == 400
    assert problem_fields(response) == {"external_id"}


def test_unknown_clinicians_and_fields_are_each_named(north, south):
    response = north.api().post(
        "/api/v1/clients/",
        {"external_id": "c-1", "clinicians": ["north-clinician", "south-clinician", "ghost"], "clinic": 2},
        format="json",
    )
    assert response.status_code == 400
    assert problem_fields(response) == {"clinic"}
    response = north.api().post(
        "/api/v1/clients/", {"external_id": "c-1", "clinicians": ["north-clinician", "south-clinician", "ghost"]},
        format="json",
    )
    assert problem_fields(response) == {"clinicians.1", "clinicians.2"}
    assert not TherapyClient.objects.filter(external_id="c-1").exists()


def test_the_list_shows_the_clinic_to_supervisors_and_the_caseload_to_clinicians(north, south):
    from tests.factories import TherapyClientFactory

    TherapyClientFactory(clinic=north.clinic, external_id="north-client-2")
    supervisor = staff_api(north.supervisor).get("/api/v1/clients/").json()
    clinician = staff_api(north.clinician).get("/api/v1/clients/").json()
    key = north.api().get("/api/v1/clients/?page_size=1").json()
    assert [c["external_id"] for c in supervisor["results"]] == ["north-client-1", "north-client-2"]
    assert [c["external_id"] for c in clinician["results"]] == ["north-client-1"]
    assert key["count"] == 2 and len(key["results"]) == 1 and key["next"]


def test_the_list_filters_by_clinician(north):
    from tests.factories import TherapyClientFactory

    TherapyClientFactory(clinic=north.clinic, external_id="north-client-2")
    body = north.api().get("/api/v1/clients/?clinician=north-clinician").json()
    assert [c["external_id"] for c in body["results"]] == ["north-client-1"]


def test_a_clinician_cannot_read_a_client_outside_their_caseload(north):
    from tests.factories import TherapyClientFactory

    TherapyClientFactory(clinic=north.clinic, external_id="not-mine")
    assert staff_api(north.clinician).get("/api/v1/clients/not-mine/").status_code == 404
    assert staff_api(north.supervisor).get("/api/v1/clients/not-mine/").status_code == 200


def test_the_scores_trajectory_is_oldest_first_with_flags(north, django_capture_on_commit_callbacks):
    api = north.api()
    now = datetime.now(UTC)
    two_weeks_ago, last_week = (now - timedelta(days=14)).isoformat(), (now - timedelta(days=7)).isoformat()
    with django_capture_on_commit_callbacks(execute=True):
        api.post(
            "/api/v1/responses/",
            srs("north-client-1", values=(9.5, 9.5, 9.5, 9.5), session=1, authored=two_weeks_ago),
            format="json",
        )
        api.post(
            "/api/v1/responses/",
            srs("north-client-1", values=(8.0, 9.0, 9.0, 9.0), session=2, authored=last_week),
            format="json",
        )
        api.post("/api/v1/responses/", wai_sr("north-client-1", session=2), format="json")
    body = api.get("/api/v1/clients/north-client-1/scores/?questionnaire=srs").json()
    assert body["client"] == "north-client-1"
    points = body["points"]
    assert [point["session"] for point in points] == [1, 2]
    # 4 x 9.5 = 38 (no concern); 8 + 9 + 9 + 9 = 35 < 36 (concern) with item 1 below 9.
    assert [point["total"] for point in points] == [38, 35]
    assert points[1]["band"] == "concern"
    assert set(points[1]["flags"]) >= {"low_alliance", "low_item"}
    assert all(point["questionnaire"] == "srs" for point in points)
    everything = api.get("/api/v1/clients/north-client-1/scores/").json()["points"]
    assert {point["questionnaire"] for point in everything} == {"srs", "wai-sr"}


def test_a_clinician_may_not_register_clients_by_default_so_a_409_cannot_reveal_other_caseloads(north):
    from questionnaires.models import TherapyClient

    TherapyClient.objects.create(clinic=north.clinic, external_id="someone-elses")
    api = staff_api(north.clinician)
    taken = api.post("/api/v1/clients/", {"external_id": "someone-elses"}, format="json")
    free = api.post("/api/v1/clients/", {"external_id": "never-used"}, format="json")
    assert taken.status_code == free.status_code == 403
    assert taken.json()["detail"] == free.json()["detail"]
    assert not TherapyClient.objects.filter(external_id="never-used").exists()


def test_a_supervisor_registers_clients(north):
    created = staff_api(north.supervisor).post("/api/v1/clients/", {"external_id": "by-supervisor"}, format="json")
    assert created.status_code == 201
