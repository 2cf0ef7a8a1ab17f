"""Shared steps of the webhook tests."""

from __future__ import annotations

import datetime
from typing import Any

from django.utils import timezone

from upstream.tenancy.scoping import all_tenants_scope, tenant_scope
from upstream.webhooks import outbox, services
from upstream.webhooks.models import EventType, WebhookDelivery, WebhookDeliveryAttempt, WebhookEndpoint


def endpoint_create(customer_id: int, url: str, **kwargs: Any) -> WebhookEndpoint:
    return services.webhook_endpoint_create(
        customer_id=customer_id,
        name=kwargs.pop("name", "Receiver"),
        url=url,
        event_types=kwargs.pop("event_types", []),
        **kwargs,
    )


def emit(endpoint: WebhookEndpoint, data: dict[str, Any] | None = None) -> WebhookDelivery:
    with tenant_scope(endpoint.customer_id):
        (delivery,) = services.webhook_event_emit(
            customer_id=endpoint.customer_id,
            event_type=EventType.ALERT_CREATED,
            data=data or {"alert_id": 1},
            endpoint=endpoint,
        )
    return delivery


def deliver(delivery: WebhookDelivery) -> str:
    """What the ``webhooks.deliver`` task does (claim if due, attempt, record)."""
    with tenant_scope(delivery.customer_id):
        return outbox.delivery_deliver(delivery_id=delivery.pk)


def make_due(delivery: WebhookDelivery) -> None:
    """Fast-forward a scheduled retry instead of sleeping."""
    WebhookDelivery.objects_all_tenants.filter(pk=delivery.pk).update(
        next_attempt_at=timezone.now() - datetime.timedelta(seconds=1)
    )


def reload(delivery: WebhookDelivery) -> WebhookDelivery:
    return WebhookDelivery.objects_all_tenants.select_related("endpoint").get(pk=delivery.pk)


def attempts(delivery: WebhookDelivery) -> list[WebhookDeliveryAttempt]:
    with all_tenants_scope():
        return list(WebhookDeliveryAttempt.objects.filter(delivery_id=delivery.pk).order_by("number"))


def endpoint_reload(endpoint: WebhookEndpoint) -> WebhookEndpoint:
    return WebhookEndpoint.objects_all_tenants.get(pk=endpoint.pk)
