"""Every write path of a response or a session writes every column: a new model field cannot be forgotten by one.

The single submission's PostgreSQL statement takes its columns from the model (`_insert_columns`);
the batch COPY names its columns; the ORM paths write whatever the model has. A column the COPY
leaves out must get its value from the database itself (a `db_default`, or NULL where that is the
model's default), or a batch row would differ from the same row stored one at a time. The session batch has the same
two paths (COPY on PostgreSQL, bulk_create elsewhere) for its sessions and their clinicians in the
room; a session it stores is compared with the same session booked one at a time, on whichever
database the suite runs.
"""

from __future__ import annotations

import pytest

from questionnaires.models import CareSession, Response
from questionnaires.services import session_batch
from questionnaires.services.responses import batch, single


def test_the_batch_copy_writes_every_column_or_the_database_fills_it_as_the_model_would():
    copied = set(batch._COPY_COLUMNS)
    left_to_the_database = []
    for field in Response._meta.concrete_fields:
        if field.column in copied:
            continue
        filled_by_database = field.has_db_default() or (field.null and field.get_default() is None)
        assert filled_by_database, (
            f"Response.{field.name} is not written by the batch COPY (services/responses/batch.py _COPY_COLUMNS) "
            "and has no db_default: add it to the COPY, or give it a db_default"
        )
        left_to_the_database.append(field.name)
    assert set(left_to_the_database) <= {"version", "corrected_at"}, left_to_the_database


def test_the_copy_names_only_real_columns():
    columns = {field.column for field in Response._meta.concrete_fields}
    assert set(batch._COPY_COLUMNS) <= columns


def test_the_single_insert_takes_every_column_from_the_model():
    row = Response(answers={}, rater="client", authored_at="2026-03-02T09:00:00Z")
    names, values = single._insert_columns(row)
    expected = {field.column for field in Response._meta.concrete_fields}
    assert set(names) == expected and len(values) == len(names)


def test_the_session_batch_copy_writes_every_column_of_a_session_and_of_its_room():
    # The sessions' ids are drawn from their sequence before the COPY (the room's rows are not read back).
    for model, copied, left_to_the_database in (
        (CareSession, session_batch._SESSION_COPY_COLUMNS, set()),
        (CareSession.clinicians.through, session_batch._ROOM_COPY_COLUMNS, {"id"}),
    ):
        columns = {field.column for field in model._meta.concrete_fields}
        assert set(copied) <= columns
        missing = columns - set(copied) - left_to_the_database
        assert not missing, (
            f"{model.__name__} columns {sorted(missing)} are not written by the session batch COPY "
            "(services/session_batch.py): add them to its columns"
        )


@pytest.mark.django_db
def test_a_session_from_the_batch_is_stored_as_the_same_session_booked_one_at_a_time(north):
    api = north.api()
    episode = api.post("/api/v1/clients/north-client-1/episodes/", {}, format="json").json()
    fields = {"scheduled_start": "2026-02-02T09:00:00Z", "attendance": "attended", "duration_minutes": 45,
              "clinicians": ["north-clinician"]}
    single_id = api.post(f"/api/v1/episodes/{episode['id']}/sessions/", {**fields, "external_id": "one"},
                         format="json").json()["id"]
    later = {**fields, "scheduled_start": "2026-02-09T09:00:00Z"}
    batch_row = api.post("/api/v1/sessions/batch/", {"sessions": [
        {**later, "external_id": "many", "episode": episode["id"]},
    ]}, format="json").json()["results"][0]
    assert batch_row["status"] == 201, batch_row
    by_one, by_batch = CareSession.objects.get(pk=single_id), CareSession.objects.get(pk=batch_row["id"])
    differ = {"id", "external_id", "scheduled_start", "number", "created_at", "updated_at"}
    for field in CareSession._meta.concrete_fields:
        if field.name not in differ:
            assert getattr(by_batch, field.attname) == getattr(by_one, field.attname), field.name
    assert (by_one.number, by_batch.number) == (1, 2)
    assert by_batch.created_at is not None and by_batch.updated_at >= by_batch.created_at
    assert [user.username for user in by_batch.clinicians.all()] == ["north-clinician"]
