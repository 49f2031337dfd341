"""No log line carries a live client token from a /take/<token>/ path: Django's loggers, runserver, gunicorn."""

from __future__ import annotations

import logging
import runpy
from pathlib import Path

import pytest
from django.test import Client
from django.urls import reverse

from alliance_api.log_redaction import RedactClientTokens, redact_client_tokens
from questionnaires.services.credentials import client_token_issue

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def token(north) -> str:
    _, key = client_token_issue(client=north.client, issued_by=north.clinician)
    return key


def secret_of(token: str) -> str:
    return token.partition(".")[2]


def logged_text(caplog) -> str:
    return "\n".join(record.getMessage() for record in caplog.records)


def test_a_404_under_a_token_path_logs_no_token(client, token, caplog):
    with caplog.at_level(logging.WARNING, logger="django.request"):
        response = client.get(reverse("take-form", args=[token, "no-such-questionnaire"]))

    assert response.status_code == 404
    text = logged_text(caplog)
    assert "Not Found" in text
    assert secret_of(token) not in text
    assert f"/take/{token.partition('.')[0]}.[redacted]/" in text


def test_a_400_under_a_token_path_logs_no_token(client, token, caplog, licensed_text_pack):
    with caplog.at_level(logging.WARNING, logger="django.request"):
        response = client.post(reverse("take-form", args=[token, "srs"]), {"version": "1.0.0", "answers.1": "99"})

    assert response.status_code == 400
    assert "Bad Request" in logged_text(caplog)
    assert secret_of(token) not in logged_text(caplog)


def test_a_csrf_refusal_under_a_token_path_logs_no_token(token, caplog, licensed_text_pack):
    with caplog.at_level(logging.WARNING):
        response = Client(enforce_csrf_checks=True).post(reverse("take-form", args=[token, "srs"]), {})

    assert response.status_code == 403
    assert "Forbidden" in logged_text(caplog)
    assert secret_of(token) not in logged_text(caplog)


def test_the_runserver_access_log_shows_no_token(caplog):
    with caplog.at_level(logging.INFO, logger="django.server"):
        logging.getLogger("django.server").info('"%s" %s %s', "GET /take/Ab12Cd34.s3cr3t/ HTTP/1.1", "200", "512")

    assert "s3cr3t" not in logged_text(caplog)
    assert "/take/Ab12Cd34.[redacted]/" in logged_text(caplog)


def test_the_gunicorn_access_log_shows_no_token_in_the_path_or_the_referrer():
    config = runpy.run_path(str(ROOT / "gunicorn.conf.py"))
    config["on_starting"](None)
    records: list[logging.LogRecord] = []
    handler = logging.Handler()
    handler.emit = records.append
    access = logging.getLogger("gunicorn.access")
    access.addHandler(handler)
    try:
        from gunicorn.config import Config

        fmt = Config().access_log_format
        atoms = {"h": "192.0.2.1", "l": "-", "u": "-", "t": "[now]", "r": "GET /take/Ab12Cd34.s3cr3t/srs/ HTTP/1.1",
                 "s": "200", "b": "512", "f": "https://clinic.example/take/Ab12Cd34.s3cr3t/", "a": "phone"}
        access.info(fmt, atoms)
    finally:
        access.removeHandler(handler)

    message = records[0].getMessage()
    assert "s3cr3t" not in message
    assert message.count("Ab12Cd34.[redacted]") == 2


@pytest.mark.parametrize(
    "text, expected",
    [
        ("Not Found: /take/Ab12.secret/", "Not Found: /take/Ab12.[redacted]/"),
        ("Not Found: /take/nodot/done/5/", "Not Found: /take/[redacted]/done/5/"),
        ("GET /take/Ab12.secret?x=1", "GET /take/Ab12.[redacted]?x=1"),
        ("GET /api/v1/clients/", "GET /api/v1/clients/"),
    ],
)
def test_the_redaction_keeps_the_prefix_and_drops_the_secret(text, expected):
    assert redact_client_tokens(text) == expected


def test_a_record_with_arguments_is_redacted_once_formatted():
    record = logging.LogRecord("django.request", logging.WARNING, __file__, 1, "Not Found: %s", ("/take/a.b/",), None)
    assert RedactClientTokens().filter(record) is True
    assert record.getMessage() == "Not Found: /take/a.[redacted]/"
