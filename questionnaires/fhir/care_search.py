"""Searching EpisodeOfCare and Encounter: FHIR search parameters over the episodes and sessions a caller may see."""

from __future__ import annotations

from django.db.models import Q, QuerySet

from questionnaires.fhir.care import attendance_for_status
from questionnaires.fhir.search import date_filter, reference_id
from questionnaires.input_bounds import record_id
from questionnaires.models import CareSession, EpisodeOfCare


def _any_of(values: list[str]) -> list[str]:
    return [part.strip() for value in values for part in value.split(",") if part.strip()]


def _identifier_values(values: list[str]) -> list[str]:
    """`system|value` or a bare value: the value is the external id (systems are not stored)."""
    return [value.rpartition("|")[2] for value in _any_of(values)]


def _ids(values: list[str], resource_type: str) -> list[int]:
    return [pk for value in _any_of(values) if (pk := record_id(reference_id(value, resource_type))) is not None]


def episodes_search(episodes: QuerySet[EpisodeOfCare], params: dict[str, list[str]]) -> QuerySet[EpisodeOfCare]:
    """patient, status, identifier, date (period start), care-manager, _id, _lastUpdated; repeats AND, commas OR."""
    for name in ("patient", "subject"):
        for value in params.get(name, []):
            episodes = episodes.filter(client__external_id__in=[reference_id(v, "Patient") for v in _any_of([value])])
    for value in params.get("status", []):
        condition = Q(pk__in=[])
        for status in _any_of([value]):
            if status == "active":
                condition |= Q(status=EpisodeOfCare.Status.ACTIVE)
            elif status == "finished":
                condition |= Q(status=EpisodeOfCare.Status.FINISHED) & ~Q(end_reason=EpisodeOfCare.EndReason.DECLINED)
            elif status == "cancelled":
                condition |= Q(status=EpisodeOfCare.Status.FINISHED, end_reason=EpisodeOfCare.EndReason.DECLINED)
        episodes = episodes.filter(condition)
    for value in params.get("identifier", []):
        episodes = episodes.filter(external_id__in=_identifier_values([value]))
    for value in params.get("care-manager", []):
        episodes = episodes.filter(
            primary_clinician__username__in=[reference_id(v, "Practitioner") for v in _any_of([value])]
        )
    if "date" in params:
        episodes = episodes.filter(date_filter("start_date", params["date"], "date"))
    if "_lastUpdated" in params:
        episodes = episodes.filter(date_filter("updated_at", params["_lastUpdated"], "_lastUpdated"))
    for value in params.get("_id", []):
        episodes = episodes.filter(pk__in=_ids([value], "EpisodeOfCare"))
    return episodes.order_by("-start_date", "-id")


def sessions_search(sessions: QuerySet[CareSession], params: dict[str, list[str]]) -> QuerySet[CareSession]:
    """patient/subject, status, identifier, date (scheduled start), episode-of-care, practitioner/participant,
    _id, _lastUpdated. Sessions entered in error are left out unless the status asks for them."""
    for name in ("patient", "subject"):
        for value in params.get(name, []):
            sessions = sessions.filter(
                episode__client__external_id__in=[reference_id(v, "Patient") for v in _any_of([value])]
            )
    asked_for_errors = False
    for value in params.get("status", []):
        attendance = [a for status in _any_of([value]) for a in attendance_for_status(status)]
        asked_for_errors = asked_for_errors or CareSession.Attendance.ENTERED_IN_ERROR in attendance
        sessions = sessions.filter(attendance__in=attendance)
    if not asked_for_errors:
        sessions = sessions.exclude(attendance=CareSession.Attendance.ENTERED_IN_ERROR)
    for value in params.get("identifier", []):
        sessions = sessions.filter(external_id__in=_identifier_values([value]))
    for value in params.get("episode-of-care", []):
        sessions = sessions.filter(episode_id__in=_ids([value], "EpisodeOfCare"))
    for name in ("practitioner", "participant"):
        for value in params.get(name, []):
            sessions = sessions.filter(
                clinicians__username__in=[reference_id(v, "Practitioner") for v in _any_of([value])]
            ).distinct()
    if "date" in params:
        sessions = sessions.filter(date_filter("scheduled_start", params["date"], "date"))
    if "_lastUpdated" in params:
        sessions = sessions.filter(date_filter("updated_at", params["_lastUpdated"], "_lastUpdated"))
    for value in params.get("_id", []):
        sessions = sessions.filter(pk__in=_ids([value], "Encounter"))
    return sessions.order_by("-scheduled_start", "-id")
