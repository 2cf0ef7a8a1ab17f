"""Reads of webhooks: endpoints and deliveries with their attempts (one prefetch, whatever the page size)."""

from __future__ import annotations

from typing import Any

from django.db.models import Prefetch, QuerySet

from upstream.webhooks.models import WebhookDelivery, WebhookDeliveryAttempt


def webhook_deliveries_with_attempts(queryset: QuerySet[WebhookDelivery]) -> QuerySet[WebhookDelivery]:
    return queryset.prefetch_related(
        Prefetch("attempts", queryset=WebhookDeliveryAttempt.objects.order_by("number"))
    )


def webhook_endpoints(queryset: QuerySet[Any]) -> QuerySet[Any]:
    return queryset
