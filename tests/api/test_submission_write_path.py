"""The single-submission write path: row and audit event stored together, the client resolved by the insert,
scoring handed to a background publisher after commit."""

from __future__ import annotations

import threading
import uuid

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from questionnaires.models import AuditEvent, Response, TherapyClient
from questionnaires.services import score_publisher
from tests import services
from tests.api.conftest import client_token_api, staff_api, wai_sr

pytestmark = pytest.mark.django_db


def test_on_postgresql_the_row_and_its_audit_event_are_one_statement(north):
    services.require_postgresql()
    api = north.api()
    api.get("/api/v1/questionnaires/")  # the once-a-minute last-used update
    with CaptureQueriesContext(connection) as captured:
        created = api.post("/api/v1/responses/", wai_sr("north-client-1"), format="json")
    assert created.status_code == 201, created.content
    statements = [query["sql"] for query in captured.captured_queries]
    writes = [sql for sql in statements if "INSERT" in sql]
    assert len(writes) == 1
    assert "questionnaires_response" in writes[0] and "questionnaires_auditevent" in writes[0]
    # the client is looked up by the insert itself, not by a query of its own
    assert not [sql for sql in statements if sql.startswith("SELECT") and "questionnaires_therapyclient" in sql]
    event = AuditEvent.objects.get(action="create")
    assert (event.object_ids, event.outcome, event.clinic_id) == ([created.json()["id"]], "ok", north.clinic.id)
    stored = Response.objects.get(pk=created.json()["id"])
    assert (stored.client_id, stored.clinic_id, stored.status) == (north.client.pk, north.clinic.id, "pending")
    assert created.json()["client"] == "north-client-1"


def prepared_statements() -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements")
        return [row[0] for row in cursor.fetchall()]


@pytest.mark.django_db(transaction=True)
def test_on_postgresql_the_insert_is_a_prepared_statement_unless_switched_off(north):
    services.require_postgresql()
    api = north.api()
    connection.close()
    connection.settings_dict["PREPARED_STATEMENTS"] = False
    try:
        assert api.post("/api/v1/responses/", wai_sr("north-client-1"), format="json").status_code == 201
        assert not prepared_statements()
    finally:
        connection.settings_dict["PREPARED_STATEMENTS"] = True
        connection.close()
    assert api.post("/api/v1/responses/", wai_sr("north-client-1"), format="json").status_code == 201
    assert [sql for sql in prepared_statements() if "INSERT INTO" in sql]
    assert Response.objects.count() == 2


def test_an_unknown_client_stores_nothing_and_audits_no_creation(north):
    answer = north.api().post("/api/v1/responses/", wai_sr("nobody-here"), format="json")
    assert answer.status_code == 400
    assert answer.json()["errors"] == [{"field": "client", "message": "unknown client", "code": "unknown"}]
    assert not Response.objects.exists()
    assert not AuditEvent.objects.filter(action="create").exists()


def test_a_clinician_may_submit_for_their_caseload_only(north):
    TherapyClient.objects.create(clinic=north.clinic, external_id="not-on-caseload")
    api = staff_api(north.clinician)
    assert api.post("/api/v1/responses/", wai_sr("north-client-1"), format="json").status_code == 201
    outside = api.post("/api/v1/responses/", wai_sr("not-on-caseload"), format="json")
    assert outside.status_code == 400
    assert [error["field"] for error in outside.json()["errors"]] == ["client"]
    assert Response.objects.count() == 1


def test_a_client_token_may_name_its_own_client_and_no_other(north):
    TherapyClient.objects.create(clinic=north.clinic, external_id="north-client-2")
    api = client_token_api(north.client)
    assert api.post("/api/v1/responses/", wai_sr("north-client-1"), format="json").status_code == 201
    assert api.post("/api/v1/responses/", wai_sr("north-client-2"), format="json").status_code == 400
    assert list(Response.objects.values_list("client__external_id", flat=True)) == ["north-client-1"]


def test_an_unknown_client_is_listed_with_every_other_problem(north):
    body = wai_sr("nobody-here")
    body["answers"]["1"] = 99
    answer = north.api().post("/api/v1/responses/", body, format="json")
    assert answer.status_code == 400
    assert {error["field"] for error in answer.json()["errors"]} == {"client", "answers.1"}


# --- the publisher ----------------------------------------------------------------------------------------


class Published:
    """Stands in for `publish`: records the tasks that carry any of `watched` ids (the thread outlives tests)."""

    def __init__(self, watched: set[str], fail_first: bool = False) -> None:
        self.watched = watched
        self.calls: list[list[str]] = []
        self.fail_first = fail_first
        self.done = threading.Event()
        self.failed = threading.Event()

    def __call__(self, task, *, args=None, kwargs=None, what="", **options) -> bool:
        ids = list(args[0])
        if not self.watched.intersection(ids):
            return True
        if self.fail_first:
            self.fail_first = False
            self.failed.set()
            raise RuntimeError("broker exploded")
        self.calls.append(ids)
        if self.watched <= {response_id for call in self.calls for response_id in call}:
            self.done.set()
        return True


@pytest.fixture
def broker_mode(monkeypatch):
    """A deployment with a broker (the suite runs eager by default)."""
    from alliance_api.celery import app

    monkeypatch.setattr(score_publisher, "GATHER_SECONDS", 0.2)
    previous = app.conf.task_always_eager
    app.conf.task_always_eager = False
    yield
    app.conf.task_always_eager = previous


def new_ids(count: int) -> list[str]:
    return [str(uuid.uuid4()) for _ in range(count)]


def test_submissions_are_published_after_commit_several_ids_per_task(
    broker_mode, monkeypatch, django_capture_on_commit_callbacks
):
    ids = new_ids(3)
    published = Published(set(ids))
    monkeypatch.setattr(score_publisher, "publish", published)
    with django_capture_on_commit_callbacks(execute=True):
        for response_id in ids:
            score_publisher.scoring_enqueue_soon(response_ids=[response_id])
        assert not published.done.wait(0.3)  # nothing before the commit
    assert published.done.wait(5)
    assert published.calls == [ids]


def test_nothing_is_published_for_a_rolled_back_submission(broker_mode, monkeypatch):
    ids = new_ids(1)
    published = Published(set(ids))
    monkeypatch.setattr(score_publisher, "publish", published)
    with pytest.raises(RuntimeError), transaction.atomic():
        score_publisher.scoring_enqueue_soon(response_ids=ids)
        raise RuntimeError("the request failed after storing")
    assert not published.done.wait(0.5)


def test_the_publisher_survives_a_failed_publish(broker_mode, monkeypatch, django_capture_on_commit_callbacks):
    lost, later = new_ids(2)
    published = Published({lost, later}, fail_first=True)
    monkeypatch.setattr(score_publisher, "publish", published)
    with django_capture_on_commit_callbacks(execute=True):
        score_publisher.scoring_enqueue_soon(response_ids=[lost])
    assert published.failed.wait(5)
    published.watched = {later}
    with django_capture_on_commit_callbacks(execute=True):
        score_publisher.scoring_enqueue_soon(response_ids=[later])
    assert published.done.wait(5)
    assert published.calls == [[later]]  # the first batch is left pending, for the sweep


def test_in_eager_mode_scoring_still_runs_in_the_commit_hook(monkeypatch):
    calls = []
    monkeypatch.setattr(score_publisher, "scoring_enqueue", lambda *, response_ids: calls.append(response_ids))
    score_publisher.scoring_enqueue_soon(response_ids=["a"])
    assert calls == [["a"]]
