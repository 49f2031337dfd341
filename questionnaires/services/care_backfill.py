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
transaction. Set-based, never a query per response: on PostgreSQL each batch is a dozen SQL
statements over temporary tables (ids drawn from the sequences, one UPDATE of the responses); on
SQLite the same rules run in Python with bulk writes. Both paths are held to the same tests. The
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
            if connection.vendor == "postgresql":
                _backfill_batch_postgresql(apps, dict(candidates), now, report)
            else:
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


def _backfill_batch_postgresql(apps, clinic_of: dict[int, int], now: datetime, report: BackfillReport) -> None:
    """The same rules as `_backfill_batch` and `_plan_client`, in SQL: temporary tables per batch, ids drawn
    from the sequences up front, then one INSERT ... SELECT per table and one UPDATE of the responses.

    `mode() WITHIN GROUP (ORDER BY clinician_id)` is the most frequent clinician with ties to the lowest
    id (nulls ignored), as `_most_frequent`; uuid order is the order of their text, as the Python sort.
    """
    TherapyClient = apps.get_model("questionnaires", "TherapyClient")
    tables = {
        "response": apps.get_model("questionnaires", "Response")._meta.db_table,
        "client": TherapyClient._meta.db_table,
        "clinic": apps.get_model("questionnaires", "Clinic")._meta.db_table,
        "episode": apps.get_model("questionnaires", "EpisodeOfCare")._meta.db_table,
        "session": apps.get_model("questionnaires", "CareSession")._meta.db_table,
        "caseload": TherapyClient.clinicians.through._meta.db_table,
        "room": apps.get_model("questionnaires", "CareSession").clinicians.through._meta.db_table,
    }
    statements = [
        # Lock the batch's clients and drop any that got an episode meanwhile.
        "SELECT id FROM {client} WHERE id = ANY(%(ids)s) ORDER BY id FOR UPDATE",
        """CREATE TEMPORARY TABLE backfill_rows ON COMMIT DROP AS
            SELECT id, client_id, clinic_id, clinician_id, authored_at, day,
                   COALESCE(grouped_number, -1) AS gnum,
                   CASE WHEN grouped_number IS NULL THEN day ELSE DATE '0001-01-01' END AS gday
            FROM (
                SELECT r.id, r.client_id, t.clinic_id, r.clinician_id, r.authored_at, local.day,
                       COALESCE(r.session_number,
                                MIN(r.session_number) OVER (PARTITION BY r.client_id, local.day)) AS grouped_number
                FROM {response} r
                JOIN {client} t ON t.id = r.client_id
                JOIN {clinic} c ON c.id = t.clinic_id
                CROSS JOIN LATERAL (SELECT (r.authored_at AT TIME ZONE c.time_zone)::date AS day) AS local
                WHERE r.client_id = ANY(%(ids)s)
                  AND NOT EXISTS (SELECT 1 FROM {episode} e WHERE e.client_id = r.client_id)
            ) AS keyed""",
        "ANALYZE backfill_rows",
        """CREATE TEMPORARY TABLE backfill_clients ON COMMIT DROP AS
            SELECT nextval(pg_get_serial_sequence('{episode}', 'id')) AS episode_id, per_client.*
            FROM (
                SELECT b.client_id, b.clinic_id, MIN(b.day) AS start_date, MAX(b.day) AS end_date,
                       MAX(b.authored_at) AS last_seen,
                       COALESCE(
                           (SELECT MIN(cl.user_id) FROM {caseload} cl WHERE cl.therapyclient_id = b.client_id
                            HAVING COUNT(DISTINCT cl.user_id) = 1),
                           mode() WITHIN GROUP (ORDER BY b.clinician_id)
                       ) AS primary_id
                FROM backfill_rows b GROUP BY b.client_id, b.clinic_id
            ) AS per_client""",
        """INSERT INTO {episode} (id, clinic_id, client_id, external_id, referral_date, start_date,
                                   primary_clinician_id, status, end_date, end_reason, created_at, updated_at)
            SELECT episode_id, clinic_id, client_id, NULL, NULL, start_date, primary_id,
                   CASE WHEN last_seen < %(cutoff)s THEN 'finished' ELSE 'active' END,
                   CASE WHEN last_seen < %(cutoff)s THEN end_date END,
                   CASE WHEN last_seen < %(cutoff)s THEN 'other' ELSE '' END, %(now)s, %(now)s
            FROM backfill_clients""",
        """INSERT INTO {caseload} (therapyclient_id, user_id)
            SELECT client_id, primary_id FROM backfill_clients WHERE primary_id IS NOT NULL
            ON CONFLICT DO NOTHING""",
        """CREATE TEMPORARY TABLE backfill_sessions ON COMMIT DROP AS
            SELECT nextval(pg_get_serial_sequence('{session}', 'id')) AS session_id, numbered.*
            FROM (
                SELECT g.client_id, g.clinic_id, g.gnum, g.gday, g.start, c.episode_id,
                       ROW_NUMBER() OVER (PARTITION BY g.client_id ORDER BY g.start, g.first_id) AS number,
                       COALESCE(g.clinician, c.primary_id) AS clinician
                FROM (
                    SELECT client_id, clinic_id, gnum, gday, MIN(authored_at) AS start,
                           (ARRAY_AGG(id ORDER BY authored_at, id))[1] AS first_id,
                           mode() WITHIN GROUP (ORDER BY clinician_id) AS clinician
                    FROM backfill_rows GROUP BY client_id, clinic_id, gnum, gday
                ) AS g
                JOIN backfill_clients c ON c.client_id = g.client_id
            ) AS numbered""",
        "ANALYZE backfill_sessions",
        """INSERT INTO {session} (id, clinic_id, episode_id, external_id, scheduled_start, duration_minutes,
                                   attendance, number, created_at, updated_at)
            SELECT session_id, clinic_id, episode_id, NULL, start, 50, 'attended', number, %(now)s, %(now)s
            FROM backfill_sessions""",
        """INSERT INTO {room} (caresession_id, user_id)
            SELECT session_id, clinician FROM backfill_sessions WHERE clinician IS NOT NULL""",
        """UPDATE {response} AS r
            SET session_id = s.session_id, session_number = s.number,
                clinician_id = COALESCE(r.clinician_id, s.clinician)
            FROM backfill_rows b
            JOIN backfill_sessions s ON s.client_id = b.client_id AND s.gnum = b.gnum AND s.gday = b.gday
            WHERE r.id = b.id""",
    ]
    params = {"ids": list(clinic_of), "cutoff": now - inactive_after(), "now": now}
    with connection.cursor() as cursor:
        for sql in statements:
            cursor.execute(sql.format(**tables), params)
        cursor.execute(
            """SELECT (SELECT COUNT(*) FROM backfill_clients),
                      (SELECT COUNT(*) FROM backfill_clients WHERE last_seen < %(cutoff)s),
                      (SELECT COUNT(*) FROM backfill_sessions),
                      (SELECT COUNT(*) FROM backfill_rows),
                      (SELECT COUNT(*) FROM backfill_rows b JOIN backfill_sessions s ON s.client_id = b.client_id
                       AND s.gnum = b.gnum AND s.gday = b.gday WHERE b.clinician_id IS NULL AND s.clinician IS NOT NULL)
            """,
            params,
        )
        clients, finished, sessions, responses, credited = cursor.fetchone()
        cursor.execute("DROP TABLE backfill_rows, backfill_clients, backfill_sessions")
    report.clients += clients
    report.episodes_finished += finished
    report.sessions += sessions
    report.responses += responses
    report.credited += credited
