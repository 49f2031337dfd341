"""Shared goals (GBO): lifecycle with history, dynamic items checked against the client's active goals,
change since the first rating with the reliable-change threshold, and the stuck-goal alert."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from questionnaires.models import Alert, AuditEvent, Goal, MetricRollup, WebhookDelivery, WebhookSubscription
from questionnaires.services.goal_alerts import becomes_stuck, is_stuck
from tests.api.conftest import client_token_api, problem_fields, staff_api
from tests.factories import TherapyClientFactory
from tests.practice.helpers import body

pytestmark = pytest.mark.django_db

GOALS_URL = "/api/v1/clients/north-client-1/goals/"


def add_goal(api, text: str, external_id: str = "north-client-1") -> dict:
    answer = api.post(f"/api/v1/clients/{external_id}/goals/", {"text": text}, format="json")
    assert answer.status_code == 201, answer.content
    return answer.json()


def rate(scored, api, ratings: dict, days: int, expect: int = 201) -> dict:
    return scored(api, body("gbo", "north-client-1", {str(goal): value for goal, value in ratings.items()},
                            days=days), expect=expect)


# --- lifecycle ------------------------------------------------------------------------------------------


def test_at_most_three_goals_are_active_at_once(north):
    api = staff_api(north.clinician)
    for text in ("Sleep through the night", "Go back to work", "Call my sister"):
        add_goal(api, text)

    fourth = api.post(GOALS_URL, {"text": "Run 5 km"}, format="json")

    assert fourth.status_code == 409
    assert Goal.objects.filter(client=north.client, status="active").count() == 3


def test_closing_and_replacing_goals_keeps_their_history(north):
    api = staff_api(north.clinician)
    sleep, work, sister = (add_goal(api, text)["id"] for text in ("Sleep", "Work", "Sister"))

    achieved = api.patch(f"{GOALS_URL}{sleep}/", {"status": "achieved"}, format="json").json()
    dropped = api.patch(f"{GOALS_URL}{work}/", {"status": "dropped"}, format="json").json()
    replaced = api.patch(f"{GOALS_URL}{sister}/", {"status": "replaced", "replacement": "See my sister monthly"},
                         format="json").json()

    assert achieved["status"] == "achieved" and achieved["achieved"] is not None
    assert dropped["status"] == "dropped" and dropped["dropped"] is not None
    assert replaced["status"] == "replaced" and replaced["replaced"] is not None
    assert replaced["replacement"] == {**replaced["replacement"], "text": "See my sister monthly", "status": "active"}
    listed = api.get(GOALS_URL).json()["results"]
    assert [(goal["text"], goal["status"]) for goal in listed] == [
        ("Sleep", "achieved"), ("Work", "dropped"), ("Sister", "replaced"), ("See my sister monthly", "active"),
    ]
    assert listed[2]["replaced_by"] == listed[3]["id"]


def test_a_closed_goal_does_not_change_again(north):
    api = staff_api(north.clinician)
    goal = add_goal(api, "Sleep")["id"]
    api.patch(f"{GOALS_URL}{goal}/", {"status": "achieved"}, format="json")

    again = api.patch(f"{GOALS_URL}{goal}/", {"status": "dropped"}, format="json")

    assert again.status_code == 409
    assert Goal.objects.get(pk=goal).status == "achieved"


@pytest.mark.parametrize(
    "payload, field",
    [
        ({"status": "paused"}, "status"),
        ({"status": "replaced"}, "replacement"),
        ({"status": "achieved", "replacement": "x"}, "replacement"),
        ({"status": "replaced", "replacement": ""}, "replacement"),
        ({}, "status"),
        ({"status": "achieved", "colour": "red"}, "colour"),
    ],
)
def test_a_bad_status_change_is_a_400(north, payload, field):
    api = staff_api(north.clinician)
    goal = add_goal(api, "Sleep")["id"]

    answer = api.patch(f"{GOALS_URL}{goal}/", payload, format="json")

    assert answer.status_code == 400
    assert field in problem_fields(answer)


@pytest.mark.parametrize("text", ["", "   ", "x" * 501, 7, None])
def test_a_bad_goal_text_is_a_400(north, text):
    answer = staff_api(north.clinician).post(GOALS_URL, {"text": text}, format="json")

    assert answer.status_code == 400


def test_the_client_can_record_a_goal_with_their_own_token(north):
    goal = add_goal(client_token_api(north.client), "Feel less alone")

    assert Goal.objects.get(pk=goal["id"]).recorded_by.startswith("client_token:")


def test_goals_are_404_for_the_other_clinic_and_off_the_caseload(north, south):
    goal = add_goal(north.api(), "Sleep")["id"]
    TherapyClientFactory(clinic=north.clinic, external_id="north-other")
    add_goal(north.api(), "Private", external_id="north-other")

    for api in (south.api(), staff_api(south.supervisor), client_token_api(south.client)):
        assert api.get(GOALS_URL).status_code == 404
        assert api.get(f"{GOALS_URL}{goal}/").status_code == 404
        assert api.post(GOALS_URL, {"text": "x"}, format="json").status_code == 404
    assert staff_api(north.clinician).get("/api/v1/clients/north-other/goals/").status_code == 404
    assert client_token_api(north.client).get("/api/v1/clients/north-other/goals/").status_code == 404
    assert staff_api(north.clinician).get(f"{GOALS_URL}999999/").status_code == 404
    assert staff_api(north.clinician).get(f"{GOALS_URL}abc/").status_code == 404


def test_every_read_and_write_of_goal_text_is_audited(north):
    api = staff_api(north.clinician)
    goal = add_goal(api, "Sleep")["id"]
    api.get(GOALS_URL)
    api.get(f"{GOALS_URL}{goal}/")

    events = AuditEvent.objects.filter(object_type="goal").order_by("at", "id")
    assert [(event.action, event.actor) for event in events] == [
        ("create", "user:north-clinician"), ("list", "user:north-clinician"), ("read", "user:north-clinician"),
    ]
    assert all("Sleep" not in event.detail for event in events)


# --- dynamic items --------------------------------------------------------------------------------------


def test_ratings_are_validated_against_the_clients_active_goals_at_submission(north, scored):
    api = staff_api(north.clinician)
    sleep, work = add_goal(api, "Sleep")["id"], add_goal(api, "Work")["id"]

    accepted = rate(scored, north.api(), {sleep: 3, work: 5}, days=0)
    assert accepted["status"] == "scored" and accepted["score"]["total"] == 4

    api.patch(f"{GOALS_URL}{work}/", {"status": "achieved"}, format="json")
    closed = north.api().post("/api/v1/responses/", body("gbo", "north-client-1", {str(sleep): 4, str(work): 6}),
                              format="json")
    assert closed.status_code == 400 and problem_fields(closed) == {f"answers.{work}"}

    missing = north.api().post("/api/v1/responses/", body("gbo", "north-client-1", {"999999": 4}), format="json")
    assert missing.status_code == 400 and problem_fields(missing) == {"answers.999999", f"answers.{sleep}"}

    off_scale = north.api().post("/api/v1/responses/", body("gbo", "north-client-1", {str(sleep): 11}),
                                 format="json")
    assert off_scale.status_code == 400 and problem_fields(off_scale) == {f"answers.{sleep}"}


def test_another_clients_goal_is_not_an_item_of_this_client(north, scored):
    TherapyClientFactory(clinic=north.clinic, external_id="north-other")
    theirs = add_goal(north.api(), "Theirs", external_id="north-other")["id"]
    mine = add_goal(north.api(), "Mine")["id"]

    answer = north.api().post("/api/v1/responses/", body("gbo", "north-client-1", {str(mine): 2, str(theirs): 2}),
                              format="json")

    assert answer.status_code == 400 and problem_fields(answer) == {f"answers.{theirs}"}


def test_a_client_without_active_goals_has_nothing_to_rate(north):
    answer = north.api().post("/api/v1/responses/", body("gbo", "north-client-1", {"999999": 5}), format="json")

    assert answer.status_code == 400
    assert problem_fields(answer) == {"answers"}


def test_the_definition_declares_its_items_dynamic(north):
    shaped = north.api().get("/api/v1/questionnaires/gbo/").json()

    assert shaped["dynamic_items"] == "client_goals"
    assert shaped["construct"] == "goals"
    assert north.api().get("/api/v1/questionnaires/srs/").json()["dynamic_items"] is None


# --- change and reliable change -------------------------------------------------------------------------


def test_change_since_the_first_rating_by_hand(north, scored):
    api = staff_api(north.clinician)
    sleep, work = add_goal(api, "Sleep")["id"], add_goal(api, "Work")["id"]
    for day, ratings in enumerate(({sleep: 2, work: 4}, {sleep: 3, work: 5}, {sleep: 5, work: 6})):
        rate(scored, north.api(), ratings, days=day)

    goals = {goal["id"]: goal for goal in api.get(GOALS_URL).json()["results"]}

    # Sleep 2 -> 5: change 3 >= 2.45, reliable improvement; Work 4 -> 6: change 2 < 2.45, not reliable.
    assert goals[sleep]["progress"] == {
        "baseline": 2, "latest": 5, "change": 3, "reliable_improvement": True, "reliable_deterioration": False,
        "threshold": 2.45,
    }
    assert goals[work]["progress"]["change"] == 2
    assert goals[work]["progress"]["reliable_improvement"] is False
    trajectory = api.get(f"{GOALS_URL}{sleep}/").json()["trajectory"]
    assert [point["rating"] for point in trajectory] == [2, 3, 5]


def test_the_reliable_change_threshold_is_a_setting(north, scored, settings):
    settings.GBO_RELIABLE_CHANGE = "1.5"
    api = staff_api(north.clinician)
    work = add_goal(api, "Work")["id"]
    for day, value in enumerate((6, 4)):
        rate(scored, north.api(), {work: value}, days=day)

    progress = api.get(f"{GOALS_URL}{work}/").json()["progress"]

    assert progress["change"] == -2 and progress["threshold"] == 1.5
    assert progress["reliable_deterioration"] is True


# --- the stuck-goal alert -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "ratings, position, stuck",
    [
        ([2, 4, 4, 3], 3, False),  # 4, 4, 3 against 2: it rose
        ([2, 4, 4, 3, 4], 4, True),  # 4, 3, 4 against 4: no rise over three sessions
        ([5, 5, 5, 5], 3, True),
        ([5, 5, 5], 2, False),  # fewer than three sessions after a baseline
    ],
)
def test_stuck_by_hand(ratings, position, stuck):
    assert is_stuck([Decimal(value) for value in ratings], position, 3) is stuck


def test_the_alert_is_raised_when_a_goal_becomes_stuck_not_at_every_session(north, scored):
    WebhookSubscription.objects.create(clinic=north.clinic, url="https://north.example.org/hook",
                                       events=["alert.raised"], secret="s" * 32)
    sleep = add_goal(staff_api(north.clinician), "Sleep through the night")["id"]
    responses = [rate(scored, north.api(), {sleep: value}, days=day)["id"]
                 for day, value in enumerate((2, 4, 4, 3, 4, 4))]

    alerts = list(Alert.objects.filter(kind="goal_stuck"))

    assert [str(alert.response_id) for alert in alerts] == [responses[4]]
    assert alerts[0].details == {"goals": [sleep], "sessions": 3}
    assert becomes_stuck([Decimal(v) for v in (2, 4, 4, 3, 4, 4)], 5, 3) is False
    payloads = json.dumps([delivery.payload for delivery in WebhookDelivery.objects.all()])
    assert "goal_stuck" in payloads and "Sleep through the night" not in payloads


def test_the_stuck_window_is_a_setting(north, scored, settings):
    settings.GBO_STUCK_SESSIONS = 2
    sleep = add_goal(staff_api(north.clinician), "Sleep")["id"]
    for day, value in enumerate((3, 3, 2)):
        rate(scored, north.api(), {sleep: value}, days=day)

    assert Alert.objects.filter(kind="goal_stuck").count() == 1


def test_goal_text_never_reaches_the_metrics(north, scored):
    sleep = add_goal(staff_api(north.clinician), "Sleep through the night")["id"]
    rate(scored, north.api(), {sleep: 6}, days=0)

    metrics = staff_api(north.supervisor).get("/api/v1/metrics/?questionnaire=gbo").json()

    assert MetricRollup.objects.filter(questionnaire_id="gbo").exists()
    assert metrics["results"] and "Sleep" not in json.dumps(metrics)
