"""App configuration: builds the plugin registry once, when Django is ready (no database access here)."""

from django.apps import AppConfig
from django.db.models.signals import post_migrate


class QuestionnairesConfig(AppConfig):
    name = "questionnaires"
    verbose_name = "Alliance API"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from questionnaires import checks  # noqa: F401  (registers system checks)
        from questionnaires.registry import build_registry
        from questionnaires.services.questionnaire_versions import questionnaire_versions_sync_after_migrate

        build_registry()
        post_migrate.connect(
            questionnaire_versions_sync_after_migrate, sender=self, dispatch_uid="questionnaire_versions_sync"
        )
