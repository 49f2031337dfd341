"""Credentials: API keys, staff tokens from `/auth/token/`, client tokens from `/clients/{id}/tokens/`."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from questionnaires.models import AuditEvent, ClientToken, ClinicAPIKey, StaffToken
from tests.api.conftest import authorized, client_token_api, problem_fields, staff_api, wai_sr

pytestmark = pytest.mark.django_db

PASSWORD = "correct horse battery"  # tests.factories.UserFactory's password


def test_a_clinician_trades_username_and_password_for_a_working_token(north):
    response = authorized("").post(
        "/api/v1/auth/token/", {"username": "north-clinician", "password": PASSWORD}, format="json"
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["role"] == "clinician" and body["clinic"] == "north"
    assert authorized(f"Token {body['token']}").get("/api/v1/clients/").status_code == 200
    stored = StaffToken.objects.get(prefix=body["prefix"])
    assert body["token"] not in stored.hashed_key  # only the hash is stored


def test_a_supervisor_token_says_supervisor(north):
    body = authorized("").post(
        "/api/v1/auth/token/", {"username": "north-supervisor", "password": PASSWORD}, format="json"
    ).json()
    assert body["role"] == "supervisor"


def test_a_wrong_password_is_401_and_audited(north):
    response = authorized("").post(
        "/api/v1/auth/token/", {"username": "north-clinician", "password": "wrong"}, format="json"
    )
    assert response.status_code == 401
    assert response.json()["detail"] == "Invalid username or password."
    event = AuditEvent.objects.get(action="token.issue")
    assert (event.actor, event.outcome, event.clinic_id) == ("user:north-clinician", "unauthenticated", north.clinic.id)


def test_an_unknown_user_gets_the_same_answer_as_a_wrong_password(north):
    unknown = authorized("").post("/api/v1/auth/token/", {"username": "nobody", "password": "x"}, format="json")
    assert unknown.status_code == 401
    assert unknown.json()["detail"] == "Invalid username or password."


def test_a_user_without_a_clinic_gets_no_token(db):
    from tests.factories import UserFactory

    UserFactory(username="loner")
    response = authorized("").post("/api/v1/auth/token/", {"username": "loner", "password": PASSWORD}, format="json")
    assert response.status_code == 401


@pytest.mark.parametrize(
    "body, fields",
    [
        ({}, {"username", "password"}),
        ({"username": 5, "password": PASSWORD}, {"username"}),
        ({"username": "u", "password": "p", "scope": "all"}, {"scope"}),
    ],
)
def test_a_malformed_token_request_is_a_400(db, body, fields):
    response = authorized("").post("/api/v1/auth/token/", body, format="json")
    assert response.status_code == 400
    assert problem_fields(response) == fields


def test_password_attempts_are_throttled(north, settings, frozen_throttle_clock):
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {"login": "2/min"}}
    api = authorized("")
    statuses = [
        api.post("/api/v1/auth/token/", {"username": "north-clinician", "password": "x"}, format="json").status_code
        for _ in range(3)
    ]
    assert statuses == [401, 401, 429]


def test_a_staff_token_can_revoke_itself(north):
    api = staff_api(north.clinician)
    assert api.delete("/api/v1/auth/token/").status_code == 204
    assert api.get("/api/v1/clients/").status_code == 401


def test_a_revoked_api_key_is_401_and_the_attempt_is_audited(north):
    ClinicAPIKey.objects.filter(clinic=north.clinic).update(revoked=True)
    response = north.api().get("/api/v1/clients/")
    assert response.status_code == 401
    assert response["Content-Type"] == "application/problem+json"
    assert "Api-Key" in response["WWW-Authenticate"]
    event = AuditEvent.objects.get(outcome="unauthenticated")
    assert event.actor == f"api_key:{north.api_key.split('.')[0]}"
    assert event.clinic_id == north.clinic.id


def test_an_expired_api_key_is_401(north):
    ClinicAPIKey.objects.filter(clinic=north.clinic).update(expiry_date=timezone.now() - timedelta(seconds=1))
    assert north.api().get("/api/v1/clients/").status_code == 401


@pytest.mark.parametrize(
    "header",
    ["Api-Key", "Api-Key ", "Api-Key nodot", "Api-Key abc.def", "Token abc.def", "Bearer abc.def", "Basic dTpw",
     "Api-Key " + "x" * 500, "Api-Key a.b\x00c"],
)
def test_a_wrong_or_malformed_credential_is_401_not_500(north, header):
    response = authorized(header).get("/api/v1/clients/")
    assert response.status_code == 401
    assert response["Content-Type"] == "application/problem+json"


def test_a_right_prefix_with_a_wrong_secret_is_401_and_audited(north):
    prefix = north.api_key.split(".")[0]
    response = authorized(f"Api-Key {prefix}.wrongsecret").get("/api/v1/clients/")
    assert response.status_code == 401
    assert AuditEvent.objects.filter(actor=f"api_key:{prefix}", outcome="unauthenticated").count() == 1


def test_an_api_key_in_another_scheme_does_not_authenticate(north):
    assert authorized(f"Token {north.api_key}").get("/api/v1/clients/").status_code == 401
    assert authorized(f"Bearer {north.api_key}").get("/api/v1/clients/").status_code == 401


def test_last_use_is_written_once_a_minute_not_on_every_request(north):
    api = north.api()
    api.get("/api/v1/questionnaires/")
    key = ClinicAPIKey.objects.get(clinic=north.clinic)
    first_use = key.last_used_at
    assert first_use is not None
    api.get("/api/v1/questionnaires/")
    key.refresh_from_db()
    assert key.last_used_at == first_use


# --- client tokens --------------------------------------------------------------------------------------


def test_staff_issue_an_expiring_client_token_that_works_for_that_client(north):
    response = staff_api(north.clinician).post(
        "/api/v1/clients/north-client-1/tokens/", {"expires_in": 3600}, format="json"
    )
    assert response.status_code == 201, response.content
    body = response.json()
    token = ClientToken.objects.get(prefix=body["prefix"])
    assert token.client == north.client and token.issued_by == north.clinician
    assert timedelta(minutes=59) < token.expiry_date - timezone.now() <= timedelta(hours=1)
    app = authorized(f"Bearer {body['token']}")
    assert app.post("/api/v1/responses/", wai_sr("north-client-1"), format="json").status_code == 201
    assert app.get("/api/v1/clients/north-client-1/scores/").status_code == 200


def test_a_client_token_defaults_to_and_never_exceeds_the_maximum_lifetime(north):
    body = north.api().post("/api/v1/clients/north-client-1/tokens/", {}, format="json").json()
    token = ClientToken.objects.get(prefix=body["prefix"])
    assert timedelta(days=29) < token.expiry_date - timezone.now() <= timedelta(days=30)
    too_long = north.api().post(
        "/api/v1/clients/north-client-1/tokens/", {"expires_in": 400 * 86400}, format="json"
    )
    assert too_long.status_code == 400
    assert problem_fields(too_long) == {"expires_in"}


def test_tokens_are_listed_without_secrets_and_can_be_revoked(north):
    api = north.api()
    issued = api.post("/api/v1/clients/north-client-1/tokens/", {}, format="json").json()
    listed = api.get("/api/v1/clients/north-client-1/tokens/").json()
    assert [row["prefix"] for row in listed["results"]] == [issued["prefix"]]
    assert "token" not in listed["results"][0]
    assert api.delete(f"/api/v1/clients/north-client-1/tokens/{issued['prefix']}/").status_code == 204
    assert authorized(f"Bearer {issued['token']}").get("/api/v1/questionnaires/").status_code == 401
    assert api.delete("/api/v1/clients/north-client-1/tokens/nope/").status_code == 404


def test_an_expired_client_token_is_401(north):
    api = client_token_api(north.client)
    ClientToken.objects.update(expiry_date=timezone.now() - timedelta(seconds=1))
    assert api.get("/api/v1/questionnaires/").status_code == 401


def test_a_client_token_can_revoke_itself(north):
    api = client_token_api(north.client)
    assert api.delete("/api/v1/auth/token/").status_code == 204
    assert api.get("/api/v1/questionnaires/").status_code == 401


def test_an_api_key_cannot_use_the_staff_token_revocation(north):
    assert north.api().delete("/api/v1/auth/token/").status_code == 403
