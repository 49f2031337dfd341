"""`/alerts/`: risk on top, notes last, the session beside processing time; snooze and resolve with a reason."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from questionnaires.models import Alert
from tests.api.conftest import problem_fields

pytestmark = pytest.mark.django_db


def make_alert(client, kind, priority="normal", category="alert", *, ago_minutes=0, session=""):
    alert = Alert.objects.create(
        clinic=client.clinic, client=client, questionnaire_id="srs", kind=kind, priority=priority,
        category=category, message=f"{kind} for {client.external_id}", session_key=session,
    )
    Alert.objects.filter(pk=alert.pk).update(raised_at=timezone.now() - timedelta(minutes=ago_minutes))
    alert.refresh_from_db()
    return alert


def test_the_list_puts_risk_on_top_and_notes_last_whatever_their_age(north):
    make_alert(north.client, "risk", "high", ago_minutes=30, session="3")
    make_alert(north.client, "recovered", "low", "note", ago_minutes=0, session="4")
    make_alert(north.client, "low_alliance", ago_minutes=10, session="4")
    rows = north.api().get("/api/v1/alerts/").json()["results"]
    assert [(row["kind"], row["category"]) for row in rows] == [
        ("risk", "alert"), ("low_alliance", "alert"), ("recovered", "note"),
    ]
    assert {"session", "session_date", "session_alert", "raised_at", "reasons"} <= set(rows[0])
    only_notes = north.api().get("/api/v1/alerts/?category=note").json()["results"]
    assert [row["kind"] for row in only_notes] == ["recovered"]


def test_resolving_needs_a_reason_and_closes_every_reason_of_that_session(north, south):
    first = make_alert(north.client, "low_alliance")
    second = make_alert(north.client, "low_item")
    theirs = make_alert(south.client, "low_alliance")
    api = north.api()
    refused = api.post(f"/api/v1/alerts/{first.id}/resolve/", {}, format="json")
    assert refused.status_code == 400
    assert problem_fields(refused) == {"reason"}
    done = api.post(f"/api/v1/alerts/{first.id}/resolve/", {"reason": "discussed in session"}, format="json")
    assert done.status_code == 200
    assert done.json()["reason"] == "discussed in session"
    second.refresh_from_db()
    assert second.resolved_at is not None and second.reason == "discussed in session"
    assert api.get("/api/v1/alerts/?resolved=false").json()["count"] == 0
    # and the other clinic sees nothing, nor can it touch ours
    theirs.refresh_from_db()
    assert theirs.resolved_at is None
    assert south.api().post(f"/api/v1/alerts/{first.id}/resolve/", {"reason": "x"}, format="json").status_code == 404


def test_snoozing_needs_a_future_time_and_a_reason(north):
    alert = make_alert(north.client, "low_alliance")
    api = north.api()
    past = (timezone.now() - timedelta(days=1)).isoformat()
    refused = api.post(f"/api/v1/alerts/{alert.id}/snooze/", {"until": past}, format="json")
    assert refused.status_code == 400
    assert problem_fields(refused) == {"until", "reason"}
    until = (timezone.now() + timedelta(days=7)).isoformat()
    done = api.post(f"/api/v1/alerts/{alert.id}/snooze/", {"until": until, "reason": "on leave"}, format="json")
    assert done.status_code == 200
    assert done.json()["snoozed_until"] is not None
    assert done.json()["reason"] == "on leave"


def test_one_alert_per_client_and_session_lists_its_reasons_and_any_reason_addresses_it(north, south):
    rupture = make_alert(north.client, "rupture", session="6")
    risk = make_alert(north.client, "risk", "high", session="6")
    make_alert(north.client, "low_alliance", session="7")
    make_alert(north.client, "repair", "low", "note", session="6")  # good news of session 6 stays apart
    make_alert(south.client, "risk", "high", session="6")
    api = north.api()
    body = api.get("/api/v1/alerts/").json()
    assert body["count"] == 3
    six, seven, note = body["results"]
    assert (six["id"], six["priority"], six["kinds"], six["session_alert"]) == (
        rupture.id, "high", ["risk", "rupture"], "north-client-1/6"
    )
    assert [reason["id"] for reason in six["reasons"]] == [risk.id, rupture.id]
    assert (seven["kinds"], note["kinds"], note["category"]) == (["low_alliance"], ["repair"], "note")
    # Either reason's id reads, acknowledges and resolves the same session alert, and only it.
    assert api.get(f"/api/v1/alerts/{risk.id}/").json()["id"] == rupture.id
    acknowledged = api.post(f"/api/v1/alerts/{risk.id}/acknowledge/").json()
    assert acknowledged["acknowledged_at"] is not None
    assert all(reason["acknowledged_at"] for reason in acknowledged["reasons"])
    assert api.get("/api/v1/alerts/", {"acknowledged": "false"}).json()["count"] == 2
    # Sync lists stored reasons one by one, each naming its session alert.
    synced = api.get("/api/v1/alerts/", {"sync": "true"}).json()["results"]
    assert [row["session_alert"] for row in synced[:2]] == ["north-client-1/6", "north-client-1/6"]
