"""The batch read and write paths (hand-written SQL on PostgreSQL, the ORM elsewhere) store what the ORM would."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from questionnaires.models import Response, Score, ScoringFailure
from questionnaires.registry import get_registry
from questionnaires.scoring import score_answers
from questionnaires.selectors.alert_history import client_histories
from questionnaires.services.scoring import (
    ScoredResponse,
    responses_for_scoring,
    responses_score,
    score_row,
    scores_write,
)
from questionnaires.sql_arrays import uuid_array
from tests.workers.helpers import BASE, phq9, srs

pytestmark = pytest.mark.django_db


def _pending(persona, questionnaire: str, answers: dict, **fields) -> Response:
    definition = get_registry().get(questionnaire)
    return Response.objects.create(
        clinic=persona.clinic, client=persona.client, questionnaire_version=get_registry().version_row(definition),
        authored_at=fields.pop("authored_at", BASE), answers=answers, **fields,
    )


def test_the_batch_read_gives_full_instances_in_authored_order_with_their_version(north):
    later = _pending(north, "srs", srs(9.0, 9.0, 9.0, 9.0), authored_at=BASE + timedelta(hours=1))
    earlier = _pending(north, "phq-9", phq9(1, 1, 1, 1, 1, 1, 1, 1, 1, 0), session_number=3, comment="note")
    _pending(north, "srs", srs(1.0, 1.0, 1.0, 1.0))  # not asked for

    rows = responses_for_scoring(response_ids=[str(later.id), earlier.id], statuses=["pending"], lock=True)

    assert [row.id for row in rows] == [earlier.id, later.id]
    first = rows[0]
    assert (first.session_number, first.comment, first.answers, first.client_id) == (
        3, "note", earlier.answers, north.client.id
    )
    from_orm = Response.objects.get(pk=earlier.pk)
    assert (first.authored_at, first.received_at) == (from_orm.authored_at, from_orm.received_at)
    assert first.authored_at.tzinfo is from_orm.authored_at.tzinfo and first.authored_at == BASE
    assert first.questionnaire_version.questionnaire_id == "phq-9"
    assert responses_for_scoring(response_ids=[later.id], statuses=["scored"], lock=False) == []


def test_written_scores_hold_what_the_orm_would_write_and_a_second_write_adds_nothing(north):
    row = _pending(north, "phq-9", phq9(3, 3, 3, 2, 2, 2, 1, 1, 1, 0))
    definition = get_registry().get("phq-9")
    score = score_answers(definition, row.answers)
    expected = score_row(row, definition, score)

    scores_write([ScoredResponse(response=row, definition=definition, score=score)])
    scores_write([ScoredResponse(response=row, definition=definition, score=score)])

    stored = Score.objects.get(response=row)
    for name in ("plugin_version", "total", "subscales", "extras", "band", "flags"):
        assert getattr(stored, name) == getattr(expected, name), name
    assert stored.computed_at is not None


def test_a_retried_failure_loses_its_failure_record_when_it_scores(north):
    row = _pending(north, "srs", srs(9.0, 9.0, 9.0, 9.0), status=Response.Status.FAILED, failure_reason="earlier")
    ScoringFailure.objects.create(response=row, plugin_version="0.9.0", plugin_fingerprint="old")

    outcome = responses_score(response_ids=[row.id], include_failed=True)

    assert outcome.scored == [row.id]
    row.refresh_from_db()
    assert (row.status, row.failure_reason) == ("scored", "")
    assert not ScoringFailure.objects.filter(response=row).exists()


def test_history_points_come_oldest_first_with_the_utc_day_of_authoring(north):
    late_evening = datetime(2026, 3, 1, 23, 30, tzinfo=UTC)
    ids = [
        _pending(north, "srs", srs(9.0, 9.0, 9.0, 9.0), authored_at=late_evening + timedelta(days=days)).id
        for days in (2, 0, 1)
    ]
    responses_score(response_ids=ids)

    histories = client_histories(client_ids=[north.client.id], questionnaire_ids=["srs"])
    series = histories[(north.client.id, "srs", "client")]

    assert [point.response_id for point in series] == [ids[1], ids[2], ids[0]]
    assert [str(point.authored_on) for point in series] == ["2026-03-01", "2026-03-02", "2026-03-03"]
    assert all(point.total == Decimal(36) for point in series)


def test_an_id_array_accepts_only_uuids():
    value = uuid.uuid4()
    assert uuid_array([value, str(value)]) == "{" + f"{value},{value}" + "}"
    with pytest.raises(ValueError):
        uuid_array(["00000000-0000-0000-0000-000000000000}, {x"])
