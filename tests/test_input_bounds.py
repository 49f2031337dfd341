"""The shared readers of numbers and dates: ASCII digits only, bounded, dates a year inside the calendar."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from questionnaires.input_bounds import MAX_DB_INTEGER, calendar_date, moment_in_range, record_id, whole_number


@pytest.mark.parametrize(
    "raw", ["²", "٣", "１", "", " 1", "1 ", "+1", "-1", "1.0", "1e3", "0x10", "9" * 20, "9" * 5000]
)
def test_it_reads_no_whole_number_from_anything_but_plain_ascii_digits_in_bounds(raw):
    assert "²".isdigit()  # why str.isdigit() alone is not a check
    assert whole_number(raw) is None


def test_it_reads_plain_digits_within_the_bounds():
    assert whole_number("0") == 0
    assert whole_number(str(MAX_DB_INTEGER)) == MAX_DB_INTEGER
    assert whole_number(str(MAX_DB_INTEGER + 1)) is None
    assert whole_number("11", maximum=10) is None
    assert record_id("0") is None and record_id("7") == 7


@pytest.mark.parametrize("raw", ["0001-01-01", "9999-12-31", "0001-12-31", "9999-01-01", "2024-02-30", "20240101",
                                 "2024-W01-1", "٢٠٢٤-٠١-٠١", "2024-1-1", ""])
def test_it_reads_no_date_at_the_calendars_ends_or_in_another_form(raw):
    assert calendar_date(raw) is None


def test_it_reads_a_date_a_year_inside_the_calendar():
    assert calendar_date("0002-01-01") == date(2, 1, 1)
    assert calendar_date("9998-12-31") == date(9998, 12, 31)
    assert calendar_date("9998-12-31") + timedelta(days=7) == date(9999, 1, 7)  # a period added stays a date


def test_a_moment_is_normalised_to_utc_and_bounded():
    plus_fourteen = timezone(timedelta(hours=14))
    assert moment_in_range(datetime(1, 1, 1, tzinfo=plus_fourteen)) is None  # would overflow in UTC
    assert moment_in_range(datetime(9999, 12, 31, 23, 59, tzinfo=UTC)) is None
    assert moment_in_range(datetime(2024, 1, 1, 10, tzinfo=plus_fourteen)) == datetime(2023, 12, 31, 20, tzinfo=UTC)
