"""The drift run service (DB-01): what a run records, failures without partial events, idempotency, eight
concurrent runs on real connections, and a query count that does not grow with the number of claims."""

from __future__ import annotations

import dataclasses
import datetime
from collections.abc import Callable
from decimal import Decimal
from typing import Any
from unittest import mock

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from upstream.core.testing.concurrency import run_together
from upstream.drift import detectors, services
from upstream.drift.models import DriftEvent, ReportRun, RunStatus, RunTrigger
from upstream.drift.tests.factories import AS_OF, ReportRunFactory, save_claims, window_claims
from upstream.tenancy.models import Customer
from upstream.tenancy.tests.factories import CustomerFactory

DAY = datetime.timedelta(days=1)


def drifting_claims(customer: Customer, scale: int = 1) -> None:
    """Aetna's E&M denial rate goes 10 % → 40 %; Cigna's stays at 10 %. 1,000 × ``scale`` claims of $10
    (so that denied dollars stay below their threshold: an excess of $300 × ``scale``)."""
    for payer, current_denied in (("Aetna", 40), ("Cigna", 10)):
        save_claims(
            window_claims(customer, "baseline", 400 * scale, denied=40 * scale, payer=payer, billed="10")
        )
        save_claims(
            window_claims(
                customer, "current", 100 * scale, denied=current_denied * scale, payer=payer, billed="10"
            )
        )


def signals(run: ReportRun) -> list[tuple[str, str, str]]:
    return sorted(
        DriftEvent.objects_all_tenants.filter(report_run=run).values_list("payer", "cpt_group", "drift_type")
    )


EXPECTED_SIGNALS = [("Aetna", "ALL", "DENIAL_RATE"), ("Aetna", "E&M", "DENIAL_RATE")]


# --- one run ------------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_run_records_windows_parameters_counts_and_events() -> None:
    customer = CustomerFactory.create()
    drifting_claims(customer)
    run = ReportRunFactory.create(customer=customer)

    run = services.drift_run_execute(report_run_id=run.pk)

    assert (run.status, run.error, run.as_of) == (RunStatus.SUCCEEDED, "", AS_OF)
    assert run.started_at is not None
    assert run.finished_at is not None
    assert run.started_at <= run.finished_at
    assert (run.baseline_start, run.baseline_end) == (AS_OF - 103 * DAY, AS_OF - 14 * DAY)
    assert (run.current_start, run.current_end) == (AS_OF - 13 * DAY, AS_OF)
    # 4 groups (two payers, each with E&M and ALL) × 4 tests; 1,000 claims in the windows.
    assert (run.groups_tested, run.tests_run, run.events_count, run.claims_considered) == (4, 16, 2, 1000)
    assert run.parameters == {
        "baseline_days": 90,
        "current_days": 14,
        "min_volume": 30,
        "q": 0.05,
        "denial_rate_abs_threshold": 0.05,
        "denial_rate_rel_threshold": 0.5,
        "decision_time_days": 3.0,
        "payment_delay_days": 3.0,
        "denial_dollars_threshold": 5000.0,
    }
    assert signals(run) == EXPECTED_SIGNALS
    event = DriftEvent.objects_all_tenants.get(report_run=run, cpt_group="E&M")
    assert (event.customer_id, event.baseline_value, event.current_value, event.direction) == (
        customer.pk,
        0.1,
        0.4,
        "worsening",
    )
    assert (event.current_start, event.current_end, event.revenue_impact) == (
        AS_OF - 13 * DAY,
        AS_OF,
        Decimal("300.00"),  # 0.3 × 100 current claims × $10
    )
    assert event.evidence["current"]["denied"] == 40


@pytest.mark.django_db
def test_run_respects_requested_as_of() -> None:
    customer = CustomerFactory.create()
    drifting_claims(customer)
    run = ReportRunFactory.create(customer=customer, requested_as_of=AS_OF - 14 * DAY)

    run = services.drift_run_execute(report_run_id=run.pk)

    # The current window is then the last 14 days of the baseline: no drift there.
    assert (run.status, run.as_of, run.current_end, run.events_count) == (
        RunStatus.SUCCEEDED,
        AS_OF - 14 * DAY,
        AS_OF - 14 * DAY,
        0,
    )


@pytest.mark.django_db
def test_customer_without_claims_succeeds_with_no_events() -> None:
    run = ReportRunFactory.create()

    run = services.drift_run_execute(report_run_id=run.pk)

    assert (run.status, run.as_of, run.baseline_start, run.current_end) == (
        RunStatus.SUCCEEDED,
        None,
        None,
        None,
    )
    assert (run.groups_tested, run.tests_run, run.events_count, run.claims_considered) == (0, 0, 0, 0)
    assert run.parameters["min_volume"] == 30


@pytest.mark.django_db
@pytest.mark.parametrize("status", [RunStatus.SUCCEEDED, RunStatus.FAILED])
def test_finished_run_is_returned_unchanged(status: str) -> None:
    customer = CustomerFactory.create()
    drifting_claims(customer)
    run = ReportRunFactory.create(
        customer=customer, status=status, error="earlier" if status == "failed" else ""
    )

    with CaptureQueriesContext(connection) as queries:
        again = services.drift_run_execute(report_run_id=run.pk)

    assert len(queries) == 1  # the read of the run, nothing written
    assert (again.status, again.error, again.started_at, again.events_count) == (
        run.status,
        run.error,
        None,
        0,
    )
    assert signals(run) == []


# --- failures -----------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_failing_detection_marks_the_run_failed_with_its_error() -> None:
    customer = CustomerFactory.create()
    drifting_claims(customer)
    run = ReportRunFactory.create(customer=customer)

    with mock.patch.object(
        detectors, "detect", side_effect=ValueError("cannot compute\nDETAIL: value (Jane Doe) stays out")
    ):
        run = services.drift_run_execute(report_run_id=run.pk)

    # Only the first line of the message: database errors put row values on the DETAIL lines.
    assert (run.status, run.error) == (RunStatus.FAILED, "ValueError: cannot compute")
    assert run.finished_at is not None
    assert (run.events_count, signals(run)) == (0, [])


@pytest.mark.django_db
def test_failure_after_events_were_inserted_leaves_no_partial_events() -> None:
    """The events are inserted, then the run's own update violates a CHECK constraint (a detection patched
    at the detector boundary to report -1 claims): the whole write transaction rolls back."""
    customer = CustomerFactory.create()
    drifting_claims(customer)
    run = ReportRunFactory.create(customer=customer)
    real_detect = detectors.detect

    def corrupt(**kwargs: Any) -> detectors.Detection:
        detection = real_detect(**kwargs)
        assert len(detection.events) == 2
        return dataclasses.replace(detection, claims_considered=-1)

    with mock.patch.object(detectors, "detect", side_effect=corrupt):
        run = services.drift_run_execute(report_run_id=run.pk)

    assert run.status == RunStatus.FAILED
    assert run.error == (
        'IntegrityError: new row for relation "drift_reportrun" violates check constraint '
        '"drift_run_counts_nonneg"'
    )
    assert (run.events_count, run.claims_considered, signals(run)) == (0, 0, [])
    assert DriftEvent.objects_all_tenants.count() == 0


# --- concurrency --------------------------------------------------------------------------------------------


def _run_together(jobs: list[Callable[[], ReportRun]]) -> list[ReportRun | BaseException]:
    return run_together(jobs)


def _executor(run_id: int) -> Callable[[], ReportRun]:
    return lambda: services.drift_run_execute(report_run_id=run_id)


@pytest.mark.django_db(transaction=True)
def test_eight_concurrent_runs_for_one_customer() -> None:
    """Eight runs of one customer executed at once, each by its own thread and connection. The partial unique
    index allows one *queued* run per customer, so one run is queued and the seven others are created as
    ``running`` — the state a worker leaves a run in once it has claimed it; the service executes both."""
    customer = CustomerFactory.create()
    drifting_claims(customer)
    runs = [ReportRunFactory.create(customer=customer, trigger=RunTrigger.UPLOAD)]
    runs += [
        ReportRunFactory.create(customer=customer, status=RunStatus.RUNNING, trigger=RunTrigger.MANUAL)
        for _ in range(7)
    ]

    results = _run_together([_executor(run.pk) for run in runs])

    assert [type(r).__name__ for r in results] == ["ReportRun"] * 8  # no exception (IntegrityError, deadlock)
    for run in runs:
        run.refresh_from_db()
        assert (run.status, run.error, run.events_count) == (RunStatus.SUCCEEDED, "", 2)
        assert signals(run) == EXPECTED_SIGNALS  # unique per run: one event per signal
    assert DriftEvent.objects_all_tenants.count() == 16


@pytest.mark.django_db(transaction=True)
def test_one_run_executed_by_four_workers_at_once_is_written_once() -> None:
    customer = CustomerFactory.create()
    drifting_claims(customer)
    run = ReportRunFactory.create(customer=customer)

    results = _run_together([_executor(run.pk) for _ in range(4)])

    assert [getattr(r, "status", r) for r in results] == [RunStatus.SUCCEEDED] * 4
    run.refresh_from_db()
    assert (run.status, run.events_count, signals(run)) == (RunStatus.SUCCEEDED, 2, EXPECTED_SIGNALS)
    assert DriftEvent.objects_all_tenants.count() == 2


# --- query count --------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_query_count_does_not_grow_with_the_number_of_claims() -> None:
    counts = []
    for scale in (1, 5):  # 1,000 and 5,000 claims, the same shape: the same two events
        customer = CustomerFactory.create()
        drifting_claims(customer, scale=scale)
        run = ReportRunFactory.create(customer=customer)
        with CaptureQueriesContext(connection) as queries:
            run = services.drift_run_execute(report_run_id=run.pk)
        assert (run.status, run.claims_considered, run.events_count) == (RunStatus.SUCCEEDED, 1000 * scale, 2)
        counts.append(len(queries))

    # Read the run, start it (update, re-read), read + create the settings (savepoint, insert, release),
    # detection in a savepoint (latest decided_date, counts, two histograms, examples), then the write
    # transaction in a savepoint (lock the customer, lock the run, insert events, read them back, lock the
    # enabled alert rules — none here —, update the run, look up webhook endpoints for report_run.completed).
    assert counts == [23, 23]
