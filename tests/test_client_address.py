"""The caller's address comes from the configured proxy depth, never from a header the caller chose."""

from __future__ import annotations

import pytest
from django.test import RequestFactory

from questionnaires.client_address import client_address


def request_from(remote: str, forwarded: str | None = None):
    extra = {"REMOTE_ADDR": remote}
    if forwarded is not None:
        extra["HTTP_X_FORWARDED_FOR"] = forwarded
    return RequestFactory().get("/", **extra)


def test_with_no_trusted_proxy_the_forwarded_header_is_ignored(settings):
    settings.TRUSTED_PROXY_DEPTH = 0
    assert client_address(request_from("192.0.2.10", "203.0.113.99")) == "192.0.2.10"


@pytest.mark.parametrize(
    "depth, forwarded, expected",
    [
        (1, "203.0.113.99, 198.51.100.7", "198.51.100.7"),  # the caller added the first entry; one proxy added the last
        (2, "203.0.113.99, 198.51.100.7, 10.0.0.2", "198.51.100.7"),
        (2, "198.51.100.7", "198.51.100.7"),  # fewer entries than proxies: the leftmost, which a proxy wrote
        (1, "2001:db8::1", "2001:db8::1"),
    ],
)
def test_with_n_proxies_it_takes_the_nth_address_from_the_right(settings, depth, forwarded, expected):
    settings.TRUSTED_PROXY_DEPTH = depth
    assert client_address(request_from("10.0.0.1", forwarded)) == expected


@pytest.mark.parametrize("forwarded", ["", "not-an-address", "1.2.3.4, <script>"])
def test_a_missing_or_unparseable_forwarded_address_falls_back_to_the_connection(settings, forwarded):
    settings.TRUSTED_PROXY_DEPTH = 1
    assert client_address(request_from("10.0.0.1", forwarded)) == "10.0.0.1"
