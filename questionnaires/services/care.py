"""Recording the course of care: opening, editing and finishing episodes; booking sessions and recording attendance.

Rules kept here: at most one active episode per client unless the clinic allows parallel ones;
finishing needs an `end_reason`; the clinicians of an episode are put on the client's caseload
(they could not see the client otherwise); attended sessions are renumbered 1..n by start time
after every change, and the responses of a session take its number; a session marked entered in
error has its responses retracted (out of metrics, kept for audit).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, date, datetime
from typing import Any

from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.db.models import Case, PositiveIntegerField, Value, When
from django.db.models.functions import Cast
from django.utils import timezone

from questionnaires.models import CareSession, ClinicCareSettings, EpisodeOfCare, Response, TherapyClient
from questionnaires.principals import Principal
from questionnaires.services.clients import external_id_problem
from questionnaires.services.corrections import session_responses_retract
from questionnaires.services.errors import Conflict, InvalidInput
from questionnaires.services.outcome_rollups import outcomes_refresh_on_commit
from questionnaires.validation import Problem

EPISODE_FIELDS = frozenset(
    {"external_id", "referral_date", "start_date", "primary_clinician", "clinicians", "status", "end_date",
     "end_reason"}
)
SESSION_FIELDS = frozenset({"external_id", "scheduled_start", "duration_minutes", "clinicians", "attendance"})
ATTENDANCE = frozenset(choice.value for choice in CareSession.Attendance)
END_REASONS = frozenset(choice.value for choice in EpisodeOfCare.EndReason)
MAX_CLINICIANS = 20
MAX_DURATION_MINUTES = 24 * 60


# --- reading fields ------------------------------------------------------------------------------------


def unknown_fields_note(body: Mapping, allowed: Iterable[str], problems: list[Problem], prefix: str = "") -> None:
    allowed = set(allowed)
    problems.extend(
        Problem(f"{prefix}{key}", "unknown field", "unknown_field") for key in body if key not in allowed
    )


def _date(body: Mapping, name: str, problems: list[Problem], prefix: str = "") -> date | None:
    value = body.get(name)
    if value is None:
        return None
    if isinstance(value, str) and len(value) == 10:
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    problems.append(Problem(f"{prefix}{name}", "a date, YYYY-MM-DD", "invalid"))
    return None


def _datetime(body: Mapping, name: str, problems: list[Problem], prefix: str = "") -> datetime | None:
    value = body.get(name)
    if value is None:
        return None
    parsed = None
    if isinstance(value, str) and len(value) <= 64:
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            parsed = None
    if parsed is None or parsed.utcoffset() is None or not 1900 <= parsed.year <= 9998:
        problems.append(Problem(f"{prefix}{name}", "an ISO 8601 date-time with a timezone", "invalid"))
        return None
    return parsed.astimezone(UTC)


def _choice(body: Mapping, name: str, choices: frozenset[str], problems: list[Problem], prefix: str = "") -> str | None:
    value = body.get(name)
    if value is None:
        return None
    if not isinstance(value, str) or value not in choices:
        problems.append(Problem(f"{prefix}{name}", f"one of {', '.join(sorted(choices))}", "invalid_choice"))
        return None
    return value


def _optional_external_id(body: Mapping, problems: list[Problem], prefix: str = "") -> str | None:
    value = body.get("external_id")
    if value is None:
        return None
    problem = external_id_problem(value, f"{prefix}external_id")
    if problem:
        problems.append(problem)
        return None
    return value


def usernames_read(body: Mapping, name: str, problems: list[Problem], prefix: str = "") -> list[str] | None:
    value = body.get(name)
    if value is None:
        return None
    if (
        not isinstance(value, list)
        or len(value) > MAX_CLINICIANS
        or not all(isinstance(item, str) and 0 < len(item) <= 150 for item in value)
    ):
        problems.append(Problem(f"{prefix}{name}", f"a list of at most {MAX_CLINICIANS} usernames", "invalid"))
        return None
    return list(dict.fromkeys(value))


def staff_by_username(*, clinic_id: int, usernames: Iterable[str]) -> dict[str, Any]:
    usernames = set(usernames)
    if not usernames:
        return {}
    users = get_user_model().objects.filter(username__in=usernames, membership__clinic_id=clinic_id, is_active=True)
    return {user.username: user for user in users}


def staff_resolve(
    usernames: Sequence[str], staff: Mapping[str, Any], field: str, problems: list[Problem]
) -> list[Any]:
    found = []
    for index, username in enumerate(usernames):
        user = staff.get(username)
        if user is None:
            problems.append(Problem(f"{field}.{index}" if field.endswith("s") else field,
                                    "no such clinician in this clinic", "unknown"))
        else:
            found.append(user)
    return found


# --- episodes ------------------------------------------------------------------------------------------


def _parallel_allowed(clinic_id: int) -> bool:
    return bool(
        ClinicCareSettings.objects.filter(clinic_id=clinic_id).values_list("allow_parallel_episodes", flat=True).first()
    )


def episode_one_active_check(client: TherapyClient, *, excluding: int | None = None) -> None:
    """Refuse a second active episode unless the clinic allows parallel ones (`ClinicCareSettings`).

    The one rule for REST, FHIR and the admin form; call it inside the transaction that saves the
    episode: the client row is locked first, so two concurrent creates cannot both pass. Raises
    Conflict naming the active episode (field `status`, code `active_episode_exists`).
    """
    TherapyClient.objects.select_for_update().filter(pk=client.pk).first()
    if _parallel_allowed(client.clinic_id):
        return
    active = EpisodeOfCare.objects.filter(client=client, status=EpisodeOfCare.Status.ACTIVE)
    if excluding is not None:
        active = active.exclude(pk=excluding)
    current = active.values_list("pk", flat=True).first()
    if current is not None:
        raise Conflict(
            f"The client already has an active episode ({current}); finish it first, or let the clinic allow "
            "parallel episodes.",
            [Problem("status", f"episode {current} is active", "active_episode_exists")],
        )


def episode_create(*, principal: Principal, client: TherapyClient, body: Mapping) -> EpisodeOfCare:
    """Open an episode. A clinician who opens one is its primary clinician unless another is named.

    Body: start_date (default today), referral_date, primary_clinician, clinicians, external_id;
    an episode is created active (finish it with a PATCH). Raises InvalidInput or Conflict.
    """
    problems: list[Problem] = []
    unknown_fields_note(body, EPISODE_FIELDS - {"status", "end_date", "end_reason"}, problems)
    start_date = _date(body, "start_date", problems) or timezone.localdate()
    referral_date = _date(body, "referral_date", problems)
    if referral_date and referral_date > start_date:
        problems.append(Problem("referral_date", "after start_date", "invalid"))
    external_id = _optional_external_id(body, problems)
    primary_name = body.get("primary_clinician")
    if primary_name is not None and not isinstance(primary_name, str):
        problems.append(Problem("primary_clinician", "a username", "invalid_type"))
        primary_name = None
    others = usernames_read(body, "clinicians", problems) or []
    staff = staff_by_username(
        clinic_id=principal.clinic_id, usernames=[*others, *([primary_name] if primary_name else [])]
    )
    primary = None
    if primary_name is not None:
        resolved = staff_resolve([primary_name], staff, "primary_clinician", problems)
        primary = resolved[0] if resolved else None
    elif principal.kind == "clinician":
        primary = principal.user
    clinicians = staff_resolve(others, staff, "clinicians", problems)
    if problems:
        raise InvalidInput("The episode is not valid; see errors.", problems)
    try:
        with transaction.atomic():
            episode_one_active_check(client)
            episode = EpisodeOfCare.objects.create(
                clinic_id=client.clinic_id, client=client, external_id=external_id, start_date=start_date,
                referral_date=referral_date, primary_clinician=primary,
            )
            if clinicians:
                episode.clinicians.add(*clinicians)
            _onto_caseload(client, [primary, *clinicians])
    except IntegrityError:
        raise Conflict(
            "An episode with this external_id already exists in the clinic.",
            [Problem("external_id", "already exists", "duplicate")],
        ) from None
    return episode


def _onto_caseload(client: TherapyClient, users: Iterable[Any]) -> None:
    users = [user for user in users if user is not None]
    if users:
        client.clinicians.add(*users)


def episode_update(*, principal: Principal, episode: EpisodeOfCare, body: Mapping) -> EpisodeOfCare:
    """Change an episode; finishing (`status: finished`) needs `end_reason` and takes today as `end_date` if none.

    Reopening a finished episode clears its ending and is subject to the one-active-episode rule.
    """
    problems: list[Problem] = []
    unknown_fields_note(body, EPISODE_FIELDS, problems)
    status = _choice(body, "status", frozenset(choice.value for choice in EpisodeOfCare.Status), problems)
    end_reason = _choice(body, "end_reason", END_REASONS, problems)
    end_date = _date(body, "end_date", problems)
    start_date = _date(body, "start_date", problems)
    referral_date = _date(body, "referral_date", problems)
    external_id = _optional_external_id(body, problems)
    others = usernames_read(body, "clinicians", problems)
    primary_name = body.get("primary_clinician")
    if primary_name is not None and not isinstance(primary_name, str):
        problems.append(Problem("primary_clinician", "a username", "invalid_type"))
        primary_name = None
    staff = staff_by_username(
        clinic_id=principal.clinic_id, usernames=[*(others or []), *([primary_name] if primary_name else [])]
    )
    primary = staff_resolve([primary_name], staff, "primary_clinician", problems) if primary_name else None
    clinicians = staff_resolve(others, staff, "clinicians", problems) if others is not None else None

    new_status = status or episode.status
    finishing = new_status == EpisodeOfCare.Status.FINISHED
    if finishing and not (end_reason or episode.end_reason):
        problems.append(Problem("end_reason", f"required to finish an episode: one of {', '.join(sorted(END_REASONS))}",
                                "required"))
    if not finishing and (end_reason or end_date):
        name = "end_reason" if end_reason else "end_date"
        problems.append(Problem(name, "only a finished episode has an ending", "unexpected"))
    effective_start = start_date or episode.start_date
    effective_end = end_date or episode.end_date or (timezone.localdate() if finishing else None)
    if finishing and effective_end and effective_end < effective_start:
        problems.append(Problem("end_date", "before start_date", "invalid"))
    if problems:
        raise InvalidInput("The episode update is not valid; see errors.", problems)
    try:
        with transaction.atomic():
            if new_status == EpisodeOfCare.Status.ACTIVE and episode.status != EpisodeOfCare.Status.ACTIVE:
                episode_one_active_check(episode.client, excluding=episode.pk)
            episode.status = new_status
            if finishing:
                episode.end_reason = end_reason or episode.end_reason
                episode.end_date = effective_end
            else:
                episode.end_reason, episode.end_date = "", None
            if start_date:
                episode.start_date = start_date
            if "referral_date" in body:
                episode.referral_date = referral_date
            if external_id is not None:
                episode.external_id = external_id
            if primary:
                episode.primary_clinician = primary[0]
            episode.save()
            if clinicians is not None:
                episode.clinicians.set(clinicians)
            _onto_caseload(episode.client, [*(primary or []), *(clinicians or [])])
            outcomes_refresh_on_commit(episode_ids=[episode.pk])
    except IntegrityError:
        raise Conflict(
            "An episode with this external_id already exists in the clinic.",
            [Problem("external_id", "already exists", "duplicate")],
        ) from None
    return episode


# --- sessions ------------------------------------------------------------------------------------------


def sessions_renumber(*, episode_ids: Iterable[int]) -> None:
    """Number each episode's attended sessions 1..n by start; the others lose their number; responses follow.

    Call inside the transaction that changed attendance or start times. For all the episodes at once
    (a session batch touches a hundred): the episodes locked (`episodes_lock`), one read that locks
    their sessions, in episode order, and at most two updates (sessions whose number changed, and
    their responses).
    """
    ids = sorted(set(episode_ids))
    if not ids:
        return
    episodes_lock(ids)
    # Attendance or start times changed: the episodes' adherence and outcomes follow after commit.
    outcomes_refresh_on_commit(episode_ids=ids)
    sessions = (
        CareSession.objects.select_for_update()
        .filter(episode_id__in=ids)
        .order_by("episode_id", "scheduled_start", "id")
        .values_list("pk", "episode_id", "attendance", "number")
    )
    changed: dict[int, int | None] = {}
    positions: dict[int, int] = {}
    for session_id, episode_id, attendance, number in sessions:
        wanted = None
        if attendance == CareSession.Attendance.ATTENDED:
            wanted = positions[episode_id] = positions.get(episode_id, 0) + 1
        if wanted != number:
            changed[session_id] = wanted
    if not changed:
        return
    CareSession.objects.filter(pk__in=changed).update(number=_by_session("pk", changed))
    Response.objects.filter(session_id__in=changed).update(session_number=_by_session("session_id", changed))


def episodes_lock(episode_ids: Iterable[int]) -> None:
    """Lock the episodes (in id order) whose sessions are about to be numbered, for the transaction.

    Numbering reads an episode's sessions and writes their numbers; two transactions numbering the
    same episode (a PATCH and a session batch that numbers at insert) must not both read it before
    either writes. FOR NO KEY UPDATE serialises them without blocking the key-share locks that
    inserting a session of the episode takes. SQLite writes one transaction at a time anyway.
    """
    ids = sorted(set(episode_ids))
    if ids:
        list(EpisodeOfCare.objects.select_for_update(no_key=True).filter(pk__in=ids).order_by("pk")
             .values_list("pk", flat=True))


def _by_session(column: str, numbers: Mapping[int, int | None]) -> Cast:
    """The new number of each session, one branch per number (not per session: a batch renumbers a thousand).

    Cast: a CASE whose branches are all NULL (every changed session lost its number) is text to PostgreSQL.
    """
    by_number: dict[int, list[int]] = {}
    for session_id, number in numbers.items():
        if number is not None:
            by_number.setdefault(number, []).append(session_id)
    return Cast(
        Case(
            *(When(**{f"{column}__in": session_ids}, then=Value(number)) for number, session_ids in by_number.items()),
            default=Value(None),
            output_field=PositiveIntegerField(),
        ),
        output_field=PositiveIntegerField(),
    )


def session_values_read(body: Mapping, problems: list[Problem], *, prefix: str = "", creating: bool) -> dict:
    values: dict[str, Any] = {}
    scheduled_start = _datetime(body, "scheduled_start", problems, prefix)
    if scheduled_start is not None:
        values["scheduled_start"] = scheduled_start
    elif creating and "scheduled_start" not in body:
        problems.append(Problem(f"{prefix}scheduled_start", "required", "required"))
    attendance = _choice(body, "attendance", ATTENDANCE, problems, prefix)
    if attendance is not None:
        values["attendance"] = attendance
    duration = body.get("duration_minutes")
    if duration is not None:
        if isinstance(duration, bool) or not isinstance(duration, int) or not 1 <= duration <= MAX_DURATION_MINUTES:
            problems.append(Problem(f"{prefix}duration_minutes", f"1 to {MAX_DURATION_MINUTES}", "out_of_range"))
        else:
            values["duration_minutes"] = duration
    external_id = _optional_external_id(body, problems, prefix)
    if external_id is not None:
        values["external_id"] = external_id
    return values


def session_create(*, principal: Principal, episode: EpisodeOfCare, body: Mapping) -> CareSession:
    """Book (or record) a session of the episode. Body: scheduled_start, attendance (default booked),
    clinicians (usernames in the room), duration_minutes, external_id (the integration's own id)."""
    problems: list[Problem] = []
    unknown_fields_note(body, SESSION_FIELDS, problems)
    values = session_values_read(body, problems, creating=True)
    usernames = usernames_read(body, "clinicians", problems) or []
    staff = staff_by_username(clinic_id=principal.clinic_id, usernames=usernames)
    clinicians = staff_resolve(usernames, staff, "clinicians", problems)
    if problems:
        raise InvalidInput("The session is not valid; see errors.", problems)
    try:
        with transaction.atomic():
            session = CareSession.objects.create(clinic_id=episode.clinic_id, episode=episode, **values)
            if clinicians:
                session.clinicians.add(*clinicians)
            sessions_renumber(episode_ids=[episode.pk])
    except IntegrityError:
        raise Conflict(
            "A session with this external_id already exists in the clinic.",
            [Problem("external_id", "already exists", "duplicate")],
        ) from None
    session.refresh_from_db(fields=["number"])
    return session


def session_update(*, principal: Principal, session: CareSession, body: Mapping) -> CareSession:
    """Record attendance, move the start, change who was in the room; the episode's sessions are renumbered."""
    problems: list[Problem] = []
    unknown_fields_note(body, SESSION_FIELDS, problems)
    values = session_values_read(body, problems, creating=False)
    usernames = usernames_read(body, "clinicians", problems)
    staff = staff_by_username(clinic_id=principal.clinic_id, usernames=usernames or [])
    clinicians = staff_resolve(usernames, staff, "clinicians", problems) if usernames is not None else None
    if problems:
        raise InvalidInput("The session update is not valid; see errors.", problems)
    try:
        with transaction.atomic():
            _apply(principal, session, values, clinicians)
    except IntegrityError:
        raise Conflict(
            "A session with this external_id already exists in the clinic.",
            [Problem("external_id", "already exists", "duplicate")],
        ) from None
    session.refresh_from_db(fields=["number"])
    return session


def _apply(principal: Principal, session: CareSession, values: Mapping, clinicians: list | None) -> None:
    previous_attendance = session.attendance
    for name, value in values.items():
        setattr(session, name, value)
    session.save()
    if clinicians is not None:
        session.clinicians.set(clinicians)
    session_entered_in_error_note(principal=principal, session=session, previous_attendance=previous_attendance)
    sessions_renumber(episode_ids=[session.episode_id])


def session_entered_in_error_note(*, principal: Principal, session: CareSession, previous_attendance: str) -> list:
    """A session newly marked entered in error takes its responses out of metrics (they are retracted).

    Call in the transaction that changed the attendance (REST PATCH, FHIR Encounter, session batch);
    returns the ids of the responses retracted.
    """
    if (
        session.attendance != CareSession.Attendance.ENTERED_IN_ERROR
        or previous_attendance == CareSession.Attendance.ENTERED_IN_ERROR
    ):
        return []
    return session_responses_retract(
        principal=principal, session_id=session.pk, reason=f"session {session.pk} was entered in error"
    )
