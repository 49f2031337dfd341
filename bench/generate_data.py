"""COPY-based generator of a clinic's history for the metrics and care benchmarks: episodes, sessions, responses.

Run: .venv/bin/python bench/generate_data.py --rows 10000000
Rows are written as COPY text in large chunks (no per-row ORM or parameter binding); they belong
to one clinic ("bench-metrics") with 50 clinicians and 100,000 clients over two years. Each client
has two episodes of care: a finished one of 10 attended sessions and an active one of 9 attended
sessions and one booked a few days ahead, with the client's clinician in the room: 200,000
episodes and 2 million sessions. Every response belongs to one of its client's attended sessions
and carries that session's number (`--no-care` leaves out episodes and sessions, as the generator
did before). Every 20th response also has an alert. Scores are flagged as already in the rollups,
as the aggregation workers leave them. Existing rows of that clinic are removed first.
"""

from __future__ import annotations

import argparse
import io
import json
import math
import time
import uuid
from datetime import UTC, datetime, timedelta

import harness
from copyrows import RESPONSE_COLUMNS, SCORE_COLUMNS

CLINIC = "bench-metrics"
CLINICIANS = 50
CLIENTS = 100_000
ATTENDED = (10, 9)
"""Attended sessions of a client's first (finished) and second (active) episode; the active one also has one booked."""
SESSIONS_PER_CLIENT = sum(ATTENDED) + 1
CARE_CHUNK = 5_000
"""Clients whose episodes and sessions go in one COPY round."""
SPAN_DAYS = 730
CHUNK = 50_000
ALERT_EVERY = 20
ALERT_COLUMNS = ("clinic_id", "client_id", "response_id", "questionnaire_id", "kind", "priority", "message",
                 "details", "raised_at", "acknowledged_by", "resolved_by", "reason", "session_key")


def provision_people(clients: int = CLIENTS) -> tuple[int, list[int], list[int], int, str]:
    """The clinic, its clinicians and clients; returns (clinic id, clinician ids, client ids, version id, version)."""
    from django.contrib.auth import get_user_model

    from questionnaires.models import Clinic, StaffMembership, TherapyClient
    from questionnaires.registry import get_registry
    from questionnaires.services.provisioning import clinic_create

    clinic = Clinic.objects.filter(slug=CLINIC).first() or clinic_create(slug=CLINIC, name="Bench Metrics Clinic")
    users = get_user_model()
    names = [f"bench-metrics-clinician-{number}" for number in range(CLINICIANS)]
    existing = set(users.objects.filter(username__in=names).values_list("username", flat=True))
    created = users.objects.bulk_create([users(username=name) for name in names if name not in existing])
    StaffMembership.objects.bulk_create([StaffMembership(user=user, clinic=clinic) for user in created])
    clinician_ids = list(users.objects.filter(username__in=names).order_by("id").values_list("id", flat=True))
    external = [f"bench-metrics-client-{number}" for number in range(clients)]
    known = set(TherapyClient.objects.filter(clinic=clinic).values_list("external_id", flat=True))
    TherapyClient.objects.bulk_create(
        [TherapyClient(clinic=clinic, external_id=external_id) for external_id in external if external_id not in known]
    )
    client_ids = list(TherapyClient.objects.filter(clinic=clinic).order_by("id").values_list("id", flat=True)[:clients])
    definition = get_registry().get("wai-sr")
    version = get_registry().version_row(definition)
    return clinic.id, clinician_ids, client_ids, version.pk, definition.version


def answer_patterns() -> list[tuple[str, str, str, str, str]]:
    """Five WAI-SR answer sets with their real scores: (answers, total, subscales, band, flags) as COPY text."""
    from questionnaires.registry import get_registry
    from questionnaires.scoring import score_answers
    from questionnaires.services.scoring import _number

    definition = get_registry().get("wai-sr")
    patterns = []
    for shift in range(5):
        answers = {str(item): (item + shift) % 5 + 1 for item in range(1, 13)}
        score = score_answers(definition, answers)
        subscales = {name: _number(value) for name, value in score.subscales.items()}
        patterns.append((
            json.dumps(answers), str(score.total), json.dumps(subscales), score.band or "\\N",
            json.dumps(list(score.flags)),
        ))
    return patterns


def clear(connection, clinic_id: int) -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            "DELETE FROM questionnaires_score WHERE response_id IN "
            "(SELECT id FROM questionnaires_response WHERE clinic_id = %s)", [clinic_id]
        )
        cursor.execute("DELETE FROM questionnaires_alert WHERE clinic_id = %s", [clinic_id])
        cursor.execute("DELETE FROM questionnaires_response WHERE clinic_id = %s", [clinic_id])
        cursor.execute("DELETE FROM questionnaires_metricrollup WHERE clinic_id = %s", [clinic_id])
        cursor.execute(
            "DELETE FROM questionnaires_caresession_clinicians WHERE caresession_id IN "
            "(SELECT id FROM questionnaires_caresession WHERE clinic_id = %s)", [clinic_id]
        )
        cursor.execute("DELETE FROM questionnaires_caresession WHERE clinic_id = %s", [clinic_id])
        cursor.execute(
            "DELETE FROM questionnaires_episodeofcare_clinicians WHERE episodeofcare_id IN "
            "(SELECT id FROM questionnaires_episodeofcare WHERE clinic_id = %s)", [clinic_id]
        )
        cursor.execute("DELETE FROM questionnaires_measurementplan WHERE clinic_id = %s", [clinic_id])
        cursor.execute("DELETE FROM questionnaires_episodeofcare WHERE clinic_id = %s", [clinic_id])


class Care:
    """The generated course of care: which session (id, number) a response of client `c` belongs to.

    Client index c has episode ids `episode_base + 2c` (finished) and `+ 2c + 1` (active), and
    session ids `session_base + SESSIONS_PER_CLIENT * c + j`: j < 10 in the first episode,
    numbered j + 1; 10 <= j < 19 in the second, numbered j - 9; j = 19 the booked one.
    Response k of a client (k-th in time, of `per_client`) belongs to attended session k * 19 // per_client,
    which is scheduled 10 minutes before that session's first response.
    """

    def __init__(self, *, episode_base: int, session_base: int, per_client: int) -> None:
        self.episode_base, self.session_base, self.per_client = episode_base, session_base, per_client
        self.attended = sum(ATTENDED)

    def slot(self, client: int, k: int) -> int:
        return min(self.attended - 1, k * self.attended // self.per_client)

    def session(self, client: int, k: int) -> tuple[int, int]:
        j = self.slot(client, k)
        return self.session_base + SESSIONS_PER_CLIENT * client + j, j + 1 if j < ATTENDED[0] else j - ATTENDED[0] + 1

    def first_response(self, j: int) -> int:
        return math.ceil(j * self.per_client / self.attended)


def _reserve_ids(cursor, table: str, count: int) -> int:
    """The first of `count` consecutive ids taken from `table`'s identity sequence (the bench database is ours)."""
    cursor.execute(f"SELECT pg_get_serial_sequence('{table}', 'id')")
    sequence = cursor.fetchone()[0]
    cursor.execute(f"SELECT GREATEST((SELECT COALESCE(MAX(id), 0) FROM {table}), "
                   f"(SELECT last_value FROM {sequence})) + 1")
    first = cursor.fetchone()[0]
    cursor.execute("SELECT setval(%s, %s)", [sequence, first + count])
    return first


def generate_care(
    raw, *, clinic_id: int, clinician_ids: list[int], client_ids: list[int], rows: int, start: datetime, step: float,
) -> Care:
    """COPY two episodes and 20 sessions per client (with the client's clinician in the room); see `Care`."""
    clients = len(client_ids)
    per_client = max(1, math.ceil(rows / clients))
    now = datetime.now(UTC)
    stamp = now.isoformat()
    with raw.cursor() as cursor:
        episode_base = _reserve_ids(cursor, "questionnaires_episodeofcare", 2 * clients)
        session_base = _reserve_ids(cursor, "questionnaires_caresession", SESSIONS_PER_CLIENT * clients)
        link_base = _reserve_ids(cursor, "questionnaires_caresession_clinicians", SESSIONS_PER_CLIENT * clients)
        raw.commit()
    care = Care(episode_base=episode_base, session_base=session_base, per_client=per_client)
    episode_sql = ("COPY questionnaires_episodeofcare (id, clinic_id, client_id, external_id, referral_date, "
                   "start_date, primary_clinician_id, status, end_date, end_reason, created_at, updated_at) FROM STDIN")
    session_sql = ("COPY questionnaires_caresession (id, clinic_id, episode_id, external_id, scheduled_start, "
                   "duration_minutes, attendance, number, created_at, updated_at) FROM STDIN")
    link_sql = "COPY questionnaires_caresession_clinicians (id, caresession_id, user_id) FROM STDIN"
    offsets = [care.first_response(j) for j in range(care.attended)]
    with raw.cursor() as cursor:
        for chunk_start in range(0, clients, CARE_CHUNK):
            episodes, sessions, links = io.StringIO(), io.StringIO(), io.StringIO()
            for c in range(chunk_start, min(clients, chunk_start + CARE_CHUNK)):
                clinician = clinician_ids[c % len(clinician_ids)]
                starts = [start + timedelta(seconds=step * (c + k * clients) - 600) for k in offsets]
                starts.append(now + timedelta(days=c % 7 + 1, hours=9))
                first, second = episode_base + 2 * c, episode_base + 2 * c + 1
                episodes.write(
                    f"{first}\t{clinic_id}\t{client_ids[c]}\tbench-e-{c}-1\t\\N\t{starts[0].date()}\t{clinician}\t"
                    f"finished\t{starts[ATTENDED[0] - 1].date()}\tcompleted\t{stamp}\t{stamp}\n"
                    f"{second}\t{clinic_id}\t{client_ids[c]}\tbench-e-{c}-2\t\\N\t{starts[ATTENDED[0]].date()}\t"
                    f"{clinician}\tactive\t\\N\t\t{stamp}\t{stamp}\n"
                )
                for j, scheduled in enumerate(starts):
                    session_id = session_base + SESSIONS_PER_CLIENT * c + j
                    episode = first if j < ATTENDED[0] else second
                    attendance, number = (
                        ("attended", j + 1 if j < ATTENDED[0] else j - ATTENDED[0] + 1) if j < care.attended
                        else ("booked", "\\N")
                    )
                    sessions.write(f"{session_id}\t{clinic_id}\t{episode}\tbench-s-{c}-{j}\t{scheduled.isoformat()}\t"
                                   f"50\t{attendance}\t{number}\t{stamp}\t{stamp}\n")
                    links.write(f"{link_base + SESSIONS_PER_CLIENT * c + j}\t{session_id}\t{clinician}\n")
            for sql, buffer in ((episode_sql, episodes), (session_sql, sessions), (link_sql, links)):
                with cursor.copy(sql) as copy:
                    copy.write(buffer.getvalue())
            raw.commit()
    return care


def generate(
    *, rows: int, start: datetime | None = None, span_days: int = SPAN_DAYS, in_rollups: bool = True,
    care: bool = False, clients: int = CLIENTS,
) -> tuple[list[str], float]:
    """COPY `rows` scored responses (and their scores); returns (the first 1,000 ids, seconds).

    `in_rollups=False` leaves the scores for an aggregation task to add, as fresh scores are.
    `care`: first COPY the clients' episodes and sessions (`generate_care`) and link every response
    to one of its client's sessions.
    """
    from django.db import connection

    clinic_id, clinician_ids, client_ids, version_id, version = provision_people(clients)
    patterns = answer_patterns()
    connection.ensure_connection()
    raw = connection.connection
    start = start or datetime.now(UTC) - timedelta(days=span_days)
    step = timedelta(days=span_days).total_seconds() / max(rows, 1)
    received = datetime.now(UTC).isoformat()
    flagged = "t" if in_rollups else "f"
    sample: list[str] = []
    started = time.perf_counter()
    linked = generate_care(
        raw, clinic_id=clinic_id, clinician_ids=clinician_ids, client_ids=client_ids, rows=rows, start=start,
        step=step,
    ) if care else None
    if linked is not None:
        print(f"episodes and sessions generated in {time.perf_counter() - started:.1f}s", flush=True)
    columns = tuple(column for column in RESPONSE_COLUMNS if column != "session_number")
    response_sql = f"COPY questionnaires_response ({', '.join(columns)}, session_id, session_number) FROM STDIN"
    score_sql = f"COPY questionnaires_score ({', '.join(SCORE_COLUMNS)}, in_rollups) FROM STDIN"
    alert_sql = f"COPY questionnaires_alert ({', '.join(ALERT_COLUMNS)}) FROM STDIN"
    with raw.cursor() as cursor:
        for chunk_start in range(0, rows, CHUNK):
            responses, scores, alerts = io.StringIO(), io.StringIO(), io.StringIO()
            for number in range(chunk_start, min(rows, chunk_start + CHUNK)):
                response_id = str(uuid.uuid4())
                if len(sample) < 1000:
                    sample.append(response_id)
                answers, total, subscales, band, flags = patterns[number % len(patterns)]
                authored = (start + timedelta(seconds=step * number)).isoformat()
                client = number % len(client_ids)
                client_id = client_ids[client]
                session_id, session_number = (
                    linked.session(client, number // len(client_ids)) if linked is not None else ("\\N", "\\N")
                )
                responses.write(
                    f"{response_id}\t{clinic_id}\t{client_id}\t"
                    f"{clinician_ids[client % len(clinician_ids)]}\t{version_id}\tclient\t{authored}\t{received}\t"
                    f"{answers}\t\tbatch\tbench\tscored\t\t\\N\t\t\t{session_id}\t{session_number}\n"
                )
                scores.write(f"{response_id}\t{version}\t{total}\t{subscales}\t{{}}\t{band}\t{flags}\t{received}\t{flagged}\n")
                if number % ALERT_EVERY == 0:
                    # The session an alert belongs to (`models.alert_session_key`): its number, else the day.
                    session_key = session_number if session_number != "\\N" else authored[:10]
                    alerts.write(f"{clinic_id}\t{client_id}\t{response_id}\twai-sr\tlow_alliance\tnormal\t"
                                 f"generated\t{{}}\t{received}\t\t\t\t{session_key}\n")
            with cursor.copy(response_sql) as copy:
                copy.write(responses.getvalue())
            with cursor.copy(score_sql) as copy:
                copy.write(scores.getvalue())
            with cursor.copy(alert_sql) as copy:
                copy.write(alerts.getvalue())
            raw.commit()
    return sample, time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--clients", type=int, default=CLIENTS)
    parser.add_argument("--no-care", action="store_true", help="responses only: no episodes or sessions")
    args = parser.parse_args()
    harness.setup_django()
    from django.db import connection

    from questionnaires.models import Clinic
    from questionnaires.services.provisioning import clinic_create

    clinic = Clinic.objects.filter(slug=CLINIC).first() or clinic_create(slug=CLINIC, name="Bench Metrics Clinic")
    cleared = time.perf_counter()
    clear(connection, clinic.id)
    print(f"cleared the previous data in {time.perf_counter() - cleared:.1f}s")
    _, seconds = generate(rows=args.rows, care=not args.no_care, clients=args.clients)
    care = "" if args.no_care else f" + {2 * args.clients} episodes + {SESSIONS_PER_CLIENT * args.clients} sessions"
    print(f"generated {args.rows} responses + {args.rows} scores{care} in {seconds:.1f}s "
          f"({args.rows / seconds:.0f} responses+scores/s)")
    analysed = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    print(f"analysed in {time.perf_counter() - analysed:.1f}s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
