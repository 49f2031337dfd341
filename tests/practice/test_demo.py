"""Acceptance on the demo data: a clinician sees a client's goals and progress, the client's comments and their own
supervision report; a supervisor sees the equity view with suppressed cells marked."""

from __future__ import annotations

from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command

from questionnaires.models import Alert, Goal
from tests.api.conftest import staff_api

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo(settings):
    out = StringIO()
    call_command("seed_demo", stdout=out)
    return out.getvalue()


def user(username: str):
    return get_user_model().objects.get(username=username)


def test_the_demo_reports_what_it_seeded_and_a_second_run_adds_nothing(demo):
    assert "shared goals with" in demo
    goals = Goal.objects.count()
    call_command("seed_demo", stdout=StringIO())
    assert Goal.objects.count() == goals == 5


def test_a_clinician_sees_their_clients_goals_and_progress(demo):
    goals = staff_api(user("demo-clinician-1")).get("/api/v1/clients/DEMO-001/goals/").json()["results"]

    assert [goal["text"] for goal in goals][:1] == ["Get back to sleeping through most nights"]
    first = goals[0]["progress"]
    assert first["baseline"] == 2 and first["change"] == first["latest"] - 2
    assert first["reliable_improvement"] is (first["change"] >= 2.45)


def test_the_stuck_goal_raises_its_alert(demo):
    assert Alert.objects.filter(client__external_id="DEMO-002", kind="goal_stuck").exists()


def test_a_clinician_sees_the_clients_comments_with_the_scores(demo):
    points = staff_api(user("demo-clinician-1")).get("/api/v1/clients/DEMO-001/scores/?questionnaire=srs").json()
    comments = [point["comment"] for point in points["points"] if point["comment"]]

    assert comments == ["It felt like we rushed past what happened with my dad."]


def test_a_clinician_reads_their_own_supervision_report(demo):
    report = staff_api(user("demo-clinician-1")).get("/api/v1/clinicians/demo-clinician-1/report/").json()

    assert report["clinician_figures"]["mean"]["n"] > 5
    assert report["clinic_figures"]["mean"]["n"] > report["clinician_figures"]["mean"]["n"]


def test_a_supervisor_sees_the_equity_view_with_suppressed_cells_marked(demo):
    answer = staff_api(user("demo-supervisor")).get("/api/v1/equity/?questionnaire=srs&category=preferred-language")

    cells = answer.json()["clinic"]
    assert answer.status_code == 200
    assert {cell["group"] for cell in cells} == {"English", "Polish", "Arabic", "Turkish", "not_recorded"}
    assert all(cell["suppressed"] for cell in cells if cell["group"] != "Turkish")  # twelve clients: all small
