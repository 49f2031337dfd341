"""Cost of the course-of-care backfill (migration 0020, `manage.py backfill_course_of_care`) on generated history.

Run: .venv/bin/python bench/care_backfill.py --rows 200000
COPYs N scored responses with no episodes (generate_data's clinic: 10,000 clients over two years),
gives half the clients app session numbers and leaves every third response unattributed, then
times the backfill (grouping, episodes, sessions, response links) and the rollup rebuild apart.
The rebuild is a full recompute of every clinic in the database, as the migration runs it.
"""

from __future__ import annotations

import argparse
import time

import harness
from generate_data import clear, generate


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--batch-clients", type=int, default=1000)
    args = parser.parse_args()
    harness.setup_django()
    from django.db import connection
    from generate_data import CLINIC

    from questionnaires.models import CareSession, Clinic, EpisodeOfCare
    from questionnaires.services.care_backfill import care_backfill
    from questionnaires.services.metrics import metrics_recompute
    from questionnaires.services.provisioning import clinic_create

    clinic = Clinic.objects.filter(slug=CLINIC).first() or clinic_create(slug=CLINIC, name="Bench Metrics Clinic")
    with connection.cursor() as cursor:
        cursor.execute("UPDATE questionnaires_response SET session_id = NULL WHERE clinic_id = %s", [clinic.id])
    CareSession.objects.filter(clinic=clinic).delete()
    EpisodeOfCare.objects.filter(clinic=clinic).delete()
    clear(connection, clinic.id)
    _, seconds = generate(rows=args.rows, clients=10_000)
    with connection.cursor() as cursor:
        # Half the clients' apps sent session numbers (their n-th response is session n); every third is unattributed.
        cursor.execute(
            "UPDATE questionnaires_response AS r SET session_number = numbered.n FROM ("
            " SELECT id, row_number() OVER (PARTITION BY client_id ORDER BY authored_at) AS n"
            " FROM questionnaires_response WHERE clinic_id = %s AND client_id %% 2 = 0) AS numbered"
            " WHERE r.id = numbered.id",
            [clinic.id],
        )
        cursor.execute(
            "UPDATE questionnaires_response SET clinician_id = NULL"
            " WHERE clinic_id = %s AND get_byte(uuid_send(id), 0) %% 3 = 0",
            [clinic.id],
        )
        cursor.execute("ANALYZE questionnaires_response")
    print(f"generated {args.rows} responses in {seconds:.1f}s")
    started = time.perf_counter()
    report = care_backfill(batch_clients=args.batch_clients, rebuild_rollups=False)
    backfill = time.perf_counter() - started
    started = time.perf_counter()
    cells = metrics_recompute()
    rebuild = time.perf_counter() - started
    total = backfill + rebuild
    print(f"backfill: {report.clients} episodes, {report.sessions} sessions, {report.responses} responses "
          f"({report.credited} newly credited) in {backfill:.1f}s = {report.responses / backfill:.0f} responses/s")
    print(f"rollup rebuild: {cells} cells in {rebuild:.1f}s")
    print(f"RESULT care_backfill figure={report.responses / total:.0f} responses/s limit=- ratio=- "
          f"target=measured met")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
