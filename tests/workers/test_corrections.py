"""REST corrections: amend and retract with a reason, who may do which, history, alerts, webhooks and exact rollups."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from questionnaires.models import (
    Alert,
    AuditEvent,
    Response,
    ResponseRevision,
    WebhookDelivery,
    WebhookSubscription,
)
from questionnaires.principals import Principal
from questionnaires.selectors.metrics import metrics_recomputed, rollup_cells
from questionnaires.services.corrections import response_amend, response_retract
from questionnaires.services.responses import response_submit
from tests.api.conftest import client_token_api, problem_fields, staff_api
from tests.factories import ClinicFactory, TherapyClientFactory
from tests.workers.helpers import BASE, phq9, srs_total

pytestmark = pytest.mark.django_db

LOW_RISK = phq9(1, 1, 1, 1, 1, 1, 1, 1, 0)  # total 8, mild, no risk (Kroenke et al. 2001)
WITH_RISK = phq9(1, 1, 1, 1, 1, 1, 1, 1, 2)  # total 10, moderate, item 9 >= 1: risk


def patch(api, response_id, body):
    return api.patch(f"/api/v1/responses/{response_id}/", body, format="json")


def retract(api, response_id, body):
    return api.post(f"/api/v1/responses/{response_id}/retract/", body, format="json")


def test_an_amendment_that_adds_item_9_raises_the_risk_alert_and_keeps_the_first_version(
    north, scored, django_capture_on_commit_callbacks
):
    first = scored(north, "phq-9", LOW_RISK)
    first = north.api().get(f"/api/v1/responses/{first['id']}/").json()
    assert first["score"]["total"] == 8 and first["score"]["band"] == "mild"

    api = north.api()
    with django_capture_on_commit_callbacks(execute=True):  # the new version is scored after commit
        answer = patch(api, first["id"], {"answers": WITH_RISK, "reason": "item 9 read from the wrong column"})
    assert answer.status_code == 200, answer.content
    amended = api.get(f"/api/v1/responses/{first['id']}/").json()
    assert amended["response_version"] == 2
    assert amended["score"]["total"] == 10 and amended["score"]["band"] == "moderate"
    assert amended["score"]["flags"] == ["risk"]
    assert Alert.objects.filter(response_id=first["id"], kind="risk", withdrawn_at__isnull=True).count() == 1

    history = api.get(f"/api/v1/responses/{first['id']}/history/").json()
    assert [entry["version"] for entry in history] == [1, 2]
    assert history[0]["score"]["total"] == 8 and history[0]["answers"]["9"] == 0
    assert history[0]["replaced"]["reason"] == "item 9 read from the wrong column"
    assert history[0]["replaced"]["by"].startswith("api_key:")
    assert history[1]["replaced"] is None
    [event] = AuditEvent.objects.filter(action="amend")
    assert event.object_ids == [first["id"]] and "item 9 read from the wrong column" in event.detail


def test_an_amendment_withdraws_the_alerts_of_the_version_it_replaces(
    north, scored, django_capture_on_commit_callbacks
):
    first = scored(north, "phq-9", WITH_RISK)
    assert Alert.objects.filter(response_id=first["id"], kind="risk").count() == 1
    with django_capture_on_commit_callbacks(execute=True):
        patch(north.api(), first["id"], {"answers": LOW_RISK, "reason": "item 9 was a slip"})
    risk = Alert.objects.get(response_id=first["id"], kind="risk")
    assert risk.withdrawn_at is not None
    assert north.api().get("/api/v1/alerts/").json()["results"] == []
    assert ResponseRevision.objects.get(response_id=first["id"]).alerts == ["risk"]


def test_a_retraction_takes_the_response_out_of_lists_metrics_and_trajectories_but_not_its_detail(north, scored):
    kept = scored(north, "srs", srs_total(38), session=1)
    wrong = scored(north, "srs", srs_total(20), session=2)
    api = north.api()

    answer = retract(api, wrong["id"], {"reason": "entered for the wrong client"})

    assert answer.status_code == 200 and answer.json()["status"] == "retracted"
    listed = [row["id"] for row in api.get("/api/v1/responses/").json()["results"]]
    assert listed == [kept["id"]]
    points = api.get(f"/api/v1/clients/{north.client.external_id}/scores/").json()["points"]
    assert [point["response"] for point in points] == [kept["id"]]
    cells = api.get("/api/v1/metrics/", {"questionnaire": "srs", "group_by": "clinic", "period": "month",
                                         "rater": "client"}).json()["results"]
    assert [cell["n"] for cell in cells if not cell["suppressed"]] in ([], [1])
    assert rollup_cells(clinic_ids=[north.clinic.id]) == metrics_recomputed(clinic_ids=[north.clinic.id])
    assert api.get(f"/api/v1/responses/{wrong['id']}/").json()["status"] == "retracted"
    again = retract(api, wrong["id"], {"reason": "twice"})
    assert again.status_code == 200 and again["Idempotent-Replayed"] == "true"


def test_a_retracted_response_cannot_be_amended(north, scored):
    wrong = scored(north, "srs", srs_total(20))
    retract(north.api(), wrong["id"], {"reason": "test entry"})
    answer = patch(north.api(), wrong["id"], {"answers": srs_total(30), "reason": "fix"})
    assert answer.status_code == 409


@pytest.mark.parametrize(
    "body, fields",
    [
        ({"answers": srs_total(30)}, {"reason"}),
        ({"answers": srs_total(30), "reason": "  "}, {"reason"}),
        ({"reason": "fix"}, {"answers"}),
        ({"answers": srs_total(30), "reason": "fix", "client": "someone-else"}, {"client"}),
        ({"answers": {"1": 11, "2": 9, "3": 9, "4": 9}, "reason": "fix"}, {"answers.1"}),
    ],
)
def test_a_bad_amendment_is_a_400_naming_every_field_and_changes_nothing(north, scored, body, fields):
    first = scored(north, "srs", srs_total(36))
    answer = patch(north.api(), first["id"], body)
    assert answer.status_code == 400
    assert problem_fields(answer) == fields
    assert Response.objects.get(pk=first["id"]).version == 1


def test_resending_the_same_amendment_changes_nothing(north, scored):
    first = scored(north, "srs", srs_total(36))
    patch(north.api(), first["id"], {"answers": srs_total(30), "reason": "fix"})
    again = patch(north.api(), first["id"], {"answers": srs_total(30), "reason": "fix"})
    assert again.status_code == 200 and again["Idempotent-Replayed"] == "true"
    assert Response.objects.get(pk=first["id"]).version == 2


def test_who_may_correct_what(north, south, scored):
    by_ehr = scored(north, "srs", srs_total(36))
    by_app = client_token_api(north.client).post(
        "/api/v1/responses/",
        {"questionnaire": "srs", "authored": (timezone.now() - timedelta(minutes=5)).isoformat(),
         "answers": srs_total(30)},
        format="json",
    ).json()
    fix = {"answers": srs_total(31), "reason": "slider slipped"}

    # a client token: its own, not the integration's
    assert patch(client_token_api(north.client), by_app["id"], fix).status_code == 200
    assert patch(client_token_api(north.client), by_ehr["id"], fix).status_code == 403
    # the integration: what an integration sent, not the client's own answers
    assert patch(north.api(), by_app["id"], {**fix, "answers": srs_total(32)}).status_code == 403
    # the client's clinician: anything of a client on their caseload
    assert patch(staff_api(north.clinician), by_ehr["id"], fix).status_code == 200
    # another clinic: nothing there
    assert patch(south.api(), by_ehr["id"], fix).status_code == 404
    assert retract(south.api(), by_ehr["id"], {"reason": "x"}).status_code == 404
    assert staff_api(south.supervisor).get(f"/api/v1/responses/{by_ehr['id']}/history/").status_code == 404


def test_a_clinician_off_the_caseload_cannot_correct(north, scored):
    stranger = TherapyClientFactory(clinic=north.clinic, external_id="north-stranger")
    theirs = scored(north, "srs", srs_total(36), client=stranger.external_id)
    assert patch(staff_api(north.clinician), theirs["id"], {"answers": srs_total(30), "reason": "x"}).status_code == 404


def test_a_client_may_correct_only_within_the_window(north, settings):
    settings.RESPONSE_CLIENT_CORRECTION_HOURS = 24
    app = client_token_api(north.client)
    sent = app.post(
        "/api/v1/responses/",
        {"questionnaire": "srs", "authored": (timezone.now() - timedelta(minutes=5)).isoformat(),
         "answers": srs_total(30)},
        format="json",
    ).json()
    Response.objects.filter(pk=sent["id"]).update(received_at=timezone.now() - timedelta(hours=25))
    answer = patch(app, sent["id"], {"answers": srs_total(31), "reason": "late"})
    assert answer.status_code == 403
    assert "24 hours" in answer.json()["detail"]


def test_corrections_are_announced_to_webhook_subscribers(north, scored, django_capture_on_commit_callbacks):
    WebhookSubscription.objects.create(
        clinic=north.clinic, url="https://north.example.org/hook",
        events=["response.amended", "response.retracted", "response.scored"], secret="s" * 32,
    )
    first = scored(north, "srs", srs_total(36))
    with django_capture_on_commit_callbacks(execute=False):  # scored again, but deliveries are not sent here
        patch(north.api(), first["id"], {"answers": srs_total(30), "reason": "fix"})
    from questionnaires.services.scoring import responses_score

    responses_score(response_ids=[first["id"]])
    retract(north.api(), first["id"], {"reason": "wrong client"})
    events = set(WebhookDelivery.objects.values_list("event_id", flat=True))
    assert {f"response.amended:{first['id']}:v2", f"response.retracted:{first['id']}:v3",
            f"response.scored:{first['id']}", f"response.scored:{first['id']}:v2"} <= events
    payload = WebhookDelivery.objects.get(event_id=f"response.amended:{first['id']}:v2").payload
    assert payload["data"]["reason"] == "fix" and "answers" not in payload["data"]


correction = st.fixed_dictionaries(
    {
        "target": st.integers(min_value=0, max_value=5),
        "action": st.sampled_from(["amend", "amend", "retract"]),
        "level": st.integers(min_value=0, max_value=40),
    }
)


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(levels=st.lists(st.integers(min_value=0, max_value=40), min_size=2, max_size=6),
       corrections=st.lists(correction, min_size=1, max_size=6))
def test_rollups_after_any_corrections_equal_a_recompute(levels, corrections, django_capture_on_commit_callbacks):
    clinic = ClinicFactory()
    principal = Principal(kind="api_key", clinic_id=clinic.id, credential=None, credential_prefix="test")
    client = TherapyClientFactory(clinic=clinic)
    ids = []
    for day, level in enumerate(levels):
        questionnaire = "phq-9" if day % 2 else "srs"
        answers = srs_total(level) if questionnaire == "srs" else phq9(*([min(3, level // 10)] * 9))
        payload = {"questionnaire": questionnaire, "client": client.external_id,
                   "authored": (BASE + timedelta(days=day * 3)).isoformat(), "answers": answers}
        with django_capture_on_commit_callbacks(execute=True):
            ids.append((questionnaire, response_submit(principal=principal, payload=payload).response.id))
    for step in corrections:
        questionnaire, response_id = ids[step["target"] % len(ids)]
        with django_capture_on_commit_callbacks(execute=True):
            try:
                if step["action"] == "retract":
                    response_retract(principal=principal, response_id=str(response_id), reason="test")
                else:
                    level = step["level"]
                    answers = srs_total(level) if questionnaire == "srs" else phq9(*([min(3, level // 10)] * 9))
                    response_amend(principal=principal, response_id=str(response_id),
                                   payload={"answers": answers, "reason": "test"})
            except Exception as error:  # amending a retracted response is a 409, by design
                assert getattr(error, "status", None) == 409
    assert rollup_cells(clinic_ids=[clinic.id]) == metrics_recomputed(clinic_ids=[clinic.id])
    live = Response.objects.filter(clinic=clinic).exclude(status=Response.Status.RETRACTED).count()
    month_n = sum(v.n for key, v in rollup_cells(clinic_ids=[clinic.id]).items()
                  if key[1] == "clinic" and key[5] == "month")
    assert month_n == live
