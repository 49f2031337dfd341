"""`GET /api/v1/expected-change/`: the clinic's own curves with provenance; bad input is a problem document."""

from __future__ import annotations

import pytest

from questionnaires.models import AuditEvent
from questionnaires.registry import get_registry
from questionnaires.services.expected_change import expected_change_curves_refresh
from tests.api.conftest import client_token_api, problem_fields, staff_api
from tests.expected_change_data import finished_episodes

pytestmark = pytest.mark.django_db


@pytest.fixture
def north_curve(north):
    finished_episodes(
        clinic=north.clinic, definition=get_registry().get("phq-9"), count=30, intake_total=20, intake_band="severe",
        intercept=1.0, slope=4.0, noise_sd=1.5, seed=16, sessions=6, prefix="api",
    )
    expected_change_curves_refresh(clinic_ids=[north.clinic.id])


def test_it_lists_the_clinics_curves_with_provenance_and_the_limit_per_session(north, north_curve):
    answer = north.api().get("/api/v1/expected-change/", {"questionnaire": "phq-9"})
    assert answer.status_code == 200, answer.content
    body = answer.json()
    assert (body["questionnaire"], body["min_episodes"]) == ("phq-9", 30)
    [curve] = body["results"]
    assert (curve["band"], curve["source"], curve["n_episodes"], curve["max_session"]) == ("severe", "clinic", 30, 6)
    assert curve["fitted_at"] and "Finch" in curve["reference"]
    assert [row["session"] for row in curve["sessions"]] == [2, 3, 4, 5, 6]
    second = curve["sessions"][0]
    assert second["limit"] == pytest.approx(second["expected_improvement"] - curve["tolerance"], abs=2e-3)
    assert AuditEvent.objects.filter(object_type="expected_change_curve", action="list").exists()


def test_staff_read_it_and_a_client_token_may_not(north, north_curve):
    assert len(staff_api(north.clinician).get("/api/v1/expected-change/").json()["results"]) == 1
    assert len(staff_api(north.supervisor).get("/api/v1/expected-change/").json()["results"]) == 1
    assert client_token_api(north.client).get("/api/v1/expected-change/").status_code == 403


def test_another_clinic_sees_none_of_them(north, south, north_curve):
    answer = south.api().get("/api/v1/expected-change/", {"questionnaire": "phq-9"})
    assert answer.status_code == 200
    assert answer.json()["results"] == []


def test_an_instrument_without_curves_is_a_400_naming_the_field(north):
    for value in ("srs", "nope", "x" * 500):
        answer = north.api().get("/api/v1/expected-change/", {"questionnaire": value})
        assert answer.status_code == 400
        assert answer["Content-Type"].startswith("application/problem+json")
        assert problem_fields(answer) == {"questionnaire"}
    listed = north.api().get("/api/v1/expected-change/", {"questionnaire": "nope"}).json()["errors"][0]["message"]
    assert {"phq-9", "gad-7", "core-10", "ors"} <= {name.strip() for name in listed.split("one of", 1)[1].split(",")}


def test_an_integration_may_subscribe_to_not_on_track_alone(north, settings):
    settings.WEBHOOK_ALLOWED_HOSTS = ["hooks.example.org"]
    answer = north.api().post(
        "/api/v1/webhooks/", {"url": "https://hooks.example.org/alliance", "events": ["not_on_track"]}, format="json"
    )
    assert answer.status_code == 201, answer.content
    assert answer.json()["events"] == ["not_on_track"]
