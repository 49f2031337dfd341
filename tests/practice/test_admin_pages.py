"""The alliance-practice admin pages: supervision report, equity view with suppressed cells marked, a client's goals."""

from __future__ import annotations

import pytest

from questionnaires.models import AuditEvent, BackgroundCategory, ClientBackground, Goal
from tests.factories import TherapyClientFactory
from tests.practice.helpers import body, marks

pytestmark = pytest.mark.django_db


def test_the_supervision_page_shows_the_clinician_beside_the_clinic(admin_client, north, scored, settings):
    settings.METRICS_MIN_CELL = 2
    for day, total in enumerate((38, 34, 30)):
        scored(north.api(), body("srs", "north-client-1", marks(total), days=day, clinician="north-clinician"))

    page = admin_client.get("/admin/supervision/?clinic=north&clinician=north-clinician&questionnaire=srs")

    text = page.content.decode()
    assert page.status_code == 200
    assert 'id="supervision-figures"' in text and "34.00 (n=3)" in text
    assert "suppressed (too few)" in text  # no client-vs-clinician pairs yet
    assert 'data-chart="supervision-trend"' in text
    assert AuditEvent.objects.filter(object_type="clinician_report", actor__startswith="admin:").exists()


def test_the_equity_page_marks_suppressed_cells(admin_client, north, scored, settings):
    settings.EQUITY_CLOSED_MONTHS_ONLY = False  # the data below is received today
    category = BackgroundCategory.objects.create(clinic=north.clinic, name="language", values=["A", "B"])
    for number in range(3):
        client = TherapyClientFactory(clinic=north.clinic, external_id=f"north-e{number}")
        ClientBackground.objects.create(client=client, category=category, value="A", consent=True)
        scored(north.api(), body("srs", client.external_id, marks(37), days=number, clinician="north-clinician"))

    page = admin_client.get("/admin/equity/?clinic=north&questionnaire=srs&category=language")

    text = page.content.decode()
    assert page.status_code == 200
    assert 'id="equity-clinic-table"' in text and "<em>suppressed</em>" in text
    assert "north-e0" not in text


def test_the_goals_page_charts_each_goals_ratings(admin_client, north, scored):
    goal = Goal.objects.create(clinic=north.clinic, client=north.client, text="Sleep through the night")
    for day, value in enumerate((2, 5)):
        scored(north.api(), body("gbo", "north-client-1", {str(goal.id): value}, days=day))

    page = admin_client.get(f"/admin/clients/{north.client.pk}/goals/")

    text = page.content.decode()
    assert page.status_code == 200
    assert "Sleep through the night" in text and 'data-chart="goal-progress"' in text
    assert AuditEvent.objects.filter(object_type="goal", action="read", actor__startswith="admin:").exists()
    assert admin_client.get("/admin/clients/999999/goals/").status_code == 404
