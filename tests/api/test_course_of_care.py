"""Episodes of care and sessions over REST: lifecycle, one active episode, numbering by attendance, scoping,
audit, and the EHR's session batch (idempotent on its own session identifier)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from questionnaires.models import AuditEvent, CareSession, ClinicCareSettings, EpisodeOfCare, MetricRollup, Response
from tests.api.conftest import client_token_api, staff_api
from tests.factories import MembershipFactory, TherapyClientFactory

pytestmark = pytest.mark.django_db


def problem_fields(response) -> set[str]:
    return {error["field"] for error in response.json()["errors"]}


def open_episode(api, client: str = "north-client-1", **body) -> dict:
    created = api.post(f"/api/v1/clients/{client}/episodes/", body, format="json")
    assert created.status_code == 201, created.content
    return created.json()


def book(api, episode_id: int, start: str, **body) -> dict:
    created = api.post(f"/api/v1/episodes/{episode_id}/sessions/", {"scheduled_start": start, **body}, format="json")
    assert created.status_code == 201, created.content
    return created.json()


# --- episodes ------------------------------------------------------------------------------------------


def test_an_episode_is_opened_read_and_finished_with_a_reason(north):
    api = north.api()
    episode = open_episode(
        api, start_date="2026-01-05", referral_date="2025-12-20", primary_clinician="north-clinician",
        external_id="ehr-episode-1",
    )
    assert (episode["status"], episode["primary_clinician"], episode["end_reason"]) == ("active", "north-clinician",
                                                                                         None)
    assert api.get(f"/api/v1/episodes/{episode['id']}/").json() == episode
    listed = api.get("/api/v1/clients/north-client-1/episodes/").json()
    assert [row["id"] for row in listed["results"]] == [episode["id"]]

    no_reason = api.patch(f"/api/v1/episodes/{episode['id']}/", {"status": "finished"}, format="json")
    assert no_reason.status_code == 400
    assert problem_fields(no_reason) == {"end_reason"}
    finished = api.patch(f"/api/v1/episodes/{episode['id']}/",
                         {"status": "finished", "end_reason": "dropped_out", "end_date": "2026-03-01"}, format="json")
    assert finished.status_code == 200, finished.content
    assert (finished.json()["status"], finished.json()["end_reason"], finished.json()["end_date"]) == (
        "finished", "dropped_out", "2026-03-01"
    )


def test_bad_episode_fields_are_each_named(north):
    refused = north.api().post(
        "/api/v1/clients/north-client-1/episodes/",
        {"start_date": "soon", "primary_clinician": "south-clinician", "clinicians": ["ghost"], "colour": "red"},
        format="json",
    )
    assert refused.status_code == 400
    assert problem_fields(refused) == {"start_date", "primary_clinician", "clinicians.0", "colour"}
    assert not EpisodeOfCare.objects.exists()


def test_a_client_has_one_active_episode_unless_the_clinic_allows_parallel_ones(north):
    api = north.api()
    first = open_episode(api)
    second = api.post("/api/v1/clients/north-client-1/episodes/", {}, format="json")
    assert second.status_code == 409
    ClinicCareSettings.objects.create(clinic=north.clinic, allow_parallel_episodes=True)
    open_episode(api)
    assert EpisodeOfCare.objects.filter(status="active").count() == 2
    ClinicCareSettings.objects.filter(clinic=north.clinic).update(allow_parallel_episodes=False)
    api.patch(f"/api/v1/episodes/{first['id']}/", {"status": "finished", "end_reason": "completed"}, format="json")
    reopened = api.patch(f"/api/v1/episodes/{first['id']}/", {"status": "active"}, format="json")
    assert reopened.status_code == 409


def test_an_episodes_clinicians_join_the_caseload_and_a_clinician_opening_one_is_its_primary(north):
    other = MembershipFactory(clinic=north.clinic, user__username="north-other-clinician").user
    client = TherapyClientFactory(clinic=north.clinic, external_id="north-new")
    episode = open_episode(north.api(), client="north-new", primary_clinician="north-other-clinician")
    assert set(client.clinicians.all()) == {other}
    assert episode["primary_clinician"] == "north-other-clinician"
    own = open_episode(staff_api(north.clinician))
    assert own["primary_clinician"] == "north-clinician"


def test_a_clinician_sees_only_episodes_on_their_caseload_and_a_client_token_only_its_own(north, south):
    TherapyClientFactory(clinic=north.clinic, external_id="north-other")
    mine = open_episode(north.api())
    theirs = open_episode(north.api(), client="north-other")
    clinician = staff_api(north.clinician)
    assert clinician.get(f"/api/v1/episodes/{mine['id']}/").status_code == 200
    assert clinician.get(f"/api/v1/episodes/{theirs['id']}/").status_code == 404
    assert clinician.get("/api/v1/clients/north-other/episodes/").status_code == 404
    token = client_token_api(north.client)
    assert token.get(f"/api/v1/episodes/{mine['id']}/").status_code == 200
    assert token.get(f"/api/v1/episodes/{theirs['id']}/").status_code == 404
    assert token.patch(f"/api/v1/episodes/{mine['id']}/", {"referral_date": "2026-01-01"},
                       format="json").status_code == 403
    assert token.get(f"/api/v1/episodes/{mine['id']}/sessions/").status_code == 403
    # and the other clinic sees nothing
    for api in (south.api(), staff_api(south.supervisor)):
        assert api.get(f"/api/v1/episodes/{mine['id']}/").status_code == 404
        assert api.get(f"/api/v1/episodes/{mine['id']}/sessions/").status_code == 404
        assert api.patch(f"/api/v1/episodes/{mine['id']}/", {"status": "finished", "end_reason": "other"},
                         format="json").status_code == 404
    assert EpisodeOfCare.objects.get(pk=mine["id"]).status == "active"


def test_episode_reads_and_writes_are_audited(north):
    api = north.api()
    episode = open_episode(api)
    api.get(f"/api/v1/episodes/{episode['id']}/")
    session = book(api, episode["id"], "2026-01-05T10:00:00Z")
    api.patch(f"/api/v1/sessions/{session['id']}/", {"attendance": "attended"}, format="json")
    logged = list(AuditEvent.objects.order_by("id").values_list("action", "object_type", "object_ids"))
    assert ("create", "episode", [str(episode["id"])]) in logged
    assert ("read", "episode", [str(episode["id"])]) in logged
    assert ("create", "session", [str(session["id"])]) in logged
    assert ("update", "session", [str(session["id"])]) in logged


# --- sessions and their numbers ------------------------------------------------------------------------


def test_only_attended_sessions_are_numbered_in_order_of_their_start(north):
    api = north.api()
    episode = open_episode(api)
    starts = [f"2026-01-{day:02d}T10:00:00Z" for day in (5, 12, 19, 26)]
    sessions = [book(api, episode["id"], start, attendance="attended") for start in starts]
    assert [s["number"] for s in sessions] == [1, 2, 3, 4]

    def numbers() -> list:
        rows = api.get(f"/api/v1/episodes/{episode['id']}/sessions/").json()["results"]
        return [(row["attendance"], row["number"]) for row in rows]

    api.patch(f"/api/v1/sessions/{sessions[1]['id']}/", {"attendance": "cancelled_by_client"}, format="json")
    api.patch(f"/api/v1/sessions/{sessions[2]['id']}/", {"attendance": "entered_in_error"}, format="json")
    assert numbers() == [("attended", 1), ("cancelled_by_client", None), ("entered_in_error", None), ("attended", 2)]
    # a session recorded late, before the others, takes number 1 and the rest move up
    book(api, episode["id"], "2026-01-01T10:00:00Z", attendance="attended")
    assert [number for _, number in numbers()] == [1, 2, None, None, 3]
    book(api, episode["id"], "2026-02-02T10:00:00Z", attendance="did_not_attend")
    assert numbers()[-1] == ("did_not_attend", None)


def test_a_session_names_who_was_in_the_room_from_the_clinic_only(north, south):
    api = north.api()
    episode = open_episode(api)
    session = book(api, episode["id"], "2026-01-05T10:00:00Z", clinicians=["north-clinician", "north-supervisor"])
    assert session["clinicians"] == ["north-clinician", "north-supervisor"]
    refused = api.patch(f"/api/v1/sessions/{session['id']}/", {"clinicians": ["south-clinician"], "attendance": "x"},
                        format="json")
    assert refused.status_code == 400
    assert problem_fields(refused) == {"clinicians.0", "attendance"}
    missing_start = api.post(f"/api/v1/episodes/{episode['id']}/sessions/", {}, format="json")
    assert problem_fields(missing_start) == {"scheduled_start"}


def test_a_sessions_external_id_is_unique_in_the_clinic_only(north, south):
    episode = open_episode(north.api())
    book(north.api(), episode["id"], "2026-01-05T10:00:00Z", external_id="appt-1")
    again = north.api().post(f"/api/v1/episodes/{episode['id']}/sessions/",
                             {"scheduled_start": "2026-01-06T10:00:00Z", "external_id": "appt-1"}, format="json")
    assert again.status_code == 409
    south_episode = open_episode(south.api(), client="south-client-1")
    book(south.api(), south_episode["id"], "2026-01-05T10:00:00Z", external_id="appt-1")


# --- the EHR's batch -----------------------------------------------------------------------------------


def test_a_session_batch_creates_replays_and_updates_by_the_ehrs_session_id(north):
    api = north.api()
    episode = open_episode(api, external_id="ehr-ep")
    entries = [
        {"external_id": "a1", "episode": episode["id"], "scheduled_start": "2026-01-05T10:00:00Z",
         "attendance": "attended", "clinicians": ["north-clinician"]},
        {"external_id": "a2", "episode_external_id": "ehr-ep", "scheduled_start": "2026-01-12T10:00:00Z",
         "attendance": "attended"},
        {"external_id": "a3", "client": "north-client-1", "scheduled_start": "2026-01-19T10:00:00Z"},
    ]
    first = api.post("/api/v1/sessions/batch/", {"sessions": entries}, format="json").json()
    assert (first["created"], first["rejected"]) == (3, 0)
    assert [row["number"] for row in first["results"]] == [1, 2, None]

    replay = api.post("/api/v1/sessions/batch/", {"sessions": entries}, format="json").json()
    assert (replay["created"], replay["updated"], replay["replayed"]) == (0, 0, 3)
    assert CareSession.objects.count() == 3

    # the EHR resends with attendance recorded: an update, and the numbers follow
    resent = [{**entries[0], "attendance": "did_not_attend"}, {**entries[2], "attendance": "attended"}]
    update = api.post("/api/v1/sessions/batch/", {"sessions": resent}, format="json").json()
    assert [(row["status"], row["updated"]) for row in update["results"]] == [(200, ["attendance"]),
                                                                             (200, ["attendance"])]
    assert [row["number"] for row in update["results"]] == [None, 2]
    assert CareSession.objects.get(external_id="a2").number == 1


def test_a_session_batch_stores_each_new_session_with_its_room_and_numbers_each_episode_on_its_own(north):
    # New sessions go in with one bulk insert: each keeps its own clinicians, results keep the input order
    # around a rejected entry, and each episode's attended sessions are numbered by start, apart.
    api = north.api()
    colleague = MembershipFactory(clinic=north.clinic, user__username="north-colleague").user
    TherapyClientFactory(clinic=north.clinic, external_id="north-client-2")
    one = open_episode(api)
    two = open_episode(api, client="north-client-2")
    body = api.post("/api/v1/sessions/batch/", {"sessions": [
        {"external_id": "b1", "episode": one["id"], "scheduled_start": "2026-01-12T10:00:00Z",
         "attendance": "attended", "clinicians": ["north-clinician", "north-colleague"]},
        {"external_id": "b2", "episode": two["id"], "scheduled_start": "2026-01-06T10:00:00Z",
         "attendance": "attended", "clinicians": ["north-colleague"]},
        {"external_id": "b3", "episode": one["id"]},
        {"external_id": "b4", "episode": one["id"], "scheduled_start": "2026-01-05T10:00:00Z",
         "attendance": "attended"},
    ]}, format="json").json()
    assert [(row["index"], row["status"]) for row in body["results"]] == [(0, 201), (1, 201), (2, 400), (3, 201)]
    assert [row.get("number") for row in body["results"]] == [2, 1, None, 1]
    stored = {session.external_id: session for session in CareSession.objects.prefetch_related("clinicians")}
    assert {user.username for user in stored["b1"].clinicians.all()} == {"north-clinician", colleague.username}
    assert [user.username for user in stored["b2"].clinicians.all()] == ["north-colleague"]
    assert list(stored["b4"].clinicians.all()) == []
    assert [body["results"][index]["id"] for index in (0, 1, 3)] == [stored[name].pk for name in ("b1", "b2", "b4")]


def test_a_session_batch_numbers_sessions_after_the_stored_ones_at_insert_and_renumbers_an_episode_it_reaches_into(
    north,
):
    # After the stored sessions (a nightly sync): counted on from the stored attended ones, by start, a tie
    # in input order. Before a stored one (a late backfill): the episode is renumbered, the stored one moves.
    api = north.api()
    episode = open_episode(api)
    stored = book(api, episode["id"], "2026-01-05T10:00:00Z", attendance="attended")
    book(api, episode["id"], "2026-01-07T10:00:00Z", attendance="did_not_attend")
    after = api.post("/api/v1/sessions/batch/", {"sessions": [
        {"external_id": "n3", "episode": episode["id"], "scheduled_start": "2026-01-19T10:00:00Z",
         "attendance": "attended"},
        {"external_id": "n2", "episode": episode["id"], "scheduled_start": "2026-01-12T10:00:00Z",
         "attendance": "attended"},
        {"external_id": "n2b", "episode": episode["id"], "scheduled_start": "2026-01-12T10:00:00Z",
         "attendance": "attended"},
        {"external_id": "n-booked", "episode": episode["id"], "scheduled_start": "2026-01-26T10:00:00Z"},
    ]}, format="json").json()
    assert [row["number"] for row in after["results"]] == [4, 2, 3, None]
    before = api.post("/api/v1/sessions/batch/", {"sessions": [
        {"external_id": "n0", "episode": episode["id"], "scheduled_start": "2026-01-01T10:00:00Z",
         "attendance": "attended"},
    ]}, format="json").json()
    assert before["results"][0]["number"] == 1
    numbers = dict(CareSession.objects.filter(episode_id=episode["id"]).values_list("external_id", "number"))
    assert CareSession.objects.get(pk=stored["id"]).number == 2
    assert {name: numbers[name] for name in ("n2", "n2b", "n3", "n-booked")} == {
        "n2": 3, "n2b": 4, "n3": 5, "n-booked": None
    }


def test_a_session_batch_entry_cannot_move_a_session_or_name_what_it_cannot_see(north, south):
    api = north.api()
    first = open_episode(api)
    api.patch(f"/api/v1/episodes/{first['id']}/", {"status": "finished", "end_reason": "completed"}, format="json")
    second = open_episode(api)
    api.post("/api/v1/sessions/batch/", {"sessions": [
        {"external_id": "s1", "episode": first["id"], "scheduled_start": "2026-01-05T10:00:00Z"}]}, format="json")
    body = api.post("/api/v1/sessions/batch/", {"sessions": [
        {"external_id": "s1", "episode": second["id"], "scheduled_start": "2026-01-05T10:00:00Z"},
        {"external_id": "s2", "scheduled_start": "2026-01-05T10:00:00Z"},
        {"external_id": "s3", "episode": first["id"], "client": "north-client-1"},
        {"external_id": "s4", "episode": 10**6, "scheduled_start": "2026-01-05T10:00:00Z"},
        "junk",
    ]}, format="json").json()
    assert [row["status"] for row in body["results"]] == [409, 400, 400, 400, 400]
    assert CareSession.objects.get(external_id="s1").episode_id == first["id"]
    # another clinic's batch naming the same identifier makes its own session, never touches north's
    south_episode = open_episode(south.api(), client="south-client-1")
    other = south.api().post("/api/v1/sessions/batch/", {"sessions": [
        {"external_id": "s1", "episode": south_episode["id"], "scheduled_start": "2026-01-06T10:00:00Z"},
        {"external_id": "s9", "episode": first["id"], "scheduled_start": "2026-01-06T10:00:00Z"},
    ]}, format="json").json()
    assert [row["status"] for row in other["results"]] == [201, 400]
    assert CareSession.objects.get(clinic=north.clinic, external_id="s1").scheduled_start.day == 5


def test_a_session_batch_envelope_is_checked(north):
    api = north.api()
    assert api.post("/api/v1/sessions/batch/", {"sessions": []}, format="json").status_code == 400
    assert api.post("/api/v1/sessions/batch/", {"sessions": [{}] * 1001}, format="json").status_code == 413
    assert api.post("/api/v1/sessions/batch/", {"rows": []}, format="json").status_code == 400


def test_a_lone_attended_session_cancelled_loses_its_number_and_its_responses_too(north):
    """Every changed session losing its number at once (an all-NULL renumbering) is valid SQL on PostgreSQL."""
    api = north.api()
    episode = open_episode(api)
    session = book(api, episode["id"], "2026-01-05T10:00:00Z", attendance="attended")
    assert session["number"] == 1
    cancelled = api.patch(f"/api/v1/sessions/{session['id']}/", {"attendance": "cancelled_by_client"}, format="json")
    assert cancelled.status_code == 200, cancelled.content
    assert cancelled.json()["number"] is None


def test_a_batch_resend_marking_a_session_entered_in_error_retracts_its_responses(
    north, settings, django_capture_on_commit_callbacks
):
    settings.METRICS_MIN_CELL = 1
    api = north.api()
    episode = open_episode(api)
    start = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
    entry = {"external_id": "e1", "episode": episode["id"], "scheduled_start": start, "attendance": "attended",
             "clinicians": ["north-clinician"]}
    assert api.post("/api/v1/sessions/batch/", {"sessions": [entry]}, format="json").json()["created"] == 1
    with django_capture_on_commit_callbacks(execute=True):
        submitted = api.post("/api/v1/responses/", {
            "questionnaire": "srs", "client": "north-client-1", "session_external_id": "e1",
            "authored": (datetime.now(UTC) - timedelta(minutes=5)).isoformat(),
            "answers": {str(n): 9 for n in range(1, 5)},
        }, format="json")
    assert submitted.status_code == 201, submitted.content
    assert MetricRollup.objects.exists()
    with django_capture_on_commit_callbacks(execute=True):
        resent = api.post("/api/v1/sessions/batch/", {"sessions": [{**entry, "attendance": "entered_in_error"}]},
                          format="json").json()
    assert resent["updated"] == 1
    assert Response.objects.get().status == Response.Status.RETRACTED
    assert not MetricRollup.objects.exists()
