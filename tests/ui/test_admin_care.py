"""The course of care in the admin: episodes with an attendance strip on the client's page, sessions inline on the
episode, and saving there renumbers attended sessions; the client's page also shows the measurement plan in force
and what is due and missed, scoped like all admin."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse
from django.utils import timezone

from questionnaires.models import AuditEvent, CareSession, EpisodeOfCare, MeasurementPlan, TherapyClient


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def admin_client(client, db):
    user = get_user_model().objects.create_superuser(username="root", email="", password="root-password")
    client.force_login(user)
    return client


@pytest.fixture
def episode(north) -> EpisodeOfCare:
    episode = EpisodeOfCare.objects.create(
        clinic=north.clinic, client=north.client, start_date="2026-01-05", primary_clinician=north.clinician
    )
    for day, attendance in ((5, "attended"), (12, "did_not_attend"), (19, "entered_in_error"), (26, "booked")):
        CareSession.objects.create(
            clinic=north.clinic, episode=episode, scheduled_start=f"2026-01-{day:02d}T10:00:00Z", attendance=attendance
        )
    return episode


def test_the_client_page_lists_episodes_with_an_attendance_strip(admin_client, north, episode):
    page = admin_client.get(reverse("admin:questionnaires_therapyclient_change", args=[north.client.pk]))
    html = page.content.decode()
    assert page.status_code == 200
    assert "Episodes of care" in html
    assert 'title="2026-01-05 attended">●<' in html and 'title="2026-01-12 did not attend">✕<' in html
    assert "entered in error" not in html


def test_sessions_edited_on_the_episode_page_are_renumbered_and_audited(admin_client, north, episode):
    url = reverse("admin:questionnaires_episodeofcare_change", args=[episode.pk])
    assert admin_client.get(url).status_code == 200
    sessions = list(episode.sessions.order_by("scheduled_start"))
    data = {
        "client": north.client.pk, "start_date": "2026-01-05", "primary_clinician": north.clinician.pk,
        "status": "active", "end_date": "", "end_reason": "", "external_id": "", "referral_date": "",
        "sessions-TOTAL_FORMS": "4", "sessions-INITIAL_FORMS": "4", "sessions-MIN_NUM_FORMS": "0",
        "sessions-MAX_NUM_FORMS": "1000",
    }
    for index, session in enumerate(sessions):
        data.update({
            f"sessions-{index}-id": session.pk, f"sessions-{index}-episode": episode.pk,
            f"sessions-{index}-scheduled_start_0": session.scheduled_start.strftime("%Y-%m-%d"),
            f"sessions-{index}-scheduled_start_1": session.scheduled_start.strftime("%H:%M:%S"),
            f"sessions-{index}-duration_minutes": "50",
            f"sessions-{index}-attendance": "attended" if index == 3 else session.attendance,
            f"sessions-{index}-external_id": "",
        })
    saved = admin_client.post(url, data)
    assert saved.status_code == 302, saved.content.decode()[:3000]
    assert [s.number for s in episode.sessions.order_by("scheduled_start")] == [1, None, None, 2]
    assert AuditEvent.objects.filter(object_type="episode", action="update").exists()


def test_finishing_an_episode_in_the_admin_needs_an_end_reason(admin_client, north, episode):
    url = reverse("admin:questionnaires_episodeofcare_change", args=[episode.pk])
    data = {
        "client": north.client.pk, "start_date": "2026-01-05", "status": "finished", "end_date": "2026-02-01",
        "end_reason": "", "sessions-TOTAL_FORMS": "0", "sessions-INITIAL_FORMS": "0",
        "sessions-MIN_NUM_FORMS": "0", "sessions-MAX_NUM_FORMS": "1000",
    }
    page = admin_client.post(url, data)
    assert page.status_code == 200  # the form again, with the error
    assert EpisodeOfCare.objects.get(pk=episode.pk).status == "active"


ADD_FORM = {"start_date": "2026-03-02", "status": "active", "end_date": "", "end_reason": "", "external_id": "",
            "referral_date": "", "sessions-TOTAL_FORMS": "0", "sessions-INITIAL_FORMS": "0",
            "sessions-MIN_NUM_FORMS": "0", "sessions-MAX_NUM_FORMS": "1000"}


def test_a_second_active_episode_is_refused_in_the_admin_with_a_form_error(admin_client, north, episode):
    page = admin_client.post(reverse("admin:questionnaires_episodeofcare_add"), {**ADD_FORM, "client": north.client.pk})
    assert page.status_code == 200  # the form again
    errors = page.context["adminform"].form.errors
    assert f"already has an active episode ({episode.pk})" in errors["status"][0]
    assert EpisodeOfCare.objects.filter(client=north.client).count() == 1


def test_reopening_a_finished_episode_beside_an_active_one_is_refused_too(admin_client, north, episode):
    old = EpisodeOfCare.objects.create(clinic=north.clinic, client=north.client, start_date="2025-01-06",
                                       status="finished", end_reason="completed", end_date="2025-06-30")
    url = reverse("admin:questionnaires_episodeofcare_change", args=[old.pk])
    page = admin_client.post(url, {**ADD_FORM, "client": north.client.pk, "start_date": "2025-01-06"})
    assert page.status_code == 200 and "status" in page.context["adminform"].form.errors
    assert EpisodeOfCare.objects.get(pk=old.pk).status == "finished"
    # Editing the active episode itself is no second episode.
    url = reverse("admin:questionnaires_episodeofcare_change", args=[episode.pk])
    saved = admin_client.post(url, {**ADD_FORM, "client": north.client.pk, "start_date": "2026-01-04"})
    assert saved.status_code == 302


def test_a_clinic_that_allows_parallel_episodes_may_add_one_in_the_admin(admin_client, north, episode):
    from questionnaires.models import ClinicCareSettings

    ClinicCareSettings.objects.create(clinic=north.clinic, allow_parallel_episodes=True)
    page = admin_client.post(reverse("admin:questionnaires_episodeofcare_add"), {**ADD_FORM, "client": north.client.pk})
    assert page.status_code == 302
    assert EpisodeOfCare.objects.filter(client=north.client, status="active").count() == 2


# --- The plan in force and what is due, on the client's page (from the selectors behind GET .../due/) ---

PLAN = [
    {"questionnaire": "ors", "rater": "client", "when": {"every_session": True}, "position": "session_start",
     "open_hours": 24},
    {"questionnaire": "srs", "rater": "client", "when": {"every_session": True}, "position": "session_end",
     "open_hours": 24},
]


@pytest.fixture
def course(north) -> EpisodeOfCare:
    """Session 1 a week ago (attended, nothing answered) and session 2 booked two hours from now, under the
    clinic's plan above. By the plan rules: session 1's ORS closed at its end and its SRS 24 hours after it,
    so both are missed; session 2's ORS opened 24 hours before it (open now), its SRS opens at its start
    (upcoming); completion is 0 of the 2 expected at attended sessions."""
    now = timezone.now().replace(microsecond=0)
    MeasurementPlan.objects.create(clinic=north.clinic, rules=PLAN)
    episode = EpisodeOfCare.objects.create(
        clinic=north.clinic, client=north.client, start_date=(now - timedelta(days=7)).date(),
        primary_clinician=north.clinician,
    )
    CareSession.objects.create(clinic=north.clinic, episode=episode, scheduled_start=now - timedelta(days=7),
                               attendance="attended", number=1)
    CareSession.objects.create(clinic=north.clinic, episode=episode, scheduled_start=now + timedelta(hours=2))
    return episode


def _plan_section(html: str) -> str:
    start = html.index('id="client-plan-due"')
    return html[start:html.index("<h2>Trajectories</h2>", start)]


def _staff(user):
    user.is_staff = True
    user.save()
    return user


def test_the_client_page_shows_the_plan_in_force_and_what_is_due_and_missed(admin_client, north, course):
    page = admin_client.get(reverse("admin:questionnaires_therapyclient_change", args=[north.client.pk]))
    assert page.status_code == 200
    section = _plan_section(page.content.decode())
    assert "follows the clinic&#x27;s default plan" in section
    assert "Completion: 0 of 2 expected measures (0%)" in section
    assert "<caption>Measurement plan in force</caption>" in section
    assert '<th scope="row">ors</th><td>client</td><td>every session</td><td>session start</td><td>24</td>' in section
    assert "<caption>Due for session 2 (" in section
    assert '<tr class="due-open"><th scope="row">ors</th>' in section
    assert '<tr class="due-upcoming"><th scope="row">srs</th>' in section
    missed = section[section.index('id="client-missed"'):]
    assert missed.count('<th scope="row">Session 1</th>') == 2
    assert "style=" not in section  # the CSP forbids inline style attributes


def test_an_episode_override_is_shown_as_the_plan_in_force(admin_client, north, course):
    MeasurementPlan.objects.create(clinic=north.clinic, episode=course, rules=[
        {"questionnaire": "wai-sr", "rater": "client", "when": {"every_n_sessions": 5, "from": 3},
         "position": "session_end", "open_hours": 48},
    ])
    section = _plan_section(admin_client.get(
        reverse("admin:questionnaires_therapyclient_change", args=[north.client.pk])).content.decode())
    assert "this episode&#x27;s own plan" in section
    assert "every 5 sessions from session 3" in section
    assert '<th scope="row">ors</th>' not in section  # the clinic's rules do not apply to this episode
    assert "Nothing due" in section  # session 2 is not 3, 8, 13, ...


def test_without_an_active_episode_the_page_says_no_plan_applies(admin_client, north):
    section = _plan_section(admin_client.get(
        reverse("admin:questionnaires_therapyclient_change", args=[north.client.pk])).content.decode())
    assert "No active episode of care" in section


def test_another_clinics_client_page_is_a_404_for_staff(client, north, south, course):
    client.force_login(_staff(south.supervisor))
    assert client.get(reverse("admin:questionnaires_therapyclient_change", args=[north.client.pk])).status_code == 404


def test_a_clinician_sees_the_due_list_of_their_caseload_only(client, north, course):
    outsider = TherapyClient.objects.create(clinic=north.clinic, external_id="north-client-2")
    client.force_login(_staff(north.clinician))
    own = client.get(reverse("admin:questionnaires_therapyclient_change", args=[north.client.pk]))
    assert own.status_code == 200
    assert "<caption>Due for session 2 (" in _plan_section(own.content.decode())
    assert client.get(reverse("admin:questionnaires_therapyclient_change", args=[outsider.pk])).status_code == 404
