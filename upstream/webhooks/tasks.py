"""Celery tasks of webhooks: thin wrappers around the sender and the outbox sweeper."""

from __future__ import annotations

from celery import shared_task

from upstream.tenancy.scoping import runs_in_tenant_scope
from upstream.webhooks import outbox


@shared_task(name="webhooks.deliver", acks_late=True)
@runs_in_tenant_scope
def deliver(*, delivery_id: int, customer_id: int) -> str:
    """Attempt one due delivery (claimed with SKIP LOCKED; a no-op when another worker has it)."""
    return outbox.delivery_deliver(delivery_id=delivery_id)


# Beat runs it every WEBHOOK_SWEEP_INTERVAL_SECONDS; bounded so sweeps do not pile up (overlap is safe).
SWEEP_MAX_SECONDS = 120.0


@shared_task(name="webhooks.sweep")
def sweep() -> dict[str, int]:
    """Send every tenant's due deliveries: lost queue messages, due retries, rows of crashed workers."""
    return outbox.deliveries_sweep(max_seconds=SWEEP_MAX_SECONDS)
