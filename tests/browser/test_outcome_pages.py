"""In a real browser: the dashboard's outcome charts draw a point per shown cell, and the phone's confirmation
page with the client's progress has no serious accessibility violations."""

from __future__ import annotations

from io import StringIO

import pytest
from axe_playwright_python.sync_playwright import Axe
from django.core.management import call_command

from questionnaires.models import Clinic, StaffMembership, TherapyClient
from questionnaires.services.credentials import client_token_issue
from questionnaires.services.outcome_rollups import outcomes_recompute
from tests.api.test_early_alliance import planted_episode
from tests.browser.test_pages import SERIOUS, _axe, _log_in
from tests.factories import MembershipFactory

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("licensed_text_pack")]


@pytest.fixture
def demo_outcomes(db):
    """The demo clinic plus 12 ended episodes of one clinician: 6 low early SRS (5 drop out), 6 adequate (1)."""
    call_command("seed_demo", verbosity=0, stdout=StringIO())
    clinic = Clinic.objects.get(slug="demo")
    clinician = MembershipFactory(clinic=clinic, user__username="outcome-clinician",
                                  role=StaffMembership.Role.CLINICIAN).user
    for index in range(6):
        planted_episode(clinic, clinician, srs=[30.0, 31.0, 29.0], ors=(18, 28) if index < 1 else (18, 20),
                        end_reason="dropped_out" if index < 5 else "completed")
        planted_episode(clinic, clinician, srs=[38.0, 39.0, 37.0], ors=(18, 28) if index < 4 else (18, 20),
                        end_reason="dropped_out" if index < 1 else "completed")
    outcomes_recompute()
    return clinic


def test_the_dashboard_shows_recovery_dropout_and_the_early_alliance(chromium, live_server, demo_outcomes, screenshot):
    page = chromium.new_page(viewport={"width": 1280, "height": 900})
    _log_in(page, live_server)
    page.goto(f"{live_server.url}/admin/dashboard/?clinic={demo_outcomes.slug}")
    page.wait_for_selector("#outcome-charts")
    early = page.locator("svg#early-alliance-srs")
    # Two bands, each with a dropout and a reliable-recovery point.
    assert early.locator("circle.chart-point").count() == 4
    assert early.locator("circle.chart-point[data-series='dropout']").count() == 2
    assert page.locator("svg#recovery-dropout circle.chart-point[data-series='dropout']").count() >= 1
    assert early.get_attribute("role") == "img"
    screenshot(page, "admin-dashboard-outcomes")
    # The charts this issue adds; Django's own admin chrome (its breadcrumb link style) is not checked here.
    violations = Axe().run(page, context="#outcome-charts").response["violations"]
    assert [violation["id"] for violation in violations if violation.get("impact") in SERIOUS] == []
    page.close()


def test_the_confirmation_page_shows_progress_on_a_phone_accessibly(chromium, live_server, north, screenshot):
    _, key = client_token_issue(client=north.client)
    context = chromium.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    page = context.new_page()
    for total in ("16", "8"):
        page.goto(f"{live_server.url}/take/{key}/phq-9/")
        remaining = int(total)
        for item in range(1, 10):
            value = min(3, remaining)
            remaining -= value
            page.check(f"input[name='answers.{item}'][value='{value}']")
        page.click("button[type=submit]")
        page.wait_for_selector("#confirmation")
    assert "clear improvement, from 16 to 8" in page.locator("section.progress").text_content()
    assert TherapyClient.objects.get(pk=north.client.pk).responses.count() == 2
    screenshot(page, "form-progress-phone")
    assert _axe(page, "form-progress-phone") == []
    context.close()
