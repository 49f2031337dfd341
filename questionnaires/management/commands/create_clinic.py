"""`manage.py create_clinic <slug> --name "<name>"`: add a clinic (tenant)."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from questionnaires.services.provisioning import ProvisioningError, clinic_create


class Command(BaseCommand):
    help = 'Create a clinic: create_clinic <slug> --name "<name>". An existing slug is an error, never overwritten.'

    def add_arguments(self, parser) -> None:
        parser.add_argument("slug", help="Short identifier used in URLs and by the other commands, e.g. north.")
        parser.add_argument("--name", required=True, help="Display name, e.g. \"North Clinic\".")

    def handle(self, *args, slug: str, name: str, **options) -> None:
        try:
            clinic = clinic_create(slug=slug, name=name)
        except ProvisioningError as error:
            raise CommandError(str(error)) from None
        self.stdout.write(f"Created clinic {clinic.slug!r} ({clinic.name}).")
