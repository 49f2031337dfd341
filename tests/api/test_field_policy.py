"""One disclosure rule for every endpoint that returns responses, checked against every principal kind.

Client tokens never see the clinician's own ratings and notes about them; API keys never see
the client's words; staff see both (table in questionnaires/selectors/responses.py).
"""

from __future__ import annotations

import json

import pytest

from questionnaires.models import Alert, Response
from tests.api.conftest import client_token_api, staff_api, wai_sr

CLIENT_WORDS = "client-words-7f3a"
THERAPIST_NOTE = "therapist-note-91bc"

# kind -> (sees the clinician-rated response, sees the client's comment)
EXPECTED = {
    "api_key": (True, False),
    "supervisor": (True, True),
    "clinician": (True, True),
    "client_token": (False, True),
}


@pytest.fixture
def rated(north, django_capture_on_commit_callbacks):
    """A low client rating with a comment (raises an alert) and the clinician's own rating with a note."""
    with django_capture_on_commit_callbacks(execute=True):
        own = client_token_api(north.client).post(
            "/api/v1/responses/", wai_sr(north.client.external_id, value=1, comment=CLIENT_WORDS), format="json"
        )
        therapist = staff_api(north.clinician).post(
            "/api/v1/responses/",
            wai_sr(north.client.external_id, value=3, rater="clinician", comment=THERAPIST_NOTE),
            format="json",
        )
    assert own.status_code == therapist.status_code == 201, (own.content, therapist.content)
    Alert.objects.create(
        clinic=north.clinic, client=north.client, response_id=own.json()["id"], questionnaire_id="wai-sr",
        kind="probe", message="probe",
    )
    return {"client": own.json()["id"], "clinician": therapist.json()["id"]}


def api_for(kind: str, north):
    if kind == "api_key":
        return north.api()
    if kind == "client_token":
        return client_token_api(north.client)
    return staff_api(north.supervisor if kind == "supervisor" else north.clinician)


def endpoints(north, rated) -> list[str]:
    patient = north.client.external_id
    return [
        "/api/v1/responses/",
        f"/api/v1/responses/{rated['client']}/",
        f"/api/v1/responses/{rated['clinician']}/",
        f"/api/v1/clients/{patient}/scores/",
        f"/api/v1/clients/{patient}/scores/?questionnaire=wai-sr",
        "/api/v1/alerts/",
        f"/fhir/QuestionnaireResponse?subject=Patient/{patient}",
        f"/fhir/QuestionnaireResponse/{rated['clinician']}",
        f"/fhir/Observation?subject=Patient/{patient}",
    ]


@pytest.mark.django_db
@pytest.mark.parametrize("kind", sorted(EXPECTED))
def test_every_endpoint_returning_responses_follows_one_disclosure_rule(north, rated, kind):
    sees_clinician_rating, sees_comment = EXPECTED[kind]
    api = api_for(kind, north)
    seen = ""
    for path in endpoints(north, rated):
        answer = api.get(path, HTTP_ACCEPT="application/fhir+json" if path.startswith("/fhir/") else "application/json")
        assert answer.status_code in (200, 403, 404), (kind, path, answer.status_code)
        if answer.status_code == 200:  # an error names the path it was asked for
            seen += answer.content.decode()
    assert (rated["clinician"] in seen) is sees_clinician_rating, kind
    assert (THERAPIST_NOTE in seen) is (sees_clinician_rating and sees_comment), kind
    assert (CLIENT_WORDS in seen) is sees_comment, kind
    assert rated["client"] in seen, kind


@pytest.mark.django_db
def test_a_client_token_reading_the_clinicians_rating_by_id_gets_404(north, rated):
    api = client_token_api(north.client)
    assert api.get(f"/api/v1/responses/{rated['clinician']}/").status_code == 404
    fhir = api.get(f"/fhir/QuestionnaireResponse/{rated['clinician']}", HTTP_ACCEPT="application/fhir+json")
    assert fhir.status_code == 404


@pytest.mark.django_db
def test_an_api_key_reads_the_response_without_the_clients_comment_but_staff_with_it(north, rated):
    by_key = north.api().get(f"/api/v1/responses/{rated['client']}/").json()
    by_staff = staff_api(north.clinician).get(f"/api/v1/responses/{rated['client']}/").json()
    assert "comment" not in by_key
    assert by_staff["comment"] == CLIENT_WORDS
    assert Response.objects.get(pk=rated["client"]).comment == CLIENT_WORDS


@pytest.mark.django_db
def test_the_client_sees_its_own_trajectory_without_the_clinicians_side(north, rated):
    points = client_token_api(north.client).get(f"/api/v1/clients/{north.client.external_id}/scores/").json()
    raters = {point["rater"] for point in points["points"]}
    assert raters == {"client"}
    assert all("alerts" not in point for point in points["points"])
    assert json.dumps(points).count(CLIENT_WORDS) == 1
