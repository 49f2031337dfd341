"""Reading request bodies and query parameters into problems that name every field at fault."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date

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


def date_range(params: Mapping, problems: list[Problem]) -> dict[str, date | None]:
    """`from` and `to` as dates (None when absent); bad ones, and a range that ends first, go to `problems`."""
    dates: dict[str, date | None] = {}
    for name in ("from", "to"):
        raw = params.get(name)
        dates[name] = None
        if raw:
            try:
                dates[name] = date.fromisoformat(raw)
            except ValueError:
                problems.append(Problem(name, "a date, YYYY-MM-DD", "invalid"))
    if dates["from"] and dates["to"] and dates["from"] > dates["to"]:
        problems.append(Problem("from", "after `to`", "invalid"))
    return dates
