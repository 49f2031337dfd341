"""`/questionnaires/` (definitions, versions, languages) and `/alerts/` (list, filters, acknowledge)."""

from __future__ import annotations

import pytest

from questionnaires.models import Alert
from tests.api.conftest import client_token_api, problem_fields, staff_api

pytestmark = pytest.mark.django_db


def test_the_questionnaire_list_has_the_latest_version_of_each(north):
    body = north.api().get("/api/v1/questionnaires/?page_size=500").json()
    ids = [definition["id"] for definition in body["results"]]
    assert {"wai-sr", "srs", "ors", "phq-9", "gad-7"} <= set(ids)
    assert len(ids) == len(set(ids))


def test_a_questionnaire_detail_serves_labels_but_not_licensed_text(north):
    body = north.api().get("/api/v1/questionnaires/wai-sr/").json()
    assert body["id"] == "wai-sr" and body["version"] == "1.0.0"
    assert len(body["items"]) == 12
    assert all("text" not in item for item in body["items"])  # WAI-SR: labels only (licence)
    assert body["license"] and body["reference"]


def test_public_domain_text_is_served(north):
    body = north.api().get("/api/v1/questionnaires/phq-9/").json()
    assert all(item.get("text") for item in body["items"] if item["linkId"] in {"1", "9"})


def test_a_specific_version_can_be_asked_for(north):
    assert north.api().get("/api/v1/questionnaires/wai-sr/?version=1.0.0").json()["version"] == "1.0.0"
    missing = north.api().get("/api/v1/questionnaires/wai-sr/?version=0.0.1")
    assert missing.status_code == 404
    assert missing["Content-Type"] == "application/problem+json"


def test_an_unknown_questionnaire_is_404(north):
    assert north.api().get("/api/v1/questionnaires/nope/").status_code == 404


def test_accept_language_picks_an_offered_translation_or_falls_back_to_english(north):
    from questionnaires.registry import get_registry

    translated = next((d for d in get_registry().latest() if d.translations), None)
    api = north.api()
    fallback = api.get("/api/v1/questionnaires/wai-sr/", HTTP_ACCEPT_LANGUAGE="xx-YY, tlh;q=0.5")
    assert fallback.json()["language"] == "en"
    assert fallback["Content-Language"] == "en"
    if translated is None:
        pytest.skip("no built-in questionnaire offers a translation")
    language = sorted(translated.translations)[0]
    body = api.get(f"/api/v1/questionnaires/{translated.id}/", HTTP_ACCEPT_LANGUAGE=f"{language}-XX, en;q=0.1").json()
    assert body["language"] == language


def test_a_client_token_may_read_questionnaires(north):
    assert client_token_api(north.client).get("/api/v1/questionnaires/").status_code == 200


# --- alerts ---------------------------------------------------------------------------------------------


def make_alert(client, kind="low_alliance", priority="normal", acknowledged=False):
    from django.utils import timezone

    return Alert.objects.create(
        clinic=client.clinic, client=client, questionnaire_id="srs", kind=kind, priority=priority,
        message=f"{kind} for {client.external_id}", acknowledged_at=timezone.now() if acknowledged else None,
    )


def test_alerts_are_listed_for_the_clinic_and_filtered(north, south):
    make_alert(north.client, kind="low_alliance")
    make_alert(north.client, kind="risk", priority="high", acknowledged=True)
    make_alert(south.client)
    api = north.api()
    everything = api.get("/api/v1/alerts/").json()
    # Both reasons are of the same client and day: one alert listing them, risk first.
    assert everything["count"] == 1
    [alert] = everything["results"]
    assert alert["client"] == "north-client-1"
    assert (alert["kind"], alert["priority"], alert["kinds"]) == ("risk", "high", ["risk", "low_alliance"])
    assert alert["acknowledged_at"] is None  # low_alliance is not acknowledged yet
    # Filters pick reasons: the session alert lists those that match.
    assert [row["kinds"] for row in api.get("/api/v1/alerts/?priority=high").json()["results"]] == [["risk"]]
    assert [row["kinds"] for row in api.get("/api/v1/alerts/?acknowledged=false").json()["results"]] == [
        ["low_alliance"]
    ]
    assert api.get("/api/v1/alerts/?client=north-client-1&kind=risk").json()["count"] == 1


def test_a_bad_alert_filter_is_a_400(north):
    response = north.api().get("/api/v1/alerts/?priority=urgent")
    assert response.status_code == 400
    assert problem_fields(response) == {"priority"}


def test_acknowledging_records_who_and_when_once(north):
    alert = make_alert(north.client)
    api = staff_api(north.supervisor)
    first = api.post(f"/api/v1/alerts/{alert.id}/acknowledge/")
    assert first.status_code == 200
    assert first.json()["acknowledged_by"] == "user:north-supervisor"
    again = north.api().post(f"/api/v1/alerts/{alert.id}/acknowledge/")
    assert again.json()["acknowledged_at"] == first.json()["acknowledged_at"]
    assert again.json()["acknowledged_by"] == "user:north-supervisor"


def test_a_clinician_sees_only_alerts_of_their_caseload(north):
    from tests.factories import TherapyClientFactory

    stranger = TherapyClientFactory(clinic=north.clinic, external_id="not-mine")
    mine, theirs = make_alert(north.client), make_alert(stranger)
    api = staff_api(north.clinician)
    assert [row["id"] for row in api.get("/api/v1/alerts/").json()["results"]] == [mine.id]
    assert api.post(f"/api/v1/alerts/{theirs.id}/acknowledge/").status_code == 404


@pytest.mark.parametrize("alert_id", ["abc", "0", "-1", "99999999999999999999999", "²"])
def test_a_malformed_alert_id_is_a_404(north, alert_id):
    assert north.api().post(f"/api/v1/alerts/{alert_id}/acknowledge/").status_code == 404
