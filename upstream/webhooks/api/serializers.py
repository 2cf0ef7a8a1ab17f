"""Serializers of the webhook endpoints and deliveries. The secret appears only in the create and
rotate-secret responses."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from rest_framework import serializers

from upstream.webhooks import services
from upstream.webhooks.addresses import AddressNotAllowed
from upstream.webhooks.models import (
    MAX_ATTEMPTS_CEILING,
    EventType,
    WebhookDelivery,
    WebhookDeliveryAttempt,
    WebhookEndpoint,
)


class WebhookEndpointSerializer(serializers.ModelSerializer[WebhookEndpoint]):
    url = serializers.URLField(
        max_length=2000,
        help_text="https URL of the receiver (plain http and private addresses only inside "
        "WEBHOOK_ALLOWED_NETWORKS). Never shown in e-mails or the audit log.",
    )
    event_types = serializers.ListField(
        child=serializers.ChoiceField(choices=EventType.choices),
        required=False,
        allow_empty=True,
        help_text="Event types delivered to this endpoint; empty = all.",
    )
    max_attempts = serializers.IntegerField(
        min_value=1,
        max_value=MAX_ATTEMPTS_CEILING,
        required=False,
        help_text="Attempts per delivery (and per redelivery); default WEBHOOK_DEFAULT_MAX_ATTEMPTS.",
    )
    active = serializers.BooleanField(
        required=False,
        help_text="`true` re-enables a disabled endpoint (clears the reason and the failure streak).",
    )
    secret_rotation_expires_at = serializers.DateTimeField(
        source="previous_secret_expires_at",
        read_only=True,
        allow_null=True,
        help_text="Until then the previous secret also signs every request (a second signature).",
    )
    created_by = serializers.IntegerField(source="created_by_id", read_only=True, allow_null=True)

    class Meta:
        model = WebhookEndpoint
        fields: tuple[str, ...] = (
            "id",
            "name",
            "url",
            "event_types",
            "active",
            "disabled_reason",
            "disabled_at",
            "max_attempts",
            "consecutive_failures",
            "failing_since",
            "secret_rotation_expires_at",
            "created_by",
            "created_at",
            "updated_at",
        )
        read_only_fields = (
            "disabled_reason",
            "disabled_at",
            "consecutive_failures",
            "failing_since",
            "created_at",
            "updated_at",
        )

    def validate_url(self, value: str) -> str:
        try:
            services.webhook_url_check(url=value)
        except AddressNotAllowed as exc:
            raise serializers.ValidationError(str(exc), code=exc.code) from exc
        return value

    def validate_name(self, value: str) -> str:
        tenant = self.context.get("tenant")
        customer = getattr(tenant, "customer", None)
        if customer is not None:
            others = WebhookEndpoint.objects_all_tenants.filter(customer_id=customer.pk, name__iexact=value)
            if self.instance is not None:
                others = others.exclude(pk=self.instance.pk)
            if others.exists():
                raise serializers.ValidationError("An endpoint with this name exists already.", code="unique")
        return value


class WebhookEndpointCreateSerializer(WebhookEndpointSerializer):
    """The create request: ``max_attempts`` defaults to WEBHOOK_DEFAULT_MAX_ATTEMPTS."""

    def get_fields(self) -> dict[str, Any]:
        fields = super().get_fields()
        fields["max_attempts"].default = settings.WEBHOOK_DEFAULT_MAX_ATTEMPTS
        return fields


class WebhookEndpointWithSecretSerializer(WebhookEndpointSerializer):
    secret = serializers.CharField(
        read_only=True, help_text="`whsec_…`: shown once. Verify signatures with it (Standard Webhooks)."
    )

    class Meta(WebhookEndpointSerializer.Meta):
        fields = (*WebhookEndpointSerializer.Meta.fields, "secret")


class WebhookSecretSerializer(serializers.Serializer[Any]):
    id = serializers.IntegerField(read_only=True)
    secret = serializers.CharField(read_only=True, help_text="The new `whsec_…` secret: shown once.")
    previous_secret_expires_at = serializers.DateTimeField(
        read_only=True, help_text="The old secret keeps signing (second signature) until then."
    )


class WebhookDeliveryAttemptSerializer(serializers.ModelSerializer[WebhookDeliveryAttempt]):
    class Meta:
        model = WebhookDeliveryAttempt
        fields = ("number", "started_at", "duration_ms", "status_code", "response_body", "error", "outcome")
        read_only_fields = fields


class WebhookDeliverySerializer(serializers.ModelSerializer[WebhookDelivery]):
    webhook_id = serializers.SerializerMethodField(
        help_text="The `webhook-id` (and `X-Idempotency-Key`) header of every attempt."
    )
    endpoint = serializers.IntegerField(source="endpoint_id", read_only=True)
    attempts = WebhookDeliveryAttemptSerializer(many=True, read_only=True)

    class Meta:
        model = WebhookDelivery
        fields = (
            "id",
            "webhook_id",
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
            "attempts",
        )
        read_only_fields = fields

    def get_webhook_id(self, obj: WebhookDelivery) -> str:
        return str(obj.pk)
