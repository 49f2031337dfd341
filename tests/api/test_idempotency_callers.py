"""Idempotency-Keys, batch entry ids and FHIR identifiers belong to the caller that used them.

A replay answers only the caller that stored the first response (same credential kind, same
staff member or therapy client), for the same subject and content; another caller's identical
key is another response, never a lockout and never someone else's resource.
"""

from __future__ import annotations

import uuid

import pytest

from questionnaires.models import Alert, ClinicAPIKey, Response
from tests.api.conftest import client_token_api, problem_fields, staff_api, wai_sr
from tests.factories import TherapyClientFactory
from tests.fhir.conftest import FhirClient, body
from tests.fhir.conftest import phq9_resource as fhir_phq9


def post(api, payload, key):
    return api.post("/api/v1/responses/", payload, format="json", HTTP_IDEMPOTENCY_KEY=key)


def phq9_resource(subject: str, values: tuple[int, ...], identifier: str = "form-2001") -> dict:
    return fhir_phq9(subject, values, identifier=identifier, system="urn:example:app")


@pytest.fixture
def second_client(north):
    client = TherapyClientFactory(clinic=north.clinic, external_id="north-client-2")
    client.clinicians.add(north.clinician)
    return client


@pytest.mark.django_db
def test_an_ehr_identifier_first_used_by_a_client_app_stores_the_ehrs_response_and_its_risk_alert(
    north, second_client, django_capture_on_commit_callbacks
):
    """The assessment's case: a2's PHQ-9 with item 9 "nearly every day" must not be answered with a1's resource."""
    app = FhirClient(authorization=client_token_api(north.client)._credentials["HTTP_AUTHORIZATION"])
    first = app.post("/fhir/QuestionnaireResponse", phq9_resource(north.client.external_id, (1,) * 8 + (0,)))
    assert first.status_code == 201, first.content

    ehr = FhirClient(api_key=north.api_key)
    # Hand-computed: 0*8 + 3 = 3, band none-minimal (0-4), item 9 >= 1 flags risk (Kroenke et al. 2001).
    with django_capture_on_commit_callbacks(execute=True):
        second = ehr.post("/fhir/QuestionnaireResponse", phq9_resource(second_client.external_id, (0,) * 8 + (3,)))

    assert second.status_code == 201, second.content
    assert body(second)["subject"]["reference"] == f"Patient/{second_client.external_id}"
    stored = Response.objects.get(client=second_client)
    assert stored.answers["9"] == 3
    assert stored.scores.get().flags == ["risk"]
    assert Alert.objects.filter(response=stored, kind="risk").exists()
    assert Response.objects.get(client=north.client).answers["9"] == 0


@pytest.mark.django_db
def test_a_fhir_identifier_resent_by_the_same_caller_with_other_answers_is_a_conflict_not_the_old_resource(north):
    ehr = FhirClient(api_key=north.api_key)
    first = ehr.post("/fhir/QuestionnaireResponse", phq9_resource(north.client.external_id, (1,) * 8 + (0,)))
    assert first.status_code == 201
    again = ehr.post("/fhir/QuestionnaireResponse", phq9_resource(north.client.external_id, (1,) * 8 + (0,)))
    assert again.status_code == 200
    assert body(again)["id"] == body(first)["id"]

    other = ehr.post("/fhir/QuestionnaireResponse", phq9_resource(north.client.external_id, (1,) * 8 + (2,)))

    assert other.status_code == 422, other.content
    outcome = body(other)
    assert outcome["resourceType"] == "OperationOutcome"
    assert outcome["issue"][0]["code"] == "duplicate"
    assert outcome["issue"][0]["expression"] == ["QuestionnaireResponse.identifier"]
    assert "other content" in outcome["issue"][0]["diagnostics"]
    assert Response.objects.count() == 1


@pytest.mark.django_db
def test_the_same_caller_reusing_a_fhir_identifier_for_another_subject_gets_no_resource_of_the_first(
    north, second_client
):
    ehr = FhirClient(api_key=north.api_key)
    ehr.post("/fhir/QuestionnaireResponse", phq9_resource(north.client.external_id, (1,) * 9))
    other = ehr.post("/fhir/QuestionnaireResponse", phq9_resource(second_client.external_id, (1,) * 9))
    assert other.status_code == 422
    assert north.client.external_id not in other.content.decode()
    assert Response.objects.count() == 1


@pytest.mark.django_db
def test_a_key_taken_first_by_a_client_app_does_not_lock_the_ehr_out(north):
    app = client_token_api(north.client)
    by_app = post(app, wai_sr(north.client.external_id, value=2), "visit-7")
    assert by_app.status_code == 201

    by_ehr = post(north.api(), wai_sr(north.client.external_id, value=5), "visit-7")

    assert by_ehr.status_code == 201, by_ehr.content
    assert by_ehr.json()["id"] != by_app.json()["id"]
    assert Response.objects.count() == 2


@pytest.mark.django_db
def test_a_client_apps_key_never_replays_a_response_the_ehr_stored(north):
    ehr_first = post(north.api(), wai_sr(north.client.external_id), "visit-8")
    by_app = post(client_token_api(north.client), wai_sr(north.client.external_id), "visit-8")
    assert by_app.status_code == 201
    assert by_app.json()["id"] != ehr_first.json()["id"]
    assert by_app.get("Idempotent-Replayed") is None


@pytest.mark.django_db
def test_two_clinicians_with_the_same_key_each_store_their_own_response(north):
    from tests.factories import MembershipFactory

    colleague = MembershipFactory(clinic=north.clinic, user__username="north-colleague").user
    north.client.clinicians.add(colleague)
    mine = post(staff_api(north.clinician), wai_sr(north.client.external_id), "k-1")
    theirs = post(staff_api(colleague), wai_sr(north.client.external_id), "k-1")
    assert mine.status_code == theirs.status_code == 201
    assert mine.json()["id"] != theirs.json()["id"]


@pytest.mark.django_db
def test_a_rotated_api_key_of_the_same_clinic_still_replays_the_integrations_request(north):
    payload = wai_sr(north.client.external_id)
    first = post(north.api(), payload, "visit-9")
    _, new_key = ClinicAPIKey.objects.create_key(name="north-integration-rotated", clinic=north.clinic)
    from tests.api.conftest import authorized

    again = post(authorized(f"Api-Key {new_key}"), payload, "visit-9")
    assert again.status_code == 201
    assert again.json()["id"] == first.json()["id"]
    assert again["Idempotent-Replayed"] == "true"


@pytest.mark.django_db
def test_the_same_caller_reusing_a_key_for_another_subject_is_a_422_naming_the_key(north, second_client):
    post(north.api(), wai_sr(north.client.external_id), "visit-10")
    other = post(north.api(), wai_sr(second_client.external_id), "visit-10")
    assert other.status_code == 422
    assert problem_fields(other) == {"Idempotency-Key"}
    assert north.client.external_id not in other.content.decode()


@pytest.mark.django_db
def test_a_key_of_another_caller_for_a_client_outside_the_caseload_tells_nothing(north):
    """The clinician's key is looked up among its own keys only: the answer is the one any unknown client gets."""
    stranger = TherapyClientFactory(clinic=north.clinic, external_id="not-on-caseload")
    post(north.api(), wai_sr(stranger.external_id), "k-1")
    with_key = post(staff_api(north.clinician), wai_sr(stranger.external_id), "k-1")
    without_key = staff_api(north.clinician).post(
        "/api/v1/responses/", wai_sr(stranger.external_id), format="json"
    )
    assert with_key.status_code == without_key.status_code == 400
    assert with_key.json()["errors"] == without_key.json()["errors"]
    assert Response.objects.count() == 1


@pytest.mark.django_db
def test_a_batch_entry_id_stored_by_a_client_app_is_a_conflict_for_the_ehr_not_a_replay(north):
    entry = wai_sr(north.client.external_id, id=str(uuid.uuid4()))
    by_app = client_token_api(north.client).post("/api/v1/responses/batch/", {"responses": [entry]}, format="json")
    assert by_app.json()["results"][0]["status"] == 201

    by_ehr = north.api().post("/api/v1/responses/batch/", {"responses": [entry]}, format="json")

    result = by_ehr.json()["results"][0]
    assert result["status"] == 409
    assert "replayed" not in result
    assert Response.objects.count() == 1


@pytest.mark.django_db
def test_the_form_page_and_the_app_of_one_client_share_no_keys_with_staff(north):
    from questionnaires.principals import Principal

    staff = Principal(kind="clinician", clinic_id=north.clinic.pk, credential=None, credential_prefix="",
                      user=north.clinician)
    app = Principal(kind="client_token", clinic_id=north.clinic.pk, credential=None, credential_prefix="",
                    therapy_client=north.client)
    integration = Principal(kind="api_key", clinic_id=north.clinic.pk, credential=None, credential_prefix="")
    scopes = {staff.idempotency_scope, app.idempotency_scope, integration.idempotency_scope}
    assert scopes == {f"staff:{north.clinician.pk}", f"client:{north.client.pk}", "api_key"}
