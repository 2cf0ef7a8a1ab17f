"""Celery tasks of drift detection: thin wrappers around services, inside the customer's scope."""

from __future__ import annotations

import logging

from celery import shared_task

from upstream.drift import services
from upstream.drift.dashboard import dashboard_invalidate
from upstream.drift.models import RunTrigger
from upstream.tenancy.models import Customer
from upstream.tenancy.scoping import runs_in_tenant_scope, tenant_scope

logger = logging.getLogger(__name__)


@shared_task(name="drift.execute_run", acks_late=True)
@runs_in_tenant_scope
def execute_run(*, report_run_id: int, customer_id: int) -> str:
    run = services.drift_run_execute(report_run_id=report_run_id)
    dashboard_invalidate(customer_id=customer_id)
    return str(run.status)


@shared_task(name="drift.request_scheduled_runs", acks_late=True)
def request_scheduled_runs() -> dict[str, int]:
    """The weekly beat job (SPEC §7, Monday 06:00 UTC): request a run for every customer, debounced.

    One customer's failure is logged and does not keep the others from getting their run.
    """
    counts = {"requested": 0, "debounced": 0, "failed": 0}
    # A plain list, not a server-side cursor held open while runs are requested (and, eagerly, executed).
    for customer in list(Customer.objects.order_by("pk")):
        try:
            with tenant_scope(customer.pk):
                _run, created = services.report_run_request(customer=customer, trigger=RunTrigger.SCHEDULE)
        except Exception:
            logger.exception("scheduled drift run request failed for customer %s", customer.pk)
            counts["failed"] += 1
            continue
        counts["requested" if created else "debounced"] += 1
    return counts
