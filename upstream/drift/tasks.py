"""Celery tasks of drift detection: thin wrappers around services, inside the customer's scope."""

from __future__ import annotations

from celery import shared_task

from upstream.drift import services
from upstream.tenancy.scoping import runs_in_tenant_scope


@shared_task(name="drift.execute_run", acks_late=True)
@runs_in_tenant_scope
def execute_run(*, report_run_id: int, customer_id: int) -> str:
    run = services.drift_run_execute(report_run_id=report_run_id)
    return str(run.status)
