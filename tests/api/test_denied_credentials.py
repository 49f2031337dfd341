"""Refused credentials: one 401 message for every kind of refusal, and audit rows folded per credential and minute."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from django.test import Client
from django.urls import reverse

from questionnaires.models import AuditEvent, ClientToken, StaffToken
from questionnaires.services import audit
from questionnaires.services.credentials import client_token_issue, staff_token_issue
from tests.api.conftest import authorized


def end_the_window(actor: str) -> None:
    cache.delete(f"{audit.DENIAL_KEY_PREFIX}:window:{actor}")


def test_three_hundred_guesses_with_a_known_prefix_write_one_row_that_later_counts_them(north):
    prefix = north.api_key.partition(".")[0]
    api = authorized(f"Api-Key {prefix}.wrongsecret")

    statuses = {api.get("/api/v1/clients/").status_code for _ in range(300)}

    assert statuses == {401}
    rows = AuditEvent.objects.filter(outcome="unauthenticated")
    assert rows.count() == 1
    end_the_window(f"api_key:{prefix}")
    api.get("/api/v1/clients/")
    latest = AuditEvent.objects.filter(outcome="unauthenticated").latest("id")
    assert AuditEvent.objects.filter(outcome="unauthenticated").count() == 2
    assert "+299 more refused since the last record" in latest.detail


def test_each_refused_credential_has_its_own_window(north, south):
    for persona in (north, south):
        prefix = persona.api_key.partition(".")[0]
        authorized(f"Api-Key {prefix}.wrongsecret").get("/api/v1/clients/")

    assert AuditEvent.objects.filter(outcome="unauthenticated").count() == 2


def test_repeated_refusals_at_the_form_page_are_folded_too(north):
    token, key = client_token_issue(client=north.client)
    ClientToken.objects.filter(pk=token.pk).update(revoked=True)
    client = Client()

    for _ in range(20):
        assert client.get(reverse("take-index", args=[key])).status_code == 404

    assert AuditEvent.objects.filter(outcome="denied", action="form_open").count() == 1


def test_refusals_are_all_recorded_when_the_cache_is_down(north, monkeypatch):
    def down(*args, **kwargs):
        raise ConnectionError("cache down")

    monkeypatch.setattr(audit.cache, "add", down)
    prefix = north.api_key.partition(".")[0]
    api = authorized(f"Api-Key {prefix}.wrongsecret")
    for _ in range(3):
        assert api.get("/api/v1/clients/").status_code == 401

    assert AuditEvent.objects.filter(outcome="unauthenticated").count() == 3


def refused_headers(north) -> dict[str, str]:
    """One of each refusal: unknown prefix, known prefix with a wrong secret, revoked, expired, inactive user."""
    prefix = north.api_key.partition(".")[0]
    revoked, revoked_key = staff_token_issue(user=north.supervisor)
    StaffToken.objects.filter(pk=revoked.pk).update(revoked=True)
    expired, expired_key = client_token_issue(client=north.client)
    ClientToken.objects.filter(pk=expired.pk).update(expiry_date="2000-01-01T00:00:00Z")
    _, inactive_key = staff_token_issue(user=north.clinician)
    type(north.clinician).objects.filter(pk=north.clinician.pk).update(is_active=False)
    return {
        "unknown api key": "Api-Key zzzzzzzz.unknown",
        "known api key, wrong secret": f"Api-Key {prefix}.wrongsecret",
        "malformed": "Api-Key nodot",
        "revoked staff token": f"Token {revoked_key}",
        "unknown staff token": "Token zzzzzzzz.unknown",
        "expired client token": f"Bearer {expired_key}",
        "unknown client token": "Bearer zzzzzzzz.unknown",
        "inactive user": f"Token {inactive_key}",
    }


@pytest.mark.parametrize("path", ["/api/v1/clients/", "/fhir/QuestionnaireResponse"])
def test_every_refusal_gets_the_same_401_message(north, path):
    answers = {}
    for case, header in refused_headers(north).items():
        response = authorized(header).get(path)
        assert response.status_code == 401, case
        answers[case] = response.json().get("detail") or response.json()["issue"][0]["diagnostics"]

    assert len(set(answers.values())) == 1, answers
