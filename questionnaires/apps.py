"""App configuration: builds the plugin registry once, when Django is ready (no database access here)."""

from django.apps import AppConfig, apps
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
        if apps.is_installed("django.contrib.admin"):
            # The admin's own ready() has imported every app's admin module by now, also those of apps listed
            # after this one: each other app's admin becomes superuser-only (see questionnaires/admin/scoping.py).
            from django.contrib import admin

            from questionnaires.admin.scoping import restrict_other_apps_to_superusers

            restrict_other_apps_to_superusers(admin.site)
        post_migrate.connect(
            questionnaire_versions_sync_after_migrate, sender=self, dispatch_uid="questionnaire_versions_sync"
        )
