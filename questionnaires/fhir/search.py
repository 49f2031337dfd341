"""FHIR search parameters (date prefixes, references, tokens) turned into querysets over what the caller may see."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta, timezone

from django.db.models import Q, QuerySet
from django.db.models.functions import Coalesce

from questionnaires.fhir.bundle import DEFAULT_COUNT, MAX_COUNT
from questionnaires.fhir.capability import SEARCH_PARAMS
from questionnaires.fhir.codes import score_system, total_codings
from questionnaires.fhir.outcome import fhir_error
from questionnaires.fhir.response_export import idempotency_key_for
from questionnaires.input_bounds import DATE_RANGE_TEXT, MAX_DB_INTEGER, moment_in_range, record_id, whole_number
from questionnaires.models import Response, Score

PREFIXES = ("eq", "ne", "gt", "lt", "ge", "le", "sa", "eb", "ap")
_DATE = re.compile(
    r"^(?P<year>[0-9]{4})(?:-(?P<month>[0-9]{2})(?:-(?P<day>[0-9]{2})"
    r"(?:T(?P<hour>[0-9]{2}):(?P<minute>[0-9]{2})(?::(?P<second>[0-9]{2})(?:\.(?P<fraction>[0-9]+))?)?"
    r"(?P<tz>Z|[+-][0-9]{2}:[0-9]{2})?)?)?)?$"
)
PAGING = ("_count", "_offset")
HARMLESS = ("_format", "_pretty", "_total")
"""Accepted on every search; none of them changes which resources match."""
MAX_OFFSET = 2**31 - 1
"""Bounds the OFFSET the database computes; far beyond any searchset here."""


def paging(params: dict[str, list[str]]) -> tuple[int, int]:
    """(_offset, _count): whole numbers in ASCII digits; _count is capped at MAX_COUNT, _offset at MAX_OFFSET."""

    def number(name: str, default: int, maximum: int) -> int:
        raw = params.get(name, [str(default)])[-1]
        value = whole_number(raw, maximum=maximum)
        if value is None:
            raise fhir_error(
                400, "invalid", f"{name} must be a whole number from 0 to {maximum}, got {raw[:40]!r}", name
            )
        return value

    return number("_offset", 0, MAX_OFFSET), max(1, min(number("_count", DEFAULT_COUNT, MAX_DB_INTEGER), MAX_COUNT))


def supported_parameters(resource_type: str) -> set[str]:
    """The search parameters a search of `resource_type` applies (as the CapabilityStatement lists them)."""
    return {name for name, _kind, _doc in SEARCH_PARAMS[resource_type]} | set(PAGING) | set(HARMLESS)


def date_range(value: str, name: str) -> tuple[str, datetime, datetime]:
    """The prefix and the half-open interval [start, end) the value's precision denotes."""
    prefix = value[:2] if value[:2] in PREFIXES else "eq"
    raw = value[2:] if value[:2] in PREFIXES else value
    match = _DATE.match(raw)
    if match is None:
        raise fhir_error(
            400, "invalid", f"{name}: {value!r} is not a FHIR date (e.g. ge2024-01-31 or 2024-01-31T10:00Z)"
        )
    parts = match.groupdict()
    try:
        start, end = _interval(parts)
    except (ValueError, OverflowError) as error:
        raise fhir_error(400, "invalid", f"{name}: {value!r} is not a valid date ({error})", name) from None
    bounded_start, bounded_end = moment_in_range(start), moment_in_range(end)
    if bounded_start is None or bounded_end is None:
        raise fhir_error(400, "invalid", f"{name}: {value!r} is outside the dates searchable here ({DATE_RANGE_TEXT})",
                         name)
    return prefix, bounded_start, bounded_end


def _interval(parts: dict[str, str | None]) -> tuple[datetime, datetime]:
    """The half-open interval [start, end) a date of this precision denotes; raises ValueError or OverflowError."""
    tz = _tz(parts["tz"])
    year = int(parts["year"])
    if parts["month"] is None:
        start = datetime(year, 1, 1, tzinfo=tz)
        return start, start.replace(year=year + 1)
    month = int(parts["month"])
    if parts["day"] is None:
        start = datetime(year, month, 1, tzinfo=tz)
        end = datetime(year + (month == 12), month % 12 + 1, 1, tzinfo=tz)
        return start, end
    day = int(parts["day"])
    if parts["hour"] is None:
        start = datetime(year, month, day, tzinfo=tz)
        return start, start + timedelta(days=1)
    if parts["second"] is None:
        start = datetime(year, month, day, int(parts["hour"]), int(parts["minute"]), tzinfo=tz)
        return start, start + timedelta(minutes=1)
    micro = int((parts["fraction"] or "0")[:6].ljust(6, "0"))
    start = datetime(
        year, month, day, int(parts["hour"]), int(parts["minute"]), int(parts["second"]), micro, tzinfo=tz
    )
    return start, start + (timedelta(microseconds=1) if parts["fraction"] else timedelta(seconds=1))


def _tz(raw: str | None):
    if raw is None or raw == "Z":
        return UTC
    sign = 1 if raw[0] == "+" else -1
    hours, minutes = int(raw[1:3]), int(raw[4:6])
    return timezone(sign * timedelta(hours=hours, minutes=minutes))


def date_filter(field: str, values: Iterable[str], name: str) -> Q:
    """Each occurrence of the parameter narrows further (AND), so ge..&le.. is a range."""
    condition = Q()
    for value in values:
        alternatives = Q()  # a comma is OR within one occurrence
        for single in value.split(","):
            prefix, start, end = date_range(single.strip(), name)
            alternatives |= _date_q(field, prefix, start, end)
        condition &= alternatives
    return condition


def _date_q(field: str, prefix: str, start: datetime, end: datetime) -> Q:
    if prefix in ("eq", "ap"):
        return Q(**{f"{field}__gte": start, f"{field}__lt": end})
    if prefix == "ne":
        return ~Q(**{f"{field}__gte": start, f"{field}__lt": end})
    if prefix in ("gt", "sa"):
        return Q(**{f"{field}__gte": end})
    if prefix in ("lt", "eb"):
        return Q(**{f"{field}__lt": start})
    if prefix == "ge":
        return Q(**{f"{field}__gte": start})
    return Q(**{f"{field}__lt": end})  # le


def reference_id(value: str, resource_type: str) -> str:
    """`Patient/x`, a full URL ending so, or a bare id, as the bare id."""
    value = value.strip()
    match = re.search(rf"(?:^|/){resource_type}/([^/]+)(?:/_history/[^/]+)?$", value)
    if match:
        return match.group(1)
    return value


def _any_of(values: Iterable[str]) -> list[str]:
    return [part.strip() for value in values for part in value.split(",") if part.strip()]


def questionnaire_responses_search(responses: QuerySet[Response], params: dict[str, list[str]]) -> QuerySet[Response]:
    for name in ("subject", "patient"):
        if name in params:
            ids = [reference_id(value, "Patient") for value in _any_of(params[name])]
            responses = responses.filter(client__external_id__in=ids)
    if "questionnaire" in params:
        condition = Q()
        for value in _any_of(params["questionnaire"]):
            url, _, version = value.partition("|")
            questionnaire_id = reference_id(url.rstrip("/"), "Questionnaire")
            one = Q(questionnaire_version__questionnaire_id=questionnaire_id)
            if version:
                one &= Q(questionnaire_version__version=version)
            condition |= one
        responses = responses.filter(condition)
    if "status" in params and "completed" not in _any_of(params["status"]):
        responses = responses.none()  # every stored response is completed
    if "authored" in params:
        responses = responses.filter(date_filter("authored_at", params["authored"], "authored"))
    if "_lastUpdated" in params:
        # meta.lastUpdated: when the current version was stored (received, or last amended or retracted).
        responses = responses.annotate(last_changed=Coalesce("corrected_at", "received_at")).filter(
            date_filter("last_changed", params["_lastUpdated"], "_lastUpdated")
        )
    if "author" in params:
        condition = Q()
        for value in _any_of(params["author"]):
            if re.search(r"(?:^|/)Patient/", value):
                condition |= Q(rater=Response.Rater.CLIENT, client__external_id=reference_id(value, "Patient"))
            else:
                condition |= Q(rater=Response.Rater.CLINICIAN, clinician__username=reference_id(value, "Practitioner"))
        responses = responses.filter(condition)
    if "identifier" in params:
        keys = []
        for value in _any_of(params["identifier"]):
            system, bar, code = value.partition("|")
            keys.append(idempotency_key_for(system, code) if bar else None)
            if not bar:  # a bare value matches that value under any system
                responses = responses.filter(idempotency_key__startswith="fhir:", idempotency_key__endswith=f"|{value}")
        keys = [key for key in keys if key]
        if keys:
            responses = responses.filter(idempotency_key__in=keys)
    if "_id" in params:
        ids = []
        for value in _any_of(params["_id"]):
            try:
                ids.append(uuid.UUID(value))
            except ValueError:
                continue
        responses = responses.filter(pk__in=ids)
    return responses.order_by("-authored_at", "pk")


def observations_search(
    scores: QuerySet[Score], params: dict[str, list[str]], *, registry, base: str
) -> QuerySet[Score]:
    for name in ("subject", "patient"):
        if name in params:
            ids = [reference_id(value, "Patient") for value in _any_of(params[name])]
            scores = scores.filter(response__client__external_id__in=ids)
    if "code" in params:
        questionnaire_ids = set()
        for value in _any_of(params["code"]):
            questionnaire_ids |= questionnaire_ids_for_code(value, registry=registry, base=base)
        scores = scores.filter(response__questionnaire_version__questionnaire_id__in=questionnaire_ids)
    if "date" in params:
        scores = scores.filter(date_filter("response__authored_at", params["date"], "date"))
    if "category" in params:
        categories = [value.rpartition("|")[2] for value in _any_of(params["category"])]
        if "survey" not in categories:
            scores = scores.none()
    if "derived-from" in params:
        ids = []
        for value in _any_of(params["derived-from"]):
            try:
                ids.append(uuid.UUID(reference_id(value, "QuestionnaireResponse")))
            except ValueError:
                continue
        scores = scores.filter(response_id__in=ids)
    if "_id" in params:
        scores = scores.filter(pk__in=[pk for value in _any_of(params["_id"]) if (pk := record_id(value)) is not None])
    return scores.order_by("-response__authored_at", "-pk")


def questionnaire_ids_for_code(token: str, *, registry, base: str) -> set[str]:
    """The questionnaires whose total is coded so: `system|code`, `|code` or a bare code."""
    system, bar, code = token.partition("|")
    if not bar:
        system, code = "", token
    found = set()
    for definition in registry.all():
        for coding in total_codings(base, definition):
            own = coding["system"] == score_system(base)
            system_matches = not system or system == coding["system"] or (own and system.endswith("/CodeSystem/score"))
            if system_matches and code == coding["code"]:
                found.add(definition.id)
    if code.endswith("-total") and (not system or system.endswith("/CodeSystem/score")):
        found.add(code.removesuffix("-total"))  # also scores of a plugin no longer loaded
    return found
