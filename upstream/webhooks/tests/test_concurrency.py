"""Real concurrency (threads on their own connections, committed data): sweepers and deliver tasks racing
over the same due rows never send the same attempt twice."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest

from upstream.core.testing.concurrency import run_together
from upstream.core.testing.tenants import make_tenant
from upstream.tenancy.scoping import tenant_scope
from upstream.webhooks import outbox, services
from upstream.webhooks.models import AttemptOutcome, DeliveryStatus, WebhookDelivery
from upstream.webhooks.tests.helpers import emit, endpoint_create, make_due
from upstream.webhooks.tests.receiver import Receiver, Reply

DELIVERIES = 120


@pytest.fixture(autouse=True)
def _queue_lost(monkeypatch: pytest.MonkeyPatch) -> None:
    """Rows are written in autocommit here, so on-commit enqueueing would send them at once: drop the
    messages, leaving the due rows to the racing sweepers."""
    monkeypatch.setattr(services, "_enqueue", lambda delivery_id, customer_id: None)


@pytest.mark.django_db(transaction=True)
def test_two_sweepers_never_send_the_same_attempt() -> None:
    tenants = [make_tenant(), make_tenant()]
    with Receiver(default=Reply(200)) as receiver:
        endpoints = [endpoint_create(t.customer.pk, receiver.url) for t in tenants]
        receiver.secrets = [e.secret for e in endpoints]
        deliveries = [emit(endpoints[i % 2]) for i in range(DELIVERIES)]

        results = run_together([lambda: outbox.deliveries_sweep(threads=4, batch_size=5) for _ in range(2)])

        assert not [r for r in results if isinstance(r, BaseException)], results
        sent = Counter(r.webhook_id for r in receiver.requests)
        assert sent == Counter({str(d.pk): 1 for d in deliveries})
        assert all(len(r.verified_by) == 1 for r in receiver.requests)
        assert sum(sum(r.values()) for r in results if isinstance(r, dict)) == DELIVERIES
        rows = WebhookDelivery.objects_all_tenants.filter(pk__in=[d.pk for d in deliveries])
        assert set(rows.values_list("status", "attempts_count")) == {(DeliveryStatus.SUCCEEDED, 1)}


@pytest.mark.django_db(transaction=True)
def test_retry_rounds_race_without_duplicate_attempts(settings: Any) -> None:
    settings.WEBHOOK_DISABLE_AFTER_FAILURES = 1000
    tenant = make_tenant()
    with Receiver(default=Reply(503)) as receiver:
        endpoint = endpoint_create(tenant.customer.pk, receiver.url, max_attempts=3)
        deliveries = [emit(endpoint) for _ in range(30)]
        for _ in range(3):  # three rounds: each due row is attempted once per round, by one of the workers
            for delivery in deliveries:
                make_due(delivery)
            results = run_together(
                [lambda: outbox.deliveries_sweep(threads=3, batch_size=4) for _ in range(3)]
            )
            assert not [r for r in results if isinstance(r, BaseException)], results
        seen = Counter((r.webhook_id, r.headers["webhook-timestamp"]) for r in receiver.requests)
        per_delivery = Counter(r.webhook_id for r in receiver.requests)
        assert per_delivery == Counter({str(d.pk): 3 for d in deliveries})
        assert max(seen.values()) <= 3  # (timestamps are per second: the same second may repeat)
        rows = WebhookDelivery.objects_all_tenants.filter(pk__in=[d.pk for d in deliveries])
        assert set(rows.values_list("status", "attempts_count")) == {(DeliveryStatus.FAILED, 3)}


@pytest.mark.django_db(transaction=True)
def test_concurrent_deliver_tasks_for_one_delivery_send_it_once() -> None:
    tenant = make_tenant()
    with Receiver(default=Reply(200, delay=0.2)) as receiver:
        delivery = emit(endpoint_create(tenant.customer.pk, receiver.url))

        def task() -> Any:
            with tenant_scope(tenant.customer.pk):
                return outbox.delivery_deliver(delivery_id=delivery.pk)

        results = run_together([task] * 4)
        assert sorted(str(r) for r in results) == ["not_due"] * 3 + [AttemptOutcome.SUCCEEDED]
        assert [r.webhook_id for r in receiver.requests] == [str(delivery.pk)]
