"""App configuration: builds the plugin registry once, when Django is ready."""

from django.apps import AppConfig


class QuestionnairesConfig(AppConfig):
    name = "questionnaires"
    verbose_name = "Alliance API"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from questionnaires import checks  # noqa: F401  (registers system checks)
        from questionnaires.registry import build_registry

        build_registry()
