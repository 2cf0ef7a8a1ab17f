"""Factories of webhook endpoints, deliveries and attempts (rows written with the unscoped manager)."""

from __future__ import annotations

import factory
from django.utils import timezone

from upstream.tenancy.tests.factories import CustomerFactory, TenantModelFactory
from upstream.webhooks import signing
from upstream.webhooks.models import (
    AttemptOutcome,
    DeliveryStatus,
    EventType,
    WebhookDelivery,
    WebhookDeliveryAttempt,
    WebhookEndpoint,
)


class WebhookEndpointFactory(TenantModelFactory):
    class Meta:
        model = WebhookEndpoint

    customer = factory.SubFactory(CustomerFactory)
    name = factory.Sequence(lambda n: f"Endpoint {n}")
    url = "https://hooks.example.com/upstream"
    secret = factory.LazyFunction(signing.secret_generate)
    event_types: list[str] = []
    max_attempts = 5


class WebhookDeliveryFactory(TenantModelFactory):
    class Meta:
        model = WebhookDelivery

    endpoint = factory.SubFactory(WebhookEndpointFactory)
    customer = factory.LazyAttribute(lambda o: o.endpoint.customer)
    event_type = EventType.ALERT_CREATED
    payload = factory.LazyAttribute(
        lambda o: {"type": o.event_type, "timestamp": "2026-11-20T09:15:01+00:00", "data": {"alert_id": 1}}
    )
    status = DeliveryStatus.PENDING
    attempts_allowed = 5
    next_attempt_at = factory.LazyFunction(timezone.now)


class WebhookDeliveryAttemptFactory(TenantModelFactory):
    class Meta:
        model = WebhookDeliveryAttempt

    delivery = factory.SubFactory(WebhookDeliveryFactory)
    customer = factory.LazyAttribute(lambda o: o.delivery.customer)
    number = factory.Sequence(lambda n: n + 1)
    started_at = factory.LazyFunction(timezone.now)
    duration_ms = 12
    status_code = 200
    outcome = AttemptOutcome.SUCCEEDED
