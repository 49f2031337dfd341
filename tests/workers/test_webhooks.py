"""Webhooks: subscriptions over the API, the allow-list, signed deliveries and retries until one succeeds."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from questionnaires.models import WebhookDelivery, WebhookSubscription
from questionnaires.services.webhooks import (
    webhook_backoff,
    webhook_signature,
    webhook_signature_valid,
    webhook_url_problem,
)
from tests.workers.helpers import ors_total, phq9, srs
from tests.workers.receiver import Receiver

pytestmark = pytest.mark.django_db


def test_the_signature_is_hmac_sha256_over_timestamp_dot_body():
    header = webhook_signature(secret="whsec_x", timestamp=1700000000, body=b'{"a":1}')
    import hashlib
    import hmac

    expected = hmac.new(b"whsec_x", b'1700000000.{"a":1}', hashlib.sha256).hexdigest()
    assert header == f"t=1700000000,v1={expected}"
    assert webhook_signature_valid(secret="whsec_x", header=header, body=b'{"a":1}', now=1700000100)
    assert not webhook_signature_valid(secret="whsec_x", header=header, body=b'{"a":2}', now=1700000100)
    assert not webhook_signature_valid(secret="whsec_x", header=header, body=b'{"a":1}', now=1700009999)


@pytest.mark.parametrize(
    "url",
    ["http://127.0.0.1/hook", "http://10.1.2.3/hook", "http://[::1]/hook", "http://169.254.169.254/latest",
     "http://localhost:8000/", "ftp://93.184.216.34/", "http://user:pw@93.184.216.34/", "not a url"],
)
def test_by_default_webhooks_never_go_to_private_loopback_or_odd_urls(url, settings):
    settings.WEBHOOK_ALLOWED_HOSTS = []
    assert webhook_url_problem(url) is not None


def test_a_public_address_passes_and_an_allow_list_replaces_the_default(settings):
    settings.WEBHOOK_ALLOWED_HOSTS = []
    assert webhook_url_problem("https://93.184.216.34/hook") is None
    settings.WEBHOOK_ALLOWED_HOSTS = ["127.0.0.1", ".example.org"]
    assert webhook_url_problem("http://127.0.0.1/hook") is None
    assert "port 9000 is not allowed" in webhook_url_problem("http://127.0.0.1:9000/hook")
    settings.WEBHOOK_ALLOWED_PORTS = [80, 443, 9000]
    assert webhook_url_problem("http://127.0.0.1:9000/hook") is None
    assert webhook_url_problem("https://hooks.example.org/x") is None
    assert webhook_url_problem("https://93.184.216.34/hook") is not None


def test_back_off_doubles_and_is_capped(settings):
    settings.WEBHOOK_RETRY_BASE_SECONDS = 30
    settings.WEBHOOK_RETRY_MAX_SECONDS = 100
    assert [webhook_backoff(attempts=n) for n in (1, 2, 3, 4)] == [30, 60, 100, 100]


def _token_api(persona, user) -> APIClient:
    token = APIClient().post(
        "/api/v1/auth/token/", {"username": user.username, "password": "correct horse battery"}, format="json"
    ).json()["token"]
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    return api


def test_a_clinic_subscribes_sees_its_secret_once_and_unsubscribes(north, south, settings):
    settings.WEBHOOK_ALLOWED_HOSTS = ["127.0.0.1"]
    created = north.api().post(
        "/api/v1/webhooks/", {"url": "http://127.0.0.1/hook", "events": ["alert.raised"]}, format="json"
    )
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["secret"].startswith("whsec_")
    listed = north.api().get("/api/v1/webhooks/").json()
    assert [item["id"] for item in listed["results"]] == [body["id"]]
    assert "secret" not in listed["results"][0]
    assert south.api().get(f"/api/v1/webhooks/{body['id']}/").status_code == 404
    assert south.api().delete(f"/api/v1/webhooks/{body['id']}/").status_code == 404
    assert north.api().delete(f"/api/v1/webhooks/{body['id']}/").status_code == 204
    assert north.api().get(f"/api/v1/webhooks/{body['id']}/").status_code == 404


def test_only_api_keys_and_supervisors_manage_webhooks(north, settings):
    settings.WEBHOOK_ALLOWED_HOSTS = ["127.0.0.1"]
    payload = {"url": "http://127.0.0.1/hook", "events": ["response.scored"]}
    assert _token_api(north, north.clinician).post("/api/v1/webhooks/", payload, format="json").status_code == 403
    assert _token_api(north, north.supervisor).post("/api/v1/webhooks/", payload, format="json").status_code == 201


@pytest.mark.parametrize(
    "payload",
    [
        {"url": "http://10.0.0.5/hook", "events": ["alert.raised"]},
        {"url": "http://127.0.0.1/hook", "events": ["alert.deleted"]},
        {"url": "http://127.0.0.1/hook", "events": []},
        {"url": 42, "events": ["alert.raised"]},
        {"url": "http://127.0.0.1/hook", "events": ["alert.raised"], "colour": "red"},
        ["not", "an", "object"],
    ],
)
def test_a_bad_subscription_is_a_400_problem(north, settings, payload):
    settings.WEBHOOK_ALLOWED_HOSTS = ["127.0.0.1"]
    answer = north.api().post("/api/v1/webhooks/", payload, format="json")
    assert answer.status_code == 400
    assert answer["Content-Type"].startswith("application/problem+json")
    assert not WebhookSubscription.objects.exists()


def _subscribe(persona, receiver: Receiver, events: list[str]) -> None:
    body = persona.api().post("/api/v1/webhooks/", {"url": receiver.url, "events": events}, format="json").json()
    receiver.secret = body["secret"]


def test_scores_and_alerts_are_delivered_signed_to_the_subscribed_url(north, south, scored, settings):
    settings.WEBHOOK_ALLOWED_HOSTS = ["127.0.0.1"]
    with Receiver() as receiver:
        receiver.allow(settings)
        _subscribe(north, receiver, ["response.scored", "alert.raised"])
        body = scored(north, "srs", srs(8.0, 9.0, 9.0, 9.0))
        scored(south, "srs", srs(8.0, 9.0, 9.0, 9.0))  # another clinic's events go nowhere near north
    assert all(call["valid"] for call in receiver.calls)
    events = sorted((call["event"]["type"], call["event"]["data"].get("kind")) for call in receiver.calls)
    # One alert per client and session: its two reasons travel in one event, the higher-priority one on top.
    assert events == [("alert.raised", "low_alliance"), ("response.scored", None)]
    alert_event = next(call["event"] for call in receiver.calls if call["event"]["type"] == "alert.raised")
    assert alert_event["data"]["kinds"] == ["low_alliance", "low_item"]
    assert [reason["kind"] for reason in alert_event["data"]["reasons"]] == ["low_alliance", "low_item"]
    scored_event = next(call["event"] for call in receiver.calls if call["event"]["type"] == "response.scored")
    assert scored_event["data"]["response"] == body["id"]
    assert scored_event["data"]["score"]["total"] == 35
    assert WebhookDelivery.objects.filter(status="delivered").count() == 2


def test_a_receiver_failing_twice_gets_exactly_one_successful_delivery_after_retries(north, scored, settings):
    settings.WEBHOOK_ALLOWED_HOSTS = ["127.0.0.1"]
    settings.WEBHOOK_RETRY_BASE_SECONDS = 0
    with Receiver(fail_first=2) as receiver:
        receiver.allow(settings)
        _subscribe(north, receiver, ["response.scored"])
        scored(north, "srs", srs(9.0, 9.0, 9.0, 9.0))
    assert [call["status"] for call in receiver.calls] == [500, 500, 200]
    assert len({call["event"]["id"] for call in receiver.calls}) == 1
    delivery = WebhookDelivery.objects.get()
    assert (delivery.status, delivery.attempts, delivery.response_code) == ("delivered", 3, 200)


def test_a_delivery_that_keeps_failing_stops_after_the_last_attempt_with_the_error_logged(north, scored, settings):
    settings.WEBHOOK_ALLOWED_HOSTS = ["127.0.0.1"]
    settings.WEBHOOK_RETRY_BASE_SECONDS = 0
    settings.WEBHOOK_MAX_ATTEMPTS = 3
    with Receiver(fail_first=99) as receiver:
        receiver.allow(settings)
        _subscribe(north, receiver, ["response.scored"])
        scored(north, "srs", srs(9.0, 9.0, 9.0, 9.0))
    delivery = WebhookDelivery.objects.get()
    assert (delivery.status, delivery.attempts, delivery.last_error) == ("failed", 3, "HTTP 500")
    assert len(receiver.calls) == 3


def _alert_events(receiver: Receiver) -> list[dict]:
    return [call["event"]["data"] for call in receiver.calls if call["event"]["type"] == "alert.raised"]


def test_one_alert_raised_per_session_a_later_reason_joins_it_and_a_risk_reason_is_still_sent(north, scored, settings):
    settings.WEBHOOK_ALLOWED_HOSTS = ["127.0.0.1"]
    with Receiver() as receiver:
        receiver.allow(settings)
        _subscribe(north, receiver, ["alert.raised"])
        first = scored(north, "srs", srs(8.0, 9.0, 9.0, 9.0), session=5, days=35)
        api = north.api()
        [alert] = api.get("/api/v1/alerts/").json()["results"]
        assert api.post(f"/api/v1/alerts/{alert['id']}/acknowledge/").json()["acknowledged_at"] is not None
        # The same session's PHQ-9, scored later, says risk (item 9 above 0): a reason of the same alert.
        later = scored(north, "phq-9", phq9(0, 0, 0, 0, 0, 0, 0, 0, 1), session=5, days=35)
    # The session alert was raised once; the risk reason that joined it is sent on its own (same alert id), so
    # an integration that follows webhooks alone still hears of every risk item.
    event, risk = _alert_events(receiver)
    assert (event["kinds"], event["session"], event["response"]) == (["low_alliance", "low_item"], "5", first["id"])
    assert (risk["alert"], risk["kinds"], risk["priority"], risk["response"]) == (
        event["alert"], ["risk"], "high", later["id"]
    )
    [alert_now] = api.get("/api/v1/alerts/").json()["results"]
    assert alert_now["id"] == alert["id"]
    assert (alert_now["kind"], alert_now["priority"]) == ("risk", "high")  # risk on top of its reasons
    assert alert_now["kinds"] == ["risk", "low_alliance", "low_item"]
    assert alert_now["reasons"][0]["response"] == later["id"]
    # Acknowledging stamped the reasons it had; the new one opens the alert again.
    assert alert_now["acknowledged_at"] is None
    assert [reason["acknowledged_at"] is not None for reason in alert_now["reasons"]] == [False, True, True]
    assert WebhookDelivery.objects.filter(event="alert.raised").count() == 2


def test_positive_notes_never_raise_an_alert_raised_webhook(north, scored, settings):
    settings.WEBHOOK_ALLOWED_HOSTS = ["127.0.0.1"]
    with Receiver() as receiver:
        receiver.allow(settings)
        _subscribe(north, receiver, ["response.scored", "alert.raised"])
        scored(north, "ors", ors_total(20.0), days=0)
        # 20 -> 26 (ORS: reliable change 5, clinical cut-off 25): recovered, reliable improvement, out of range
        improved = scored(north, "ors", ors_total(26.0), days=7)
        assert _alert_events(receiver) == []
        # 26 -> 19: back into the clinical range is an alert, and raises one event
        scored(north, "ors", ors_total(19.0), days=14)
    assert sorted(
        north.api().get("/api/v1/alerts/", {"category": "note"}).json()["results"][0]["kinds"]
    ) == ["clinical_range_exit", "recovered", "reliable_improvement"]
    assert [event["kinds"] for event in _alert_events(receiver)] == [["clinical_range_entry"]]
    assert not WebhookDelivery.objects.filter(event="alert.raised", payload__data__response=improved["id"]).exists()
