"""In a real browser: the admin charts show the right number of points, and a phone can fill in and send a form."""

from __future__ import annotations

from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from questionnaires.admin.dashboard import PERIODS
from questionnaires.models import Response, TherapyClient
from questionnaires.selectors.dashboard import period_starts
from questionnaires.selectors.metrics import metric_cells
from questionnaires.services.credentials import client_token_issue

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("licensed_text_pack")]


@pytest.fixture
def demo(db):
    call_command("seed_demo", verbosity=0, stdout=StringIO())
    return TherapyClient.objects.get(clinic__slug="demo", external_id="DEMO-003")


def _log_in(page, live_server) -> None:
    page.goto(f"{live_server.url}/admin/login/")
    page.fill("#id_username", "admin")
    page.fill("#id_password", "admin")
    page.click("input[type=submit]")
    page.wait_for_url(f"{live_server.url}/admin/")


def test_admin_client_page_shows_each_trajectory_with_one_point_per_rating(chromium, live_server, demo, screenshot):
    page = chromium.new_page(viewport={"width": 1280, "height": 900})
    _log_in(page, live_server)
    page.goto(f"{live_server.url}/admin/questionnaires/therapyclient/{demo.pk}/change/")
    for questionnaire in ("srs", "ors", "wai-sr"):
        expected = Response.objects.filter(
            client=demo, status=Response.Status.SCORED, questionnaire_version__questionnaire_id=questionnaire
        ).count()
        points = page.locator(f"figure[data-questionnaire='{questionnaire}'] svg circle.chart-point")
        assert expected > 0 and points.count() == expected, questionnaire
    srs = page.locator("figure[data-questionnaire='srs'] svg")
    assert srs.locator("circle.chart-point[data-series='clinician']").count() > 0
    assert srs.locator("g.chart-cutoff").count() == 1
    assert srs.locator("g.chart-alert[data-kinds*='rupture']").count() >= 1
    assert srs.get_attribute("role") == "img" and srs.locator("title").first.text_content()
    # Issue 17: session numbers on the x-axis, the band that matters with the full scale stated, a marker legend.
    labels = srs.locator("text.chart-x-label").all_text_contents()
    assert labels and all(label.isdigit() for label in labels), labels
    assert srs.locator("text.chart-scale").text_content().startswith("scale 0–40")
    assert srs.locator("g.chart-marker-legend").count() == 1
    screenshot(page, "admin-client-trajectory")
    page.close()


def test_clinic_dashboard_shows_a_point_per_visible_rollup_cell(chromium, live_server, demo, screenshot):
    page = chromium.new_page(viewport={"width": 1280, "height": 900})
    _log_in(page, live_server)
    page.click("text=Alliance and outcome charts")
    page.wait_for_selector("#metric-charts")
    starts = period_starts(period="month", count=PERIODS["month"], today=timezone.now().date())
    for questionnaire in ("srs", "ors"):
        expected = sum(
            1
            for group_by in ("clinic", "clinician")
            for cell in metric_cells(
                clinic_id=demo.clinic_id, questionnaire_id=questionnaire, group_by=group_by, period="month",
                date_from=starts[0], date_to=starts[-1],
            )
            if not cell.suppressed
        )
        points = page.locator(f"svg#metric-{questionnaire} circle.chart-point")
        assert expected > 0 and points.count() == expected, questionnaire
    assert page.locator("svg#alerts rect.chart-bar").count() > 0
    assert page.locator("svg#completion circle.chart-point").count() > 0
    # The whole clinic is the grey reference drawn first: every clinician's line lies above it.
    assert page.locator("svg#metric-srs g.chart-series").first.get_attribute("data-series") == "clinic"
    screenshot(page, "admin-dashboard")
    page.close()


def test_a_phone_fills_in_the_srs_with_sliders_and_keyboard_and_it_is_stored_and_scored(
    chromium, live_server, north, screenshot
):
    _, key = client_token_issue(client=north.client)
    page = chromium.new_page(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    page.goto(f"{live_server.url}/take/{key}/")
    page.click("text=Session Rating Scale")
    screenshot(page, "form-srs-empty")
    page.fill("#item-1", "9.2")
    page.fill("#item-2", "8.7")
    page.focus("input[type=range][data-target='item-3']")
    page.keyboard.press("End")  # 10.0, shown in the number box
    page.keyboard.press("ArrowLeft")  # 9.9
    assert page.input_value("#item-3") == "9.9"
    page.locator("input[type=range][data-target='item-4']").fill("9.1")
    assert page.input_value("#item-4") == "9.1"
    screenshot(page, "form-srs-filled")
    page.click("button[type=submit]")
    page.wait_for_selector("#confirmation")
    screenshot(page, "form-srs-confirmation")
    response = Response.objects.get(client=north.client)
    assert response.source == Response.Source.FORM and response.status == Response.Status.SCORED
    assert response.scores.get().total == Decimal("36.9")
    page.close()


def test_a_phone_sees_what_is_missing_and_then_sends_a_likert_form(chromium, live_server, north, screenshot):
    _, key = client_token_issue(client=north.client)
    page = chromium.new_page(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    page.goto(f"{live_server.url}/take/{key}/phq-9/")
    for item in range(1, 9):
        page.locator(f"#item-{item} label.option").nth(item % 4).click()
    page.click("button[type=submit]")
    page.wait_for_selector("#error-summary")
    assert page.locator("#item-9-error").text_content() == "Please answer this question."
    assert not Response.objects.exists()
    screenshot(page, "form-phq9-errors")
    page.locator("#item-9 label.option").first.click()
    page.click("button[type=submit]")
    page.wait_for_selector("#confirmation")
    response = Response.objects.get()
    assert response.status == Response.Status.SCORED
    assert response.scores.get().total == sum(item % 4 for item in range(1, 9))
    page.close()


SERIOUS = {"serious", "critical"}


def _axe(page, name: str) -> list[dict]:
    """axe-core's serious and critical violations of the page; the full result is saved beside the screenshots."""
    import json

    from axe_playwright_python.sync_playwright import Axe

    from tests.browser.conftest import ARTIFACTS

    results = Axe().run(page)
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / f"axe-{name}.json").write_text(json.dumps(results.response, indent=1), encoding="utf-8")
    return [
        {"id": violation["id"], "impact": violation["impact"], "nodes": [n["target"] for n in violation["nodes"]]}
        for violation in results.response["violations"]
        if violation.get("impact") in SERIOUS
    ]


@pytest.mark.parametrize("language", ["en", "de"])
@pytest.mark.parametrize("questionnaire", ["srs", "phq-9"])
def test_the_form_page_on_a_phone_has_no_serious_accessibility_violations(
    chromium, live_server, north, screenshot, language, questionnaire
):
    _, key = client_token_issue(client=north.client)
    context = chromium.new_context(
        viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True, locale=language,
        extra_http_headers={"Accept-Language": language},
    )
    page = context.new_page()
    page.goto(f"{live_server.url}/take/{key}/{questionnaire}/")
    assert page.locator("html").get_attribute("lang") == language or questionnaire == "phq-9"
    name = f"form-{questionnaire}-{language}"
    screenshot(page, name)
    assert _axe(page, name) == []
    # The untouched slider shows no value; the error page is checked too.
    page.click("button[type=submit]")
    page.wait_for_selector("#error-summary")
    assert _axe(page, f"{name}-errors") == []
    # What the client reads about their answers is in the page's language too.
    expected = "Bitte beantworten Sie diese Frage." if page.locator("html").get_attribute("lang") == "de" \
        else "Please answer this question."
    assert page.locator("#item-1-error").text_content() == expected
    context.close()


def test_a_phone_opens_on_what_is_due_now_and_moves_on_to_the_next_measure(chromium, live_server, north, screenshot):
    """Issue 13: 30 minutes before session 1 the default plan has ORS, PHQ-9 and GAD-7 open; the page starts on
    the ORS, and once it is sent the PHQ-9 is next while the ORS is listed as done."""
    from datetime import timedelta

    from django.db import transaction

    from questionnaires.models import CareSession, EpisodeOfCare
    from questionnaires.services.care import sessions_renumber

    episode = EpisodeOfCare.objects.create(clinic=north.clinic, client=north.client, start_date=timezone.localdate(),
                                           primary_clinician=north.clinician)
    session = CareSession.objects.create(clinic=north.clinic, episode=episode,
                                         scheduled_start=timezone.now() + timedelta(minutes=30))
    with transaction.atomic():  # the renumbering locks the episode's sessions
        sessions_renumber(episode_ids=[episode.pk])
    _, key = client_token_issue(client=north.client)
    page = chromium.new_page(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    page.goto(f"{live_server.url}/take/{key}/")
    start = page.locator("#start-due")
    assert start.get_attribute("data-questionnaire") == "ors"
    assert page.locator("#due-list a").evaluate_all("links => links.map(link => link.dataset.questionnaire)") == [
        "phq-9", "gad-7"
    ]
    assert page.locator("#other-list").count() == 0  # the clinic lists only what is due
    screenshot(page, "form-due-now")
    start.click()
    for item in range(1, 5):
        page.fill(f"#item-{item}", "7.5")
    page.click("button[type=submit]")
    page.wait_for_selector("#confirmation")
    response = Response.objects.get(client=north.client)
    assert response.session_id == session.pk and response.clinician == north.clinician
    page.click("text=Back to your questionnaires")
    page.wait_for_selector("#start-due")
    assert page.locator("#start-due").get_attribute("data-questionnaire") == "phq-9"
    assert "Outcome Rating Scale" in page.locator("#done-list").text_content()
    screenshot(page, "form-due-next")


def test_the_admin_alert_list_shows_one_row_per_session_risk_on_top_and_resolves_with_a_reason(
    chromium, live_server, demo, screenshot
):
    from questionnaires.models import Alert
    from questionnaires.selectors.alerts import session_alert_groups

    live = Alert.objects.filter(clinic__slug="demo", withdrawn_at__isnull=True)
    expected = session_alert_groups(live).count()
    page = chromium.new_page(viewport={"width": 1280, "height": 900})
    _log_in(page, live_server)
    page.goto(f"{live_server.url}/admin/questionnaires/alert/?all=")
    page.wait_for_selector("#result_list")
    assert page.locator("p.paginator").text_content().strip().startswith(f"{expected} ")
    first = page.locator("#result_list tbody tr").first
    assert first.locator(".field-session_priority").text_content() == "High"
    assert "risk" in first.locator("td.field-reasons").text_content()
    screenshot(page, "admin-alert-list")
    first.locator("input.action-select").check()
    page.select_option("select[name=action]", "resolve_selected")
    page.click("button[name=index]")
    page.wait_for_selector("textarea[name=reason]")
    assert "risk" in page.locator("ul.alert-sessions").text_content()
    screenshot(page, "admin-alert-resolve-reason")
    page.fill("textarea[name=reason]", "Safety plan made in session")
    page.click("input[type=submit][value=Resolve]")
    page.wait_for_selector("ul.messagelist")
    assert "Resolved" in page.locator("ul.messagelist").text_content()
    resolved = Alert.objects.filter(clinic__slug="demo", reason="Safety plan made in session")
    assert resolved.filter(kind="risk").exists() and not resolved.filter(resolved_at__isnull=True).exists()
    page.close()
