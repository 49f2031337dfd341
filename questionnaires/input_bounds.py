"""Bounded readers for the numbers and dates callers put in URLs and query strings (REST, FHIR and admin alike).

Each answers None for anything it cannot read within bounds, so the edge answers a 400 naming the
parameter (or a 404 for a path id), never a 500. The traps they close: `str.isdigit()` is true for
'²' and '٣', which `int()` then refuses or reads; `int()` reads any number of digits, past what
the database's 64-bit integers hold; and a date at the calendar's ends (0001-01-01, 9999-12-31)
overflows on the first day, month or time-zone offset added to it.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

MAX_DB_INTEGER = 2**63 - 1
"""The largest value a bigint column (PostgreSQL, SQLite) holds; ids, offsets and page numbers stay at or under it."""

EARLIEST_DATE = date(2, 1, 1)
LATEST_DATE = date(9998, 12, 31)
"""A year's margin at both ends of the calendar, so a period or an offset added to a bound stays a valid date."""
EARLIEST_MOMENT = datetime(EARLIEST_DATE.year, 1, 1, tzinfo=UTC)
LATEST_MOMENT = datetime(LATEST_DATE.year + 1, 1, 1, tzinfo=UTC)

DATE_RANGE_TEXT = f"between {EARLIEST_DATE.isoformat()} and {LATEST_DATE.isoformat()}"

_ISO_DATE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")
_MAX_DIGITS = len(str(MAX_DB_INTEGER))


def whole_number(raw: str | None, *, minimum: int = 0, maximum: int = MAX_DB_INTEGER) -> int | None:
    """ASCII digits only (no sign, no spaces), between `minimum` and `maximum`; otherwise None."""
    if not raw or len(raw) > _MAX_DIGITS or not (raw.isascii() and raw.isdigit()):
        return None
    value = int(raw)
    return value if minimum <= value <= maximum else None


def record_id(raw: str | None) -> int | None:
    """A positive database id from a path or a parameter, or None (the caller answers 404 or 400)."""
    return whole_number(raw, minimum=1)


def calendar_date(raw: str | None) -> date | None:
    """YYYY-MM-DD within EARLIEST_DATE..LATEST_DATE, or None."""
    if not raw or not _ISO_DATE.match(raw):
        return None
    try:
        value = date.fromisoformat(raw)
    except ValueError:
        return None
    return value if EARLIEST_DATE <= value <= LATEST_DATE else None


def moment_in_range(moment: datetime) -> datetime | None:
    """An aware moment as UTC within EARLIEST_MOMENT..LATEST_MOMENT, or None (also when UTC would overflow)."""
    try:
        utc = moment.astimezone(UTC)
    except (OverflowError, ValueError):
        return None
    return utc if EARLIEST_MOMENT <= utc <= LATEST_MOMENT else None
