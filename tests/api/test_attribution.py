"""Who a response is credited to and which session it belongs to: derived by the server, never taken on trust.

The rule: the session's clinician in the room, else the episode's primary clinician, else the one
clinician on the caseload, else unattributed. A client token rates as the client, a staff token
as itself; an API key may name a clinician from the client's caseload only. `authored` may lie at
most RESPONSE_MAX_BACKDATE_DAYS back.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from questionnaires.models import CareSession, EpisodeOfCare, Response
from questionnaires.services.care import sessions_renumber
from questionnaires.services.credentials import client_token_issue
from tests import services
from tests.api.conftest import client_token_api, staff_api, wai_sr
from tests.factories import MembershipFactory, TherapyClientFactory
from tests.fhir.conftest import FhirClient, response_for

pytestmark = pytest.mark.django_db

NOW = datetime.now(UTC)


def srs(client: str | None = None, total_marks: float = 9.0, **extra) -> dict:
    payload = {
        "questionnaire": "srs",
        "authored": (datetime.now(UTC) - timedelta(minutes=5)).isoformat(),
        "answers": {str(number): total_marks for number in range(1, 5)},
        **extra,
    }
    if client is not None:
        payload["client"] = client
    return payload


def problem_fields(response) -> set[str]:
    return {error["field"] for error in response.json()["errors"]}


@pytest.fixture
def colleague(north):
    """A second clinician of north, in the room for north-client-1's session (the client's caseload has two)."""
    user = MembershipFactory(clinic=north.clinic, user__username="north-colleague").user
    north.client.clinicians.add(user)
    return user


@pytest.fixture
def episode(north, colleague):
    episode = EpisodeOfCare.objects.create(
        clinic=north.clinic, client=north.client, start_date=NOW.date(), primary_clinician=north.clinician
    )
    session = CareSession.objects.create(
        clinic=north.clinic, episode=episode, scheduled_start=NOW - timedelta(minutes=30), external_id="ehr-1"
    )
    session.clinicians.add(colleague)
    return episode


def test_a_client_token_submission_is_credited_to_the_clinician_in_the_room(north, episode, colleague):
    created = client_token_api(north.client).post("/api/v1/responses/", srs(), format="json")
    assert created.status_code == 201, created.content
    session = episode.sessions.get()
    assert created.json()["clinician"] == "north-colleague"
    assert created.json()["session_id"] == session.pk
    stored = Response.objects.get(pk=created.json()["id"])
    assert (stored.clinician_id, stored.session_id, stored.rater) == (colleague.pk, session.pk, "client")


def test_without_anyone_in_the_room_the_episodes_primary_clinician_is_credited(north, episode):
    episode.sessions.get().clinicians.clear()
    created = client_token_api(north.client).post("/api/v1/responses/", srs(), format="json")
    assert created.json()["clinician"] == "north-clinician"


def test_without_a_session_the_active_episodes_primary_clinician_is_credited(north, episode, colleague):
    episode.sessions.all().delete()
    created = north.api().post("/api/v1/responses/", srs("north-client-1"), format="json")
    assert created.status_code == 201
    assert (created.json()["clinician"], created.json()["session_id"]) == ("north-clinician", None)


def test_without_an_episode_the_one_clinician_on_the_caseload_is_credited_and_with_two_nobody(north):
    created = client_token_api(north.client).post("/api/v1/responses/", srs(), format="json")
    assert created.json()["clinician"] == "north-clinician"
    north.client.clinicians.add(north.supervisor)
    unattributed = client_token_api(north.client).post("/api/v1/responses/", srs(), format="json")
    assert unattributed.status_code == 201
    assert unattributed.json()["clinician"] is None
    assert Response.objects.get(pk=unattributed.json()["id"]).clinician_id is None


def test_a_session_outside_the_window_or_cancelled_is_not_the_current_one(north, episode, settings):
    session = episode.sessions.get()
    session.attendance = CareSession.Attendance.CANCELLED_BY_CLIENT
    session.save()
    created = client_token_api(north.client).post("/api/v1/responses/", srs(), format="json")
    assert created.json()["session_id"] is None
    assert created.json()["clinician"] == "north-clinician"  # the episode's primary
    session.attendance, session.scheduled_start = CareSession.Attendance.BOOKED, NOW - timedelta(hours=30)
    session.save()
    assert client_token_api(north.client).post("/api/v1/responses/", srs(), format="json").json()["session_id"] is None
    settings.RESPONSE_SESSION_WINDOW_HOURS = 48
    assert client_token_api(north.client).post("/api/v1/responses/", srs(), format="json").json()["session_id"] == (
        session.pk
    )


def test_a_response_takes_its_sessions_number_once_the_session_is_attended(north, episode):
    created = client_token_api(north.client).post("/api/v1/responses/", srs(), format="json")
    assert created.json()["session"] is None  # booked: not yet numbered
    session = episode.sessions.get()
    patched = north.api().patch(f"/api/v1/sessions/{session.pk}/", {"attendance": "attended"}, format="json")
    assert patched.json()["number"] == 1
    assert Response.objects.get(pk=created.json()["id"]).session_number == 1


def test_a_submission_may_name_its_session_by_id_or_by_the_ehrs_identifier(north, episode):
    session = episode.sessions.get()
    by_id = north.api().post("/api/v1/responses/", srs("north-client-1", session_id=session.pk), format="json")
    by_external = north.api().post(
        "/api/v1/responses/", srs("north-client-1", session_external_id="ehr-1"), format="json"
    )
    assert by_id.json()["session_id"] == by_external.json()["session_id"] == session.pk
    assert by_id.json()["clinician"] == "north-colleague"


def test_a_session_of_another_client_or_clinic_is_refused_naming_the_field(north, south, episode):
    other = TherapyClientFactory(clinic=north.clinic, external_id="north-other")
    session = episode.sessions.get()
    for api, client in ((north.api(), "north-other"), (south.api(), "south-client-1")):
        refused = api.post("/api/v1/responses/", srs(client, session_id=session.pk), format="json")
        assert refused.status_code == 400
        assert problem_fields(refused) == {"session_id"}
    refused = north.api().post(
        "/api/v1/responses/", srs("north-other", session_external_id="ehr-1"), format="json"
    )
    assert problem_fields(refused) == {"session_external_id"}
    assert not Response.objects.filter(client=other).exists()


def test_a_bare_session_number_from_an_older_integration_is_kept_and_links_nothing(north, episode):
    created = north.api().post("/api/v1/responses/", srs("north-client-1", session=7), format="json")
    assert created.status_code == 201
    assert (created.json()["session"], created.json()["session_id"]) == (7, None)


# --- what a caller may not say ---------------------------------------------------------------------------


def test_a_client_token_cannot_rate_as_clinician_or_name_a_clinician(north, episode):
    api = client_token_api(north.client)
    as_clinician = api.post("/api/v1/responses/", srs(rater="clinician"), format="json")
    assert as_clinician.status_code == 400
    assert problem_fields(as_clinician) == {"rater"}
    naming = api.post("/api/v1/responses/", srs(clinician="north-clinician"), format="json")
    assert naming.status_code == 400
    assert problem_fields(naming) == {"clinician"}
    batch = api.post("/api/v1/responses/batch/", {"responses": [srs(rater="clinician", clinician="north-supervisor")]},
                     format="json")
    assert {error["field"] for error in batch.json()["results"][0]["errors"]} == {"rater", "clinician"}
    assert not Response.objects.exists()


def test_a_clinician_rates_as_themselves_and_cannot_credit_a_colleague(north, episode, colleague):
    api = staff_api(north.clinician)
    own = api.post("/api/v1/responses/", srs("north-client-1", rater="clinician"), format="json")
    assert (own.status_code, own.json()["clinician"]) == (201, "north-clinician")
    crediting = api.post(
        "/api/v1/responses/", srs("north-client-1", rater="clinician", clinician="north-colleague"), format="json"
    )
    assert crediting.status_code == 400
    assert problem_fields(crediting) == {"clinician"}


def test_an_api_key_may_name_a_clinician_from_the_caseload_only(north, episode):
    api = north.api()
    on_caseload = api.post("/api/v1/responses/", srs("north-client-1", clinician="north-clinician"), format="json")
    assert (on_caseload.status_code, on_caseload.json()["clinician"]) == (201, "north-clinician")
    off = api.post("/api/v1/responses/", srs("north-client-1", clinician="north-supervisor"), format="json")
    assert off.status_code == 400
    assert problem_fields(off) == {"clinician"}
    batch = api.post("/api/v1/responses/batch/", {"responses": [
        srs("north-client-1", clinician="north-supervisor"), srs("north-client-1", clinician="north-clinician"),
    ]}, format="json")
    assert [row["status"] for row in batch.json()["results"]] == [400, 201]


def test_authored_may_not_lie_beyond_the_back_dating_bound_or_in_the_future(north, settings):
    api = north.api()
    old = (datetime.now(UTC) - timedelta(days=400)).isoformat()
    refused = api.post("/api/v1/responses/", srs("north-client-1", authored=old), format="json")
    assert refused.status_code == 400
    assert refused.json()["errors"][0]["field"] == "authored"
    assert "365 days" in refused.json()["errors"][0]["message"]
    future = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    assert problem_fields(api.post("/api/v1/responses/", srs("north-client-1", authored=future), format="json")) == {
        "authored"
    }
    settings.RESPONSE_MAX_BACKDATE_DAYS = 500
    assert api.post("/api/v1/responses/", srs("north-client-1", authored=old), format="json").status_code == 201


# --- every way in: batch, form page, FHIR --------------------------------------------------------------


def test_a_batch_credits_each_entry_by_the_session_around_its_authored_time(north, episode, colleague):
    earlier = CareSession.objects.create(
        clinic=north.clinic, episode=episode, scheduled_start=NOW - timedelta(days=7),
        attendance=CareSession.Attendance.ATTENDED,
    )
    earlier.clinicians.add(north.clinician)
    sessions_renumber(episode_ids=[episode.pk])
    entries = [
        srs("north-client-1", authored=(NOW - timedelta(days=7) + timedelta(minutes=50)).isoformat()),
        srs("north-client-1"),
        srs("north-client-1", authored=(NOW - timedelta(days=3)).isoformat()),
    ]
    results = north.api().post("/api/v1/responses/batch/", {"responses": entries}, format="json").json()["results"]
    stored = [Response.objects.get(pk=row["id"]) for row in results]
    assert [(r.session_id, r.clinician_id) for r in stored] == [
        (earlier.pk, north.clinician.pk),
        (episode.sessions.get(external_id="ehr-1").pk, colleague.pk),
        (None, north.clinician.pk),  # no session that day: the episode's primary
    ]
    assert stored[0].session_number == 1


def test_a_form_page_submission_is_credited_to_the_sessions_clinician(north, episode, colleague, licensed_text_pack):
    _, token = client_token_issue(client=north.client, issued_by=north.clinician)
    browser = Client()
    url = reverse("take-form", args=[token, "srs"])
    form_key = re.search(r'name="form_key" value="([^"]+)"', browser.get(url).content.decode()).group(1)
    data = {"version": "1.0.0", "form_key": form_key, **{f"answers.{n}": "8.5" for n in range(1, 5)}}
    assert browser.post(url, data).status_code == 302
    stored = Response.objects.get()
    assert (stored.source, stored.rater, stored.clinician_id) == ("form", "client", colleague.pk)
    assert stored.session_id == episode.sessions.get().pk


def test_a_fhir_submission_without_an_author_is_credited_to_the_sessions_clinician(north, episode, colleague):
    fhir = FhirClient(api_key=north.api_key)
    questionnaire = fhir.get("/fhir/Questionnaire/srs").json()
    resource = response_for(
        questionnaire, {str(n): 8.0 for n in range(1, 5)}, subject="Patient/north-client-1",
        authored=(NOW - timedelta(minutes=5)).isoformat(),
    )
    created = fhir.post("/fhir/QuestionnaireResponse", resource)
    assert created.status_code == 201, created.content
    stored = Response.objects.get()
    assert (stored.source, stored.clinician_id, stored.session_id) == ("fhir", colleague.pk, episode.sessions.get().pk)


def test_supervision_and_clinician_metrics_count_the_clients_own_ratings(
    north, episode, colleague, settings, django_capture_on_commit_callbacks
):
    settings.METRICS_MIN_CELL = 1
    api = client_token_api(north.client)
    for total in (8.0, 9.0):
        with django_capture_on_commit_callbacks(execute=True):
            assert api.post("/api/v1/responses/", srs(total_marks=total), format="json").status_code == 201
    report = north.api().get("/api/v1/clinicians/north-colleague/report/", {"questionnaire": "srs"}).json()
    assert report["clinician_figures"]["mean"]["n"] == 2
    cells = north.api().get(
        "/api/v1/metrics/", {"questionnaire": "srs", "group_by": "clinician", "period": "month"}
    ).json()["results"]
    assert [(cell["clinician"], cell["n"]) for cell in cells if cell.get("clinician")] == [("north-colleague", 2)]


def test_on_postgresql_the_derivation_is_part_of_the_one_insert_statement(north, episode, colleague):
    services.require_postgresql()
    api = north.api()
    api.get("/api/v1/questionnaires/")  # the once-a-minute last-used update
    with CaptureQueriesContext(connection) as captured:
        created = api.post("/api/v1/responses/", wai_sr("north-client-1"), format="json")
    assert created.status_code == 201, created.content
    assert created.json()["clinician"] == "north-colleague"
    statements = [query["sql"] for query in captured.captured_queries]
    assert len([sql for sql in statements if "INSERT" in sql]) == 1
    assert not [sql for sql in statements if sql.startswith("SELECT") and "caresession" in sql]
    stored = Response.objects.get(pk=created.json()["id"])
    assert (stored.clinician_id, stored.session_id) == (colleague.pk, episode.sessions.get().pk)


def test_the_single_insert_compiles_its_client_query_once_per_caller_and_fills_in_each_client_and_window(
    north, colleague
):
    """PostgreSQL's single insert resolves client, session and credit in its own SQL, compiled once per caller:
    the second and third submissions (another client, another time) reuse it with their own values."""
    services.require_postgresql()
    from questionnaires.services.responses import single

    other = TherapyClientFactory(clinic=north.clinic, external_id="north-client-2")
    other.clinicians.add(colleague)
    episode = EpisodeOfCare.objects.create(
        clinic=north.clinic, client=north.client, start_date=NOW.date(), primary_clinician=north.clinician
    )
    session = CareSession.objects.create(
        clinic=north.clinic, episode=episode, scheduled_start=NOW - timedelta(minutes=30),
        attendance=CareSession.Attendance.ATTENDED,
    )
    session.clinicians.add(colleague)
    with transaction.atomic():
        sessions_renumber(episode_ids=[episode.pk])
    single._TEMPLATES.clear()
    api = north.api()
    first = api.post("/api/v1/responses/", srs("north-client-1"), format="json")
    assert len(single._TEMPLATES) == 1
    # Another client of the same caller: its caseload's one clinician is credited, no session linked.
    second = api.post("/api/v1/responses/", srs("north-client-2"), format="json")
    # The first client again, authored two days before: outside the session window, so no session.
    early = srs("north-client-1", authored=(NOW - timedelta(days=2)).isoformat())
    third = api.post("/api/v1/responses/", early, format="json")
    assert [r.status_code for r in (first, second, third)] == [201, 201, 201]
    assert len(single._TEMPLATES) == 1
    stored = {str(r.id): r for r in Response.objects.all()}
    one, two, three = (stored[r.json()["id"]] for r in (first, second, third))
    assert (one.client_id, one.session_id, one.clinician_id) == (north.client.pk, session.pk, colleague.pk)
    assert (two.client_id, two.session_id, two.clinician_id) == (other.pk, None, colleague.pk)
    assert (three.client_id, three.session_id, three.clinician_id) == (north.client.pk, None, north.clinician.pk)
