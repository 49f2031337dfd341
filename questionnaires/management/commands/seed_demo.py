"""`manage.py seed_demo`: the demo clinic, its people and an admin login, safe to run again."""

from __future__ import annotations

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from questionnaires.services import demo
from questionnaires.services.practice_demo import practice_demo_seed


class Command(BaseCommand):
    help = (
        f"Create the demo clinic {demo.DEMO_CLINIC_SLUG!r} ({demo.DEMO_CLINIC_NAME}): clinicians "
        f"{', '.join(demo.DEMO_CLINICIANS)} and supervisor {demo.DEMO_SUPERVISOR} (password "
        f"{demo.DEMO_STAFF_PASSWORD!r}), {demo.DEMO_CLIENT_COUNT} therapy clients DEMO-001.. on their caseloads, "
        f"and the Django admin superuser {demo.DEMO_ADMIN_USERNAME!r} with password {demo.DEMO_ADMIN_PASSWORD!r}. "
        "Running it again changes nothing. Refuses to run on a production-configured service unless "
        "--even-in-production is given, since it creates well-known passwords."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--even-in-production",
            action="store_true",
            help="Seed although the settings look like production (SECRET_KEY set, DEBUG off).",
        )

    def handle(self, *args, even_in_production: bool, **options) -> None:
        if getattr(settings, "SECURE", False) and not even_in_production:
            raise CommandError(
                "refusing to create demo users with well-known passwords on a production configuration "
                "(pass --even-in-production to do it anyway)"
            )
        people = demo.demo_people_seed()
        data = demo.demo_data_seed(people)
        practice = practice_demo_seed(clients=people.clients)  # goals, comments, background values
        if practice.created:
            people.created.append(
                f"{practice.goals} shared goals with {practice.ratings} GBO ratings, {practice.comments} client "
                f"comments, {practice.backgrounds} consented background values"
            )
        if data.created:
            people.created.append(
                f"{data.responses} demo responses ({data.scored} scored, {data.alerts} alerts raised) over "
                f"{demo.DEMO_WEEKS} weeks"
            )

        for line in people.created:
            self.stdout.write(f"created {line}")
        for line in people.warnings:
            self.stderr.write(f"warning: {line}")
        if not people.created:
            self.stdout.write("The demo data is already there; nothing changed.")
        self.stdout.write("")
        self.stdout.write(f"Demo clinic: {people.clinic.slug} ({people.clinic.name}), {len(people.clients)} clients")
        self.stdout.write(f"Admin login (/admin/): {demo.DEMO_ADMIN_USERNAME} / {demo.DEMO_ADMIN_PASSWORD}")
        self.stdout.write("Clinic dashboard: /admin/dashboard/; charts per client on their admin page")
        self.stdout.write("Client form page: open a client in the admin and choose 'Form link for the client'")
        staff = ", ".join([*demo.DEMO_CLINICIANS, f"{demo.DEMO_SUPERVISOR} (supervisor)"])
        self.stdout.write(f"API staff logins: {staff}, password {demo.DEMO_STAFF_PASSWORD}")
