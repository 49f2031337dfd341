"""seed_demo's data: months of varied sessions, scored with alerts and rollups, so every chart shows something."""

from __future__ import annotations

import re
from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.db.models import Count
from django.urls import reverse

from questionnaires.models import Alert, MetricRollup, Response, Score, TherapyClient
from questionnaires.selectors.alerts import session_alert_groups, session_alerts


@pytest.fixture
def seeded(db, settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    out = StringIO()
    call_command("seed_demo", stdout=out)
    return out.getvalue()


def test_it_seeds_months_of_scored_sessions_for_every_client(seeded):
    assert "demo responses" in seeded
    responses = Response.objects.filter(clinic__slug="demo")
    assert responses.count() > 300
    assert not responses.exclude(status=Response.Status.SCORED).exists()
    span = responses.order_by("authored_at").last().authored_at - responses.order_by("authored_at").first().authored_at
    assert span.days > 120
    for client in TherapyClient.objects.filter(clinic__slug="demo"):
        kinds = set(client.responses.values_list("questionnaire_version__questionnaire_id", flat=True))
        assert {"srs", "ors"} <= kinds, client.external_id
    instruments = set(responses.values_list("questionnaire_version__questionnaire_id", flat=True))
    assert {"srs", "ors", "wai-sr", "phq-9", "gad-7"} <= instruments
    assert responses.filter(rater=Response.Rater.CLINICIAN).exists()


def test_it_raises_the_alerts_a_demo_should_show(seeded):
    kinds = dict(Alert.objects.filter(clinic__slug="demo").values_list("kind").annotate(n=Count("id")))
    for kind in ("rupture", "repair", "risk", "rater_gap", "reliable_improvement", "reliable_deterioration"):
        assert kinds.get(kind), f"no {kind} alert in the demo data: {kinds}"
    repaired = Alert.objects.filter(clinic__slug="demo", kind="rupture", details__state="repaired")
    assert repaired.exists()


def test_it_fills_the_rollups(seeded):
    assert MetricRollup.objects.filter(clinic__slug="demo", scope="clinician", period="month").exists()


def test_a_second_run_changes_nothing(seeded):
    count = Response.objects.count()
    out = StringIO()
    call_command("seed_demo", stdout=out)
    assert Response.objects.count() == count
    assert "nothing changed" in out.getvalue()


def test_every_dashboard_chart_shows_something_on_the_demo_data(seeded, client):
    client.force_login(get_user_model().objects.get(username="admin"))
    html = client.get(reverse("admin-dashboard") + "?clinic=demo").content.decode()
    charts = re.findall(r'<figure data-chart="([^"]+)" data-points="(\d+)"', html)
    assert {"metric-srs", "metric-ors", "metric-wai-sr", "metric-phq-9", "metric-gad-7", "alerts", "completion"} <= {
        chart for chart, _ in charts
    }
    assert all(int(points) > 0 for _, points in charts), charts


def test_it_records_courses_of_care_with_planned_endings_dropouts_and_no_shows(seeded):
    from questionnaires.models import CareSession, EpisodeOfCare

    episodes = EpisodeOfCare.objects.filter(clinic__slug="demo")
    assert episodes.count() == 12
    endings = set(episodes.exclude(status="active").values_list("end_reason", flat=True))
    assert {"completed", "dropped_out"} <= endings
    assert episodes.filter(status="active").exists()
    sessions = CareSession.objects.filter(clinic__slug="demo")
    assert sessions.filter(attendance="did_not_attend").exists()
    assert sessions.filter(attendance="cancelled_by_client").exists()
    # every attended session is numbered 1..n within its episode, and the responses carry its number
    for episode in episodes:
        numbers = list(episode.sessions.filter(attendance="attended").order_by("scheduled_start")
                       .values_list("number", flat=True))
        assert numbers == list(range(1, len(numbers) + 1)), episode
    linked = Response.objects.filter(clinic__slug="demo", session__isnull=False)
    assert linked.count() > 300
    assert not [r for r in linked.select_related("session") if r.session_number != r.session.number]


def test_the_demo_raises_fewer_than_three_alerts_per_client_per_ten_sessions_outside_risk(seeded, capsys):
    """Issue 17's target: alerts a clinician acts on, counted as the list shows them (one per client
    and session, notes left out), with every risk item still alerted and listed on top.
    The figure is printed past pytest's capture, so it is in the test log of every run."""
    live = Alert.objects.filter(clinic__slug="demo", withdrawn_at__isnull=True).select_related("client", "response")
    groups = session_alerts(live.filter(category=Alert.Category.ALERT))
    outside_risk = [group for group in groups if "risk" not in group.kinds]
    sessions = (
        Response.objects.filter(clinic__slug="demo", rater=Response.Rater.CLIENT)
        .values("client", "session_number").distinct().count()
    )
    clients = TherapyClient.objects.filter(clinic__slug="demo").count()
    rate = len(outside_risk) / sessions * 10
    per_client = {}
    for group in outside_risk:
        per_client[group.client_external_id] = per_client.get(group.client_external_id, 0) + 1
    with capsys.disabled():
        print(
            f"\ndemo: {len(outside_risk)} session alerts outside risk over {sessions} sessions of {clients} clients "
            f"= {rate:.2f} per client per 10 sessions; notes: {live.filter(category=Alert.Category.NOTE).count()}; "
            f"by client: {dict(sorted(per_client.items()))}"
        )
    assert rate < 3
    risk_scores = Score.objects.filter(response__clinic__slug="demo", response__status=Response.Status.SCORED)
    risk_responses = {score.response_id for score in risk_scores if "risk" in (score.flags or [])}
    assert risk_responses, "the demo should show a risk item"
    alerted = set(live.filter(kind="risk").values_list("response_id", flat=True))
    assert risk_responses <= alerted
    assert not live.filter(kind="risk").exclude(priority=Alert.Priority.HIGH).exists()
    # The list (API and admin) counts the same session alerts, and every one with a risk reason is on top.
    listed = list(session_alert_groups(live.filter(category=Alert.Category.ALERT)))
    assert len(listed) == len(groups)
    with_risk = {(group.client_id, group.session_key) for group in groups if "risk" in group.kinds}
    ranks = [(row["client_id"], row["session_key"]) in with_risk for row in listed]
    assert ranks == sorted(ranks, reverse=True) and any(ranks)


def test_it_sets_the_clinic_plan_and_one_episode_override_so_the_demo_shows_due_and_missed(seeded):
    from questionnaires.models import EpisodeOfCare, MeasurementPlan
    from questionnaires.models.plans import DEFAULT_RULES
    from questionnaires.selectors.due import client_due

    default = MeasurementPlan.objects.get(clinic__slug="demo", episode__isnull=True)
    assert [rule["questionnaire"] for rule in default.rules] == [rule["questionnaire"] for rule in DEFAULT_RULES]
    override = MeasurementPlan.objects.get(clinic__slug="demo", episode__isnull=False)
    assert override.episode.status == "active"
    assert override.rules != default.rules
    active = EpisodeOfCare.objects.filter(clinic__slug="demo", status="active").select_related("client")
    dues = {episode.client.external_id: client_due(client=episode.client) for episode in active}
    assert dues and all(due["session"] is not None and due["due"] for due in dues.values())
    assert {due["plan"] for due in dues.values()} == {"clinic", "episode"}
    assert any(due["missed"] for due in dues.values())
    # The override matches how that client's PHQ-9 and GAD-7 were given: nothing missed under it.
    assert dues[override.episode.client.external_id]["missed"] == []
