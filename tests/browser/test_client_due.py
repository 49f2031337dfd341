"""In a real browser: a client's admin page shows the measurement plan in force and the due and missed lists as
tables a screen reader can read, styled without breaking the Content-Security-Policy."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone

from questionnaires.models import CareSession, EpisodeOfCare, MeasurementPlan
from tests.browser.test_expected_change_chart import _axe_within
from tests.browser.test_pages import _log_in

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_client_page_shows_the_plan_and_what_is_due(chromium, live_server, north, screenshot):
    get_user_model().objects.create_superuser("admin", "admin@example.org", "admin")
    now = timezone.now().replace(microsecond=0)
    MeasurementPlan.objects.create(clinic=north.clinic, rules=[
        {"questionnaire": "ors", "rater": "client", "when": {"every_session": True}, "position": "session_start",
         "open_hours": 24},
        {"questionnaire": "srs", "rater": "client", "when": {"every_session": True}, "position": "session_end",
         "open_hours": 24},
    ])
    episode = EpisodeOfCare.objects.create(
        clinic=north.clinic, client=north.client, start_date=(now - timedelta(days=7)).date(),
        primary_clinician=north.clinician,
    )
    CareSession.objects.create(clinic=north.clinic, episode=episode, scheduled_start=now - timedelta(days=7),
                               attendance="attended", number=1)
    CareSession.objects.create(clinic=north.clinic, episode=episode, scheduled_start=now + timedelta(hours=2))

    page = chromium.new_page(viewport={"width": 1280, "height": 900})
    refused: list[str] = []
    page.on("console", lambda message: refused.append(message.text)
            if "Content Security Policy" in message.text else None)
    _log_in(page, live_server)
    page.goto(f"{live_server.url}/admin/questionnaires/therapyclient/{north.client.pk}/change/")
    section = page.locator("#client-plan-due")
    assert section.locator("#client-plan caption").text_content() == "Measurement plan in force"
    assert section.locator("#client-plan tbody tr").count() == 2
    assert section.locator("#client-due caption").text_content().startswith("Due for session 2 (")
    assert section.locator("#client-due tr.due-open th").text_content() == "ors"
    assert section.locator("#client-due tr.due-upcoming th").text_content() == "srs"
    assert section.locator("#client-missed tbody tr").count() == 2
    # The page's nonce'd stylesheet applies (an inline style attribute would have been refused).
    assert section.locator("#client-due").evaluate("table => getComputedStyle(table).marginBottom") == "12px"
    assert refused == []
    screenshot(page, "admin-client-plan-due")
    assert _axe_within(page, "#client-plan-due", "admin-client-plan-due") == []
    page.close()
