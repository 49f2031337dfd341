"""Admin for webhook subscriptions and the delivery log: every attempt's status, code and error, read-only."""

from __future__ import annotations

from django.contrib import admin
from django.db import models

from questionnaires.admin.auditing import AuditedAdmin
from questionnaires.admin.responses import ReadOnlyAdminMixin
from questionnaires.admin.tenancy import Tenancy
from questionnaires.models import WebhookDelivery, WebhookSubscription


class WebhookSubscriptionAdmin(AuditedAdmin):
    audit_object_type = "webhook"
    tenancy = Tenancy(clinic="clinic")
    list_display = ("url", "clinic", "events", "active", "created_by", "created_at")
    list_filter = ("active", "clinic")
    list_select_related = ("clinic",)
    search_fields = ("url", "description")
    # The signing secret is shown once when the API creates the subscription, never here.
    exclude = ("secret",)
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}
    readonly_fields = ("created_by", "created_at")


class WebhookDeliveryAdmin(ReadOnlyAdminMixin, AuditedAdmin):
    """Deliveries carry event payloads about clients, so list and change pages are audited reads."""

    audit_object_type = "webhook_delivery"
    audit_reads = True
    tenancy = Tenancy(clinic="subscription__clinic")
    list_display = (
        "created_at", "event", "subscription", "status", "attempts", "response_code", "last_attempt_at",
        "next_attempt_at", "delivered_at",
    )
    list_filter = ("status", "event", "subscription__clinic")
    list_select_related = ("subscription",)
    search_fields = ("event_id", "subscription__url", "last_error")
    show_full_result_count = False

    def audit_clinic_id(self, obj: WebhookDelivery) -> int | None:
        return obj.subscription.clinic_id


admin.site.register(WebhookSubscription, WebhookSubscriptionAdmin)
admin.site.register(WebhookDelivery, WebhookDeliveryAdmin)
