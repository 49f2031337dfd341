"""FHIR corrections: a resend with status amended, update by id or identifier, entered-in-error, and _history."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
from fhir.resources.R4B.bundle import Bundle

from questionnaires.models import Alert, AuditEvent, Response
from tests.fhir.conftest import PHQ9_ANSWER_CODES as ANSWER_CODES
from tests.fhir.conftest import FhirClient, body
from tests.fhir.conftest import phq9_resource as phq9

CASES = Path(__file__).parent / "cases"


def case(name: str) -> dict:
    resource = json.loads((CASES / name).read_text())
    # The case was recorded against a server at another address; the canonical's host is this test server's.
    resource["questionnaire"] = "http://testserver/fhir/Questionnaire/phq-9"
    return resource


@pytest.fixture
def rw_client(north):
    from tests.factories import TherapyClientFactory

    client = TherapyClientFactory(clinic=north.clinic, external_id="rw-client-1")
    client.clinicians.add(north.clinician)
    return client


@pytest.fixture
def ehr(north) -> FhirClient:
    return FhirClient(api_key=north.api_key)


def stored_score(response_id: str):
    return Response.objects.get(pk=response_id).scores.get()


@pytest.mark.django_db
def test_case_01_a_resend_with_status_amended_becomes_the_current_version_and_raises_the_risk_alert(
    rw_client, ehr, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        first = ehr.post("/fhir/QuestionnaireResponse", case("01-amended-same-identifier.setup.json"))
    assert first.status_code == 201, first.content
    response_id = body(first)["id"]
    # Kroenke et al. 2001: items 1-8 "several days" (1 each), item 9 "not at all": total 8, mild (5-9).
    assert (stored_score(response_id).total, stored_score(response_id).band) == (8, "mild")

    with django_capture_on_commit_callbacks(execute=True):
        amended = ehr.post("/fhir/QuestionnaireResponse", case("01-amended-same-identifier.json"))

    assert amended.status_code == 200, amended.content
    resource = body(amended)
    assert resource["id"] == response_id and resource["status"] == "amended"
    assert resource["meta"]["versionId"] == "2"
    # 1*8 + 2 = 10, moderate (10-14); item 9 >= 1 flags risk whatever the total.
    score = stored_score(response_id)
    assert (score.total, score.band, score.flags) == (10, "moderate", ["risk"])
    assert Alert.objects.filter(response_id=response_id, kind="risk", withdrawn_at__isnull=True).exists()
    assert Response.objects.count() == 1
    assert Response.objects.get(pk=response_id).revisions.get().answers["9"] == 0


@pytest.mark.django_db
def test_a_resend_with_status_completed_and_other_answers_is_still_a_conflict(rw_client, ehr):
    ehr.post("/fhir/QuestionnaireResponse", phq9("rw-client-1", (1,) * 9))
    other = ehr.post("/fhir/QuestionnaireResponse", phq9("rw-client-1", (2,) * 9))
    assert other.status_code == 422
    assert body(other)["issue"][0]["expression"] == ["QuestionnaireResponse.identifier"]


@pytest.mark.django_db
def test_put_by_id_amends_and_if_match_guards_against_a_stale_version(
    rw_client, ehr, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        created = body(ehr.post("/fhir/QuestionnaireResponse", phq9("rw-client-1", (0,) * 9)))
    path = f"/fhir/QuestionnaireResponse/{created['id']}"
    update = phq9("rw-client-1", (0,) * 8 + (1,), status="amended")
    update["id"] = created["id"]

    stale = ehr.api.generic("PUT", path, json.dumps(update), content_type="application/fhir+json",
                            HTTP_IF_MATCH='W/"7"')
    assert stale.status_code == 412
    with django_capture_on_commit_callbacks(execute=True):
        done = ehr.api.generic("PUT", path, json.dumps(update), content_type="application/fhir+json",
                               HTTP_IF_MATCH='W/"1"', HTTP_X_CORRECTION_REASON="item 9 was misread")

    assert done.status_code == 200, done.content
    assert done["ETag"] == 'W/"2"'
    assert stored_score(created["id"]).flags == ["risk"]
    event = AuditEvent.objects.get(action="amend")
    assert "item 9 was misread" in event.detail


@pytest.mark.django_db
def test_conditional_update_by_identifier_amends_that_callers_response(rw_client, ehr):
    created = body(ehr.post("/fhir/QuestionnaireResponse", phq9("rw-client-1", (0,) * 9, identifier="form-9")))
    update = phq9("rw-client-1", (3,) * 9, identifier="form-9", status="amended")
    done = ehr.api.generic(
        "PUT", "/fhir/QuestionnaireResponse?identifier=urn:example:ehr|form-9", json.dumps(update),
        content_type="application/fhir+json",
    )
    assert done.status_code == 200, done.content
    assert body(done)["id"] == created["id"] and body(done)["meta"]["versionId"] == "2"
    assert Response.objects.get(pk=created["id"]).answers["1"] == 3


@pytest.mark.django_db
def test_an_amendment_may_not_change_the_subject(rw_client, ehr, north):
    created = body(ehr.post("/fhir/QuestionnaireResponse", phq9("rw-client-1", (0,) * 9)))
    moved = phq9(north.client.external_id, (0,) * 9, status="amended")
    answer = ehr.api.generic("PUT", f"/fhir/QuestionnaireResponse/{created['id']}", json.dumps(moved),
                             content_type="application/fhir+json")
    assert answer.status_code == 422
    assert body(answer)["issue"][0]["expression"] == ["QuestionnaireResponse.subject"]


@pytest.mark.django_db
def test_delete_retracts_out_of_search_yet_history_keeps_every_version(rw_client, ehr):
    created = body(ehr.post("/fhir/QuestionnaireResponse", phq9("rw-client-1", (1,) * 9)))
    path = f"/fhir/QuestionnaireResponse/{created['id']}"
    amended = phq9("rw-client-1", (2,) * 9, status="amended")
    assert ehr.api.generic("PUT", path, json.dumps(amended), content_type="application/fhir+json").status_code == 200

    deleted = ehr.api.generic("DELETE", path, HTTP_X_CORRECTION_REASON="wrong client")
    assert deleted.status_code == 204

    search = body(ehr.get("/fhir/QuestionnaireResponse", subject="Patient/rw-client-1"))
    assert search["total"] == 0
    observations = body(ehr.get("/fhir/Observation", subject="Patient/rw-client-1"))
    assert observations["total"] == 0
    read = body(ehr.get(path))
    assert read["status"] == "entered-in-error"
    history = body(ehr.get(f"{path}/_history"))
    Bundle.model_validate(history)
    assert history["type"] == "history"
    assert [entry["resource"]["meta"]["versionId"] for entry in history["entry"]] == ["3", "2", "1"]
    assert [entry["resource"]["status"] for entry in history["entry"]] == ["entered-in-error", "amended", "completed"]
    first = body(ehr.get(f"{path}/_history/1"))
    assert first["item"][0]["answer"][0]["valueCoding"]["code"] == ANSWER_CODES[1]


@pytest.mark.django_db
def test_an_update_with_status_entered_in_error_retracts(rw_client, ehr):
    created = body(ehr.post("/fhir/QuestionnaireResponse", phq9("rw-client-1", (1,) * 9)))
    update = copy.deepcopy(phq9("rw-client-1", (1,) * 9, status="entered-in-error"))
    answer = ehr.api.generic("PUT", f"/fhir/QuestionnaireResponse/{created['id']}", json.dumps(update),
                             content_type="application/fhir+json")
    assert answer.status_code == 200
    assert body(answer)["status"] == "entered-in-error"
    assert Response.objects.get(pk=created["id"]).status == Response.Status.RETRACTED


@pytest.mark.django_db
def test_another_clinic_cannot_update_delete_or_read_the_history(rw_client, ehr, south):
    created = body(ehr.post("/fhir/QuestionnaireResponse", phq9("rw-client-1", (1,) * 9)))
    path = f"/fhir/QuestionnaireResponse/{created['id']}"
    stranger = FhirClient(api_key=south.api_key)
    update = phq9("rw-client-1", (3,) * 9, status="amended")
    put = stranger.api.generic("PUT", path, json.dumps(update), content_type="application/fhir+json")
    assert put.status_code == 404
    assert stranger.api.generic("DELETE", path).status_code == 404
    assert stranger.get(f"{path}/_history").status_code == 404
    assert Response.objects.get(pk=created["id"]).version == 1


@pytest.mark.django_db
def test_the_capability_statement_declares_the_correction_interactions(db):
    statement = body(FhirClient().get("/fhir/metadata"))
    [qr] = [r for r in statement["rest"][0]["resource"] if r["type"] == "QuestionnaireResponse"]
    codes = {interaction["code"] for interaction in qr["interaction"]}
    assert {"update", "delete", "vread", "history-instance"} <= codes
    assert qr["conditionalUpdate"] is True
