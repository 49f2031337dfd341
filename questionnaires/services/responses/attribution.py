"""What a submission names, resolved against the database: its client, its session, the credited clinician.

The credit is derived, never taken on trust: a client token rates as the client; a
staff token is credited to itself; an API key may name a clinician on the client's caseload;
otherwise the session's clinician, the episode's, or the caseload's only one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth import get_user_model
from django.db import connection
from django.db.models import Model
from django.utils import timezone

from questionnaires.models import CareSession, Response, TherapyClient
from questionnaires.models.care import LINKABLE_ATTENDANCE
from questionnaires.principals import Principal
from questionnaires.selectors.care import (
    CandidateSession,
    candidate_sessions,
    clients_with_credit,
    clients_with_fallback_credit,
    session_window,
)
from questionnaires.selectors.clients import clients_visible_to
from questionnaires.services.responses.reading import Submission
from questionnaires.validation import Problem


@dataclass
class Lookups:
    """What a batch (or a single submission) needs from the database, fetched once.

    A single submission reads its client annotated with the linked session and the credited
    clinician (`clients_with_credit`, one query); a batch reads the clients with their fallback
    credit, the candidate sessions of all of them and, for named clinicians, the caseload pairs.
    """

    clients: dict[str, TherapyClient]
    clinicians: dict[str, Any]
    single: bool = True
    sessions: list[CandidateSession] = field(default_factory=list)
    caseload: set[tuple[int, int]] = field(default_factory=set)


def lookups_for(
    principal: Principal, submissions: Sequence[Submission], *, with_clients: bool = True, single: bool = True
) -> Lookups:
    external_ids = {s.client for s in submissions if s.client is not None} if with_clients else set()
    if with_clients and principal.kind == "client_token" and any(s.client is None for s in submissions):
        external_ids.add(principal.therapy_client.external_id)
    usernames = {s.clinician for s in submissions if s.clinician is not None}
    clinicians = (
        {
            user.username: user
            for user in get_user_model().objects.filter(
                username__in=usernames, membership__clinic_id=principal.clinic_id, is_active=True
            )
        }
        if usernames
        else {}
    )
    lookups = Lookups(clients={}, clinicians=clinicians, single=single)
    if not external_ids:
        return lookups
    visible = clients_visible_to(principal).filter(external_id__in=external_ids)
    if single:
        (submission,) = submissions
        named = clinicians.get(submission.clinician) if submission.clinician else None
        visible = clients_with_credit(
            visible,
            authored=submission.authored or timezone.now(),
            link=submission.session is None,
            session_id=submission.session_id,
            session_external_id=submission.session_external_id,
            named_clinician_id=named.pk if named is not None else None,
        )
        lookups.clients = {client.external_id: client for client in visible}
        return lookups
    lookups.clients = {client.external_id: client for client in clients_with_fallback_credit(visible)}
    client_ids = [client.pk for client in lookups.clients.values()]
    authored = [s.authored for s in submissions if s.authored is not None]
    if client_ids and authored:
        earliest, _ = session_window(min(authored))
        _, latest = session_window(max(authored))
        lookups.sessions = candidate_sessions(
            clinic_id=principal.clinic_id, client_ids=client_ids, earliest=earliest, latest=latest,
            ids={s.session_id for s in submissions if s.session_id is not None},
            external_ids={s.session_external_id for s in submissions if s.session_external_id is not None},
        )
    if clinicians and client_ids and principal.kind == "api_key":
        lookups.caseload = set(
            TherapyClient.clinicians.through.objects.filter(
                therapyclient_id__in=client_ids, user_id__in=[user.pk for user in clinicians.values()]
            ).values_list("therapyclient_id", "user_id")
        )
    return lookups


def default_client(principal: Principal, submission: Submission, lookups: Lookups) -> None:
    """A client token may leave `client` out: it can only mean its own client."""
    if submission.client is None and principal.kind == "client_token":
        submission.client = principal.therapy_client.external_id
        lookups.clients.setdefault(submission.client, principal.therapy_client)


@dataclass
class Attribution:
    session_id: int | None = None
    session_number: int | None = None
    clinician_id: int | None = None
    clinician_username: str | None = None


def attribution_for(
    principal: Principal, submission: Submission, client: TherapyClient | None, lookups: Lookups,
    problems: list[Problem],
) -> Attribution:
    """The session a response belongs to and the clinician it is credited to; problems for what the caller may not say.

    A client token always rates as the client and names no clinician; a staff token is credited
    to itself; an API key may name a clinician on the client's caseload; otherwise the credit is
    derived (see `questionnaires.selectors.care`). A named session must be one of the client's.
    """
    named = lookups.clinicians.get(submission.clinician) if submission.clinician is not None else None
    if principal.kind == "client_token":
        if submission.rater != Response.Rater.CLIENT:
            problems.append(Problem("rater", "a client token always rates as the client", "not_allowed"))
        if submission.clinician is not None:
            problems.append(Problem(
                "clinician", "a client token cannot name a clinician; the session's clinician is credited",
                "not_allowed",
            ))
    elif submission.clinician is not None and named is None:
        problems.append(Problem("clinician", "no such clinician in this clinic", "unknown"))
    elif named is not None and principal.is_staff_member and named.pk != principal.user_id:
        problems.append(Problem("clinician", "a staff token submits as itself and cannot credit a colleague",
                                "not_allowed"))
    attribution = Attribution(session_number=submission.session)
    if client is None:
        return attribution
    if client.pk is None:
        # The hot path's stand-in: the insert itself links the session and derives the credit.
        if principal.is_staff_member:
            attribution.clinician_id, attribution.clinician_username = principal.user_id, principal.user.username
        return attribution
    session = _linked_session(submission, client, lookups)
    session_field = "session_id" if submission.session_id is not None else "session_external_id"
    if (submission.session_id is not None or submission.session_external_id is not None) and session is None:
        problems.append(Problem(session_field, "no such session for this client", "unknown"))
    elif session is not None:
        if session.attendance == CareSession.Attendance.ENTERED_IN_ERROR:
            problems.append(Problem(session_field, "the session was entered in error", "entered_in_error"))
        if submission.session is not None and session.number is not None and submission.session != session.number:
            problems.append(Problem("session", f"the named session is number {session.number}", "mismatch"))
        attribution.session_id, attribution.session_number = session.id, session.number
    if principal.is_staff_member:
        attribution.clinician_id, attribution.clinician_username = principal.user_id, principal.user.username
    elif named is not None:
        on_caseload = (
            getattr(client, "named_on_caseload", False) if lookups.single else (client.pk, named.pk) in lookups.caseload
        )
        if not on_caseload:
            problems.append(Problem("clinician", "not on the client's caseload", "not_on_caseload"))
        attribution.clinician_id, attribution.clinician_username = named.pk, named.username
    elif lookups.single:
        attribution.clinician_id = client.credit
        attribution.clinician_username = client.credit_username
    else:
        attribution.clinician_id = (session.credit if session is not None else None) or client.fallback_credit
    return attribution


def _linked_session(submission: Submission, client: TherapyClient, lookups: Lookups) -> CandidateSession | None:
    if lookups.single:
        if client.linked_session_id is None:
            return None
        return CandidateSession(
            id=client.linked_session_id, client_id=client.pk, number=client.linked_session_number,
            attendance=client.linked_session_attendance, scheduled_start=submission.authored, external_id=None,
            credit=client.credit,
        )
    mine = [session for session in lookups.sessions if session.client_id == client.pk]
    if submission.session_id is not None:
        return next((session for session in mine if session.id == submission.session_id), None)
    if submission.session_external_id is not None:
        return next((session for session in mine if session.external_id == submission.session_external_id), None)
    if submission.session is not None or submission.authored is None:
        return None  # an older integration's bare session number: kept as sent, linked to nothing
    earliest, latest = session_window(submission.authored)
    in_window = [
        session for session in mine
        if session.attendance in LINKABLE_ATTENDANCE and earliest <= session.scheduled_start <= latest
    ]
    return max(in_window, key=lambda session: (session.scheduled_start, session.id), default=None)


def credited_user(attribution: Attribution) -> Any:
    """The credited clinician as a user row: the username is known already, so serialising it costs no query."""
    if attribution.clinician_id is None:
        return None
    # Batch rows need only the id (nothing reads the username back).
    user = get_user_model()(pk=attribution.clinician_id, username=attribution.clinician_username or "")
    mark_saved(user)
    return user


def mark_saved(row: Model) -> None:
    row._state.adding = False
    row._state.db = connection.alias

