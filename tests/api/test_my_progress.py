"""`GET /me/progress/` and the form page's confirmation: a client's own progress, and the field policy.

A client sees only their own client-rated scores on instruments their clinic shows (alliance hidden by
default), as dates and totals with plain words; never a band, a flag, an alert, a clinician's rating
or another person's data.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from questionnaires.models import ClinicCareSettings
from tests.api.conftest import client_token_api, staff_api
from tests.api.outcome_helpers import answers_for
from tests.factories import TherapyClientFactory

pytestmark = pytest.mark.django_db

BASE = datetime(2026, 1, 5, 10, 0, tzinfo=UTC)
FORBIDDEN_KEYS = {"band", "flags", "alerts", "alert", "rater", "clinician", "comment", "client"}


def submit(api, client: str, questionnaire: str, answers: dict, days: int, capture, **extra) -> None:
    with capture(execute=True):
        posted = api.post("/api/v1/responses/", {
            "questionnaire": questionnaire, "client": client, "answers": answers,
            "authored": (BASE + timedelta(days=days)).isoformat(), **extra,
        }, format="json")
    assert posted.status_code == 201, posted.content


def keys_in(value) -> set[str]:
    if isinstance(value, dict):
        return set(value) | set().union(*(keys_in(item) for item in value.values()))
    if isinstance(value, list):
        return set().union(*(keys_in(item) for item in value)) if value else set()
    return set()


@pytest.fixture
def rated(north, django_capture_on_commit_callbacks):
    """north-client-1: PHQ-9 16 then 8 (client), SRS 30 (client), PHQ-9 27 rated by the clinician; another
    client of the clinic with PHQ-9 3; a goal rated 2 then 7."""
    api, capture = north.api(), django_capture_on_commit_callbacks
    submit(api, "north-client-1", "phq-9", answers_for("phq-9", 16), 0, capture)
    submit(api, "north-client-1", "phq-9", answers_for("phq-9", 8), 14, capture)
    submit(api, "north-client-1", "srs", answers_for("srs", 30), 14, capture)
    submit(api, "north-client-1", "phq-9", answers_for("phq-9", 27), 15, capture, rater="clinician",
           clinician=north.clinician.username)
    other = TherapyClientFactory(clinic=north.clinic, external_id="north-other")
    other.clinicians.add(north.clinician)
    submit(api, "north-other", "phq-9", answers_for("phq-9", 3), 3, capture)
    goal = api.post("/api/v1/clients/north-client-1/goals/", {"text": "Sleep through the night"}, format="json")
    assert goal.status_code == 201, goal.content
    goal_id = goal.json()["id"]
    submit(api, "north-client-1", "gbo", {str(goal_id): 2}, 1, capture)
    submit(api, "north-client-1", "gbo", {str(goal_id): 7}, 15, capture)
    return north


def test_a_client_sees_their_own_trajectory_and_goals_in_plain_words(rated):
    body = client_token_api(rated.client).get("/api/v1/me/progress/").json()
    (phq,) = body["instruments"]
    assert phq["questionnaire"] == "phq-9" and phq["higher_is_better"] is False
    # Only the client's own two ratings: the clinician's 27 and the other client's 3 are not there.
    assert [point["total"] for point in phq["points"]] == [16.0, 8.0]
    # 16 -> 8 is 8 points, at least PHQ-9's reliable change of 6.
    assert phq["summary"].startswith("Your answers show a clear improvement, from 16 to 8")
    (goal,) = body["goals"]
    assert (goal["text"], goal["first"], goal["latest"]) == ("Sleep through the night", 2, 7)
    assert "clear step" in goal["summary"]  # 5 >= 2.45 (Edbrooke-Childs et al. 2015)


def test_no_band_flag_alert_clinician_rating_or_other_person_is_ever_in_it(rated):
    body = client_token_api(rated.client).get("/api/v1/me/progress/").json()
    assert not keys_in(body) & FORBIDDEN_KEYS
    assert "27" not in str(body) and "north-other" not in str(body)


def test_alliance_instruments_are_hidden_unless_the_clinic_shows_them_and_any_can_be_hidden(rated):
    api = client_token_api(rated.client)
    assert "srs" not in [row["questionnaire"] for row in api.get("/api/v1/me/progress/").json()["instruments"]]
    ClinicCareSettings.objects.create(clinic=rated.clinic, client_progress={"srs": True, "phq-9": False, "gbo": False})
    body = api.get("/api/v1/me/progress/").json()
    assert [row["questionnaire"] for row in body["instruments"]] == ["srs"]
    assert body["goals"] == []


def test_only_a_client_token_may_ask(rated, south):
    assert rated.api().get("/api/v1/me/progress/").status_code == 403
    assert staff_api(rated.clinician).get("/api/v1/me/progress/").status_code == 403
    other_clinic_client = client_token_api(south.client).get("/api/v1/me/progress/").json()
    assert other_clinic_client == {"instruments": [], "goals": []}
