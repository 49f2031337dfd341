"""Headers: no cache keeps client data (Cache-Control: no-store on every API, FHIR and form response), and every
HTML page carries a Content-Security-Policy whose nonce is the one its inline scripts and styles use."""

from __future__ import annotations

import re

import pytest
from rest_framework.test import APIClient

from questionnaires.services.credentials import client_token_issue
from tests.api.conftest import staff_api, wai_sr
from tests.api.test_query_parameters import ROUTES
from tests.fhir.conftest import FhirClient

pytestmark = pytest.mark.django_db

FHIR_PATHS = ["/fhir/Questionnaire", "/fhir/Questionnaire/wai-sr", "/fhir/QuestionnaireResponse",
              "/fhir/QuestionnaireResponse/00000000-0000-0000-0000-000000000000", "/fhir/Observation",
              "/fhir/Observation/1", "/fhir/Patient"]


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.mark.parametrize("path", sorted({path for path, _ in ROUTES}))
def test_every_rest_route_answers_no_store_to_every_method_and_caller(north, path):
    north.api().post("/api/v1/responses/", wai_sr("north-client-1"), format="json")
    for caller in (north.api(), staff_api(north.supervisor), APIClient()):
        for method in ("GET", "POST", "DELETE"):
            answer = caller.generic(method, path)
            assert answer["Cache-Control"] == "no-store", (method, path, answer.status_code)


def test_the_login_answer_carrying_a_token_is_no_store(north):
    north.supervisor.set_password("pw-for-this-test")
    north.supervisor.save()
    answer = APIClient().post("/api/v1/auth/token/", {"username": north.supervisor.username,
                                                      "password": "pw-for-this-test"}, format="json")
    assert answer.status_code in (200, 201)
    assert answer["Cache-Control"] == "no-store"


@pytest.mark.parametrize("path", FHIR_PATHS)
def test_every_fhir_route_answers_no_store(north, path):
    for caller in (FhirClient(north.api_key), FhirClient()):
        answer = caller.get(path)
        assert answer["Cache-Control"] == "no-store", (path, answer.status_code)
    posted = FhirClient(north.api_key).post("/fhir/QuestionnaireResponse", {"resourceType": "Nothing"})
    assert posted["Cache-Control"] == "no-store"


def test_the_public_capability_statement_stays_cacheable(client):
    assert "no-store" not in client.get("/fhir/metadata").get("Cache-Control", "")


def test_the_client_form_pages_are_no_store(client, north):
    _, key = client_token_issue(client=north.client)
    for path in (f"/take/{key}/", f"/take/{key}/srs/", "/take/not-a-token/"):
        assert client.get(path)["Cache-Control"] == "no-store", path


def _nonce_matches(page) -> None:
    policy = page["Content-Security-Policy"]
    html = page.content.decode()
    assert "default-src 'self'" in policy and "object-src 'none'" in policy and "frame-ancestors 'none'" in policy
    assert "'unsafe-inline'" not in policy
    inline = re.findall(r"<(script|style)(?![^>]*\bsrc=)([^>]*)>", html)
    assert inline, "expected inline elements on this page"
    header_nonce = re.search(r"'nonce-([^']+)'", policy).group(1)
    for tag, attributes in inline:
        assert f'nonce="{header_nonce}"' in attributes, (tag, attributes)
    assert not re.search(r"<[^>]+\sstyle=", html), "a style attribute cannot carry a nonce"


def test_the_form_pages_carry_a_policy_and_their_inline_script_and_style_its_nonce(client, north):
    _, key = client_token_issue(client=north.client)
    _nonce_matches(client.get(f"/take/{key}/srs/"))
    _nonce_matches(client.get(f"/take/{key}/"))


def test_the_admin_pages_with_charts_carry_a_policy_and_their_inline_styles_its_nonce(client, north):
    from django.contrib.auth import get_user_model

    from tests.ui.helpers import scored_response

    scored_response(north.client)
    client.force_login(get_user_model().objects.create_superuser(username="root", email="", password="x"))
    for path in (f"/admin/questionnaires/therapyclient/{north.client.pk}/change/", "/admin/dashboard/",
                 "/admin/plugins/", "/admin/", f"/admin/clients/{north.client.pk}/form-link/"):
        page = client.get(path)
        assert page.status_code == 200, path
        _nonce_matches(page)


def test_the_api_docs_page_runs_its_inline_script_under_the_nonce(client):
    _nonce_matches(client.get("/api/docs/"))


def test_two_pages_get_two_nonces(client, north):
    _, key = client_token_issue(client=north.client)
    policies = {client.get(f"/take/{key}/srs/")["Content-Security-Policy"] for _ in range(2)}
    assert len(policies) == 2
