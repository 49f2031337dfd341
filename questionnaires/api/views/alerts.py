"""`/alerts/`: what clinicians should look at, risk on top; acknowledging, snoozing and resolving it.

The list shows one alert per client and session with its `reasons` (one per response and kind),
priority first (risk on top), then the latest session; notes (`category: note`, good news) come
after every alert, one per session too. Filters pick reasons: a session alert lists those that
match. Any reason's id addresses its session alert: read, acknowledge, snooze and resolve act on
all its reasons (see `selectors.alerts` for what a later reason does). `sync=true` is for
integrations: every stored reason in stored order with cursor pages, each naming its `session_alert`.
"""

from __future__ import annotations

from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema
from rest_framework.exceptions import NotFound
from rest_framework.request import Request
from rest_framework.response import Response

from questionnaires.api.filters import AlertFilter
from questionnaires.api.pagination import Pagination, RaisedCursorPagination
from questionnaires.api.serializers import (
    AlertResolveSerializer,
    AlertSnoozeSerializer,
    SessionAlertSerializer,
)
from questionnaires.api.views.base import ApiListView, ApiView, problem_docs
from questionnaires.input_bounds import record_id
from questionnaires.models import Alert
from questionnaires.principals import Principal
from questionnaires.selectors.alerts import (
    SessionAlert,
    session_alert_groups,
    session_alerts,
    session_alerts_of,
    session_label,
    session_reasons,
)
from questionnaires.selectors.responses import disclosure_for
from questionnaires.services.alerts import alert_acknowledge, alert_resolve, alert_snooze

STAFF_AND_KEYS = frozenset({"api_key", "clinician", "supervisor"})


def alerts_visible_to(principal: Principal) -> QuerySet[Alert]:
    # An alert of a response version that was amended or retracted is withdrawn: kept for audit, not shown.
    alerts = Alert.objects.filter(
        clinic_id=principal.clinic_id, client__clinic_id=principal.clinic_id, withdrawn_at__isnull=True
    )
    if principal.kind == "clinician":
        alerts = alerts.filter(client__clinicians=principal.user_id)
    elif principal.kind == "client_token":
        alerts = alerts.none()
    return alerts.select_related("client", "response")


def alert_as_dict(alert: Alert, *, with_comment: bool = False) -> dict:
    """`with_comment` (staff only) attaches the client's own words from the response that raised the alert.

    The comment is read from the response, never copied into `details`, so webhooks cannot carry it.
    """
    shaped = {
        "id": alert.id,
        "client": alert.client.external_id,
        "questionnaire": alert.questionnaire_id or None,  # none for episode-level alerts (`disengaged`)
        "response": alert.response_id,
        "kind": alert.kind,
        "category": alert.category,
        "priority": alert.priority,
        "message": alert.message,
        "details": alert.details,
        "session": alert.response.session_number if alert.response_id else None,
        "session_date": alert.response.authored_at if alert.response_id else None,
        "session_alert": session_label(alert),
        "raised_at": alert.raised_at,
        "acknowledged_at": alert.acknowledged_at,
        "acknowledged_by": alert.acknowledged_by,
        "snoozed_until": alert.snoozed_until,
        "resolved_at": alert.resolved_at,
        "resolved_by": alert.resolved_by,
        "reason": alert.reason,
    }
    if with_comment:
        shaped["comment"] = alert.response.comment if alert.response_id and alert.response.comment else None
    return shaped


def session_alert_as_dict(group: SessionAlert, *, with_comment: bool = False) -> dict:
    """The session alert: its top reason's kind, message and response at the top level (as a single-reason
    alert reads), its priority (the highest of its reasons), state, and every reason."""
    top = group.top
    shaped = alert_as_dict(top, with_comment=with_comment)
    shaped.update(
        {
            "id": group.id,
            "priority": group.priority,
            "kinds": list(group.kinds),
            "session": group.session_number,
            "session_date": group.session_at if top.response_id else None,
            "raised_at": group.raised_at,
            "acknowledged_at": group.acknowledged_at,
            "acknowledged_by": group.acknowledged_by,
            "snoozed_until": group.snoozed_until,
            "resolved_at": group.resolved_at,
            "resolved_by": group.resolved_by,
            "reason": group.reason,
            "reasons": [alert_as_dict(reason, with_comment=with_comment) for reason in group.reasons],
        }
    )
    return shaped


def session_alert_of(alert: Alert) -> SessionAlert:
    """The session alert a (visible) row belongs to, with all its live reasons."""
    return session_alerts(session_reasons(alert).select_related("client", "response"))[0]


class AlertListView(ApiListView):
    allowed_kinds = STAFF_AND_KEYS
    audit_object_type = "alert"
    audit_actions = {"GET": "list"}
    serializer_class = SessionAlertSerializer
    filterset_class = AlertFilter
    query_parameters = frozenset({"sync", "cursor"})

    @property
    def syncing(self) -> bool:
        """`sync=true` (or a cursor): an integration polling for new alerts, in stored order with cursor pages."""
        params = self.request.query_params
        return params.get("sync") == "true" or "cursor" in params

    @property
    def paginator(self):
        if not hasattr(self, "_paginator"):
            self._paginator = RaisedCursorPagination() if self.syncing else Pagination()
        return self._paginator

    def get_queryset(self) -> QuerySet[Alert]:
        if getattr(self, "swagger_fake_view", False):
            return Alert.objects.none()
        return alerts_visible_to(self.principal)

    @extend_schema(
        responses={200: SessionAlertSerializer(many=True), **problem_docs(400, 401, 403, 429)},
        summary="List alerts, one per client and session with its reasons: alerts before notes, high priority "
        "(risk) first, then the latest session; with sync=true, every reason in the order stored, in cursor pages",
    )
    def get(self, request: Request) -> Response:
        alerts = self.filter_queryset(self.get_queryset())
        with_comment = disclosure_for(self.principal).comments
        if self.syncing:
            page = self.paginate_queryset(alerts)
            self.audit(action="list", object_ids=[alert.id for alert in page])
            return self.get_paginated_response([alert_as_dict(alert, with_comment=with_comment) for alert in page])
        groups = session_alerts_of(self.paginate_queryset(session_alert_groups(alerts)), alerts)
        self.audit(action="list", object_ids=[reason.id for group in groups for reason in group.reasons])
        return self.get_paginated_response(
            [session_alert_as_dict(group, with_comment=with_comment) for group in groups]
        )


class _SessionAlertView(ApiView):
    """Answers with the whole session alert the addressed reason belongs to, auditing every reason."""

    allowed_kinds = STAFF_AND_KEYS
    audit_object_type = "alert"
    serializer_class = SessionAlertSerializer
    object_scoped = True

    def session_answer(self, alert: Alert, action: str) -> Response:
        group = session_alert_of(alert)
        self.audit(action=action, object_ids=[reason.id for reason in group.reasons])
        return Response(session_alert_as_dict(group, with_comment=disclosure_for(self.principal).comments))


class AlertAcknowledgeView(_SessionAlertView):
    audit_actions = {"POST": "acknowledge"}

    @extend_schema(
        request=None,
        responses={200: SessionAlertSerializer, **problem_docs(401, 403, 404, 429)},
        summary="Acknowledge the session alert this reason belongs to (idempotent)",
    )
    def post(self, request: Request, alert_id: str) -> Response:
        alert = visible_alert(self.principal, alert_id)
        self.deny_kind_if_needed()
        alert = alert_acknowledge(alert=alert, principal=self.principal)
        return self.session_answer(alert, "acknowledge")


def visible_alert(principal: Principal, alert_id: str) -> Alert:
    """The alert if this caller may see it; anything else (another clinic's, a malformed id) is a 404."""
    alert = None
    if (alert_pk := record_id(alert_id)) is not None:
        alert = alerts_visible_to(principal).filter(pk=alert_pk).first()
    if alert is None:
        raise NotFound("No such alert.")
    return alert


class AlertDetailView(_SessionAlertView):
    audit_actions = {"GET": "read"}

    @extend_schema(
        responses={200: SessionAlertSerializer, **problem_docs(401, 403, 404, 429)},
        summary="The session alert this reason belongs to, with all its reasons; for clinicians and supervisors "
        "with the client's comment from that session",
    )
    def get(self, request: Request, alert_id: str) -> Response:
        alert = visible_alert(self.principal, alert_id)
        self.deny_kind_if_needed()
        return self.session_answer(alert, "read")


class _SessionAlertAction(_SessionAlertView):
    def _alert(self, alert_id: str) -> Alert:
        alert = visible_alert(self.principal, alert_id)
        self.deny_kind_if_needed()
        return alert


class AlertSnoozeView(_SessionAlertAction):
    audit_actions = {"POST": "snooze"}

    @extend_schema(
        request=AlertSnoozeSerializer,
        responses={200: SessionAlertSerializer, **problem_docs(400, 401, 403, 404, 429)},
        summary="Snooze the session's alert until a time, with a reason",
    )
    def post(self, request: Request, alert_id: str) -> Response:
        alert = self._alert(alert_id)
        serializer = AlertSnoozeSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        alert = alert_snooze(alert=alert, principal=self.principal, **serializer.validated_data)
        return self.session_answer(alert, "snooze")


class AlertResolveView(_SessionAlertAction):
    audit_actions = {"POST": "resolve"}

    @extend_schema(
        request=AlertResolveSerializer,
        responses={200: SessionAlertSerializer, **problem_docs(400, 401, 403, 404, 429)},
        summary="Resolve the session's alert with a reason (idempotent)",
    )
    def post(self, request: Request, alert_id: str) -> Response:
        alert = self._alert(alert_id)
        serializer = AlertResolveSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        alert = alert_resolve(alert=alert, principal=self.principal, **serializer.validated_data)
        return self.session_answer(alert, "resolve")
