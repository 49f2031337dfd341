"""Every write path of a response writes every column: a new model field cannot be forgotten by one of them.

The single submission's PostgreSQL statement takes its columns from the model (`_insert_columns`);
the batch COPY names its columns; the ORM paths write whatever the model has. A column the COPY
leaves out must get its value from the database itself (a `db_default`, or NULL where that is the
model's default), or a batch row would differ from the same row stored one at a time.
"""

from __future__ import annotations

from questionnaires.models import Response
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
