"""Celery tasks of webhooks: thin wrappers around the sender and the outbox sweeper."""

from __future__ import annotations

from celery import shared_task

from upstream.tenancy.scoping import runs_in_tenant_scope


@shared_task(name="webhooks.deliver", acks_late=True)
@runs_in_tenant_scope
def deliver(*, delivery_id: int, customer_id: int) -> str:
    """Attempt one due delivery (claimed with SKIP LOCKED; a no-op when another worker has it)."""
    raise NotImplementedError("webhooks.deliver: implemented by the webhooks sender")
