"""`/webhooks/`: a clinic's webhook subscriptions; the signing secret is returned once, on creation."""

from __future__ import annotations

from collections.abc import Mapping

from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.exceptions import NotFound
from rest_framework.request import Request
from rest_framework.response import Response

from questionnaires.api.views.base import ApiListView, ApiView, problem_docs
from questionnaires.input_bounds import record_id
from questionnaires.models import WebhookSubscription
from questionnaires.services.errors import InvalidInput
from questionnaires.services.webhooks import EVENTS, webhook_subscription_create, webhook_subscription_delete
from questionnaires.validation import Problem

MANAGERS = frozenset({"api_key", "supervisor"})

class WebhookSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    url = serializers.URLField()
    events = serializers.ListField(child=serializers.ChoiceField(choices=EVENTS))
    description = serializers.CharField()
    active = serializers.BooleanField()
    created_at = serializers.DateTimeField()


WebhookCreatedSerializer = inline_serializer(
    "WebhookCreated",
    {
        "id": serializers.IntegerField(),
        "url": serializers.URLField(),
        "events": serializers.ListField(child=serializers.ChoiceField(choices=EVENTS)),
        "secret": serializers.CharField(help_text="Shown only now: verify `X-Alliance-Signature` with it."),
    },
)
WebhookCreateSerializer = inline_serializer(
    "WebhookCreate",
    {
        "url": serializers.URLField(),
        "events": serializers.ListField(child=serializers.ChoiceField(choices=EVENTS)),
        "description": serializers.CharField(required=False),
    },
)


def webhook_as_dict(subscription: WebhookSubscription) -> dict:
    return {
        "id": subscription.id,
        "url": subscription.url,
        "events": subscription.events,
        "description": subscription.description,
        "active": subscription.active,
        "created_at": subscription.created_at,
    }


class WebhookListView(ApiListView):
    allowed_kinds = MANAGERS
    audit_object_type = "webhook"
    audit_actions = {"GET": "list", "POST": "create"}
    serializer_class = WebhookSerializer

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return WebhookSubscription.objects.none()
        return WebhookSubscription.objects.filter(clinic_id=self.principal.clinic_id, active=True).order_by("id")

    @extend_schema(responses={200: WebhookSerializer(many=True), **problem_docs(401, 403, 429)},
                   summary="List the clinic's active webhook subscriptions")
    def get(self, request: Request) -> Response:
        page = self.paginate_queryset(self.get_queryset())
        self.audit(action="list", object_ids=[subscription.id for subscription in page])
        return self.get_paginated_response([webhook_as_dict(subscription) for subscription in page])

    @extend_schema(
        request=WebhookCreateSerializer,
        responses={201: WebhookCreatedSerializer, **problem_docs(400, 401, 403, 415, 429)},
        summary="Subscribe a URL to events: `response.scored`, `alert.raised`, `not_on_track`, corrections",
        description=(
            "Deliveries are POSTed as JSON with `X-Alliance-Signature: t=<unix>,v1=<hex>`, the hex being "
            "HMAC-SHA256(secret, `<t>.<raw body>`). The URL must be http(s) and pass the server's allow-list. "
            "`not_on_track` repeats the `alert.raised` data of a not-on-track alert, with the expected change "
            "curve's provenance in `details.curve`."
        ),
    )
    def post(self, request: Request) -> Response:
        data = request.data
        if not isinstance(data, Mapping):
            raise InvalidInput("The body must be a JSON object.", [Problem("body", "must be a JSON object")])
        unknown = [key for key in data if key not in ("url", "events", "description")]
        if unknown:
            raise InvalidInput("Unknown fields.", [Problem(key, "unknown field", "unknown") for key in unknown])
        description = data.get("description", "")
        if not isinstance(description, str):
            raise InvalidInput("Invalid description.", [Problem("description", "must be a string")])
        created = webhook_subscription_create(
            clinic_id=self.principal.clinic_id,
            url=data.get("url"),
            events=data.get("events"),
            description=description,
            created_by=self.principal.label,
        )
        subscription = created.subscription
        self.audit(action="create", object_ids=[subscription.id])
        return Response(
            {"id": subscription.id, "url": subscription.url, "events": subscription.events, "secret": created.secret},
            status=201,
        )


class WebhookDetailView(ApiView):
    allowed_kinds = MANAGERS
    audit_object_type = "webhook"
    audit_actions = {"GET": "read", "DELETE": "delete"}
    serializer_class = WebhookSerializer
    object_scoped = True  # another clinic's webhook is a 404 for every caller, before the role check

    def subscription(self, webhook_id: str) -> WebhookSubscription:
        webhook_pk = record_id(webhook_id)
        if webhook_pk is None:
            raise NotFound("No such webhook.")
        found = WebhookSubscription.objects.filter(
            clinic_id=self.principal.clinic_id, id=webhook_pk, active=True
        ).first()
        if found is None:
            raise NotFound("No such webhook.")
        self.deny_kind_if_needed()
        return found

    @extend_schema(responses={200: WebhookSerializer, **problem_docs(401, 403, 404, 429)}, summary="One webhook")
    def get(self, request: Request, webhook_id: str) -> Response:
        subscription = self.subscription(webhook_id)
        self.audit(action="read", object_ids=[subscription.id])
        return Response(webhook_as_dict(subscription))

    @extend_schema(responses={204: None, **problem_docs(401, 403, 404, 429)},
                   summary="Unsubscribe (deliveries stop; the delivery log is kept)")
    def delete(self, request: Request, webhook_id: str) -> Response:
        subscription = self.subscription(webhook_id)
        webhook_subscription_delete(subscription=subscription)
        self.audit(action="delete", object_ids=[subscription.id])
        return Response(status=204)
