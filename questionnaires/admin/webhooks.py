"""Admin for webhook subscriptions and the delivery log: every attempt's status, code and error, read-only."""

from __future__ import annotations

from django.contrib import admin
from django.db import models

from questionnaires.admin.auditing import AuditedAdmin
from questionnaires.admin.responses import ReadOnlyAdminMixin
from questionnaires.models import WebhookDelivery, WebhookSubscription


class WebhookSubscriptionAdmin(AuditedAdmin):
    audit_object_type = "webhook"
    list_display = ("url", "clinic", "events", "active", "created_by", "created_at")
    list_filter = ("active", "clinic")
    list_select_related = ("clinic",)
    search_fields = ("url", "description")
    # The signing secret is shown once when the API creates the subscription, never here.
    exclude = ("secret",)
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}
    readonly_fields = ("created_by", "created_at")


class WebhookDeliveryAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = (
        "created_at", "event", "subscription", "status", "attempts", "response_code", "last_attempt_at",
        "next_attempt_at", "delivered_at",
    )
    list_filter = ("status", "event", "subscription__clinic")
    list_select_related = ("subscription",)
    search_fields = ("event_id", "subscription__url", "last_error")
    show_full_result_count = False


admin.site.register(WebhookSubscription, WebhookSubscriptionAdmin)
admin.site.register(WebhookDelivery, WebhookDeliveryAdmin)
