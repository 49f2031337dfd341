"""The client's form page opens on what is due now for the current session (the plan's first open measure),
lists other instruments only where the clinic allows it, and says when nothing is due."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from questionnaires.models import CareSession, ClinicCareSettings, EpisodeOfCare
from questionnaires.services.care import sessions_renumber
from questionnaires.services.credentials import client_token_issue

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("licensed_text_pack")]


@pytest.fixture
def page_key(north) -> str:
    return client_token_issue(client=north.client)[1]


def _listed(html: str, block: str) -> list[str]:
    match = re.search(rf'id="{block}"(.*?)</(ul|p|section)>', html, re.S)
    return re.findall(r'data-questionnaire="([^"]+)"', match.group(1)) if match else []


def _course(north, *, starts_in: timedelta | None) -> EpisodeOfCare:
    episode = EpisodeOfCare.objects.create(clinic=north.clinic, client=north.client,
                                           start_date=timezone.localdate() - timedelta(days=14))
    if starts_in is not None:
        CareSession.objects.create(clinic=north.clinic, episode=episode, scheduled_start=timezone.now() + starts_in)
        sessions_renumber(episode_ids=[episode.pk])
    return episode


def test_without_an_episode_every_offered_questionnaire_is_listed_as_before(client, north, page_key):
    html = client.get(f"/take/{page_key}/").content.decode()
    assert 'id="due-now"' not in html
    assert {"srs", "ors", "phq-9"} <= set(_listed(html, "other-list"))


def test_the_page_starts_on_the_first_measure_due_and_lists_nothing_else(client, north, page_key):
    _course(north, starts_in=timedelta(minutes=30))
    html = client.get(f"/take/{page_key}/").content.decode()
    # Default plan, 30 min before session 1: ORS, PHQ-9 and GAD-7 are open (from 24 h before); the SRS opens at
    # the start. ORS is the plan's first rule, so the page starts there.
    assert re.search(r'id="start-due" data-questionnaire="ors"', html)
    assert _listed(html, "due-list") == ["phq-9", "gad-7"]
    assert "Due now for session 1" in html and "Later in this session:" in html
    assert 'id="other-list"' not in html
    assert client.get(f"/take/{page_key}/ors/").status_code == 200
    # Not listed, but a link a clinic sent for it still opens the form (the plan steers the page, it locks nothing).
    assert client.get(f"/take/{page_key}/gbo/").status_code == 200


def test_a_clinic_that_allows_it_also_lists_the_other_instruments(client, north, page_key):
    ClinicCareSettings.objects.create(clinic=north.clinic, form_offers_other_instruments=True)
    _course(north, starts_in=timedelta(minutes=30))
    html = client.get(f"/take/{page_key}/").content.decode()
    others = _listed(html, "other-list")
    assert "gbo" in others and not {"ors", "phq-9", "gad-7", "srs"} & set(others)


def test_the_page_says_when_nothing_is_due(client, north, page_key):
    _course(north, starts_in=None)  # an episode, no session booked
    html = client.get(f"/take/{page_key}/").content.decode()
    assert 'id="nothing-due"' in html and "Nothing is due at the moment" in html
    assert 'id="start-due"' not in html


def test_the_due_page_speaks_german_when_asked(client, north, page_key):
    _course(north, starts_in=timedelta(minutes=30))
    html = client.get(f"/take/{page_key}/", HTTP_ACCEPT_LANGUAGE="de").content.decode()
    assert "Jetzt fällig für Sitzung 1" in html and "Später in dieser Sitzung:" in html
