"""Where webhooks may connect: every resolved address checked once, IPv4 inside IPv6 unwrapped, ports limited,
and the connection made to the checked address (a second DNS answer is never asked for)."""

from __future__ import annotations

import socket
import ssl

import pytest

from questionnaires.models import WebhookDelivery, WebhookSubscription
from questionnaires.services import webhooks
from questionnaires.services.webhooks import webhook_deliver, webhook_target, webhook_url_problem

PUBLIC = "93.184.216.34"


def _answers(*addresses: str) -> list:
    return [
        (socket.AF_INET6 if ":" in address else socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP, "",
         (address, 80) if ":" not in address else (address, 80, 0, 0))
        for address in addresses
    ]


class RebindingResolver:
    """Answers a public address the first time and loopback every time after, as a rebinding DNS server would."""

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, host, port, *args, **kwargs):
        self.calls += 1
        return _answers(PUBLIC if self.calls == 1 else "127.0.0.1")


@pytest.fixture(autouse=True)
def default_settings(settings):
    settings.WEBHOOK_ALLOWED_HOSTS = []
    settings.WEBHOOK_ALLOWED_PORTS = [80, 443]


@pytest.mark.parametrize(
    "address",
    [
        "::127.0.0.1",  # IPv4-compatible
        "::ffff:127.0.0.1",  # IPv4-mapped
        "::ffff:10.0.0.1",
        "64:ff9b::7f00:1",  # NAT64 well-known prefix, 127.0.0.1 inside
        "64:ff9b::a9fe:a9fe",  # NAT64 to 169.254.169.254 (cloud metadata)
        "64:ff9b:1::a00:1",  # NAT64 local-use prefix
        "2002:7f00:1::1",  # 6to4 of 127.0.0.1
        "2002:c0a8:101::1",  # 6to4 of 192.168.1.1
        "2001:0:4136:e378:8000:63bf:3fff:fdd2",  # Teredo
        "fe80::1",
        "fc00::1",
        "::",
        "0.0.0.0",
    ],
)
def test_it_refuses_an_address_that_wraps_or_is_a_private_one(address):
    host = f"[{address}]" if ":" in address else address
    assert "non-public address" in webhook_url_problem(f"https://{host}/hook")


@pytest.mark.parametrize("address", ["::ffff:8.8.8.8", "64:ff9b::808:808", "2002:808:808::1", "2606:4700::1111"])
def test_it_accepts_an_ipv6_form_whose_ipv4_inside_is_public(address):
    assert webhook_url_problem(f"https://[{address}]/hook") is None


def test_it_refuses_a_host_when_any_one_of_its_addresses_is_private(monkeypatch):
    monkeypatch.setattr(socket, "getaddrinfo", lambda *args, **kwargs: _answers(PUBLIC, "::ffff:127.0.0.1"))
    assert "non-public address (::ffff:127.0.0.1)" in webhook_url_problem("https://hooks.example.com/x")


@pytest.mark.parametrize("url", ["https://93.184.216.34:8443/x", "http://93.184.216.34:6379/", "http://93.184.216.34:22/"])
def test_it_refuses_any_port_but_80_and_443_unless_configured(url, settings):
    assert "is not allowed (WEBHOOK_ALLOWED_PORTS: 80, 443)" in webhook_url_problem(url)
    settings.WEBHOOK_ALLOWED_PORTS = [80, 443, 8443, 6379, 22]
    assert webhook_url_problem(url) is None


def test_an_allow_listed_internal_host_is_still_allowed_and_still_limited_to_the_allowed_ports(settings):
    settings.WEBHOOK_ALLOWED_HOSTS = ["127.0.0.1"]
    assert webhook_url_problem("http://127.0.0.1/hook") is None
    assert webhook_url_problem("http://127.0.0.1:5432/") is not None


def test_a_subscription_to_a_forbidden_port_is_a_400_naming_the_url(north):
    answer = north.api().post(
        "/api/v1/webhooks/", {"url": "http://93.184.216.34:6379/", "events": ["alert.raised"]}, format="json"
    )
    assert answer.status_code == 400
    assert answer.json()["errors"][0]["field"] == "url"
    assert not WebhookSubscription.objects.exists()


def test_the_host_is_resolved_once_and_the_connection_goes_to_the_address_checked(monkeypatch):
    resolver = RebindingResolver()
    monkeypatch.setattr(socket, "getaddrinfo", resolver)
    target = webhook_target("https://rebind.example.com/hook?x=1")
    assert (target.addresses, target.host, target.port) == ((PUBLIC,), "rebind.example.com", 443)
    assert target.path == "/hook?x=1"
    assert resolver.calls == 1


@pytest.mark.django_db
def test_a_rebinding_resolver_never_leads_to_a_connection_to_loopback(north, monkeypatch):
    """The resolver answers public first, then 127.0.0.1: the delivery connects to the public address it checked."""
    resolver = RebindingResolver()
    monkeypatch.setattr(socket, "getaddrinfo", resolver)
    connected: list[tuple[str, int]] = []

    def record(*, address: str, port: int, timeout: float) -> socket.socket:
        connected.append((address, port))
        raise ConnectionRefusedError("test: no network")

    monkeypatch.setattr(webhooks, "webhook_connect", record)
    subscription = WebhookSubscription.objects.create(
        clinic=north.clinic, url="http://rebind.example.com/hook", events=["alert.raised"], secret="whsec_x"
    )
    delivery = WebhookDelivery.objects.create(
        subscription=subscription, event="alert.raised", event_id="alert.raised:1", payload={"id": "alert.raised:1"}
    )
    webhook_deliver(delivery_id=delivery.id)
    assert connected == [(PUBLIC, 80)]
    assert resolver.calls == 1
    delivery.refresh_from_db()
    assert delivery.last_error.startswith("ConnectionRefusedError")


@pytest.mark.django_db
def test_the_request_names_the_original_host_and_tls_checks_the_original_name(north, monkeypatch):
    """Host header and SNI are the URL's host, while the socket goes to the checked address."""
    monkeypatch.setattr(socket, "getaddrinfo", lambda *args, **kwargs: _answers(PUBLIC))
    sent: dict = {}

    class FakeSocket:
        def __init__(self) -> None:
            self.data = b""

        def sendall(self, data: bytes) -> None:
            self.data += data

        def makefile(self, *args, **kwargs):
            import io

            sent["request"] = self.data
            return io.BytesIO(b"HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n")

        def setsockopt(self, *args) -> None:
            pass

        def close(self) -> None:
            pass

    def connect(*, address: str, port: int, timeout: float):
        sent["address"] = (address, port)
        return FakeSocket()

    monkeypatch.setattr(webhooks, "webhook_connect", connect)
    subscription = WebhookSubscription.objects.create(
        clinic=north.clinic, url="http://hooks.example.com/in", events=["alert.raised"], secret="whsec_x"
    )
    delivery = WebhookDelivery.objects.create(
        subscription=subscription, event="alert.raised", event_id="alert.raised:2", payload={"id": "alert.raised:2"}
    )
    assert webhook_deliver(delivery_id=delivery.id).status == "delivered"
    assert sent["address"] == (PUBLIC, 80)
    assert sent["request"].startswith(b"POST /in HTTP/1.1\r\n")
    assert b"\r\nHost: hooks.example.com\r\n" in sent["request"]

    wrapped: dict = {}

    class RecordingContext:
        verify_mode = ssl.CERT_REQUIRED
        check_hostname = True

        def wrap_socket(self, sock, server_hostname=None):
            wrapped["server_hostname"] = server_hostname
            return sock

    monkeypatch.setattr(webhooks.ssl, "create_default_context", lambda: RecordingContext())
    subscription.url = "https://hooks.example.com/in"
    subscription.save()
    delivery = WebhookDelivery.objects.create(
        subscription=subscription, event="alert.raised", event_id="alert.raised:3", payload={"id": "alert.raised:3"}
    )
    assert webhook_deliver(delivery_id=delivery.id).status == "delivered"
    assert sent["address"] == (PUBLIC, 443)
    assert wrapped["server_hostname"] == "hooks.example.com"
