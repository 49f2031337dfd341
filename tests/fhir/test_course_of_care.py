"""The course of care over FHIR: EpisodeOfCare and Encounter round trips, conditional create and update by the
EHR's identifier, the status mapping table entry by entry, QuestionnaireResponse.encounter, an Encounter entered
in error taking its responses out of metrics, scoping and bad input."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from fhir.resources.R4B import get_fhir_model_class

from questionnaires.models import AuditEvent, CareSession, EpisodeOfCare, MetricRollup, Response
from questionnaires.selectors.metrics import metrics_recomputed
from questionnaires.services.metrics import metrics_recompute
from tests.api.conftest import client_token_api, staff_api
from tests.factories import MembershipFactory
from tests.fhir.conftest import FHIR_JSON, FhirClient, body, response_for

pytestmark = pytest.mark.django_db

BASE = "http://testserver/fhir"
END_REASON = f"{BASE}/StructureDefinition/episode-end-reason"
REASON_CANCELLED = "http://hl7.org/fhir/StructureDefinition/encounter-reasonCancelled"
CANCELLATION = "http://terminology.hl7.org/CodeSystem/appointment-cancellation-reason"
EHR = "urn:example:ehr"
NOW = datetime.now(UTC).replace(microsecond=0)


def put(fhir: FhirClient, path: str, resource: dict, **headers):
    return fhir.api.generic("PUT", path, json.dumps(resource), content_type=FHIR_JSON, HTTP_ACCEPT=FHIR_JSON,
                            **headers)


def valid_r4b(resource: dict) -> dict:
    """Checked with the independent R4B models, as every output must be."""
    get_fhir_model_class(resource["resourceType"]).model_validate(resource)
    return resource


def episode_of_care(patient: str = "north-client-1", status: str = "active", **extra) -> dict:
    return {
        "resourceType": "EpisodeOfCare",
        "status": status,
        "patient": {"reference": f"Patient/{patient}"},
        "period": {"start": "2026-01-05"},
        **extra,
    }


def encounter(episode_id: int | None = None, status: str = "planned", *, start: datetime | None = None,
              practitioners: tuple[str, ...] = (), identifier: str | None = None, **extra) -> dict:
    start = start or NOW - timedelta(minutes=30)
    resource = {
        "resourceType": "Encounter",
        "status": status,
        "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "AMB"},
        "subject": {"reference": "Patient/north-client-1"},
        "period": {"start": start.isoformat(), "end": (start + timedelta(minutes=50)).isoformat()},
        "participant": [{"individual": {"reference": f"Practitioner/{name}"}} for name in practitioners],
        **extra,
    }
    if episode_id is not None:
        resource["episodeOfCare"] = [{"reference": f"EpisodeOfCare/{episode_id}"}]
    if identifier is not None:
        resource["identifier"] = [{"system": EHR, "value": identifier}]
    return resource


@pytest.fixture
def fhir(north) -> FhirClient:
    return FhirClient(north.api_key)


@pytest.fixture
def colleague(north):
    user = MembershipFactory(clinic=north.clinic, user__username="north-colleague").user
    north.client.clinicians.add(user)
    return user


@pytest.fixture
def episode(fhir) -> dict:
    manager = {"reference": "Practitioner/north-clinician"}
    created = fhir.post("/fhir/EpisodeOfCare", episode_of_care(careManager=manager))
    assert created.status_code == 201, created.content
    return body(created)


def issue_paths(response) -> list[str]:
    return sorted(path for issue in body(response)["issue"] for path in issue.get("expression", []))


# --- EpisodeOfCare -------------------------------------------------------------------------------------


def test_an_episode_of_care_round_trips_with_its_clinicians_and_its_ending(fhir, north, colleague):
    sent = episode_of_care(
        identifier=[{"system": EHR, "value": "ep-1"}],
        careManager={"reference": "Practitioner/north-clinician"},
        contained=[{"resourceType": "CareTeam", "id": "t1",
                    "participant": [{"member": {"reference": "Practitioner/north-colleague"}}]}],
        team=[{"reference": "#t1"}],
        extension=[{"url": f"{BASE}/StructureDefinition/episode-referral-date", "valueDate": "2025-12-20"}],
    )
    created = fhir.post("/fhir/EpisodeOfCare", sent)
    assert created.status_code == 201, created.content
    resource = valid_r4b(body(created))
    stored = EpisodeOfCare.objects.get()
    assert (stored.external_id, stored.status, str(stored.start_date), str(stored.referral_date)) == (
        "ep-1", "active", "2026-01-05", "2025-12-20"
    )
    assert stored.primary_clinician == north.clinician
    assert [user.username for user in stored.clinicians.all()] == ["north-colleague"]
    assert created["Location"].endswith(f"/fhir/EpisodeOfCare/{stored.pk}")
    read = fhir.get(f"/fhir/EpisodeOfCare/{stored.pk}")
    assert body(read) == resource
    assert resource["careManager"] == {"reference": "Practitioner/north-clinician"}
    assert resource["contained"][0]["participant"] == [{"member": {"reference": "Practitioner/north-colleague"}}]
    assert resource["identifier"][0]["value"] == "ep-1"

    finished = dict(resource, status="finished", period={"start": "2026-01-05", "end": "2026-04-01"},
                    extension=[*resource["extension"], {"url": END_REASON, "valueCode": "dropped_out"}])
    updated = put(fhir, f"/fhir/EpisodeOfCare/{stored.pk}", finished)
    assert updated.status_code == 200, updated.content
    stored.refresh_from_db()
    assert (stored.status, stored.end_reason, str(stored.end_date)) == ("finished", "dropped_out", "2026-04-01")
    again = valid_r4b(body(fhir.get(f"/fhir/EpisodeOfCare/{stored.pk}")))
    assert again["status"] == "finished"
    assert {"url": END_REASON, "valueCode": "dropped_out"} in again["extension"]
    assert again["period"]["end"] == "2026-04-01"


@pytest.mark.parametrize(
    ("fhir_status", "extension_reason", "stored", "served"),
    [
        ("planned", None, ("active", ""), "active"),
        ("waitlist", None, ("active", ""), "active"),
        ("active", None, ("active", ""), "active"),
        ("onhold", None, ("active", ""), "active"),
        ("finished", None, ("finished", "completed"), "finished"),
        ("finished", "referred_on", ("finished", "referred_on"), "finished"),
        ("cancelled", None, ("finished", "declined"), "cancelled"),
        ("cancelled", "other", ("finished", "other"), "finished"),
    ],
)
def test_each_episode_of_care_status_maps_onto_status_and_end_reason(
    fhir, fhir_status, extension_reason, stored, served
):
    sent = episode_of_care(status=fhir_status)
    if extension_reason:
        sent["extension"] = [{"url": END_REASON, "valueCode": extension_reason}]
    created = fhir.post("/fhir/EpisodeOfCare", sent)
    assert created.status_code == 201, created.content
    episode = EpisodeOfCare.objects.get()
    assert (episode.status, episode.end_reason) == stored
    resource = valid_r4b(body(created))
    assert resource["status"] == served
    if stored[0] == "finished":
        assert {"url": END_REASON, "valueCode": stored[1]} in resource["extension"]


def test_an_episode_entered_in_error_is_refused_saying_what_to_do(fhir):
    refused = fhir.post("/fhir/EpisodeOfCare", episode_of_care(status="entered-in-error"))
    assert refused.status_code == 422
    assert "Encounters entered-in-error" in body(refused)["issue"][0]["diagnostics"]
    assert not EpisodeOfCare.objects.exists()


def test_an_episode_is_conditionally_updated_by_the_ehrs_identifier_without_a_duplicate(fhir):
    sent = episode_of_care(identifier=[{"system": EHR, "value": "ep-7"}])
    first = put(fhir, f"/fhir/EpisodeOfCare?identifier={EHR}|ep-7", sent)
    assert first.status_code == 201, first.content
    finished = dict(sent, status="finished", extension=[{"url": END_REASON, "valueCode": "completed"}])
    second = put(fhir, f"/fhir/EpisodeOfCare?identifier={EHR}|ep-7", finished)
    assert second.status_code == 200, second.content
    assert body(second)["id"] == body(first)["id"]
    assert list(EpisodeOfCare.objects.values_list("external_id", "status")) == [("ep-7", "finished")]


# --- Encounter -----------------------------------------------------------------------------------------


def test_an_encounter_round_trips_as_a_session_with_who_was_in_the_room(fhir, north, colleague, episode):
    sent = encounter(episode["id"], "finished", practitioners=("north-colleague",), identifier="appt-1")
    created = fhir.post("/fhir/Encounter", sent)
    assert created.status_code == 201, created.content
    resource = valid_r4b(body(created))
    session = CareSession.objects.get()
    assert (session.attendance, session.external_id, session.duration_minutes, session.number) == (
        "attended", "appt-1", 50, 1
    )
    assert session.scheduled_start == NOW - timedelta(minutes=30)
    assert session.episode_id == int(episode["id"])
    assert [user.username for user in session.clinicians.all()] == ["north-colleague"]
    assert body(fhir.get(f"/fhir/Encounter/{session.pk}")) == resource
    assert resource["status"] == "finished"
    assert resource["episodeOfCare"] == [{"reference": f"EpisodeOfCare/{episode['id']}"}]
    assert resource["participant"] == [{"individual": {"reference": "Practitioner/north-colleague"}}]
    assert resource["subject"] == {"reference": "Patient/north-client-1"}
    # the same session, as an Appointment
    appointment = valid_r4b(body(fhir.get(f"/fhir/Appointment/{session.pk}")))
    assert (appointment["status"], appointment["minutesDuration"]) == ("fulfilled", 50)


def test_encounters_are_searched_by_patient_status_identifier_date_episode_and_last_update(fhir, episode):
    for day, status, identifier in ((1, "finished", "a"), (2, "cancelled", "b"), (3, "entered-in-error", "c")):
        created = fhir.post("/fhir/Encounter", encounter(
            episode["id"], status, start=NOW - timedelta(days=day), identifier=identifier
        ))
        assert created.status_code == 201, created.content

    def found(**params) -> list[str]:
        bundle = valid_r4b(body(fhir.get("/fhir/Encounter", **params)))
        return [entry["resource"]["identifier"][0]["value"] for entry in bundle.get("entry", [])]

    assert found(patient="Patient/north-client-1") == ["a", "b"]  # entered in error only when asked for
    assert found(subject="north-client-1", status="cancelled") == ["b"]
    assert found(status="entered-in-error") == ["c"]
    assert found(identifier=f"{EHR}|b") == ["b"]
    assert found(date=f"ge{(NOW - timedelta(days=1, hours=1)).strftime('%Y-%m-%dT%H:%M:%SZ')}") == ["a"]
    assert found(date=f"lt{(NOW - timedelta(days=1, hours=1)).strftime('%Y-%m-%dT%H:%M:%SZ')}") == ["b"]
    assert found(**{"episode-of-care": f"EpisodeOfCare/{episode['id']}"}) == ["a", "b"]
    assert found(**{"episode-of-care": "EpisodeOfCare/999999"}) == []
    assert found(_lastUpdated=f"ge{(NOW - timedelta(minutes=5)).isoformat()}") == ["a", "b"]
    assert found(patient="Patient/someone-else") == []
    episodes = valid_r4b(body(fhir.get("/fhir/EpisodeOfCare", patient="north-client-1", status="active")))
    assert [entry["resource"]["id"] for entry in episodes["entry"]] == [str(episode["id"])]
    for date, total in (("ge2026-01-05", 1), ("lt2026-01-05", 0), ("2026-01", 1), ("gt2026-01-05", 0)):
        assert fhir.get("/fhir/EpisodeOfCare", date=date).json()["total"] == total, date
    assert fhir.get("/fhir/EpisodeOfCare", **{"care-manager": "Practitioner/north-clinician"}).json()["total"] == 1


def test_an_encounter_is_conditionally_created_then_updated_by_identifier_without_a_duplicate(fhir, episode):
    booked = encounter(episode["id"], "planned", identifier="appt-9")
    first = put(fhir, f"/fhir/Encounter?identifier={EHR}|appt-9", booked)
    assert first.status_code == 201, first.content
    attended = dict(booked, status="finished")
    second = put(fhir, f"/fhir/Encounter?identifier={EHR}|appt-9", attended)
    assert second.status_code == 200, second.content
    assert body(second)["id"] == body(first)["id"]
    assert list(CareSession.objects.values_list("external_id", "attendance", "number")) == [
        ("appt-9", "attended", 1)
    ]
    # If-None-Exist: the same content again is the stored session; other content is a conflict, never a replay
    replay = fhir.post("/fhir/Encounter", attended, HTTP_IF_NONE_EXIST=f"identifier={EHR}|appt-9")
    assert replay.status_code == 200, replay.content
    assert body(replay)["id"] == body(first)["id"]
    other = fhir.post("/fhir/Encounter", dict(attended, status="cancelled"),
                      HTTP_IF_NONE_EXIST=f"identifier={EHR}|appt-9")
    assert other.status_code == 409
    assert CareSession.objects.count() == 1
    assert CareSession.objects.get().attendance == "attended"


def _reason(system: str, code: str) -> list[dict]:
    return [{"url": REASON_CANCELLED, "valueCodeableConcept": {"coding": [{"system": system, "code": code}]}}]


@pytest.mark.parametrize(
    ("fhir_status", "extension", "attendance", "served_status", "served_reason"),
    [
        ("planned", None, "booked", "planned", None),
        ("arrived", None, "booked", "planned", None),
        ("triaged", None, "booked", "planned", None),
        ("in-progress", None, "attended", "finished", None),
        ("onleave", None, "attended", "finished", None),
        ("finished", None, "attended", "finished", None),
        ("cancelled", None, "cancelled_by_service", "cancelled", "prov"),
        ("cancelled", _reason(CANCELLATION, "pat"), "cancelled_by_client", "cancelled", "pat"),
        ("cancelled", _reason(CANCELLATION, "pat-fb"), "cancelled_by_client", "cancelled", "pat"),
        ("cancelled", _reason(CANCELLATION, "prov-hosp"), "cancelled_by_service", "cancelled", "prov"),
        ("cancelled", _reason(CANCELLATION, "oth-weath"), "cancelled_by_service", "cancelled", "prov"),
        ("cancelled", _reason(f"{BASE}/CodeSystem/attendance", "did_not_attend"), "did_not_attend", "cancelled",
         "did_not_attend"),
        ("cancelled", _reason(f"{BASE}/CodeSystem/attendance", "cancelled_by_client"), "cancelled_by_client",
         "cancelled", "pat"),
        ("entered-in-error", None, "entered_in_error", "entered-in-error", None),
    ],
)
def test_each_encounter_status_maps_onto_attendance_and_back(
    fhir, episode, fhir_status, extension, attendance, served_status, served_reason
):
    sent = encounter(episode["id"], fhir_status, **({"extension": extension} if extension else {}))
    created = fhir.post("/fhir/Encounter", sent)
    assert created.status_code == 201, created.content
    assert CareSession.objects.get().attendance == attendance
    resource = valid_r4b(body(created))
    assert resource["status"] == served_status
    reasons = [coding["code"] for ext in resource.get("extension", []) if ext["url"] == REASON_CANCELLED
               for coding in ext["valueCodeableConcept"]["coding"]]
    assert reasons == ([served_reason] if served_reason else [])


@pytest.mark.parametrize(
    ("appointment_status", "reason", "attendance"),
    [
        ("booked", None, "booked"),
        ("arrived", None, "booked"),
        ("fulfilled", None, "attended"),
        ("noshow", None, "did_not_attend"),
        ("cancelled", "pat", "cancelled_by_client"),
        ("cancelled", None, "cancelled_by_service"),
        ("entered-in-error", None, "entered_in_error"),
    ],
)
def test_an_ehrs_appointment_records_attendance_and_noshow_is_did_not_attend(
    fhir, episode, appointment_status, reason, attendance
):
    start = NOW - timedelta(days=1)
    sent = {
        "resourceType": "Appointment",
        "status": appointment_status,
        "identifier": [{"system": EHR, "value": "appt-x"}],
        "start": start.isoformat(),
        "end": (start + timedelta(minutes=45)).isoformat(),
        "participant": [
            {"actor": {"reference": "Patient/north-client-1"}, "status": "accepted"},
            {"actor": {"reference": "Practitioner/north-clinician"}, "status": "accepted"},
        ],
        "supportingInformation": [{"reference": f"EpisodeOfCare/{episode['id']}"}],
    }
    if reason:
        sent["cancelationReason"] = {"coding": [{"system": CANCELLATION, "code": reason}]}
    created = fhir.post("/fhir/Appointment", sent)
    assert created.status_code == 201, created.content
    session = CareSession.objects.get()
    assert (session.attendance, session.duration_minutes, session.external_id) == (attendance, 45, "appt-x")
    assert valid_r4b(body(created))["status"] == appointment_status.replace("arrived", "booked")
    # an EHR that books with an Appointment and records the no-show later updates the same session
    if appointment_status == "booked":
        noshow = put(fhir, f"/fhir/Appointment?identifier={EHR}|appt-x", dict(sent, status="noshow"))
        assert noshow.status_code == 200, noshow.content
        assert CareSession.objects.get().attendance == "did_not_attend"
        encounter_view = valid_r4b(body(fhir.get(f"/fhir/Encounter/{session.pk}")))
        assert encounter_view["status"] == "cancelled"
        assert encounter_view["extension"][0]["valueCodeableConcept"]["coding"][0]["code"] == "did_not_attend"


# --- QuestionnaireResponse.encounter -------------------------------------------------------------------


def srs_resource(fhir: FhirClient, **extra) -> dict:
    questionnaire = fhir.get("/fhir/Questionnaire/srs").json()
    resource = response_for(questionnaire, {str(n): 8.0 for n in range(1, 5)}, subject="north-client-1",
                            authored=(NOW - timedelta(days=3)).isoformat())
    return {**resource, **extra}


def test_a_response_naming_its_encounter_is_credited_to_that_sessions_clinician_and_counted(
    fhir, north, colleague, episode, settings, django_capture_on_commit_callbacks
):
    settings.METRICS_MIN_CELL = 1
    session = body(fhir.post("/fhir/Encounter", encounter(
        episode["id"], "finished", start=NOW - timedelta(days=3, minutes=30), practitioners=("north-colleague",),
        identifier="appt-qr",
    )))
    with django_capture_on_commit_callbacks(execute=True):
        by_reference = fhir.post("/fhir/QuestionnaireResponse",
                                 srs_resource(fhir, encounter={"reference": f"Encounter/{session['id']}"}))
    assert by_reference.status_code == 201, by_reference.content
    with django_capture_on_commit_callbacks(execute=True):
        by_identifier = fhir.post("/fhir/QuestionnaireResponse", srs_resource(
            fhir, encounter={"identifier": {"system": EHR, "value": "appt-qr"}},
            identifier={"system": EHR, "value": "qr-2"},
        ))
    assert by_identifier.status_code == 201, by_identifier.content
    stored = list(Response.objects.values_list("session_id", "clinician__username", "session_number", "status"))
    assert stored == [(int(session["id"]), "north-colleague", 1, "scored")] * 2
    served = valid_r4b(body(by_reference))
    assert served["encounter"] == {"reference": f"Encounter/{session['id']}"}
    report = north.api().get("/api/v1/clinicians/north-colleague/report/", {"questionnaire": "srs"}).json()
    assert report["clinician_figures"]["mean"]["n"] == 2
    cells = north.api().get(
        "/api/v1/metrics/", {"questionnaire": "srs", "group_by": "clinician", "period": "month"}
    ).json()["results"]
    assert [(cell["clinician"], cell["n"]) for cell in cells if cell.get("clinician")] == [("north-colleague", 2)]


def test_a_response_naming_an_encounter_it_cannot_belong_to_is_refused_at_the_encounter(fhir, south, episode):
    south_fhir = FhirClient(south.api_key)
    south_episode = body(south_fhir.post("/fhir/EpisodeOfCare", episode_of_care("south-client-1")))
    theirs = south_fhir.post("/fhir/Encounter", dict(
        encounter(south_episode["id"], "finished"), subject={"reference": "Patient/south-client-1"}
    ))
    assert theirs.status_code == 201, theirs.content
    for reference in (f"Encounter/{body(theirs)['id']}", "Encounter/abc", "Encounter/99999"):
        refused = fhir.post("/fhir/QuestionnaireResponse", srs_resource(fhir, encounter={"reference": reference}))
        assert refused.status_code == 422, refused.content
        assert issue_paths(refused)[0].startswith("QuestionnaireResponse.encounter")
    assert not Response.objects.exists()


# --- entered in error ----------------------------------------------------------------------------------


def _cells() -> dict:
    return {
        (row.scope, row.clinician_key, row.questionnaire_id, row.period, str(row.period_start)): row.n
        for row in MetricRollup.objects.all()
    }


def test_an_encounter_entered_in_error_takes_its_responses_out_of_metrics(
    fhir, north, colleague, episode, settings, django_capture_on_commit_callbacks
):
    settings.METRICS_MIN_CELL = 1
    sent = encounter(episode["id"], "finished", start=NOW - timedelta(days=3, minutes=30),
                     practitioners=("north-colleague",), identifier="appt-err")
    session = body(fhir.post("/fhir/Encounter", sent))
    with django_capture_on_commit_callbacks(execute=True):
        submitted = fhir.post("/fhir/QuestionnaireResponse",
                              srs_resource(fhir, encounter={"reference": f"Encounter/{session['id']}"}))
    assert submitted.status_code == 201, submitted.content
    assert sum(_cells().values()) > 0

    with django_capture_on_commit_callbacks(execute=True):
        marked = put(fhir, f"/fhir/Encounter?identifier={EHR}|appt-err", dict(sent, status="entered-in-error"))
    assert marked.status_code == 200, marked.content
    response = Response.objects.get()
    assert response.status == Response.Status.RETRACTED
    assert _cells() == {}
    cells = north.api().get("/api/v1/metrics/", {"questionnaire": "srs", "group_by": "clinician",
                                                 "period": "month"}).json()["results"]
    assert not [cell for cell in cells if cell.get("n")]
    assert fhir.get("/fhir/QuestionnaireResponse", subject="north-client-1").json()["total"] == 0
    # the rollups equal a recompute, and the retraction is audited with the response's history kept
    assert metrics_recomputed() == {}
    metrics_recompute()
    assert _cells() == {}
    assert AuditEvent.objects.filter(action="retract", object_ids=[str(response.pk)]).exists()
    assert response.revisions.count() == 1


def test_a_rest_patch_of_a_session_to_entered_in_error_takes_its_responses_out_of_metrics_too(
    north, colleague, episode, settings, django_capture_on_commit_callbacks, fhir
):
    settings.METRICS_MIN_CELL = 1
    session = body(fhir.post("/fhir/Encounter", encounter(
        episode["id"], "finished", start=NOW - timedelta(days=3, minutes=30), practitioners=("north-colleague",)
    )))
    with django_capture_on_commit_callbacks(execute=True):
        linked = srs_resource(fhir, encounter={"reference": f"Encounter/{session['id']}"})
        assert fhir.post("/fhir/QuestionnaireResponse", linked).status_code == 201
    assert sum(_cells().values()) > 0
    with django_capture_on_commit_callbacks(execute=True):
        patched = staff_api(north.clinician).patch(f"/api/v1/sessions/{session['id']}/",
                                                   {"attendance": "entered_in_error"}, format="json")
    assert patched.status_code == 200, patched.content
    assert Response.objects.get().status == Response.Status.RETRACTED
    assert _cells() == {}


# --- scoping, policy, audit ----------------------------------------------------------------------------


def test_another_clinics_episodes_and_encounters_are_404_and_a_client_token_reads_only_its_episodes(
    fhir, north, south, episode
):
    session = body(fhir.post("/fhir/Encounter", encounter(episode["id"], "planned")))
    south_fhir = FhirClient(south.api_key)
    for path in (f"/fhir/EpisodeOfCare/{episode['id']}", f"/fhir/Encounter/{session['id']}",
                 f"/fhir/Appointment/{session['id']}"):
        assert south_fhir.get(path).status_code == 404
        assert body(south_fhir.get(path))["resourceType"] == "OperationOutcome"
    assert put(south_fhir, f"/fhir/Encounter/{session['id']}", encounter(episode["id"], "finished")).status_code == 404
    assert put(south_fhir, f"/fhir/EpisodeOfCare/{episode['id']}",
               episode_of_care(status="finished")).status_code == 404
    assert south_fhir.get("/fhir/Encounter").json()["total"] == 0
    assert south_fhir.get("/fhir/EpisodeOfCare").json()["total"] == 0
    # south cannot hang a session on north's episode either
    hung = south_fhir.post("/fhir/Encounter", dict(encounter(episode["id"], "planned"),
                                                   subject={"reference": "Patient/south-client-1"}))
    assert hung.status_code == 422
    assert CareSession.objects.get().attendance == "booked"
    assert EpisodeOfCare.objects.get().status == "active"

    token = FhirClient(authorization=client_token_api(north.client)._credentials["HTTP_AUTHORIZATION"])
    assert token.get(f"/fhir/EpisodeOfCare/{episode['id']}").status_code == 200
    assert token.get("/fhir/EpisodeOfCare").json()["total"] == 1
    assert token.get(f"/fhir/Encounter/{session['id']}").status_code == 403
    assert token.post("/fhir/EpisodeOfCare", episode_of_care()).status_code == 403
    clinician = FhirClient(authorization=staff_api(north.clinician)._credentials["HTTP_AUTHORIZATION"])
    assert clinician.get(f"/fhir/Encounter/{session['id']}").status_code == 200


def test_reads_and_writes_of_the_course_of_care_are_audited(fhir, episode):
    session = body(fhir.post("/fhir/Encounter", encounter(episode["id"], "planned")))
    fhir.get(f"/fhir/Encounter/{session['id']}")
    fhir.get(f"/fhir/EpisodeOfCare/{episode['id']}")
    fhir.get("/fhir/Encounter", patient="north-client-1")
    logged = [tuple(row) for row in AuditEvent.objects.values_list("action", "object_type", "object_ids")]
    assert ("create", "fhir.EpisodeOfCare", [episode["id"]]) in logged
    assert ("create", "fhir.Encounter", [session["id"]]) in logged
    assert ("read", "fhir.Encounter", [session["id"]]) in logged
    assert ("read", "fhir.EpisodeOfCare", [episode["id"]]) in logged
    assert ("search", "fhir.Encounter", [session["id"]]) in logged


# --- bad input -----------------------------------------------------------------------------------------


def test_bad_encounters_are_refused_naming_every_problem_and_writing_nothing(fhir, episode):
    sent = encounter(episode["id"], "unknown", practitioners=("ghost", "south-clinician"))
    sent["period"] = {"end": NOW.isoformat()}
    refused = fhir.post("/fhir/Encounter", sent)
    assert refused.status_code == 422, refused.content
    assert issue_paths(refused) == [
        "Encounter.participant[0].individual", "Encounter.participant[1].individual", "Encounter.period.start",
        "Encounter.status",
    ]
    assert not CareSession.objects.exists()


@pytest.mark.parametrize(
    "payload",
    [
        "not json",
        [],
        {"resourceType": "Patient"},
        {"resourceType": "Encounter", "status": "planned"},  # class is required in R4
        {"resourceType": "Encounter", "status": "planned", "class": {"code": "AMB"}, "period": {"start": "yesterday"}},
        {"resourceType": "EpisodeOfCare", "status": "active"},  # patient is required in R4
    ],
)
def test_malformed_resources_are_a_400_operation_outcome(fhir, episode, payload):
    path = "/fhir/EpisodeOfCare" if isinstance(payload, dict) and payload.get("resourceType") == "EpisodeOfCare" \
        else "/fhir/Encounter"
    refused = fhir.post(path, payload)
    assert refused.status_code == 400, refused.content
    assert body(refused)["resourceType"] == "OperationOutcome"
    assert not CareSession.objects.exists()


def test_bad_episodes_and_references_are_4xx_never_500(fhir, north, episode):
    cases = [
        ("/fhir/EpisodeOfCare", episode_of_care("nobody"), 422, ["EpisodeOfCare.patient"]),
        ("/fhir/EpisodeOfCare", episode_of_care(careManager={"reference": "Practitioner/ghost"}), 422,
         ["EpisodeOfCare.careManager"]),
        ("/fhir/EpisodeOfCare", episode_of_care(status="bogus", period={"start": "2026-01-05", "end": "2026-01-06"}),
         422, ["EpisodeOfCare.period.end", "EpisodeOfCare.status"]),
        ("/fhir/EpisodeOfCare", episode_of_care(period={"start": "2026-01"}), 422,
         ["EpisodeOfCare.period.start", "EpisodeOfCare.status"]),  # and the client's episode already active
        ("/fhir/Encounter", encounter(999999, "planned"), 422, ["Encounter.episodeOfCare[0]"]),
        ("/fhir/Encounter", dict(encounter(None, "planned"), episodeOfCare=[{"identifier": {"value": "no\x00pe"}}]),
         400, []),
        ("/fhir/Encounter", dict(encounter(None, "planned"), subject={"reference": "Patient/" + "x" * 300}), 422,
         ["Encounter.subject"]),
        ("/fhir/Encounter", dict(encounter(None, "planned"), subject={"reference": "Patient/nobody"}), 422,
         ["Encounter.subject"]),
    ]
    for path, payload, status, paths in cases:
        refused = fhir.post(path, payload)
        assert refused.status_code == status, (payload, refused.content)
        assert [p for p in issue_paths(refused) if p] == paths, payload
    assert EpisodeOfCare.objects.count() == 1  # the fixture's
    # a second active episode for the client is the service's conflict, as over REST
    second = fhir.post("/fhir/EpisodeOfCare", episode_of_care())
    assert second.status_code == 409
    # a session does not move between episodes
    session = body(fhir.post("/fhir/Encounter", encounter(episode["id"], "planned", identifier="m")))
    EpisodeOfCare.objects.filter(pk=episode["id"]).update(status="finished", end_reason="completed",
                                                          end_date=NOW.date())
    other = body(fhir.post("/fhir/EpisodeOfCare", episode_of_care()))
    moved = put(fhir, f"/fhir/Encounter/{session['id']}", encounter(other["id"], "planned", identifier="m"))
    assert moved.status_code == 409
    assert put(fhir, "/fhir/Encounter?status=planned", encounter(episode["id"])).status_code == 400
    assert put(fhir, f"/fhir/Encounter/{session['id']}", dict(encounter(episode["id"]), id="7")).status_code == 400


# --- capability ----------------------------------------------------------------------------------------


def test_the_capability_statement_lists_the_course_of_care(fhir):
    statement = valid_r4b(body(FhirClient().get("/fhir/metadata")))
    resources = {entry["type"]: entry for entry in statement["rest"][0]["resource"]}
    for name in ("EpisodeOfCare", "Encounter"):
        assert {i["code"] for i in resources[name]["interaction"]} == {"read", "search-type", "create", "update"}
        assert resources[name]["conditionalCreate"] and resources[name]["conditionalUpdate"]
    assert {p["name"] for p in resources["Encounter"]["searchParam"]} >= {
        "patient", "subject", "status", "identifier", "date", "episode-of-care", "_lastUpdated"
    }
    assert {i["code"] for i in resources["Appointment"]["interaction"]} == {"read", "create", "update"}
