"""Admin actions on responses: re-score the selected ones, or rebuild the metric rollups."""

from __future__ import annotations

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied

from questionnaires.admin.auditing import admin_actor
from questionnaires.models import Response
from questionnaires.services.audit import audit_record
from questionnaires.services.metrics import metrics_recompute
from questionnaires.services.scoring import scoring_enqueue


@admin.action(description="Re-score selected responses (failed and pending)", permissions=["rescore"])
def rescore_selected(modeladmin, request, queryset) -> None:
    """Failed responses are retried as well as pending ones; scored ones keep the score they have."""
    if not modeladmin.has_rescore_permission(request):
        raise PermissionDenied
    rows = list(
        queryset.filter(status__in=[Response.Status.PENDING, Response.Status.FAILED]).values_list("id", "clinic_id")
    )
    skipped = queryset.count() - len(rows)
    by_clinic: dict[int, list[str]] = {}
    for response_id, clinic_id in rows:
        by_clinic.setdefault(clinic_id, []).append(str(response_id))
    for clinic_id, response_ids in by_clinic.items():
        audit_record(
            actor=admin_actor(request),
            action="rescore",
            object_type="response",
            object_ids=response_ids,
            clinic_id=clinic_id,
        )
    scoring_enqueue(response_ids=[response_id for response_id, _ in rows], include_failed=True)
    modeladmin.message_user(
        request,
        f"Queued {len(rows)} response(s) for scoring; {skipped} already scored left as they are.",
        messages.SUCCESS,
    )


@admin.action(description="Recompute all clinic metrics from the scores", permissions=["recompute"])
def recompute_metrics(modeladmin, request, queryset) -> None:
    """The selection does not matter: the rollups are rebuilt whole, in one pass (superusers only)."""
    if not modeladmin.has_recompute_permission(request):
        raise PermissionDenied
    cells = metrics_recompute()
    audit_record(actor=admin_actor(request), action="recompute", object_type="metrics", detail=f"{cells} cells")
    modeladmin.message_user(request, f"Recomputed the metrics: {cells} rollup cells.", messages.SUCCESS)
