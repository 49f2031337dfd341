"""`manage.py create_api_key <clinic-slug> <key-name>`: issue an integration key; the key is the last stdout line."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from questionnaires.services.provisioning import ProvisioningError, clinic_api_key_create, clinic_get, command_actor


class Command(BaseCommand):
    help = (
        "Create an API key bound to one clinic: create_api_key <clinic-slug> <key-name>. "
        "The key is printed once, as the last line of stdout (e.g. `| tail -n 1`); only its hash is stored."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("clinic_slug", help="Slug of an existing clinic.")
        parser.add_argument("key_name", help="A name that says who uses the key, e.g. ehr-integration.")

    def handle(self, *args, clinic_slug: str, key_name: str, **options) -> None:
        try:
            clinic = clinic_get(slug=clinic_slug)
            api_key, key = clinic_api_key_create(clinic=clinic, name=key_name, actor=command_actor())
        except ProvisioningError as error:
            raise CommandError(str(error)) from None
        self.stdout.write(
            f"Created API key {api_key.name!r} (prefix {api_key.prefix}) for clinic {clinic.slug!r}. "
            "Store it now: it cannot be shown again. Send it as `Authorization: Api-Key <key>`."
        )
        # Nothing may follow this line: scripts read the key with `tail -n 1`.
        self.stdout.write(key)
