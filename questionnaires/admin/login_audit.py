"""Admin logins in the audit log: every success and every failure, with the source address.

The REST token endpoint audits its own attempts; these receivers only record logins at the
admin's login page, whose form calls Django's `authenticate()` and `login()`.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.urls import reverse

from questionnaires.login_limits import is_locked_out
from questionnaires.models import StaffMembership
from questionnaires.services.audit import audit_record


def _is_admin_login(request: HttpRequest | None) -> bool:
    return request is not None and request.path == reverse("admin:login")


def _clinic_of(username: str) -> int | None:
    return StaffMembership.objects.filter(user__username=username).values_list("clinic_id", flat=True).first()


def _printable(text: str) -> str:
    return "".join(char if char.isprintable() else "?" for char in text)


def audit_admin_login(sender: Any, request: HttpRequest | None = None, user: Any = None, **kwargs: Any) -> None:
    if not _is_admin_login(request):
        return
    username = user.get_username()
    audit_record(actor=f"admin:{username}", action="login", object_type="user", object_ids=[str(user.pk)],
                 clinic_id=_clinic_of(username))


def audit_admin_login_failure(
    sender: Any, credentials: dict, request: HttpRequest | None = None, **kwargs: Any
) -> None:
    if not _is_admin_login(request):
        return
    username = _printable(str(credentials.get("username") or ""))[:120]
    locked_out = is_locked_out(request)
    audit_record(
        actor=f"admin:{username}",
        action="login",
        object_type="user",
        outcome="locked_out" if locked_out else "unauthenticated",
        clinic_id=_clinic_of(username) if username else None,
        detail="too many failed logins" if locked_out else "wrong username or password, or inactive user",
    )
