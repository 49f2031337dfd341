"""`manage.py create_clinician <clinic-slug> <username> --password <pw> [--supervisor]`: add a staff user."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from questionnaires.services.provisioning import ProvisioningError, clinic_get, clinician_create, command_actor


class Command(BaseCommand):
    help = (
        "Create a clinician (or, with --supervisor, a supervisor who sees the whole clinic) who logs in to the API "
        "with POST /api/v1/auth/token/. An existing username is an error."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("clinic_slug", help="Slug of an existing clinic.")
        parser.add_argument("username")
        parser.add_argument("--password", required=True, help="Checked against the configured password validators.")
        parser.add_argument("--supervisor", action="store_true", help="Sees every client of the clinic.")

    def handle(self, *args, clinic_slug: str, username: str, password: str, supervisor: bool, **options) -> None:
        try:
            clinic = clinic_get(slug=clinic_slug)
            membership = clinician_create(
                clinic=clinic, username=username, password=password, supervisor=supervisor, actor=command_actor()
            )
        except ProvisioningError as error:
            raise CommandError(str(error)) from None
        self.stdout.write(f"Created {membership.role} {membership.user.username!r} in clinic {clinic.slug!r}.")
