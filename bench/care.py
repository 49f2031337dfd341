"""Benchmark 6, the course of care: the due list's latency over a large history, and session batch ingest vs COPY.

Run: .venv/bin/python bench/care.py [--rows 10000000] [--reuse] [--seconds 10] [--calls 20] [--senders 2]
Due list: the history comes from bench/generate_data.py (100,000 clients, 200,000 episodes, 2
million sessions, every response linked to a session). gunicorn serves GET
/api/v1/clients/{id}/due/ for clients drawn in turn from 1,000 spread over the clinic, read with wrk
one request at a time; the limit is the same deployment's tiny authenticated GET, as in
bench/metrics.py. Target: p95 <= 20 ms.
Session batch: POST /api/v1/sessions/batch/ with 1,000 new sessions per call (each naming its
episode, its start, its attendance, the clinician in the room and the EHR's own id), Python senders
in separate processes, in a clinic of its own beside the large one; the limit is a psycopg COPY of
the same rows (sessions, numbered, and their clinicians in the room) into the same tables. Target:
ratio >= 0.25.
"""

from __future__ import annotations

import argparse
import http.client
import json
import multiprocessing
import random
import time
from datetime import UTC, datetime, timedelta

import generate_data
import harness
from loadgen import DONE_HOOK, get_script, run_wrk

TINY_PATH = "/api/v1/questionnaires/srs/"
DUE_CLIENTS = 1000
BATCH = 1000
CARE_CLINIC = "bench-care"
CARE_CLIENTS = 1000
SESSIONS_PER_EPISODE = 10
"""A backfill call brings 10 sessions of each of 100 episodes."""


def due_script(*, key: str, external_ids: list[str]) -> str:
    ids = ",".join(f'"{external_id}"' for external_id in external_ids)
    return f"""
wrk.method = "GET"
wrk.headers["Authorization"] = "Api-Key {key}"
local ids = {{{ids}}}
local counter = 0
request = function()
  counter = counter + 1
  return wrk.format(nil, "/api/v1/clients/" .. ids[(counter % #ids) + 1] .. "/due/")
end
""" + DONE_HOOK


def due_list(args) -> tuple[bool, list[str]]:
    """The due list over the generated history; returns (met, report lines)."""
    from django.db import connection

    from questionnaires.models import CareSession, Clinic, EpisodeOfCare, Response
    from questionnaires.services.provisioning import clinic_api_key_create, clinic_create

    clinic = Clinic.objects.filter(slug=generate_data.CLINIC).first() or clinic_create(
        slug=generate_data.CLINIC, name="Bench Metrics Clinic"
    )
    sessions = CareSession.objects.filter(clinic=clinic).count() if args.reuse else 0
    have = Response.objects.filter(clinic=clinic, session__isnull=False).count() if sessions else 0
    if have < args.rows or sessions < generate_data.SESSIONS_PER_CLIENT * args.clients:
        generate_data.clear(connection, clinic.id)
        _, seconds = generate_data.generate(rows=args.rows, care=True, clients=args.clients)
        print(f"generated {args.rows} responses with episodes and sessions in {seconds:.1f}s", flush=True)
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    else:
        print(f"reusing {have} generated responses linked to sessions")
    totals = {
        "responses": Response.objects.count(),
        "sessions": CareSession.objects.count(),
        "episodes": EpisodeOfCare.objects.count(),
    }
    print("in the database: " + ", ".join(f"{count} {name}" for name, count in totals.items()))
    _, key = clinic_api_key_create(clinic=clinic, name=f"bench-care-due-{int(time.time())}", actor="bench")
    rng = random.Random(13)
    external_ids = [
        f"bench-metrics-client-{number}" for number in rng.sample(range(args.clients), min(DUE_CLIENTS, args.clients))
    ]
    processes = harness.Processes()
    try:
        port = harness.free_port()
        processes.gunicorn(port=port)
        sample = _get(port, key, f"/api/v1/clients/{external_ids[0]}/due/")
        print(f"a due list: session {sample['session']}, {len(sample['due'])} due, {len(sample['missed'])} missed, "
              f"completion {sample['completion']}")
        run_wrk(name="care_due_warm", script=due_script(key=key, external_ids=external_ids), port=port, seconds=3,
                connections=2)
        runs = {}
        for connections in (1, 4):
            runs["tiny", connections] = run_wrk(
                name=f"care_tiny_c{connections}", script=get_script(key=key, path=TINY_PATH), port=port,
                seconds=args.seconds, connections=connections,
            )
            runs["due", connections] = run_wrk(
                name=f"care_due_c{connections}", script=due_script(key=key, external_ids=external_ids), port=port,
                seconds=args.seconds, connections=connections,
            )
    finally:
        processes.stop_all()
    figure, limit = runs["due", 1], runs["tiny", 1]
    lines = [f"load generator: wrk, keep-alive, {args.seconds}s per run, 1 and then 4 connections; "
             f"{len(external_ids)} clients in turn"]
    for connections in (1, 4):
        for name, path in (("tiny", TINY_PATH), ("due", "/api/v1/clients/{id}/due/")):
            run = runs[name, connections]
            role = "limit " if name == "tiny" else "figure"
            lines.append(f"{role} c={connections} GET {path}: p95 {run.p95_ms:.1f} ms, p50 {run.p50_ms:.1f} ms "
                         f"({run.rate:.0f} req/s, non-2xx {run.non_2xx})")
    for line in lines:
        print(line)
    met = figure.p95_ms <= 20 and not any(run.non_2xx or run.socket_errors for run in runs.values())
    harness.result(
        "care_due", figure=figure.p95_ms, unit="ms_p95", limit=limit.p95_ms,
        target=f"p95<=20ms@{totals['responses']}responses,{totals['sessions']}sessions", met=met,
    )
    return met, lines


def _get(port: int, key: str, path: str) -> dict:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    connection.request("GET", path, headers={"Authorization": f"Api-Key {key}"})
    answer = connection.getresponse()
    body = answer.read()
    if answer.status != 200:
        raise RuntimeError(f"GET {path}: {answer.status} {body[:300]!r}")
    return json.loads(body)


def provision_care() -> tuple[str, int, list[int], list[str]]:
    """The batch's clinic: clinicians, clients with one active episode each; returns (key, clinic id, episodes,
    clinician usernames). Sessions left by an earlier run are removed (and vacuumed away)."""
    from django.contrib.auth import get_user_model
    from django.db import connection

    from questionnaires.models import Clinic, EpisodeOfCare, StaffMembership, TherapyClient
    from questionnaires.services.provisioning import clinic_api_key_create, clinic_create

    clinic = Clinic.objects.filter(slug=CARE_CLINIC).first() or clinic_create(slug=CARE_CLINIC, name="Bench Care")
    with connection.cursor() as cursor:
        cursor.execute(
            "DELETE FROM questionnaires_caresession_clinicians WHERE caresession_id IN "
            "(SELECT id FROM questionnaires_caresession WHERE clinic_id = %s)", [clinic.id]
        )
        cursor.execute("DELETE FROM questionnaires_caresession WHERE clinic_id = %s", [clinic.id])
        # Each run deletes the last run's 40,000 sessions: without a vacuum their dead index entries pile up
        # run after run (autovacuum may be busy with the 10-million-row tables) and the endpoint's look-ups
        # by external_id and episode wade through them, which a live clinic's table would not.
        cursor.execute("VACUUM ANALYZE questionnaires_caresession, questionnaires_caresession_clinicians")
    users = get_user_model()
    names = [f"bench-care-clinician-{number}" for number in range(10)]
    existing = set(users.objects.filter(username__in=names).values_list("username", flat=True))
    created = users.objects.bulk_create([users(username=name) for name in names if name not in existing])
    StaffMembership.objects.bulk_create([StaffMembership(user=user, clinic=clinic) for user in created])
    clinicians = dict(users.objects.filter(username__in=names).values_list("username", "id"))
    wanted = [f"bench-care-client-{number}" for number in range(CARE_CLIENTS)]
    known = set(TherapyClient.objects.filter(clinic=clinic).values_list("external_id", flat=True))
    TherapyClient.objects.bulk_create(
        [TherapyClient(clinic=clinic, external_id=external_id) for external_id in wanted if external_id not in known]
    )
    clients = list(TherapyClient.objects.filter(clinic=clinic).order_by("id"))
    with_episode = set(EpisodeOfCare.objects.filter(clinic=clinic).values_list("client_id", flat=True))
    start = (datetime.now(UTC) - timedelta(days=400)).date()
    EpisodeOfCare.objects.bulk_create([
        EpisodeOfCare(clinic=clinic, client=client, start_date=start, primary_clinician_id=clinicians[names[0]])
        for client in clients if client.pk not in with_episode
    ])
    episodes = list(EpisodeOfCare.objects.filter(clinic=clinic).order_by("id").values_list("id", flat=True))
    _, key = clinic_api_key_create(clinic=clinic, name=f"bench-care-{int(time.time())}", actor="bench")
    return key, clinic.id, episodes, names


def batch_entries(*, call: int, episodes: list[int], usernames: list[str], tag: str) -> list[dict]:
    """1,000 new sessions: 10 weekly ones (the last two not attended) of each of 100 episodes."""
    first = datetime.now(UTC) - timedelta(days=300)
    per_call = BATCH // SESSIONS_PER_EPISODE
    entries = []
    for offset in range(per_call):
        episode = episodes[(call * per_call + offset) % len(episodes)]
        for week in range(SESSIONS_PER_EPISODE):
            entries.append({
                "external_id": f"{tag}-{call}-{offset}-{week}",
                "episode": episode,
                "scheduled_start": (first + timedelta(weeks=week, minutes=call)).isoformat(),
                "attendance": "attended" if week < SESSIONS_PER_EPISODE - 2 else "did_not_attend",
                "clinicians": [usernames[episode % len(usernames)]],
                "duration_minutes": 50,
            })
    return entries


def session_sender(port: int, key: str, bodies: list[bytes], results) -> None:
    """One keep-alive connection posting its batches; reports (created, seconds per call, failed calls)."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=300)
    headers = {"Authorization": f"Api-Key {key}", "Content-Type": "application/json"}
    created, durations, errors = 0, [], 0
    for body in bodies:
        started = time.perf_counter()
        connection.request("POST", "/api/v1/sessions/batch/", body=body, headers=headers)
        answer = connection.getresponse()
        payload = answer.read()
        durations.append(time.perf_counter() - started)
        if answer.status == 200:
            created += json.loads(payload)["created"]
        else:
            errors += 1
    results.put((created, durations, errors))


def session_batch(args) -> tuple[bool, list[str]]:
    """Session batch ingest through the endpoint vs COPY of the same rows; returns (met, report lines)."""
    from django.db import connection as django_connection

    key, clinic_id, episodes, usernames = provision_care()
    tag = f"b{int(time.time())}"
    per_sender = max(1, args.calls // args.senders)
    calls = per_sender * args.senders
    entries = [batch_entries(call=call, episodes=episodes, usernames=usernames, tag=tag) for call in range(calls + 1)]
    bodies = [json.dumps({"sessions": batch}).encode() for batch in entries]
    processes = harness.Processes()
    context = multiprocessing.get_context("spawn")
    try:
        port = harness.free_port()
        processes.gunicorn(port=port)
        warm = context.Queue()
        session_sender(port, key, bodies[-1:], warm)  # the last call's episodes warm up; it is not counted
        warm.get()
        results = context.Queue()
        started = time.perf_counter()
        senders = [
            context.Process(target=session_sender,
                            args=(port, key, bodies[number * per_sender:(number + 1) * per_sender], results))
            for number in range(args.senders)
        ]
        for process in senders:
            process.start()
        outcomes = [results.get(timeout=1800) for _ in senders]
        elapsed = time.perf_counter() - started
        for process in senders:
            process.join(timeout=10)
    finally:
        processes.stop_all()
    created = sum(outcome[0] for outcome in outcomes)
    errors = sum(outcome[2] for outcome in outcomes)
    durations = [duration for outcome in outcomes for duration in outcome[1]]
    figure = created / elapsed

    clinician_ids = dict(_clinician_ids(usernames))
    session_rows, link_rows = [], []
    now = datetime.now(UTC)
    for batch in entries[:calls]:
        numbers: dict[int, int] = {}
        for entry in batch:
            attended = entry["attendance"] == "attended"
            if attended:
                numbers[entry["episode"]] = numbers.get(entry["episode"], 0) + 1
            session_rows.append((
                clinic_id, entry["episode"], "c" + entry["external_id"], entry["scheduled_start"],
                entry["duration_minutes"], entry["attendance"], numbers[entry["episode"]] if attended else None,
                now, now,
            ))
            link_rows.append(clinician_ids[entry["clinicians"][0]])
    django_connection.ensure_connection()
    raw = django_connection.connection
    copy_started = time.perf_counter()
    with raw.transaction(), raw.cursor() as cursor:
        with cursor.copy("COPY questionnaires_caresession (clinic_id, episode_id, external_id, scheduled_start, "
                         "duration_minutes, attendance, number, created_at, updated_at) FROM STDIN") as copy:
            for row in session_rows:
                copy.write_row(row)
        cursor.execute("SELECT id FROM questionnaires_caresession WHERE clinic_id = %s AND external_id LIKE %s "
                       "ORDER BY id", [clinic_id, f"c{tag}-%"])
        ids = [row[0] for row in cursor.fetchall()]
        with cursor.copy("COPY questionnaires_caresession_clinicians (caresession_id, user_id) FROM STDIN") as copy:
            for session_id, user_id in zip(ids, link_rows, strict=True):
                copy.write_row((session_id, user_id))
    limit = len(session_rows) / (time.perf_counter() - copy_started)
    lines = [
        f"load generator: Python http.client keep-alive, {args.senders} sender processes, {calls} calls of {BATCH}",
        f"figure session batch endpoint: {created} sessions in {elapsed:.2f}s = {figure:.0f} sessions/s; per call "
        f"p50 {harness.percentile(durations, 0.5) * 1000:.0f} ms, p95 {harness.percentile(durations, 0.95) * 1000:.0f}"
        f" ms; failed calls {errors}",
        f"limit  COPY of the same {len(session_rows)} sessions (+ their clinicians in the room, ids read back) into "
        f"the same tables: {limit:.0f} sessions/s",
    ]
    for line in lines:
        print(line)
    ratio = figure / limit if limit else 0.0
    met = ratio >= 0.25 and not errors and created == calls * BATCH
    harness.result("care_session_batch", figure=figure, unit="sessions/s", limit=limit, target="ratio>=0.25", met=met)
    return met, lines


def _clinician_ids(usernames: list[str]):
    from django.contrib.auth import get_user_model

    return get_user_model().objects.filter(username__in=usernames).values_list("username", "id")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--clients", type=int, default=generate_data.CLIENTS)
    parser.add_argument("--reuse", action="store_true", help="keep the generated history if it is there")
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--calls", type=int, default=20, help="session batch calls in total")
    parser.add_argument("--senders", type=int, default=2, help="concurrent session batch senders")
    parser.add_argument("--only", choices=("due", "batch"), help="run one of the two parts")
    args = parser.parse_args()
    harness.setup_django()
    print(harness.machine())
    if args.only != "batch":
        due_list(args)
    if args.only != "due":
        session_batch(args)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
