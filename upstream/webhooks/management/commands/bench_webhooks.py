"""``python manage.py bench_webhooks [--deliveries N]``: the outbox sweeper's throughput (SPEC §12: ≥ 200
deliveries/s to a local receiver).

Starts ``upstream.webhooks.bench_receiver`` in its own process, creates a benchmark customer with one endpoint
on it (``WEBHOOK_ALLOWED_NETWORKS`` is set to 127.0.0.0/8 for this command only), writes N due deliveries,
times ``deliveries_sweep`` until nothing is due, verifies that every delivery succeeded with one attempt and
that the receiver saw each webhook-id exactly once, then deletes the customer (unless ``--keep``).
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
import urllib.request
import uuid
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from upstream.tenancy.models import Customer
from upstream.webhooks import outbox, services
from upstream.webhooks.models import DeliveryStatus, EventType, WebhookDelivery

BUDGET_PER_SECOND = 200.0


class Command(BaseCommand):
    help = "Benchmark the webhook sweeper against a local receiver (budget: 200 deliveries/s)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--deliveries", type=int, default=2000)
        parser.add_argument("--threads", type=int, default=outbox.SWEEP_THREADS)
        parser.add_argument("--batch", type=int, default=outbox.SWEEP_CLAIM_BATCH, help="Rows per claim.")
        parser.add_argument("--keep", action="store_true", help="Keep the benchmark customer and its rows.")

    def handle(self, *args: Any, **opts: Any) -> None:
        count = opts["deliveries"]
        if count < 1:
            raise CommandError("--deliveries must be at least 1.")
        settings.WEBHOOK_ALLOWED_NETWORKS = ["127.0.0.0/8"]
        receiver = subprocess.Popen(
            [sys.executable, "-m", "upstream.webhooks.bench_receiver"], stdout=subprocess.PIPE, text=True
        )
        customer: Customer | None = None
        try:
            assert receiver.stdout is not None
            port = int(receiver.stdout.readline())
            base = f"http://127.0.0.1:{port}"
            customer = Customer.objects.create(
                name=f"Bench webhooks {uuid.uuid4().hex[:8]}", slug=f"bench-webhooks-{uuid.uuid4().hex[:8]}"
            )
            endpoint = services.webhook_endpoint_create(
                customer_id=customer.pk, name="Bench receiver", url=f"{base}/hooks", event_types=[]
            )
            now = timezone.now()
            started = time.perf_counter()
            deliveries = WebhookDelivery.objects_all_tenants.bulk_create(
                [
                    WebhookDelivery(
                        customer_id=customer.pk,
                        endpoint=endpoint,
                        event_type=EventType.ALERT_CREATED,
                        payload={
                            "type": EventType.ALERT_CREATED,
                            "timestamp": now.isoformat(),
                            "data": {"alert_id": n, "severity": 0.5, "payer": "Aetna"},
                        },
                        status=DeliveryStatus.PENDING,
                        attempts_allowed=endpoint.max_attempts,
                        next_attempt_at=now,
                    )
                    for n in range(count)
                ],
                batch_size=1000,
            )
            self.stdout.write(f"wrote {count:,} pending deliveries in {time.perf_counter() - started:.2f} s")

            started = time.perf_counter()
            outcomes = outbox.deliveries_sweep(threads=opts["threads"], batch_size=opts["batch"])
            seconds = time.perf_counter() - started

            ids = [d.pk for d in deliveries]
            rows = WebhookDelivery.objects_all_tenants.filter(pk__in=ids)
            succeeded = rows.filter(status=DeliveryStatus.SUCCEEDED, attempts_count=1).count()
            with urllib.request.urlopen(f"{base}/stats", timeout=5) as response:  # noqa: S310 (local)
                stats = json.load(response)
            rate = count / seconds
            self.stdout.write(
                f"sweep:       {count:,} deliveries in {seconds:.2f} s with {opts['threads']} threads "
                f"(claim batch {opts['batch']}); outcomes {outcomes}"
            )
            self.stdout.write(
                f"receiver:    {stats['requests']:,} requests, {stats['distinct_ids']:,} distinct webhook-ids"
            )
            verdict = "within" if rate >= BUDGET_PER_SECOND else "UNDER"
            self.stdout.write(
                f"throughput:  {rate:,.0f} deliveries/s ({verdict} the budget of {BUDGET_PER_SECOND:.0f}/s)"
            )
            if succeeded != count or stats["requests"] != count or stats["distinct_ids"] != count:
                raise CommandError(
                    f"verification failed: {succeeded:,} of {count:,} succeeded with one attempt, "
                    f"receiver saw {stats['requests']:,} requests / {stats['distinct_ids']:,} ids"
                )
            self.stdout.write("verified:    every delivery succeeded once, each webhook-id received once")
        finally:
            receiver.terminate()
            receiver.wait(timeout=10)
            if customer is not None and not opts["keep"]:
                customer.delete()
