"""Admin of webhooks: endpoints without their secrets, deliveries with their attempts (read-only)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from upstream.webhooks.models import WebhookDelivery, WebhookDeliveryAttempt, WebhookEndpoint


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(admin.ModelAdmin):
    list_display = ("name", "customer", "active", "consecutive_failures", "disabled_at", "created_at")
    list_filter = ("active",)
    search_fields = ("name",)
    # Secrets are never displayed nor editable here; rotate them through the API.
    exclude = ("secret", "previous_secret")
    readonly_fields = (
        "customer",
        "previous_secret_expires_at",
        "consecutive_failures",
        "failing_since",
        "disabled_at",
        "created_by",
        "created_at",
        "updated_at",
    )

    def get_queryset(self, request: HttpRequest) -> Any:
        return WebhookEndpoint.objects_all_tenants.select_related("customer")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # created through the API, which generates and shows the secret


class WebhookDeliveryAttemptInline(admin.TabularInline):
    model = WebhookDeliveryAttempt
    extra = 0
    can_delete = False
    fields = ("number", "started_at", "duration_ms", "status_code", "outcome", "error", "response_body")
    readonly_fields = fields

    def get_queryset(self, request: HttpRequest) -> Any:
        return WebhookDeliveryAttempt.objects_all_tenants.all()

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(admin.ModelAdmin):
    list_display = ("id", "customer", "endpoint", "event_type", "status", "attempts_count", "created_at")
    list_filter = ("status", "event_type")
    inlines = (WebhookDeliveryAttemptInline,)
    readonly_fields = (
        "customer",
        "endpoint",
        "event_type",
        "payload",
        "status",
        "attempts_count",
        "attempts_allowed",
        "next_attempt_at",
        "last_status_code",
        "last_error",
        "created_at",
        "delivered_at",
        "finished_at",
    )

    def get_queryset(self, request: HttpRequest) -> Any:
        return WebhookDelivery.objects_all_tenants.select_related("customer", "endpoint")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
