"""The admin alert list: one row per client and session listing its reasons, risk on top; snooze and
resolve as actions that ask why first, scoped like all admin and audited."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse
from django.utils import timezone

from questionnaires.models import Alert, AuditEvent

pytestmark = pytest.mark.django_db

CHANGELIST = "admin:questionnaires_alert_changelist"


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def staff(client, user):
    user.is_staff = True
    user.save()
    client.force_login(user)
    return client


def reason(persona, kind, session, priority="normal", category="alert") -> Alert:
    return Alert.objects.create(
        clinic=persona.clinic, client=persona.client, questionnaire_id="srs", kind=kind, priority=priority,
        category=category, message=f"{kind} in session {session}", session_key=session,
    )


def test_the_list_shows_one_row_per_client_and_session_with_its_reasons_risk_on_top(client, north, south):
    reason(south, "goal_stuck", "2")  # another clinic's: not listed, nor offered as a filter choice
    low = reason(north, "low_alliance", "7")
    rupture = reason(north, "rupture", "6")
    risk = reason(north, "risk", "6", priority="high")
    reason(north, "repair", "6", priority="low", category="note")
    page = staff(client, north.supervisor).get(reverse(CHANGELIST))
    assert page.status_code == 200
    rows = page.context["cl"].result_list
    assert [row.pk for row in rows] == [rupture.pk, low.pk, rupture.pk + 2]  # session 6, session 7, the note
    assert [reason.kind for reason in rows[0].session_alert.reasons] == ["risk", "rupture"]
    html = page.content.decode()
    assert "risk in session 6" in html and "rupture in session 6" in html
    # the list read of every reason shown is audited
    listed = AuditEvent.objects.get(action="list", object_type="alert")
    assert {str(risk.pk), str(rupture.pk), str(low.pk)} <= set(listed.object_ids)
    # filters work on the session alert: its priority is that of its highest reason
    high = client.get(reverse(CHANGELIST), {"priority": "high"}).context["cl"].result_list
    assert [row.pk for row in high] == [rupture.pk]
    by_kind = client.get(reverse(CHANGELIST), {"kind": "risk"}).context["cl"].result_list
    assert [row.pk for row in by_kind] == [rupture.pk]
    assert "goal_stuck" not in html


def test_resolving_asks_why_first_then_closes_the_whole_session_alert_and_audits_it(client, north):
    rupture = reason(north, "rupture", "6")
    risk = reason(north, "risk", "6", priority="high")
    other = reason(north, "low_alliance", "7")
    walker = staff(client, north.clinician)
    asked = walker.post(reverse(CHANGELIST), {"action": "resolve_selected", "_selected_action": [str(rupture.pk)]})
    assert asked.status_code == 200
    assert "reason" in asked.context["form"].fields
    assert [group.kinds for group in asked.context["groups"]] == [("risk", "rupture")]
    assert not Alert.objects.filter(resolved_at__isnull=False).exists()
    refused = walker.post(
        reverse(CHANGELIST),
        {"action": "resolve_selected", "_selected_action": [str(rupture.pk)], "apply": "1", "reason": ""},
    )
    assert refused.status_code == 200 and refused.context["form"].errors == {"reason": ["This field is required."]}
    done = walker.post(
        reverse(CHANGELIST),
        {"action": "resolve_selected", "_selected_action": [str(rupture.pk)], "apply": "1",
         "reason": "discussed in session 7"},
    )
    assert done.status_code == 302
    for row in (rupture, risk, other):
        row.refresh_from_db()
    assert (risk.resolved_at is not None, risk.resolved_by, risk.reason) == (
        True, "admin:north-clinician", "discussed in session 7"
    )
    assert rupture.resolved_at is not None and other.resolved_at is None
    event = AuditEvent.objects.get(action="resolve")
    assert (set(event.object_ids), event.detail, event.clinic_id) == (
        {str(rupture.pk), str(risk.pk)}, "discussed in session 7", north.clinic.pk
    )


def test_snoozing_asks_until_when_and_why_and_refuses_a_past_time(client, north):
    alert = reason(north, "low_alliance", "7")
    walker = staff(client, north.supervisor)
    past = (timezone.localtime() - timedelta(days=1)).strftime("%Y-%m-%d %H:%M:%S")
    refused = walker.post(
        reverse(CHANGELIST),
        {"action": "snooze_selected", "_selected_action": [str(alert.pk)], "apply": "1", "until": past,
         "reason": "on leave"},
    )
    assert refused.status_code == 200 and "until" in refused.context["form"].errors
    until = timezone.localtime() + timedelta(days=7)
    done = walker.post(
        reverse(CHANGELIST),
        {"action": "snooze_selected", "_selected_action": [str(alert.pk)], "apply": "1",
         "until": until.strftime("%Y-%m-%d %H:%M:%S"), "reason": "on leave"},
    )
    assert done.status_code == 302
    alert.refresh_from_db()
    assert alert.snoozed_until is not None and alert.reason == "on leave"
    assert AuditEvent.objects.get(action="snooze").object_ids == [str(alert.pk)]


@pytest.mark.parametrize("action", ["snooze_selected", "resolve_selected"])
def test_another_clinics_alert_cannot_be_snoozed_or_resolved(client, north, south, action):
    theirs = reason(south, "risk", "3", priority="high")
    walker = staff(client, north.supervisor)
    for step in ({}, {"apply": "1", "reason": "x", "until": "2099-01-01 00:00:00"}):
        answer = walker.post(
            reverse(CHANGELIST), {"action": action, "_selected_action": [str(theirs.pk)], **step}
        )
        assert answer.status_code == 404
    theirs.refresh_from_db()
    assert (theirs.resolved_at, theirs.snoozed_until, theirs.reason) == (None, None, "")


def test_a_clinician_cannot_resolve_an_alert_outside_their_caseload(client, north):
    from tests.factories import TherapyClientFactory

    stranger = TherapyClientFactory(clinic=north.clinic, external_id="not-mine")
    theirs = Alert.objects.create(
        clinic=north.clinic, client=stranger, questionnaire_id="srs", kind="risk", priority="high", message="risk",
    )
    answer = staff(client, north.clinician).post(
        reverse(CHANGELIST),
        {"action": "resolve_selected", "_selected_action": [str(theirs.pk)], "apply": "1", "reason": "x"},
    )
    assert answer.status_code == 404
    theirs.refresh_from_db()
    assert theirs.resolved_at is None
    assert get_user_model().objects.filter(username="north-clinician").exists()
