"""State changes of webhooks: emitting events into the outbox (and, below, endpoint management and delivery).

``webhook_event_emit`` is the one entry point other apps use: call it inside the transaction that creates
the event (an alert, a finished run or upload); it writes one WebhookDelivery per subscribed active endpoint
and enqueues each after commit. If the broker loses the message, the beat sweeper still sends the row.
"""

from __future__ import annotations

import functools
import logging
from typing import Any

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from upstream.webhooks.models import DeliveryStatus, EventType, WebhookDelivery, WebhookEndpoint

logger = logging.getLogger(__name__)


def webhook_envelope(*, event_type: str, data: dict[str, Any]) -> dict[str, Any]:
    """The Standard Webhooks envelope. ``data`` must hold ids and aggregate numbers only, never PHI."""
    return {"type": event_type, "timestamp": timezone.now().isoformat(), "data": data}


def webhook_event_emit(
    *, customer_id: int, event_type: str, data: dict[str, Any], endpoint: WebhookEndpoint | None = None
) -> list[WebhookDelivery]:
    """Write the event's deliveries (one per active endpoint subscribed to ``event_type``, or just
    ``endpoint``) in the caller's transaction and enqueue them on commit; returns the deliveries."""
    if event_type not in EventType.values:
        raise ValueError(f"unknown webhook event type {event_type!r}")
    if endpoint is not None:
        endpoints = [endpoint]
    else:
        endpoints = list(
            WebhookEndpoint.objects_all_tenants.filter(customer_id=customer_id, active=True)
            .filter(Q(event_types=[]) | Q(event_types__contains=[event_type]))
            .order_by("id")
        )
    if not endpoints:
        return []
    payload = webhook_envelope(event_type=event_type, data=data)
    now = timezone.now()
    deliveries = WebhookDelivery.objects_all_tenants.bulk_create(
        [
            WebhookDelivery(
                customer_id=customer_id,
                endpoint=target,
                event_type=event_type,
                payload=payload,
                status=DeliveryStatus.PENDING,
                attempts_allowed=target.max_attempts,
                next_attempt_at=now,
            )
            for target in endpoints
        ]
    )
    for delivery in deliveries:
        # Robust: the event is committed already; a broker hiccup only delays delivery to the next sweep.
        transaction.on_commit(functools.partial(_enqueue, delivery.pk, customer_id), robust=True)
    return deliveries


def _enqueue(delivery_id: int, customer_id: int) -> None:
    from upstream.webhooks.tasks import deliver

    deliver.delay(delivery_id=delivery_id, customer_id=customer_id)
