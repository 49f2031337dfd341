"""App configuration: builds the plugin registry once, when Django is ready (no database access here)."""

from django.apps import AppConfig
from django.db.models.signals import post_migrate


class QuestionnairesConfig(AppConfig):
    name = "questionnaires"
    verbose_name = "Alliance API"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Imported here, not at module level: Django imports this module before the models exist.
        # Importing registers the system checks, and the Celery tasks that services publish by name.
        from questionnaires import checks, tasks  # noqa: F401
        from questionnaires.registry import build_registry, sync_versions_after_migrate

        build_registry()
        post_migrate.connect(sync_versions_after_migrate, sender=self, dispatch_uid="questionnaire_versions_sync")
