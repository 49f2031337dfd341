"""COPY-based generator of scored responses for the metrics benchmark: N responses and their scores in PostgreSQL.

Run: .venv/bin/python bench/generate_data.py --rows 10000000
Rows are written as COPY text in large chunks (no per-row ORM or parameter binding); they belong
to one clinic ("bench-metrics") with 50 clinicians and 10,000 clients over two years of sessions.
Every 20th response also has an alert. Scores are flagged as already in the rollups, as the
aggregation workers leave them. Existing rows of that clinic are removed first.
"""

from __future__ import annotations

import argparse
import io
import json
import time
import uuid
from datetime import UTC, datetime, timedelta

import harness
from copyrows import RESPONSE_COLUMNS, SCORE_COLUMNS

CLINIC = "bench-metrics"
CLINICIANS = 50
CLIENTS = 10_000
SPAN_DAYS = 730
CHUNK = 50_000
ALERT_EVERY = 20
ALERT_COLUMNS = ("clinic_id", "client_id", "response_id", "questionnaire_id", "kind", "priority", "message",
                 "details", "raised_at", "acknowledged_by", "resolved_by", "reason")


def provision_people() -> tuple[int, list[int], list[int], int, str]:
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
    external = [f"bench-metrics-client-{number}" for number in range(CLIENTS)]
    known = set(TherapyClient.objects.filter(clinic=clinic).values_list("external_id", flat=True))
    TherapyClient.objects.bulk_create(
        [TherapyClient(clinic=clinic, external_id=external_id) for external_id in external if external_id not in known]
    )
    client_ids = list(TherapyClient.objects.filter(clinic=clinic).order_by("id").values_list("id", flat=True))
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


def generate(
    *, rows: int, start: datetime | None = None, span_days: int = SPAN_DAYS, in_rollups: bool = True
) -> tuple[list[str], float]:
    """COPY `rows` scored responses (and their scores); returns (the first 1,000 ids, seconds).

    `in_rollups=False` leaves the scores for an aggregation task to add, as fresh scores are.
    """
    from django.db import connection

    clinic_id, clinician_ids, client_ids, version_id, version = provision_people()
    patterns = answer_patterns()
    connection.ensure_connection()
    raw = connection.connection
    start = start or datetime.now(UTC) - timedelta(days=span_days)
    step = timedelta(days=span_days).total_seconds() / max(rows, 1)
    received = datetime.now(UTC).isoformat()
    flagged = "t" if in_rollups else "f"
    sample: list[str] = []
    started = time.perf_counter()
    # idempotency_scope has no database default (a model default only), so COPY names it.
    response_sql = f"COPY questionnaires_response ({', '.join(RESPONSE_COLUMNS)}, idempotency_scope) FROM STDIN"
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
                client_id = client_ids[number % len(client_ids)]
                responses.write(
                    f"{response_id}\t{clinic_id}\t{client_id}\t"
                    f"{clinician_ids[number % len(clinician_ids)]}\t{version_id}\t\\N\tclient\t{authored}\t{received}\t"
                    f"{answers}\t\tbatch\tbench\tscored\t\t\\N\t\t\n"
                )
                scores.write(f"{response_id}\t{version}\t{total}\t{subscales}\t{{}}\t{band}\t{flags}\t{received}\t{flagged}\n")
                if number % ALERT_EVERY == 0:
                    alerts.write(f"{clinic_id}\t{client_id}\t{response_id}\twai-sr\tlow_alliance\tnormal\t"
                                 f"generated\t{{}}\t{received}\t\t\t\n")
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
    args = parser.parse_args()
    harness.setup_django()
    from django.db import connection

    from questionnaires.models import Clinic
    from questionnaires.services.provisioning import clinic_create

    clinic = Clinic.objects.filter(slug=CLINIC).first() or clinic_create(slug=CLINIC, name="Bench Metrics Clinic")
    cleared = time.perf_counter()
    clear(connection, clinic.id)
    print(f"cleared the previous data in {time.perf_counter() - cleared:.1f}s")
    _, seconds = generate(rows=args.rows)
    print(f"generated {args.rows} responses + {args.rows} scores in {seconds:.1f}s "
          f"({args.rows / seconds:.0f} responses+scores/s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
