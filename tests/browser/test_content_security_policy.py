"""In a real browser under the Content-Security-Policy: no page of ours has a script, style or image it refuses."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command

from questionnaires.models import TherapyClient
from questionnaires.services.credentials import client_token_issue

pytestmark = pytest.mark.django_db(transaction=True)


def _watch(page) -> list[str]:
    """Console errors (Chromium reports each CSP refusal as one) and securitypolicyviolation events."""
    problems: list[str] = []

    def console(message) -> None:
        if message.type == "error" and not message.location.get("url", "").endswith("/favicon.ico"):
            problems.append(f"console: {message.text} ({message.location.get('url')})")

    page.on("console", console)
    page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
    page.add_init_script(
        "document.addEventListener('securitypolicyviolation', e => "
        "console.error('CSP violation: ' + e.violatedDirective + ' ' + e.blockedURI));"
    )
    return problems


def test_the_form_admin_charts_and_api_docs_run_without_a_csp_violation(chromium, live_server, licensed_text_pack):
    call_command("seed_demo", verbosity=0, stdout=StringIO())
    demo = TherapyClient.objects.get(clinic__slug="demo", external_id="DEMO-003")
    _, key = client_token_issue(client=demo)
    page = chromium.new_page(viewport={"width": 1280, "height": 900})
    problems = _watch(page)

    page.goto(f"{live_server.url}/take/{key}/srs/")
    page.focus("input[type=range][data-target='item-3']")
    page.keyboard.press("End")
    assert page.input_value("#item-3") == "10.0"  # the form's inline script ran under its nonce
    assert page.evaluate("() => document.documentElement.classList.contains('js')")

    page.goto(f"{live_server.url}/admin/login/")
    page.fill("#id_username", "admin")
    page.fill("#id_password", "admin")
    page.click("input[type=submit]")
    page.wait_for_url(f"{live_server.url}/admin/")
    for path in (
        f"/admin/questionnaires/therapyclient/{demo.pk}/change/",
        "/admin/dashboard/",
        "/admin/plugins/",
        "/admin/supervision/",
        "/admin/equity/",
        f"/admin/clients/{demo.pk}/goals/",
        f"/admin/clients/{demo.pk}/form-link/",
        "/admin/questionnaires/response/",
    ):
        answer = page.goto(f"{live_server.url}{path}")
        assert answer.status < 400, path
        assert "script-src 'self'" in answer.headers["content-security-policy"], path
    page.goto(f"{live_server.url}/api/docs/")
    page.wait_for_selector(".swagger-ui .information-container", timeout=15000)
    page.close()
    assert problems == [], "\n".join(problems)
