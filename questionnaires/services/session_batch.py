"""Sessions from an EHR in bulk (backfills and nightly syncs), idempotent on the integration's session identifier.

Each entry names its session by `external_id` (required) and its episode by `episode` (id),
`episode_external_id` or `client` (that client's one active episode). A resend is what an EHR
does when attendance changes, so for an `external_id` already stored:
- the same content is a replay (200, `replayed: true`), nothing is written;
- other content updates the session (200, `updated: [fields]`), as a PATCH would;
- naming another episode than the stored one is a 409: a session never moves between episodes
  or clients by a resend; so is an identifier of a session this caller may not see.
New sessions are created (201). Each entry is validated on its own; the new sessions (and their
clinicians in the room) are inserted in bulk, all in the same transaction. The episodes written
are locked first; new sessions that all start after their episode's stored ones (a backfill or a
nightly sync) are numbered at insert, and only the other episodes touched are renumbered at the
end. On PostgreSQL the rows go in with COPY, beside its ORM twin (`bulk_create`, SQLite), as the
response batch does.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db import connection, transaction
from django.db.models import BooleanField, Count, Max, Q
from django.db.models.expressions import RawSQL
from django.utils import timezone

from questionnaires.models import CareSession, EpisodeOfCare
from questionnaires.principals import Principal
from questionnaires.selectors.care import episodes_visible_to, sessions_visible_to
from questionnaires.services.care import (
    SESSION_FIELDS,
    episodes_lock,
    session_entered_in_error_note,
    session_values_read,
    sessions_renumber,
    staff_by_username,
    staff_resolve,
    unknown_fields_note,
    usernames_read,
)
from questionnaires.services.errors import InvalidInput
from questionnaires.services.outcome_rollups import outcomes_refresh_on_commit
from questionnaires.validation import Problem

SESSION_BATCH_MAX_ENTRIES = 1000
ENTRY_FIELDS = SESSION_FIELDS | {"episode", "episode_external_id", "client"}


@dataclass
class SessionBatchResult:
    results: list[dict] = field(default_factory=list)
    created: list[int] = field(default_factory=list)
    updated: list[int] = field(default_factory=list)
    replayed: list[int] = field(default_factory=list)


@dataclass
class _Entry:
    index: int
    external_id: str
    values: dict
    clinicians: list | None
    episode_ref: tuple[str, Any] | None


def sessions_upsert_batch(*, principal: Principal, entries: Sequence[Any]) -> SessionBatchResult:
    """Create, update or replay each entry's session; results in input order as
    {"index", "status", "id"?, "number"?, "replayed"?, "updated"?, "errors"?}."""
    if len(entries) > SESSION_BATCH_MAX_ENTRIES:
        raise InvalidInput(
            f"At most {SESSION_BATCH_MAX_ENTRIES} sessions per batch.",
            [Problem("sessions", f"at most {SESSION_BATCH_MAX_ENTRIES} entries, got {len(entries)}", "too_many")],
        )
    results: list[dict | None] = [None] * len(entries)
    parsed: list[_Entry] = []
    usernames: set[str] = set()
    for index, body in enumerate(entries):
        entry, problems = _read(index, body)
        if entry is None:
            results[index] = _rejected(index, 400, problems)
            continue
        parsed.append(entry)
        usernames.update(entry.clinicians or [])
    outcome = SessionBatchResult()
    with transaction.atomic():
        staff = staff_by_username(clinic_id=principal.clinic_id, usernames=usernames)
        existing = _existing(principal, [entry.external_id for entry in parsed])
        episodes = _episodes(principal, parsed)
        # Every episode this call may write, locked once in id order (renumbering later re-locks none).
        episodes_lock([*(e.pk for e in episodes.values() if e is not None),
                       *(s.episode_id for s in existing.values() if not getattr(s, "hidden", False))])
        touched: set[int] = set()
        seen: set[str] = set()
        new: list[tuple[_Entry, EpisodeOfCare, list | None]] = []
        for entry in parsed:
            problems: list[Problem] = []
            clinicians = (
                staff_resolve(entry.clinicians, staff, f"sessions.{entry.index}.clinicians", problems)
                if entry.clinicians is not None else None
            )
            episode = _episode_for(entry, episodes, problems)
            if entry.external_id in seen:
                problems.append(Problem(f"sessions.{entry.index}.external_id", "repeated in this batch", "duplicate"))
            if problems:
                results[entry.index] = _rejected(entry.index, 400, problems)
                continue
            seen.add(entry.external_id)
            found = existing.get(entry.external_id)
            if found is None:
                rejected = _creatable(entry, episode)
                if rejected is not None:
                    results[entry.index] = rejected
                    continue
                new.append((entry, episode, clinicians))
                continue
            results[entry.index] = _resend(principal, entry, found, episode, clinicians, outcome)
            if results[entry.index]["status"] == 200 and not results[entry.index].get("replayed"):
                touched.add(episode.pk if episode is not None else found.episode_id)
        numbers = _create_all(new, touched, results, outcome)
        sessions_renumber(episode_ids=touched)
        # Episodes whose new sessions were numbered at insert skip the renumbering, and with it its
        # outcome refresh: their adherence changed all the same.
        outcomes_refresh_on_commit(episode_ids={episode.pk for _, episode, _ in new} - touched)
        unknown = [pk for pk in [*outcome.created, *outcome.updated, *outcome.replayed] if pk not in numbers]
        if unknown:
            numbers.update(CareSession.objects.filter(pk__in=unknown).values_list("pk", "number"))
    for result in results:
        if result is not None and "id" in result:
            result["number"] = numbers.get(result["id"])
    outcome.results = results  # type: ignore[assignment]
    return outcome


def _read(index: int, body: Any) -> tuple[_Entry | None, list[Problem]]:
    prefix = f"sessions.{index}."
    if not isinstance(body, Mapping):
        return None, [Problem(f"sessions.{index}", "must be a JSON object", "invalid_type")]
    problems: list[Problem] = []
    unknown_fields_note(body, ENTRY_FIELDS, problems, prefix)
    values = session_values_read(body, problems, prefix=prefix, creating=False)
    external_id = values.pop("external_id", None)
    if external_id is None and "external_id" not in body:
        problems.append(Problem(f"{prefix}external_id", "required: the integration's own session identifier",
                                "required"))
    clinicians = usernames_read(body, "clinicians", problems, prefix)
    named = [name for name in ("episode", "episode_external_id", "client") if body.get(name) is not None]
    if len(named) > 1:
        problems.append(Problem(f"{prefix}{named[1]}", f"name the episode once (already by {named[0]})", "conflicting"))
    episode_ref = None
    if named:
        value = body[named[0]]
        valid = (
            isinstance(value, int) and not isinstance(value, bool) and 0 < value < 2**63
            if named[0] == "episode" else isinstance(value, str) and 0 < len(value) <= 128
        )
        if not valid:
            problems.append(Problem(f"{prefix}{named[0]}", "not a valid reference", "invalid"))
        else:
            episode_ref = (named[0], value)
    if problems:
        return None, problems
    return _Entry(index=index, external_id=external_id, values=values, clinicians=clinicians,
                  episode_ref=episode_ref), []


def _existing(principal: Principal, external_ids: list[str]) -> dict[str, Any]:
    """Stored sessions by external_id; one this caller may not see is marked, never shown."""
    if not external_ids:
        return {}
    stored = {
        session.external_id: session
        for session in CareSession.objects.filter(_external_id_in(external_ids), clinic_id=principal.clinic_id)
        .prefetch_related("clinicians")
    }
    if stored and not principal.sees_whole_clinic:
        visible = set(sessions_visible_to(principal).filter(pk__in=[s.pk for s in stored.values()])
                      .values_list("pk", flat=True))
        for session in stored.values():
            session.hidden = session.pk not in visible
    return stored


def _external_id_in(external_ids: list[str]) -> Q | RawSQL:
    """`external_id IN (...)`; on PostgreSQL as `= ANY(one array)`: psycopg parsed the statement with
    a thousand placeholders afresh on every call (it caches only short statements)."""
    if connection.vendor != "postgresql":
        return Q(external_id__in=external_ids)
    column = f'"{CareSession._meta.db_table}"."{CareSession._meta.get_field("external_id").column}"'
    return RawSQL(f"{column} = ANY(%s)", (list(external_ids),), output_field=BooleanField())


def _episodes(principal: Principal, entries: list[_Entry]) -> dict[tuple[str, Any], EpisodeOfCare | None]:
    """The named episodes (by id, external id, or a client's one active episode), in one query."""
    refs = {entry.episode_ref for entry in entries if entry.episode_ref is not None}
    if not refs:
        return {}
    ids = [value for kind, value in refs if kind == "episode"]
    external_ids = [value for kind, value in refs if kind == "episode_external_id"]
    clients = [value for kind, value in refs if kind == "client"]
    found: dict[tuple[str, Any], EpisodeOfCare | None] = {}
    query = Q(pk__in=ids) | Q(external_id__in=external_ids) | Q(
        client__external_id__in=clients, status=EpisodeOfCare.Status.ACTIVE
    )
    active_by_client: dict[str, list[EpisodeOfCare]] = {}
    for episode in episodes_visible_to(principal).filter(query).select_related("client"):
        if episode.pk in ids:
            found[("episode", episode.pk)] = episode
        if episode.external_id in external_ids:
            found[("episode_external_id", episode.external_id)] = episode
        if episode.client.external_id in clients and episode.status == EpisodeOfCare.Status.ACTIVE:
            active_by_client.setdefault(episode.client.external_id, []).append(episode)
    for client, active in active_by_client.items():
        # With parallel episodes a client does not say which one: the entry must name it.
        found[("client", client)] = active[0] if len(active) == 1 else None
    return found


def _episode_for(entry: _Entry, episodes: Mapping, problems: list[Problem]) -> EpisodeOfCare | None:
    if entry.episode_ref is None:
        return None
    episode = episodes.get(entry.episode_ref)
    if episode is None:
        kind, _ = entry.episode_ref
        message = "no single active episode for this client" if kind == "client" else "no such episode"
        problems.append(Problem(f"sessions.{entry.index}.{kind}", message, "unknown"))
    return episode


def _creatable(entry: _Entry, episode: EpisodeOfCare | None) -> dict | None:
    """None if the entry can make a new session, else its rejection."""
    prefix = f"sessions.{entry.index}."
    problems = []
    if episode is None:
        problems.append(Problem(f"{prefix}episode", "required for a new session (episode, episode_external_id "
                                "or client)", "required"))
    if "scheduled_start" not in entry.values:
        problems.append(Problem(f"{prefix}scheduled_start", "required for a new session", "required"))
    return _rejected(entry.index, 400, problems) if problems else None


def _create_all(
    new: list[tuple[_Entry, EpisodeOfCare, list | None]],
    touched: set[int],
    results: list[dict | None],
    outcome: SessionBatchResult,
) -> dict[int, int | None]:
    """Insert the new sessions, then their clinicians in the room, in bulk (in input order); returns
    {session id: number} for those numbered at insert and adds the other episodes to `touched`.

    A backfill of 1,000 sessions one `create` and one `clinicians.add` at a time cost three round
    trips per session. Neither model has save signals, so the bulk insert stores what `create` would.
    """
    if not new:
        return {}
    sessions = [
        CareSession(clinic_id=episode.clinic_id, episode_id=episode.pk, external_id=entry.external_id, **entry.values)
        for entry, episode, _ in new
    ]
    numbered = _number_at_insert(sessions, touched)
    _insert_sessions(sessions)
    _insert_room([
        (session.pk, user.pk)
        for session, (_, _, clinicians) in zip(sessions, new, strict=True) for user in clinicians or []
    ])
    numbers: dict[int, int | None] = {}
    for session, (entry, _, _) in zip(sessions, new, strict=True):
        outcome.created.append(session.pk)
        results[entry.index] = {"index": entry.index, "status": 201, "id": session.pk}
        if session.episode_id in numbered:
            numbers[session.pk] = session.number
    return numbers


def _number_at_insert(sessions: list[CareSession], touched: set[int]) -> set[int]:
    """Give the new sessions their numbers where they all start after their episode's stored sessions,
    as `sessions_renumber` would (attended ones counted on from the stored attended ones, by start
    and then by id, which follows input order); returns those episodes. The others, and episodes
    an update in this call also touched, go to `touched` to be renumbered after the insert.

    One query for all the episodes (their latest start and attended count); they are locked.
    """
    by_episode: dict[int, list[CareSession]] = {}
    for session in sessions:
        by_episode.setdefault(session.episode_id, []).append(session)
    stored = {
        row["episode_id"]: (row["last"], row["attended"])
        for row in CareSession.objects.filter(episode_id__in=list(by_episode)).order_by().values("episode_id")
        .annotate(last=Max("scheduled_start"),
                  attended=Count("pk", filter=Q(attendance=CareSession.Attendance.ATTENDED)))
    }
    numbered: set[int] = set()
    for episode_id, new in by_episode.items():
        last, attended = stored.get(episode_id, (None, 0))
        if episode_id in touched or (last is not None and min(s.scheduled_start for s in new) <= last):
            touched.add(episode_id)
            continue
        for session in sorted(new, key=lambda s: s.scheduled_start):  # stable: ties keep input (id) order
            if session.attendance == CareSession.Attendance.ATTENDED:
                attended += 1
                session.number = attended
        numbered.add(episode_id)
    return numbered


_SESSION_COPY_COLUMNS = (
    "id", "clinic_id", "episode_id", "external_id", "scheduled_start", "duration_minutes", "attendance", "number",
    "created_at", "updated_at",
)
_ROOM_COPY_COLUMNS = ("caresession_id", "user_id")


def _insert_sessions(sessions: list[CareSession]) -> None:
    """One COPY on PostgreSQL, ids drawn from the table's sequence first (COPY returns none): Django's
    bulk_create spent most of a 1,000-session call building and adapting its parameters. The same
    values as bulk_create (defaults and auto_now fields included); a duplicate external_id raced in
    by a concurrent call surfaces as Django's IntegrityError either way."""
    if connection.vendor != "postgresql":
        CareSession.objects.bulk_create(sessions)
        return
    now = timezone.now()
    table = CareSession._meta.db_table
    with connection.cursor() as cursor, connection.wrap_database_errors:
        cursor.execute("SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)",
                       [table, len(sessions)])
        ids = sorted(row[0] for row in cursor.fetchall())
        with cursor.cursor.copy(f"COPY {table} ({', '.join(_SESSION_COPY_COLUMNS)}) FROM STDIN") as copy:
            for pk, session in zip(ids, sessions, strict=True):
                session.pk = pk
                session.created_at = session.updated_at = now
                session._state.adding = False
                copy.write_row((
                    pk, session.clinic_id, session.episode_id, session.external_id, session.scheduled_start,
                    session.duration_minutes, session.attendance, session.number, now, now,
                ))


def _insert_room(links: list[tuple[int, int]]) -> None:
    """The clinicians in the room: one COPY on PostgreSQL, bulk_create elsewhere."""
    if not links:
        return
    room = CareSession.clinicians.through
    if connection.vendor != "postgresql":
        room.objects.bulk_create([room(caresession_id=session_id, user_id=user_id) for session_id, user_id in links])
        return
    with connection.cursor() as cursor, connection.wrap_database_errors:
        with cursor.cursor.copy(f"COPY {room._meta.db_table} ({', '.join(_ROOM_COPY_COLUMNS)}) FROM STDIN") as copy:
            for link in links:
                copy.write_row(link)


def _resend(
    principal: Principal,
    entry: _Entry, session: CareSession, episode: EpisodeOfCare | None, clinicians: list | None,
    outcome: SessionBatchResult,
) -> dict:
    if getattr(session, "hidden", False):
        return _rejected(entry.index, 409, [Problem(f"sessions.{entry.index}.external_id", "already used",
                                                    "conflict")])
    if episode is not None and episode.pk != session.episode_id:
        return _rejected(entry.index, 409, [Problem(
            f"sessions.{entry.index}.external_id", f"belongs to a session of episode {session.episode_id}; "
            "a session does not move between episodes", "conflict",
        )])
    changed = [name for name, value in entry.values.items() if getattr(session, name) != value]
    room_changed = clinicians is not None and {user.pk for user in clinicians} != {
        user.pk for user in session.clinicians.all()
    }
    if not changed and not room_changed:
        outcome.replayed.append(session.pk)
        return {"index": entry.index, "status": 200, "id": session.pk, "replayed": True}
    previous_attendance = session.attendance
    for name in changed:
        setattr(session, name, entry.values[name])
    session.save()
    if room_changed:
        session.clinicians.set(clinicians)
    session_entered_in_error_note(principal=principal, session=session, previous_attendance=previous_attendance)
    outcome.updated.append(session.pk)
    return {"index": entry.index, "status": 200, "id": session.pk,
            "updated": [*changed, *(["clinicians"] if room_changed else [])]}


def _rejected(index: int, status: int, problems: Sequence[Problem]) -> dict:
    return {
        "index": index,
        "status": status,
        "errors": [{"field": p.field, "message": p.message, "code": p.code} for p in problems],
    }
