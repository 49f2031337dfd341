"""Bringing data from before the course of care into it: one episode per client with responses and no episode,
the client's responses grouped into attended sessions, each response linked to its session.

The rules (SPEC §9, issue 13 point 7), applied per client:

- **Sessions**: responses with a `session` number form one session per number; responses without
  one form one session per calendar day in the clinic's time zone (`Clinic.time_zone`), except
  that an unnumbered response joins a numbered session of the same day when there is one (a form
  filled in the waiting room beside the app's numbered ones). A session starts at its earliest
  response, is `attended`, and sessions are numbered 1..n by start, the server's rule for
  attended sessions; each response takes its session's number (gaps in an app's numbering close).
- **Primary clinician**: the one clinician on the client's caseload when there is exactly one,
  else the clinician most of the client's responses are credited to (ties: the lowest user id),
  else nobody. The primary clinician joins the caseload, as for an episode opened over REST.
- **Clinician in the room** of a session: the clinician most of its responses are credited to
  (ties: lowest id), else the primary clinician. A response credited to nobody is credited to
  its session's clinician (the derivation rule: session, then episode, then caseload).
- **Status**: `active` when the last response is more recent than `DISENGAGED_AFTER_WEEKS`
  (default 4), so current clients carry on; otherwise `finished` with `end_reason: other` and the
  last session's day as `end_date`, so an upgrade raises no `disengaged` alert for every past client.

Idempotent (a client that has an episode is skipped) and resumable: each batch of clients is one
transaction. Set-based: per batch a few reads and bulk writes, never a query per response. The
rollups are rebuilt afterwards (`metrics_recompute`) since credited clinicians changed.

Written against an apps registry (`apps`), so the data migration runs it with its historical models.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.apps import apps as installed_apps
from django.conf import settings
from django.db import connection, transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone

from questionnaires.services.metrics import metrics_recompute

BATCH_CLIENTS = 1000
UPDATE_CHUNK = 5000


@dataclass
class BackfillReport:
    clients: int = 0
    episodes_finished: int = 0
    sessions: int = 0
    responses: int = 0
    credited: int = 0
    rollup_cells: int | None = None
    batches: int = 0
    notes: list[str] = field(default_factory=list)


@dataclass
class _Row:
    id: object
    client_id: int
    session_number: int | None
    authored_at: datetime
    clinician_id: int | None
    day: date


def _most_frequent(ids: list[int | None]) -> int | None:
    counts = Counter(one for one in ids if one is not None)
    if not counts:
        return None
    best = max(counts.values())
    return min(one for one, count in counts.items() if count == best)


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def inactive_after() -> timedelta:
    return timedelta(weeks=int(getattr(settings, "DISENGAGED_AFTER_WEEKS", 4)))


def care_backfill(
    *, apps=None, batch_clients: int = BATCH_CLIENTS, rebuild_rollups: bool = True, now: datetime | None = None,
    progress=None,
) -> BackfillReport:
    """Give every client with responses and no episode one episode with its sessions; returns what was done.

    `apps`: a registry (the migration's historical one); default the installed models. `progress`:
    optional callable taking the report after each batch (the command prints it).
    """
    apps = apps or installed_apps
    TherapyClient = apps.get_model("questionnaires", "TherapyClient")
    Response = apps.get_model("questionnaires", "Response")
    EpisodeOfCare = apps.get_model("questionnaires", "EpisodeOfCare")
    Clinic = apps.get_model("questionnaires", "Clinic")
    now = now or timezone.now()
    zones = {pk: _zone(name) for pk, name in Clinic.objects.values_list("pk", "time_zone")}
    report = BackfillReport()
    last = 0
    while True:
        candidates = list(
            TherapyClient.objects.filter(pk__gt=last)
            .filter(Exists(Response.objects.filter(client_id=OuterRef("pk"))))
            .exclude(Exists(EpisodeOfCare.objects.filter(client_id=OuterRef("pk"))))
            .order_by("pk")
            .values_list("pk", "clinic_id")[:batch_clients]
        )
        if not candidates:
            break
        last = candidates[-1][0]
        with transaction.atomic():
            _backfill_batch(apps, dict(candidates), zones, now, report)
        report.batches += 1
        if progress:
            progress(report)
    if rebuild_rollups and report.clients:
        report.rollup_cells = metrics_recompute()
    return report


def _backfill_batch(apps, clinic_of: dict[int, int], zones: dict[int, ZoneInfo], now: datetime,
                    report: BackfillReport) -> None:
    TherapyClient = apps.get_model("questionnaires", "TherapyClient")
    Response = apps.get_model("questionnaires", "Response")
    EpisodeOfCare = apps.get_model("questionnaires", "EpisodeOfCare")
    CareSession = apps.get_model("questionnaires", "CareSession")
    Caseload = TherapyClient.clinicians.through
    Room = CareSession.clinicians.through

    # Lock the batch's clients: a concurrent episode create for one of them waits (REST locks the client too).
    list(TherapyClient.objects.select_for_update().filter(pk__in=list(clinic_of)).values_list("pk", flat=True))
    if EpisodeOfCare.objects.filter(client_id__in=list(clinic_of)).exists():  # one was opened meanwhile
        opened = set(EpisodeOfCare.objects.filter(client_id__in=list(clinic_of)).values_list("client_id", flat=True))
        clinic_of = {pk: clinic for pk, clinic in clinic_of.items() if pk not in opened}
    rows: dict[int, list[_Row]] = defaultdict(list)
    for pk, client_id, number, authored, clinician_id in (
        Response.objects.filter(client_id__in=list(clinic_of)).order_by()
        .values_list("pk", "client_id", "session_number", "authored_at", "clinician_id").iterator(chunk_size=10000)
    ):
        day = authored.astimezone(zones.get(clinic_of[client_id], ZoneInfo("UTC"))).date()
        rows[client_id].append(_Row(pk, client_id, number, authored, clinician_id, day))
    caseload: dict[int, list[int]] = defaultdict(list)
    for client_id, user_id in Caseload.objects.filter(therapyclient_id__in=list(rows)).values_list(
        "therapyclient_id", "user_id"
    ):
        caseload[client_id].append(user_id)

    episodes, plans = [], []
    for client_id in sorted(rows):
        plan = _plan_client(rows[client_id], caseload.get(client_id, []))
        last_seen = max(row.authored_at for row in rows[client_id])
        finished = last_seen < now - inactive_after()
        episodes.append(EpisodeOfCare(
            clinic_id=clinic_of[client_id], client_id=client_id, start_date=plan["start_date"],
            primary_clinician_id=plan["primary"], status="finished" if finished else "active",
            end_reason="other" if finished else "", end_date=plan["end_date"] if finished else None,
        ))
        plans.append(plan)
        report.episodes_finished += int(finished)
    EpisodeOfCare.objects.bulk_create(episodes, batch_size=2000)
    Caseload.objects.bulk_create(
        [Caseload(therapyclient_id=episode.client_id, user_id=episode.primary_clinician_id)
         for episode in episodes if episode.primary_clinician_id is not None],
        ignore_conflicts=True, batch_size=2000,
    )

    sessions, groups = [], []
    for episode, plan in zip(episodes, plans, strict=True):
        for number, group in enumerate(plan["sessions"], start=1):
            sessions.append(CareSession(
                clinic_id=episode.clinic_id, episode_id=episode.pk, scheduled_start=group["start"],
                attendance="attended", number=number,
            ))
            groups.append(group)
    CareSession.objects.bulk_create(sessions, batch_size=2000)
    Room.objects.bulk_create(
        [Room(caresession_id=session.pk, user_id=group["clinician"])
         for session, group in zip(sessions, groups, strict=True) if group["clinician"] is not None],
        ignore_conflicts=True, batch_size=2000,
    )

    updates: list[tuple[object, int, int, int | None]] = []
    for session, group in zip(sessions, groups, strict=True):
        for row in group["rows"]:
            credited = row.clinician_id if row.clinician_id is not None else group["clinician"]
            report.credited += int(row.clinician_id is None and credited is not None)
            updates.append((row.id, session.pk, session.number, credited))
    _link_responses(Response, updates)
    report.clients += len(episodes)
    report.sessions += len(sessions)
    report.responses += len(updates)


def _plan_client(rows: list[_Row], caseload: list[int]) -> dict:
    """Sessions (each: start, rows, clinician) and the episode's dates and primary clinician for one client."""
    primary = caseload[0] if len(set(caseload)) == 1 else _most_frequent([row.clinician_id for row in rows])
    numbered: dict[int, list[_Row]] = defaultdict(list)
    loose: list[_Row] = []
    for row in rows:
        (numbered[row.session_number] if row.session_number is not None else loose).append(row)
    numbered_days: dict[date, int] = {}
    for number in sorted(numbered):
        for row in numbered[number]:
            numbered_days.setdefault(row.day, number)
    by_day: dict[date, list[_Row]] = defaultdict(list)
    for row in loose:
        if row.day in numbered_days:
            numbered[numbered_days[row.day]].append(row)
        else:
            by_day[row.day].append(row)
    groups = [*numbered.values(), *by_day.values()]
    sessions = []
    for group in groups:
        group.sort(key=lambda row: (row.authored_at, str(row.id)))
        clinician = _most_frequent([row.clinician_id for row in group])
        sessions.append({"start": group[0].authored_at, "rows": group,
                         "clinician": clinician if clinician is not None else primary})
    sessions.sort(key=lambda session: (session["start"], str(session["rows"][0].id)))
    days = [row.day for row in rows]
    return {"sessions": sessions, "primary": primary, "start_date": min(days), "end_date": max(days)}


def _link_responses(Response, updates: list[tuple[object, int, int, int | None]]) -> None:
    """Set session, session number and credited clinician: one UPDATE per chunk of rows, never one per row."""
    table = Response._meta.db_table
    for start in range(0, len(updates), UPDATE_CHUNK):
        chunk = updates[start:start + UPDATE_CHUNK]
        if connection.vendor == "postgresql":
            values = ", ".join(["(%s::uuid, %s::bigint, %s::integer, %s::integer)"] * len(chunk))
            params = [str(value) if index == 0 else value for row in chunk for index, value in enumerate(row)]
            with connection.cursor() as cursor:
                cursor.execute(
                    f"UPDATE {table} AS r SET session_id = v.session_id, session_number = v.number, "
                    f"clinician_id = v.clinician_id FROM (VALUES {values}) AS v (id, session_id, number, clinician_id) "
                    "WHERE r.id = v.id",
                    params,
                )
        else:
            Response.objects.bulk_update(
                [Response(pk=pk, session_id=session_id, session_number=number, clinician_id=clinician)
                 for pk, session_id, number, clinician in chunk],
                ["session_id", "session_number", "clinician_id"], batch_size=500,
            )
