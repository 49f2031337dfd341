"""`manage.py plugins`: the loaded questionnaire definitions and the plugins left out; `--check` fails on any."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError
from django.db import DatabaseError

from questionnaires.registry import get_registry


class Command(BaseCommand):
    help = "List loaded questionnaire definitions and failed plugins; --check exits non-zero if any failed."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--check", action="store_true", help="Exit with status 1 if any plugin failed to load.")
        parser.add_argument(
            "--no-versions",
            action="store_true",
            help="Skip comparing definitions with their stored version rows (no database access).",
        )

    def handle(self, *args, check: bool = False, no_versions: bool = False, **options) -> None:
        registry = get_registry()
        if not no_versions:
            try:
                registry.sync_versions()
            except DatabaseError as error:
                self.stderr.write(f"version rows not checked: database unavailable ({error})")
        definitions = registry.all()
        self.stdout.write(f"Loaded questionnaires ({len(definitions)}):")
        for definition in definitions:
            source = registry.source_of(definition)
            self.stdout.write(f"  {definition.id:<16} {definition.version:<10} {source:<32} {definition.title}")
        problems = registry.problems
        self.stdout.write(f"Failed plugins ({len(problems)}):")
        for problem in problems:
            self.stdout.write(f"  {problem.source:<32} {problem.stage:<10} {problem.message}")
        if check and problems:
            raise CommandError(f"{len(problems)} questionnaire plugin problem(s); see the list above")
