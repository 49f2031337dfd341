"""Admin-side auditing: every admin write, and every admin read of client data, lands in the audit log."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from django.db.models import Model
from django.http import HttpRequest

from questionnaires.admin.scoping import ScopedAdmin
from questionnaires.services.audit import audit_record, audit_record_many


def admin_actor(request: HttpRequest) -> str:
    return f"admin:{request.user.get_username()}"


class AuditedAdmin(ScopedAdmin):
    """Writes through the admin are always audited; `audit_reads` adds change-page views and list pages.

    Events are grouped by clinic so a clinic's audit trail shows what an admin looked at of its data.
    """

    audit_object_type: str = ""
    audit_reads: bool = False

    def audit_clinic_id(self, obj: Model) -> int | None:
        return getattr(obj, "clinic_id", None)

    def audit_object_id(self, obj: Model) -> str:
        return str(obj.pk)

    def audit(self, request: HttpRequest, *, action: str, objects: Iterable[Model], detail: str = "") -> None:
        by_clinic: dict[int | None, list[str]] = defaultdict(list)
        for obj in objects:
            by_clinic[self.audit_clinic_id(obj)].append(self.audit_object_id(obj))
        common = {"actor": admin_actor(request), "action": action, "object_type": self.audit_object_type}
        if not by_clinic:
            audit_record(**common, detail=detail)
        elif len(by_clinic) == 1:
            ((clinic_id, object_ids),) = by_clinic.items()
            audit_record(**common, object_ids=object_ids, clinic_id=clinic_id, detail=detail)
        else:
            audit_record_many(
                {**common, "object_ids": object_ids, "clinic_id": clinic_id, "detail": detail}
                for clinic_id, object_ids in by_clinic.items()
            )

    def change_view(self, request, object_id, form_url="", extra_context=None):
        response = super().change_view(request, object_id, form_url, extra_context)
        if self.audit_reads and request.method == "GET" and response.status_code == 200:
            original = (getattr(response, "context_data", None) or {}).get("original")
            if original is not None:
                self.audit(request, action="read", objects=[original])
        return response

    def changelist_view(self, request, extra_context=None):
        response = super().changelist_view(request, extra_context)
        if self.audit_reads and request.method == "GET" and response.status_code == 200:
            changelist = (getattr(response, "context_data", None) or {}).get("cl")
            if changelist is not None:
                # Evaluating the page here fills the queryset cache the template then renders from.
                rows = list(changelist.result_list)
                self.audit(request, action="list", objects=rows, detail=request.GET.urlencode())
        return response

    def save_model(self, request, obj, form, change) -> None:
        super().save_model(request, obj, form, change)
        changed = ", ".join(form.changed_data) if form is not None else ""
        self.audit(request, action="update" if change else "create", objects=[obj], detail=changed)

    def delete_model(self, request, obj) -> None:
        # Captured first: deletion clears the primary key.
        clinic_id, object_id = self.audit_clinic_id(obj), self.audit_object_id(obj)
        super().delete_model(request, obj)
        audit_record(
            actor=admin_actor(request),
            action="delete",
            object_type=self.audit_object_type,
            object_ids=[object_id],
            clinic_id=clinic_id,
        )

    def delete_queryset(self, request, queryset) -> None:
        doomed = [(self.audit_clinic_id(obj), self.audit_object_id(obj)) for obj in queryset]
        super().delete_queryset(request, queryset)
        by_clinic: dict[int | None, list[str]] = defaultdict(list)
        for clinic_id, object_id in doomed:
            by_clinic[clinic_id].append(object_id)
        audit_record_many(
            {
                "actor": admin_actor(request),
                "action": "delete",
                "object_type": self.audit_object_type,
                "object_ids": object_ids,
                "clinic_id": clinic_id,
            }
            for clinic_id, object_ids in by_clinic.items()
        )
