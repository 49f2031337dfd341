"""Which kinds of caller may use an endpoint; which objects they see is the selectors' job (404 outside)."""

from __future__ import annotations

from typing import Any

from rest_framework.permissions import BasePermission

from questionnaires.principals import ALL_KINDS


def kind_denial(request: Any, view: Any) -> str | None:
    """Why this caller's kind may not use the view (None when it may)."""
    principal = request.user
    by_method = getattr(view, "allowed_kinds_by_method", None) or {}
    allowed = by_method.get(request.method, getattr(view, "allowed_kinds", ALL_KINDS))
    if principal.kind in allowed:
        return None
    return f"A {principal.kind.replace('_', ' ')} credential may not {request.method} this endpoint."


class KindAllowed(BasePermission):
    """Checks the caller's kind against the view's `allowed_kinds` (optionally per method).

    On object routes (`object_scoped`) the view looks the object up first and calls
    `deny_kind_if_needed()` afterwards: another clinic's object is a 404 for every caller,
    and only an object the caller can see may answer 403.
    """

    message = "This credential may not use this endpoint."

    def has_permission(self, request: Any, view: Any) -> bool:
        if not getattr(request.user, "is_authenticated", False):
            return False
        if getattr(view, "object_scoped", False):
            return True
        denial = kind_denial(request, view)
        if denial:
            self.message = denial
            return False
        return True
