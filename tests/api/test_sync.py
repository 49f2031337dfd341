"""Incremental sync for integrations: received_after, updated_since with cursor pages, retractions included."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from questionnaires.models import Response
from tests.api.conftest import staff_api, wai_sr

pytestmark = pytest.mark.django_db


def submit(api, client: str, value: int = 4) -> str:
    answer = api.post("/api/v1/responses/", wai_sr(client, value=value), format="json")
    assert answer.status_code == 201, answer.content
    return answer.json()["id"]


def test_received_after_lists_only_what_arrived_since(north):
    api = north.api()
    old = submit(api, north.client.external_id)
    Response.objects.filter(pk=old).update(received_at=timezone.now() - timedelta(days=2))
    new = submit(api, north.client.external_id)
    since = (timezone.now() - timedelta(days=1)).isoformat()
    ids = [row["id"] for row in api.get("/api/v1/responses/", {"received_after": since}).json()["results"]]
    assert ids == [new]


def test_updated_since_follows_cursor_pages_in_change_order_and_sees_retractions(north):
    api = north.api()
    start = (timezone.now() - timedelta(minutes=1)).isoformat()
    ids = [submit(api, north.client.external_id, value=1 + index % 5) for index in range(5)]
    retracted = api.post(f"/api/v1/responses/{ids[0]}/retract/", {"reason": "wrong client"}, format="json")
    assert retracted.status_code == 200

    seen, url, params = [], "/api/v1/responses/", {"updated_since": start, "page_size": 2}
    while url:
        page = api.get(url, params).json()
        seen += [(row["id"], row["status"]) for row in page["results"]]
        url, params = page["next"], None
        assert len(seen) <= 10

    assert [response_id for response_id, _ in seen] == [*ids[1:], ids[0]]  # the retraction is the latest change
    assert seen[-1][1] == "retracted"


def test_a_cursor_page_stays_stable_while_new_responses_arrive(north):
    api = north.api()
    start = (timezone.now() - timedelta(minutes=1)).isoformat()
    first_ids = [submit(api, north.client.external_id) for _ in range(3)]
    first = api.get("/api/v1/responses/", {"updated_since": start, "page_size": 2}).json()
    later = submit(api, north.client.external_id)
    rest = api.get(first["next"]).json()
    assert [row["id"] for row in first["results"] + rest["results"]] == [*first_ids, later]


def test_sync_lists_only_what_the_caller_may_see(north, south):
    submit(north.api(), north.client.external_id)
    start = (timezone.now() - timedelta(days=1)).isoformat()
    assert south.api().get("/api/v1/responses/", {"updated_since": start}).json()["results"] == []
    assert len(staff_api(north.clinician).get("/api/v1/responses/", {"updated_since": start}).json()["results"]) == 1


@pytest.mark.parametrize("params", [{"updated_since": "yesterday"}, {"received_after": "2026-13-01"},
                                    {"updated_since": "2026-01-01T00:00:00Z", "page": "2"}])
def test_bad_sync_parameters_are_400_naming_them(north, params):
    answer = north.api().get("/api/v1/responses/", params)
    assert answer.status_code == 400


def test_alerts_sync_in_stored_order_with_cursor_pages_that_new_alerts_do_not_disturb(north):
    from questionnaires.models import Alert

    def raise_alert(kind: str) -> int:
        return Alert.objects.create(
            clinic=north.clinic, client=north.client, questionnaire_id="phq-9", kind=kind, message=kind,
            priority=Alert.Priority.HIGH if kind == "risk" else Alert.Priority.NORMAL,
        ).id

    ids = [raise_alert(kind) for kind in ("low_alliance", "risk", "rupture")]
    api = north.api()
    first = api.get("/api/v1/alerts/", {"sync": "true", "page_size": 2}).json()
    later = raise_alert("risk")
    rest = api.get(first["next"]).json()
    assert [row["id"] for row in first["results"] + rest["results"]] == [*ids, later]
    assert first["count"] == 3
