"""A staff member's tokens end when their password changes or their account is deactivated.

Receivers on the user model's saves: before a save they note whether the password hash or
`is_active` is about to change, after it they revoke every live staff token of that user. A
token revoked on deactivation stays revoked when the account comes back; the user logs in again.
"""

from __future__ import annotations

from typing import Any

from questionnaires.services.credentials import staff_tokens_revoke

_WATCHED = ("password", "is_active")


def staff_tokens_note_changes(sender: Any, instance: Any, update_fields: Any = None, **kwargs: Any) -> None:
    instance._staff_token_revoke_reason = ""
    if instance.pk is None or kwargs.get("raw"):
        return
    if update_fields is not None and not set(update_fields) & set(_WATCHED):
        return
    stored = sender._default_manager.filter(pk=instance.pk).values(*_WATCHED).first()
    if stored is None:
        return
    if stored["password"] != instance.password:
        instance._staff_token_revoke_reason = "password changed"
    elif stored["is_active"] and not instance.is_active:
        instance._staff_token_revoke_reason = "account deactivated"


def staff_tokens_revoke_on_change(sender: Any, instance: Any, created: bool = False, **kwargs: Any) -> None:
    reason = getattr(instance, "_staff_token_revoke_reason", "")
    if reason:
        instance._staff_token_revoke_reason = ""
        staff_tokens_revoke(user=instance, reason=reason)
