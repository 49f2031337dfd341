"""`manage.py backfill_course_of_care`: episodes and sessions for data from before the course of care."""

from django.core.management.base import BaseCommand

from questionnaires.services.care_backfill import BATCH_CLIENTS, care_backfill


class Command(BaseCommand):
    help = (
        "Give every client with responses and no episode one episode, group its responses into attended "
        "sessions (by session number, else by day in the clinic's time zone), credit unattributed responses "
        "to their session's clinician, then rebuild the metric rollups. Idempotent and resumable; migration "
        "0020 runs the same service."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--batch-clients", type=int, default=BATCH_CLIENTS, help="clients per transaction")
        parser.add_argument("--no-rollups", action="store_true", help="skip the rollup rebuild (run it later)")

    def handle(self, *args, **options) -> None:
        def progress(report) -> None:
            if options["verbosity"] > 1:
                self.stdout.write(f"batch {report.batches}: {report.clients} clients, {report.responses} responses")

        report = care_backfill(
            batch_clients=max(1, options["batch_clients"]), rebuild_rollups=not options["no_rollups"],
            progress=progress,
        )
        self.stdout.write(
            f"{report.clients} episodes ({report.episodes_finished} finished), {report.sessions} sessions, "
            f"{report.responses} responses linked, {report.credited} newly credited"
            + (f", {report.rollup_cells} rollup cells rebuilt" if report.rollup_cells is not None else "")
        )
