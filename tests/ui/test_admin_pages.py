"""The admin pages this project adds: a client's trajectory, the clinic dashboard, form links and admin actions."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse
from django.utils import timezone

from questionnaires.models import AuditEvent, ClientToken, MetricRollup, Response
from questionnaires.services.metrics import metrics_rollup
from tests.ui.helpers import scored_response, srs_answers


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def admin_client(client, db):
    user = get_user_model().objects.create_superuser(username="root", email="", password="root-password")
    client.force_login(user)
    return client


def _points(html: str, chart_id: str) -> list[str]:
    svg = re.search(rf'<svg[^>]*id="{chart_id}".*?</svg>', html, re.S)
    assert svg, f"no chart {chart_id}"
    return re.findall(r'<circle class="chart-point"[^>]*>', svg.group(0))


def test_client_page_draws_a_trajectory_per_instrument_with_client_and_clinician_points(admin_client, north):
    start = timezone.now() - timedelta(weeks=6)
    for session, total in enumerate((38.0, 37.2, 24.0, 37.6), start=1):
        authored = start + timedelta(weeks=session)
        scored_response(north.client, session=session, answers=srs_answers(total), authored=authored)
    scored_response(north.client, session=2, rater="clinician", answers=srs_answers(30.0),
                    authored=start + timedelta(weeks=2), clinician=north.clinician)
    scored_response(north.client, questionnaire="ors", session=1, answers=srs_answers(20.0), authored=start)

    page = admin_client.get(reverse("admin:questionnaires_therapyclient_change", args=[north.client.pk]))

    html = page.content.decode()
    srs = _points(html, "trajectory-srs")
    assert len(srs) == 5
    assert sum('data-series="clinician"' in point for point in srs) == 1
    assert len(_points(html, "trajectory-ors")) == 1
    assert 'class="chart-cutoff" data-value="36"' in html
    assert 'class="chart-alert"' in html  # 24.0 is below the cut-off: low_alliance
    assert "Recent responses" in html and "Open alerts" in html and "talk about the alliance" in html


def test_client_page_without_responses_says_so(admin_client, north):
    page = admin_client.get(reverse("admin:questionnaires_therapyclient_change", args=[north.client.pk]))
    assert "No scored responses yet" in page.content.decode()


def test_client_page_view_is_audited_as_a_read_of_the_client(admin_client, north):
    admin_client.get(reverse("admin:questionnaires_therapyclient_change", args=[north.client.pk]))
    assert AuditEvent.objects.filter(action="read", object_type="client", object_ids=[str(north.client.pk)]).exists()


def test_dashboard_draws_each_unsuppressed_rollup_cell(admin_client, north, settings):
    settings.METRICS_MIN_CELL = 2
    authored = timezone.now() - timedelta(hours=2)
    responses = [scored_response(north.client, session=n, authored=authored, clinician=north.clinician,
                                 answers=srs_answers(36.0 + n * 0.4)) for n in range(1, 4)]
    metrics_rollup(response_ids=[r.id for r in responses])

    page = admin_client.get(reverse("admin-dashboard") + f"?clinic={north.clinic.slug}")

    assert page.status_code == 200
    points = _points(page.content.decode(), "metric-srs")
    assert len(points) == 2  # this month: the clinician's cell and the whole clinic's
    assert {re.search(r'data-series="([^"]+)"', p).group(1) for p in points} == {"clinic", "clinician-north-clinician"}
    assert all('data-n="3"' in p for p in points)
    assert AuditEvent.objects.filter(action="read", object_type="metrics", clinic_id=north.clinic.pk).exists()


def test_dashboard_hides_small_cells(admin_client, north, settings):
    settings.METRICS_MIN_CELL = 5
    response = scored_response(north.client, authored=timezone.now() - timedelta(hours=1), clinician=north.clinician)
    metrics_rollup(response_ids=[response.id])
    page = admin_client.get(reverse("admin-dashboard"))
    assert _points(page.content.decode(), "metric-srs") == []
    assert "with too few responses hidden" in page.content.decode()


def test_dashboard_shows_alert_counts_and_completion(admin_client, north):
    authored = timezone.now() - timedelta(hours=1)
    low = scored_response(north.client, session=1, answers=srs_answers(20.0), authored=authored)
    metrics_rollup(response_ids=[low.id])
    html = admin_client.get(reverse("admin-dashboard")).content.decode()
    assert re.search(r'<rect class="chart-bar"[^>]*data-kind="low_alliance"[^>]*data-count="1"', html)
    completion = _points(html, "completion")
    assert len(completion) == 1 and 'data-value="100"' in completion[0]


def test_dashboard_for_staff_shows_only_their_own_clinic_and_the_other_is_a_404(client, north, south):
    north.supervisor.is_staff = True
    north.supervisor.save()
    client.force_login(north.supervisor)
    html = client.get(reverse("admin-dashboard")).content.decode()
    assert north.clinic.name in html and south.clinic.name not in html
    assert client.get(reverse("admin-dashboard") + f"?clinic={south.clinic.slug}").status_code == 404


def test_admin_index_links_to_the_dashboard(admin_client):
    assert reverse("admin-dashboard") in admin_client.get(reverse("admin:index")).content.decode()


def test_recompute_rebuilds_the_rollups_and_is_audited(admin_client, north):
    scored_response(north.client, authored=timezone.now() - timedelta(hours=1))
    MetricRollup.objects.all().delete()
    page = admin_client.post(reverse("admin-metrics-recompute"))
    assert page.status_code == 302
    assert MetricRollup.objects.filter(clinic=north.clinic, questionnaire_id="srs").exists()
    assert AuditEvent.objects.filter(action="recompute", object_type="metrics").exists()


def test_recompute_refuses_a_get(admin_client):
    assert admin_client.get(reverse("admin-metrics-recompute")).status_code == 405


@pytest.mark.django_db(transaction=True)
def test_rescore_action_scores_failed_responses_again(client, north):
    user = get_user_model().objects.create_superuser(username="root", email="", password="pw")
    client.force_login(user)
    failed = scored_response(north.client)
    Response.objects.filter(pk=failed.pk).update(status=Response.Status.FAILED, failure_reason="plugin was broken")
    failed.scores.all().delete()
    page = client.post(
        reverse("admin:questionnaires_response_changelist"),
        {"action": "rescore_selected", "_selected_action": [str(failed.pk)]},
    )
    assert page.status_code == 302
    failed.refresh_from_db()
    assert failed.status == Response.Status.SCORED and failed.scores.count() == 1
    assert AuditEvent.objects.filter(action="rescore", object_ids=[str(failed.pk)]).exists()


def test_form_link_is_issued_once_for_the_client_and_audited(admin_client, north):
    url = reverse("admin-client-form-link", args=[north.client.pk])
    assert "Issue a form link" in admin_client.get(url).content.decode()
    assert not ClientToken.objects.exists()
    page = admin_client.post(url)
    link = re.search(r'value="(http[^"]+/take/[^"]+/)"', page.content.decode()).group(1)
    token = ClientToken.objects.get()
    assert token.client == north.client and link.split("/take/")[1].startswith(token.prefix + ".")
    assert "no-store" in page["Cache-Control"]
    assert AuditEvent.objects.filter(action="create", object_type="client_token", object_ids=[token.prefix]).exists()


def test_form_link_for_an_unknown_client_is_404(admin_client):
    assert admin_client.get(reverse("admin-client-form-link", args=["999"])).status_code == 404
    assert admin_client.get("/admin/clients/abc/form-link/").status_code == 404
