"""Resource limits against a real gunicorn: oversized and hostile requests get a fast 4xx, and others are still served.

Bounds here are generous guards against hanging (seconds), not performance assertions.
"""

from __future__ import annotations

import http.client
import json
import socket
import threading
import time

import pytest

from tests.api.conftest import wai_sr

pytestmark = pytest.mark.services

REFUSED = 0
"""The server closed the connection without an answer (refusing a body it would not read)."""
GUARD_SECONDS = 20
"""Every hostile request must be answered (or refused) well within this; it only keeps a broken server from hanging."""


def call(server, method: str, path: str, body: bytes | None = None, key: str = "", headers: dict | None = None):
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=GUARD_SECONDS)
    sent = {"Content-Type": "application/json", **(headers or {})}
    if key:
        sent["Authorization"] = f"Api-Key {key}"
    try:
        try:
            connection.request(method, path, body=body, headers=sent)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server answered and hung up before the whole body was sent; read what it said
        try:
            answer = connection.getresponse()
        except (ConnectionResetError, http.client.RemoteDisconnected):
            return REFUSED, "", b""
        return answer.status, answer.getheader("Content-Type") or "", answer.read()
    finally:
        connection.close()


def still_serving(server, key: str) -> None:
    status, _, content = call(server, "GET", "/api/v1/questionnaires/srs/", key=key)
    assert status == 200, content[:200]


def test_a_body_over_the_limit_is_a_413_problem_and_the_server_goes_on(gunicorn_server, north):
    huge = json.dumps({**wai_sr("north-client-1"), "comment": "x" * (6 * 1024 * 1024)}).encode()
    status, content_type, content = call(gunicorn_server, "POST", "/api/v1/responses/", huge, key=north.api_key)
    assert status == 413, content[:300]
    assert content_type == "application/problem+json"
    still_serving(gunicorn_server, north.api_key)


def test_deeply_nested_json_is_a_400_problem(gunicorn_server, north):
    deep = b"[" * 100_000 + b"]" * 100_000
    status, content_type, content = call(gunicorn_server, "POST", "/api/v1/responses/", deep, key=north.api_key)
    assert status == 400, content[:300]
    assert content_type == "application/problem+json"
    nested_answers = json.dumps({**wai_sr("north-client-1"), "answers": {"1": json.loads("[" * 500 + "]" * 500)}})
    status, _, content = call(gunicorn_server, "POST", "/api/v1/responses/", nested_answers.encode(),
                              key=north.api_key)
    assert status == 400, content[:300]
    still_serving(gunicorn_server, north.api_key)


def test_a_batch_of_100000_entries_is_refused_whole_with_a_4xx(gunicorn_server, north):
    from questionnaires.models import Response

    small = json.dumps({"responses": [{}] * 100_000}).encode()
    status, content_type, content = call(gunicorn_server, "POST", "/api/v1/responses/batch/", small,
                                         key=north.api_key)
    assert status == 413, content[:300]
    assert content_type == "application/problem+json"
    real = json.dumps({"responses": [wai_sr("north-client-1")] * 100_000}).encode()
    status, _, content = call(gunicorn_server, "POST", "/api/v1/responses/batch/", real, key=north.api_key)
    assert status in (413, REFUSED), content[:300]  # 25 MB: refused by size, possibly before it was all sent
    assert not Response.objects.exists()
    still_serving(gunicorn_server, north.api_key)


def test_giant_page_sizes_are_capped_absurd_pages_are_400_and_pages_past_the_end_404(gunicorn_server, north):
    from questionnaires.api.pagination import MAX_PAGE_SIZE

    status, _, content = call(gunicorn_server, "GET", "/api/v1/responses/?page_size=1000000000", key=north.api_key)
    assert status == 200, content[:300]
    assert len(json.loads(content)["results"]) <= MAX_PAGE_SIZE
    for page in ("999999999999", "-1", "9" * 400, "%C2%B2"):
        status, content_type, content = call(gunicorn_server, "GET", f"/api/v1/responses/?page={page}",
                                             key=north.api_key)
        assert status == 400, (page, content[:300])
        assert content_type == "application/problem+json"
        assert json.loads(content)["errors"][0]["field"] == "page"
    status, content_type, _ = call(gunicorn_server, "GET", "/api/v1/responses/?page=999999", key=north.api_key)
    assert (status, content_type) == (404, "application/problem+json")
    still_serving(gunicorn_server, north.api_key)


def test_oversized_request_lines_and_headers_are_refused_by_gunicorn(gunicorn_server, north):
    status, _, _ = call(gunicorn_server, "GET", "/api/v1/questionnaires/?" + "a" * 10_000, key=north.api_key)
    assert 400 <= status < 500
    status, _, _ = call(gunicorn_server, "GET", "/api/v1/questionnaires/", key=north.api_key,
                        headers={"X-Padding": "p" * 10_000})
    assert 400 <= status < 500
    still_serving(gunicorn_server, north.api_key)


SLOW_SOCKETS = 6
"""Slow-loris connections at once: fewer than one worker's threads (8), since the kernel may hand
every one of them to the same worker; more than that is what the buffering proxy in front is for."""


def test_slow_loris_connections_do_not_stop_a_normal_request(gunicorn_server, north):
    """Several sockets dribble their headers a byte at a time; a normal request still gets through meanwhile."""
    stop = threading.Event()
    opened: list[socket.socket] = []

    def dribble() -> None:
        sock = socket.create_connection(("127.0.0.1", gunicorn_server.port), timeout=GUARD_SECONDS)
        opened.append(sock)
        request = b"GET /api/v1/questionnaires/ HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: " + b"s" * 4000
        try:
            for byte in request:
                if stop.is_set():
                    return
                sock.sendall(bytes([byte]))
                time.sleep(0.05)
        except OSError:
            return  # the server hung up on us: also an acceptable defence

    threads = [threading.Thread(target=dribble, daemon=True) for _ in range(SLOW_SOCKETS)]
    for thread in threads:
        thread.start()
    try:
        time.sleep(1.5)  # every slow socket has been accepted and is mid-header
        started = time.monotonic()
        status, _, content = call(gunicorn_server, "GET", "/api/v1/questionnaires/srs/", key=north.api_key)
        waited = time.monotonic() - started
        assert status == 200, content[:200]
        assert waited < GUARD_SECONDS
        print(f"slow-loris: {SLOW_SOCKETS} dribbling sockets; a normal request answered in {waited * 1000:.0f} ms")
    finally:
        stop.set()
        for sock in opened:
            sock.close()
        for thread in threads:
            thread.join(timeout=5)
