"""State changes of drift detection: settings, requesting runs (debounced) and executing them."""

from __future__ import annotations

import datetime

from django.db import IntegrityError, transaction

from upstream.drift.models import DriftSettings, ReportRun, RunStatus
from upstream.tenancy.models import Customer, User


def drift_settings_get(*, customer_id: int) -> DriftSettings:
    """The customer's drift settings, created with the SPEC §7 defaults on first use."""
    found = DriftSettings.objects_all_tenants.filter(customer_id=customer_id).first()
    if found is not None:
        return found
    try:
        with transaction.atomic():
            return DriftSettings.objects_all_tenants.create(customer_id=customer_id)
    except IntegrityError:  # created concurrently: the unique key kept one row
        return DriftSettings.objects_all_tenants.get(customer_id=customer_id)


def report_run_request(
    *, customer: Customer, trigger: str, requested_by: User | None = None, as_of: datetime.date | None = None
) -> tuple[ReportRun, bool]:
    """Queue a drift run for the customer and enqueue its execution after commit; (run, created).

    Debounced: while a run of the customer is still ``queued``, that run is returned instead of a new one
    (a partial unique index keeps at most one queued run per customer, even under concurrent requests).
    """
    from upstream.drift.tasks import execute_run

    try:
        with transaction.atomic():
            run = ReportRun.objects_all_tenants.create(
                customer=customer, trigger=trigger, requested_by=requested_by, requested_as_of=as_of
            )
    except IntegrityError:
        existing = ReportRun.objects_all_tenants.filter(customer=customer, status=RunStatus.QUEUED).first()
        if existing is None:  # the queued run started in between: ask again
            return report_run_request(
                customer=customer, trigger=trigger, requested_by=requested_by, as_of=as_of
            )
        return existing, False
    transaction.on_commit(lambda: execute_run.delay(report_run_id=run.pk, customer_id=customer.pk))
    return run, True


def drift_run_execute(*, report_run_id: int) -> ReportRun:
    """Run drift detection for a queued run (implementation in progress: issue #4)."""
    raise NotImplementedError("drift_run_execute is being implemented (issue #4)")
