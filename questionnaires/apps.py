"""App configuration: builds the plugin registry once, when Django is ready (no database access here)."""

from django.apps import AppConfig
from django.contrib.auth.signals import user_logged_in, user_login_failed
from django.db.models.signals import post_migrate, post_save, pre_save


class QuestionnairesConfig(AppConfig):
    name = "questionnaires"
    verbose_name = "Alliance API"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django.contrib.auth import get_user_model

        from questionnaires import checks  # noqa: F401  (registers system checks)
        from questionnaires.admin.login_audit import audit_admin_login, audit_admin_login_failure
        from questionnaires.credential_revocation import staff_tokens_note_changes, staff_tokens_revoke_on_change
        from questionnaires.registry import build_registry
        from questionnaires.services.questionnaire_versions import questionnaire_versions_sync_after_migrate

        build_registry()
        user_logged_in.connect(audit_admin_login, dispatch_uid="audit_admin_login")
        # After axes's own receiver (connected when its app became ready), so the lockout flag is set.
        user_login_failed.connect(audit_admin_login_failure, dispatch_uid="audit_admin_login_failure")
        user_model = get_user_model()
        pre_save.connect(staff_tokens_note_changes, sender=user_model, dispatch_uid="staff_tokens_note_changes")
        post_save.connect(staff_tokens_revoke_on_change, sender=user_model, dispatch_uid="staff_tokens_revoke")
        post_migrate.connect(
            questionnaire_versions_sync_after_migrate, sender=self, dispatch_uid="questionnaire_versions_sync"
        )

