"""Reading the course of care: which episodes and sessions a caller may see, their API shape, and the
session and clinician a response is credited to.

Attribution rule (derived, never taken from a request body): the session's clinician in the room
(the episode's primary clinician when they were in the room, else the first by id), else the
episode's primary clinician, else the one clinician on the client's caseload, else nobody
(an unattributed response, shown as such by metrics and supervision).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db.models import (
    Count,
    Exists,
    F,
    IntegerField,
    Min,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
)
from django.db.models.functions import Coalesce

from questionnaires.input_bounds import record_id
from questionnaires.models import CareSession, EpisodeOfCare, TherapyClient
from questionnaires.models.care import LINKABLE_ATTENDANCE
from questionnaires.principals import Principal
from questionnaires.selectors.clients import clients_visible_to

SESSION_EARLY_START = timedelta(hours=1)
"""A response authored up to an hour before a session's start belongs to it (a form filled in the waiting room)."""


def episodes_visible_to(principal: Principal) -> QuerySet[EpisodeOfCare]:
    """Episodes of the clients this caller may see (API key and supervisor: the clinic; clinician: caseload)."""
    return EpisodeOfCare.objects.filter(
        clinic_id=principal.clinic_id, client__in=clients_visible_to(principal).values("pk")
    )


def sessions_visible_to(principal: Principal) -> QuerySet[CareSession]:
    return CareSession.objects.filter(
        clinic_id=principal.clinic_id, episode__client__in=clients_visible_to(principal).values("pk")
    )


def parsed_id(raw: str) -> int | None:
    """A path segment as a database id, or None (then the object is simply not found)."""
    return record_id(raw)


def _with_people(episodes: QuerySet[EpisodeOfCare]) -> QuerySet[EpisodeOfCare]:
    staff = get_user_model().objects.only("id", "username").order_by("username")
    return episodes.select_related("client", "primary_clinician").prefetch_related(
        Prefetch("clinicians", queryset=staff)
    )


def episode_get_visible(*, principal: Principal, episode_id: str) -> EpisodeOfCare | None:
    pk = parsed_id(episode_id)
    return None if pk is None else _with_people(episodes_visible_to(principal)).filter(pk=pk).first()


def episodes_of(*, principal: Principal, client: TherapyClient) -> QuerySet[EpisodeOfCare]:
    return _with_people(episodes_visible_to(principal).filter(client=client)).order_by("-start_date", "-id")


def session_get_visible(*, principal: Principal, session_id: str) -> CareSession | None:
    pk = parsed_id(session_id)
    if pk is None:
        return None
    return sessions_with_people(sessions_visible_to(principal).filter(pk=pk)).first()


def sessions_with_people(sessions: QuerySet[CareSession]) -> QuerySet[CareSession]:
    staff = get_user_model().objects.only("id", "username").order_by("username")
    return sessions.select_related("episode__client").prefetch_related(Prefetch("clinicians", queryset=staff))


def episode_as_dict(episode: EpisodeOfCare) -> dict:
    return {
        "id": episode.pk,
        "client": episode.client.external_id,
        "external_id": episode.external_id,
        "status": episode.status,
        "referral_date": episode.referral_date,
        "start_date": episode.start_date,
        "end_date": episode.end_date,
        "end_reason": episode.end_reason or None,
        "primary_clinician": episode.primary_clinician.username if episode.primary_clinician_id else None,
        "clinicians": [user.username for user in episode.clinicians.all()],
        "created": episode.created_at,
        "updated": episode.updated_at,
    }


def session_as_dict(session: CareSession) -> dict:
    return {
        "id": session.pk,
        "episode": session.episode_id,
        "client": session.episode.client.external_id,
        "external_id": session.external_id,
        "scheduled_start": session.scheduled_start,
        "duration_minutes": session.duration_minutes,
        "attendance": session.attendance,
        "number": session.number,
        "clinicians": [user.username for user in session.clinicians.all()],
        "updated": session.updated_at,
    }


# --- attribution ---------------------------------------------------------------------------------------


def session_window(authored: datetime) -> tuple[datetime, datetime]:
    """The scheduled starts a response authored then may belong to, earliest first."""
    return authored - timedelta(hours=settings.RESPONSE_SESSION_WINDOW_HOURS), authored + SESSION_EARLY_START


def sessions_with_credit(sessions: QuerySet[CareSession]) -> QuerySet[CareSession]:
    """`credit`: the episode's primary clinician if in the room, else the lowest id in the room, else the primary."""
    room = CareSession.clinicians.through.objects.filter(caresession_id=OuterRef("pk"))
    return sessions.annotate(primary=F("episode__primary_clinician_id"), client_id=F("episode__client_id")).annotate(
        credit=Coalesce(
            Subquery(room.filter(user_id=OuterRef("primary")).values("user_id")[:1]),
            Subquery(room.order_by("user_id").values("user_id")[:1]),
            F("primary"),
            output_field=IntegerField(),
        )
    )


def _active_primary() -> Subquery:
    return Subquery(
        EpisodeOfCare.objects.filter(client_id=OuterRef("pk"), status=EpisodeOfCare.Status.ACTIVE)
        .exclude(primary_clinician=None)
        .order_by("-start_date", "-id")
        .values("primary_clinician_id")[:1]
    )


def _sole_caseload_clinician() -> Subquery:
    caseload = TherapyClient.clinicians.through.objects.filter(therapyclient_id=OuterRef("pk"))
    return Subquery(
        caseload.values("therapyclient_id")
        .annotate(clinicians=Count("user_id"), only=Min("user_id"))
        .filter(clinicians=1)
        .values("only")[:1]
    )


def clients_with_fallback_credit(clients: QuerySet[TherapyClient]) -> QuerySet[TherapyClient]:
    """`fallback_credit`: the active episode's primary clinician, else the one clinician on the caseload."""
    return clients.annotate(
        fallback_credit=Coalesce(_active_primary(), _sole_caseload_clinician(), output_field=IntegerField())
    )


def clients_with_credit(
    clients: QuerySet[TherapyClient],
    *,
    authored: datetime,
    link: bool = True,
    session_id: int | None = None,
    session_external_id: str | None = None,
    named_clinician_id: int | None = None,
) -> QuerySet[TherapyClient]:
    """The clients annotated with everything a single submission needs, read in the same query as the client.

    `linked_session_id`, `linked_session_number`, `linked_session_attendance`: the named session if it is
    the client's, else (nothing named) the client's latest booked or attended session in the window
    around `authored`; `credit` and `credit_username`: the clinician derived by the rule above;
    `named_on_caseload`: whether `named_clinician_id` is on the client's caseload. `link=False` (a bare
    session number was sent): no session is linked and the credit falls back to the episode and caseload.
    """
    candidates = CareSession.objects.filter(episode__client_id=OuterRef("pk"))
    if not link:
        candidates = candidates.filter(pk=0)  # ids start at 1: a bare session number links to no session
    elif session_id is not None:
        candidates = candidates.filter(pk=session_id)
    elif session_external_id is not None:
        candidates = candidates.filter(external_id=session_external_id)
    else:
        earliest, latest = session_window(authored)
        candidates = candidates.filter(
            attendance__in=LINKABLE_ATTENDANCE, scheduled_start__gte=earliest, scheduled_start__lte=latest
        )
    linked = sessions_with_credit(candidates.order_by("-scheduled_start", "-id"))
    clients = clients.annotate(
        linked_session_id=Subquery(linked.values("pk")[:1]),
        linked_session_number=Subquery(linked.values("number")[:1]),
        linked_session_attendance=Subquery(linked.values("attendance")[:1]),
        credit=Coalesce(
            Subquery(linked.values("credit")[:1]), _active_primary(), _sole_caseload_clinician(),
            output_field=IntegerField(),
        ),
    ).annotate(credit_username=Subquery(get_user_model().objects.filter(pk=OuterRef("credit")).values("username")))
    if named_clinician_id is not None:
        on_caseload = TherapyClient.clinicians.through.objects.filter(
            therapyclient_id=OuterRef("pk"), user_id=named_clinician_id
        )
        clients = clients.annotate(named_on_caseload=Exists(on_caseload))
    return clients


@dataclass(frozen=True)
class CandidateSession:
    id: int
    client_id: int
    number: int | None
    attendance: str
    scheduled_start: datetime
    external_id: str | None
    credit: int | None


def candidate_sessions(
    *, client_ids: Iterable[int], earliest: datetime, latest: datetime, ids: Iterable[int] = (),
    external_ids: Iterable[str] = (), clinic_id: int,
) -> list[CandidateSession]:
    """For a batch, in one query: the clients' linkable sessions starting in [earliest, latest] and the named ones."""
    client_ids, ids, external_ids = list(client_ids), list(ids), list(external_ids)
    if not client_ids:
        return []
    window = Q(attendance__in=LINKABLE_ATTENDANCE, scheduled_start__gte=earliest, scheduled_start__lte=latest)
    named = Q(pk__in=ids) | Q(external_id__in=external_ids) if ids or external_ids else Q(pk__in=[])
    rows = sessions_with_credit(
        CareSession.objects.filter(clinic_id=clinic_id, episode__client_id__in=client_ids).filter(window | named)
    ).values_list("pk", "client_id", "number", "attendance", "scheduled_start", "external_id", "credit")
    return [CandidateSession(*row) for row in rows]
