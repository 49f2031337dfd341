"""Who recorded a goal: a client's app sees a role, never another credential's id; staff see the credential."""

from __future__ import annotations

import pytest

from questionnaires.principals import role_of
from tests.api.conftest import client_token_api, staff_api

pytestmark = pytest.mark.django_db

GOALS_URL = "/api/v1/clients/north-client-1/goals/"


def test_a_client_sees_the_role_not_the_ehr_keys_prefix(north):
    created = north.api().post(GOALS_URL, {"text": "Sleep through the night"}, format="json").json()
    prefix = north.api_key.partition(".")[0]
    assert created["recorded_by"] == f"api_key:{prefix}"

    client_api = client_token_api(north.client)
    listed = client_api.get(GOALS_URL).json()["results"]
    detail = client_api.get(f"{GOALS_URL}{created['id']}/").json()

    assert [goal["recorded_by"] for goal in listed] == ["integration"]
    assert detail["recorded_by"] == "integration"
    assert prefix not in str(listed) + str(detail)


def test_a_client_sees_clinician_for_staff_and_client_for_its_own_token(north):
    staff_api(north.clinician).post(GOALS_URL, {"text": "Call my sister"}, format="json")
    client_api = client_token_api(north.client)
    own = client_api.post(GOALS_URL, {"text": "Walk daily"}, format="json").json()

    roles = {goal["text"]: goal["recorded_by"] for goal in client_api.get(GOALS_URL).json()["results"]}
    assert roles == {"Call my sister": "clinician", "Walk daily": "client"}
    assert own["recorded_by"] == "client"


def test_staff_still_see_which_credential_recorded_a_goal(north):
    client_token_api(north.client).post(GOALS_URL, {"text": "Walk daily"}, format="json")

    (goal,) = staff_api(north.supervisor).get(GOALS_URL).json()["results"]
    assert goal["recorded_by"].startswith("client_token:")


@pytest.mark.parametrize(
    "label, role",
    [("api_key:ab12", "integration"), ("user:alice", "clinician"), ("client_token:xy", "client"),
     ("seed_demo", "system"), ("", "system")],
)
def test_role_of_a_label(label, role):
    assert role_of(label) == role
