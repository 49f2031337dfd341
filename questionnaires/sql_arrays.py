"""Passing a batch's ids to PostgreSQL as one array parameter instead of one parameter per id.

With client-side binding every `IN (%s, %s, ...)` element is adapted and quoted in Python;
for the hundreds of ids a scoring batch carries, that cost more than the query itself.
Other databases (SQLite in tests) get plain lists for the ORM's usual `__in`.
"""

from __future__ import annotations

from collections.abc import Iterable
from uuid import UUID

from django.db import connection, models
from django.db.models.expressions import RawSQL


def uuid_array(values: Iterable[UUID | str]) -> str:
    """A uuid[] literal; strings are parsed as UUIDs first, so nothing else can reach the SQL text."""
    return "{" + ",".join(str(value if isinstance(value, UUID) else UUID(str(value))) for value in values) + "}"


def int_array(values: Iterable[int]) -> str:
    """A bigint[] literal; each value is checked to be an int."""
    return "{" + ",".join(str(int(value)) for value in values) + "}"


def uuids_in(values: Iterable[UUID | str]) -> RawSQL | list:
    """The right-hand side of `field__in` for these UUIDs."""
    if connection.vendor != "postgresql":
        return list(values)
    return RawSQL("SELECT unnest(%s::uuid[])", [uuid_array(values)])


def ints_in(values: Iterable[int]) -> RawSQL | list:
    """The right-hand side of `field__in` for these integer ids."""
    if connection.vendor != "postgresql":
        return list(values)
    return RawSQL("SELECT unnest(%s::bigint[])", [int_array(values)])


def quoted_table(model: type[models.Model]) -> str:
    """A model's table name quoted for the hand-written statements that take these arrays."""
    return connection.ops.quote_name(model._meta.db_table)
