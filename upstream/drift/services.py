"""State changes of drift detection: settings, requesting runs (debounced) and executing them."""

from __future__ import annotations

import datetime
import logging
from dataclasses import asdict

from django.db import IntegrityError, transaction
from django.db.models import F, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from upstream.alerts.evaluation import alerts_evaluate
from upstream.drift import detectors
from upstream.drift.models import DriftEvent, DriftSettings, ReportRun, RunStatus
from upstream.tenancy.models import Customer, User
from upstream.tenancy.scoping import tenant_scope
from upstream.webhooks.models import EventType as WebhookEventType
from upstream.webhooks.services import webhook_event_emit

logger = logging.getLogger(__name__)

EXECUTABLE = (RunStatus.QUEUED, RunStatus.RUNNING)
ERROR_MAX_CHARS = 500
WINDOW_FIELDS = ("baseline_start", "baseline_end", "current_start", "current_end")


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
    """Execute a queued (or running) drift run and return it; any other run is returned unchanged.

    DB-01: the statistics are computed first, outside any write transaction (detectors only read, in one
    snapshot). Then one transaction locks the Customer row (``SELECT … FOR UPDATE``; lock order Customer →
    ReportRun → DriftEvent → AlertRule → AlertEvent → WebhookDelivery), re-checks under the lock that the run
    is still executable (a second worker executing the same run finds it finished and writes nothing),
    inserts the events with ``ON CONFLICT DO NOTHING`` and marks the run succeeded: events and success commit
    together. Any exception marks the run ``failed`` with its type and first message line, and no event.
    """
    run = ReportRun.objects_all_tenants.get(pk=report_run_id)
    if run.status not in EXECUTABLE:
        return run
    with tenant_scope(run.customer_id):
        run = _run_start(run)
        try:
            settings = drift_settings_get(customer_id=run.customer_id)
            parameters = detectors.Parameters.from_settings(settings)
            detection = detectors.detect(
                customer_id=run.customer_id, parameters=parameters, as_of=run.requested_as_of
            )
            return _run_succeed(run, detection)
        except Exception as exc:
            logger.exception("drift run %s failed", run.pk)
            return _run_fail(run, exc)


def _run_start(run: ReportRun) -> ReportRun:
    """queued → running (first start only sets started_at); a conditional update, so it cannot reopen a run
    that finished in between."""
    ReportRun.objects_all_tenants.filter(pk=run.pk, status__in=EXECUTABLE).update(
        status=RunStatus.RUNNING, started_at=Coalesce(F("started_at"), Value(timezone.now()))
    )
    run.refresh_from_db()
    return run


def _run_succeed(run: ReportRun, detection: detectors.Detection) -> ReportRun:
    with transaction.atomic():
        Customer.objects.select_for_update().only("pk").get(pk=run.customer_id)
        locked = (
            ReportRun.objects_all_tenants.select_for_update().filter(pk=run.pk, status__in=EXECUTABLE).first()
        )
        if locked is None:  # finished by another worker while we computed: leave it as it is
            return ReportRun.objects_all_tenants.get(pk=run.pk)
        DriftEvent.objects_all_tenants.bulk_create(
            [
                DriftEvent(customer_id=run.customer_id, report_run_id=run.pk, **asdict(draft))
                for draft in detection.events
            ],
            ignore_conflicts=True,
        )
        windows = detection.windows
        bounds = windows.bounds() if windows else dict.fromkeys(WINDOW_FIELDS)  # no claims: no windows
        for name, day in bounds.items():
            setattr(locked, name, day)
        locked.as_of = windows.as_of if windows else None
        locked.parameters = detection.parameters.as_json()
        locked.groups_tested = detection.groups_tested
        locked.tests_run = detection.tests_run
        locked.claims_considered = detection.claims_considered
        # The run's events (evidence deferred: alerts never read it) feed the alert evaluation, under the
        # same Customer lock, so concurrent runs raise each alert once (lock order continues AlertRule →
        # AlertEvent → WebhookDelivery).
        events = list(
            DriftEvent.objects_all_tenants.filter(report_run_id=run.pk).defer("evidence").order_by("id")
        )
        evaluation = alerts_evaluate(customer_id=run.customer_id, drift_events=events)
        locked.events_count = len(events)
        locked.status = RunStatus.SUCCEEDED
        locked.error = ""
        locked.finished_at = timezone.now()
        locked.save()
        _emit_run_completed(
            locked, alerts_created=len(evaluation.delivered), alerts_suppressed=len(evaluation.suppressed)
        )
    return locked


def _run_fail(run: ReportRun, exc: BaseException) -> ReportRun:
    """Record the failure without PHI: the exception type and the first line of its message (database
    errors put the offending values on later DETAIL lines), capped. ``report_run.completed`` goes to the
    outbox in the same transaction, when this call is the one that finished the run."""
    first_line = (str(exc).strip().splitlines() or [""])[0]
    error = f"{type(exc).__name__}: {first_line}"[:ERROR_MAX_CHARS]
    with transaction.atomic():
        finished = ReportRun.objects_all_tenants.filter(pk=run.pk, status__in=EXECUTABLE).update(
            status=RunStatus.FAILED, error=error, finished_at=timezone.now()
        )
        run.refresh_from_db()
        if finished:
            _emit_run_completed(run, alerts_created=0, alerts_suppressed=0)
    return run


def _emit_run_completed(run: ReportRun, *, alerts_created: int, alerts_suppressed: int) -> None:
    """``report_run.completed`` into the webhook outbox: ids, windows and counts. A failure carries only the
    exception type (``error_code``), never its message."""
    webhook_event_emit(
        customer_id=run.customer_id,
        event_type=WebhookEventType.REPORT_RUN_COMPLETED,
        data={
            "report_run_id": run.pk,
            "status": run.status,
            "trigger": run.trigger,
            "as_of": run.as_of,
            "baseline_start": run.baseline_start,
            "baseline_end": run.baseline_end,
            "current_start": run.current_start,
            "current_end": run.current_end,
            "groups_tested": run.groups_tested,
            "tests_run": run.tests_run,
            "claims_considered": run.claims_considered,
            "events_count": run.events_count,
            "alerts_created": alerts_created,
            "alerts_suppressed": alerts_suppressed,
            "error_code": run.error.split(":", 1)[0] if run.error else None,
        },
    )
