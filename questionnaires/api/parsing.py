"""Reading request bodies and query parameters into problems that name every field at fault."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date

from questionnaires.input_bounds import DATE_RANGE_TEXT, calendar_date
from questionnaires.services.errors import InvalidInput
from questionnaires.validation import Problem


def json_object_body(data: object, allowed: set[str]) -> Mapping:
    """The body as a JSON object holding only `allowed` keys; otherwise a 400 naming each unknown key."""
    if not isinstance(data, Mapping):
        raise InvalidInput(
            "The body must be a JSON object.", [Problem("body", "must be a JSON object", "invalid_type")]
        )
    unknown = [Problem(str(key), "unknown field", "unknown_field") for key in data if key not in allowed]
    if unknown:
        raise InvalidInput("The body is not valid; see errors.", unknown)
    return data


def unknown_parameters(names: Iterable[str], known: Iterable[str]) -> list[Problem]:
    """One problem per query parameter the endpoint does not read: ignoring it would answer an unfiltered list."""
    known = set(known)
    return [Problem(name, "unknown parameter", "unknown") for name in dict.fromkeys(names) if name not in known]


def date_range(params: Mapping, problems: list[Problem]) -> dict[str, date | None]:
    """`from` and `to` as dates (None when absent); bad ones, and a range that ends first, go to `problems`."""
    dates: dict[str, date | None] = {}
    for name in ("from", "to"):
        raw = params.get(name)
        dates[name] = None
        if raw:
            dates[name] = calendar_date(raw)
            if dates[name] is None:
                problems.append(Problem(name, f"a date, YYYY-MM-DD, {DATE_RANGE_TEXT}", "invalid"))
    if dates["from"] and dates["to"] and dates["from"] > dates["to"]:
        problems.append(Problem("from", "after `to`", "invalid"))
    return dates
