"""What starts a drift run besides the API (SPEC §6, §7): a completed upload (on commit, debounced), the
weekly beat job for every customer, and ``manage.py run_drift``."""

from __future__ import annotations

import datetime
import io
from collections import Counter
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from celery.schedules import crontab
from django.conf import settings as django_settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command

from upstream.claims.tests.factories import ClaimRecordFactory
from upstream.claims.tests.helpers import claim_row, csv_bytes, ingest
from upstream.core.testing.tenants import Tenant
from upstream.drift.models import DriftEvent, ReportRun, RunStatus, RunTrigger
from upstream.drift.services import report_run_request
from upstream.drift.tasks import request_scheduled_runs
from upstream.drift.tests.api_factories import ReportRunFactory
from upstream.tenancy.models import Customer
from upstream.tenancy.roles import Role
from upstream.tenancy.scoping import all_tenants_scope


@pytest.fixture(autouse=True)
def _private_media(settings: Any, tmp_path: Path) -> None:
    settings.MEDIA_ROOT = tmp_path / "media"


def _runs(tenant: Tenant) -> list[tuple[str, str]]:
    with all_tenants_scope():
        return list(
            ReportRun.objects.filter(customer=tenant.customer).order_by("id").values_list("trigger", "status")
        )


# --- after an upload --------------------------------------------------------------------------------------


def test_completed_upload_requests_a_run_once_committed(
    tenant: Tenant, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks() as after_upload:
        upload = ingest(tenant, csv_bytes([claim_row("C-1"), claim_row("C-2", outcome="DENIED")]))
    assert upload.status == "succeeded"
    assert _runs(tenant) == []  # nothing before the claims are committed
    assert len(after_upload) == 2  # dashboard invalidation, run request
    with django_capture_on_commit_callbacks() as enqueued:
        for callback in after_upload:
            callback()
    assert _runs(tenant) == [("upload", "queued")]
    assert len(enqueued) == 1  # the run's execution, enqueued once the request commits


def test_partial_upload_requests_a_run_and_failed_one_does_not(
    tenant: Tenant, other_tenant: Tenant, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=False) as after_failed:
        failed = ingest(tenant, csv_bytes([claim_row("C-1", outcome="maybe")]))
    assert (failed.status, after_failed) == ("failed", [])
    with django_capture_on_commit_callbacks(execute=False) as after_partial:
        partial = ingest(other_tenant, csv_bytes([claim_row("C-1"), claim_row("C-2", outcome="maybe")]))
    assert partial.status == "partial"
    for callback in after_partial:
        callback()
    assert (_runs(tenant), _runs(other_tenant)) == ([], [("upload", "queued")])


def test_uploads_completing_while_a_run_is_queued_share_it(
    tenant: Tenant, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        ingest(tenant, csv_bytes([claim_row("C-1")]))
        ingest(tenant, csv_bytes([claim_row("C-2")]))
    assert len(callbacks) == 4
    with django_capture_on_commit_callbacks(execute=False) as enqueued:
        for callback in callbacks:
            callback()
    assert _runs(tenant) == [("upload", "queued")]
    assert len(enqueued) == 1
    # A manual request meanwhile gets the same queued run.
    response = tenant.client(Role.ANALYST).post("/api/v1/report-runs/", {}, format="json")
    assert (response.status_code, response.json()["trigger"]) == (202, "upload")


def test_upload_completion_invalidates_the_dashboard(
    tenant: Tenant, django_capture_on_commit_callbacks: Any
) -> None:
    client = tenant.client(Role.VIEWER)
    ingest(tenant, csv_bytes([claim_row("C-1")]))
    assert client.get("/api/v1/dashboard/").json()["totals"]["claims"] == 1
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        ingest(tenant, csv_bytes([claim_row("C-2"), claim_row("C-3")]))
    assert client.get("/api/v1/dashboard/").json()["totals"]["claims"] == 1  # cached until the commit
    callbacks[0]()  # the invalidation (the run request is the second callback)
    assert client.get("/api/v1/dashboard/").json()["totals"]["claims"] == 3


# --- weekly ----------------------------------------------------------------------------------------------


def test_weekly_beat_entry() -> None:
    entry = django_settings.CELERY_BEAT_SCHEDULE["drift-weekly-runs"]
    assert entry["task"] == request_scheduled_runs.name == "drift.request_scheduled_runs"
    assert isinstance(entry["schedule"], crontab)
    schedule: Any = entry["schedule"]  # celery-types does not declare crontab's parsed fields
    assert (schedule.minute, schedule.hour, schedule.day_of_week) == ({0}, {6}, {1})  # Monday 06:00
    assert (schedule.day_of_month, schedule.month_of_year) == (set(range(1, 32)), set(range(1, 13)))
    assert django_settings.CELERY_TIMEZONE == "UTC"


def test_weekly_task_requests_a_run_for_every_customer(
    make_tenant: Any, django_capture_on_commit_callbacks: Any
) -> None:
    fresh, busy, done = make_tenant(), make_tenant(), make_tenant()
    queued = ReportRunFactory.create(
        customer=busy.customer, trigger=RunTrigger.UPLOAD, status=RunStatus.QUEUED
    )
    ReportRunFactory.create(customer=done.customer)
    with django_capture_on_commit_callbacks(execute=False) as enqueued:
        result = request_scheduled_runs.apply().get()
    assert result == {"requested": 2, "debounced": 1, "failed": 0}
    assert _runs(fresh) == [("schedule", "queued")]
    assert _runs(busy) == [("upload", "queued")]  # debounced: the queued run serves the schedule too
    assert _runs(done) == [("manual", "succeeded"), ("schedule", "queued")]
    assert len(enqueued) == 2
    with all_tenants_scope():
        assert ReportRun.objects.get(customer=busy.customer, status=RunStatus.QUEUED).pk == queued.pk


# --- run_drift -------------------------------------------------------------------------------------------


def test_run_drift_refuses_an_unknown_customer_and_a_bad_date(tenant: Tenant) -> None:
    with pytest.raises(CommandError, match="No customer with slug 'nobody'"):
        call_command("run_drift", "--customer", "nobody")
    with pytest.raises(CommandError, match="--as-of must be a date"):
        call_command("run_drift", "--customer", tenant.customer.slug, "--as-of", "11/14/2026")
    assert _runs(tenant) == []


# --- end to end, with the run service executing -----------------------------------------------------------

AS_OF = datetime.date(2026, 11, 14)


def _denial_rate_drift(tenant: Tenant) -> None:
    """Aetna / E&M: 60 baseline claims 20 % denied, 50 current claims 60 % denied; nothing else changes."""
    for window, count, denied, first_day, span in (
        ("baseline", 60, 12, 103, 90),
        ("current", 50, 30, 13, 14),
    ):
        for i in range(count):
            decided = (
                AS_OF - datetime.timedelta(days=first_day) + datetime.timedelta(days=(i * span) // count)
            )
            is_denied = i < denied
            ClaimRecordFactory.create(
                customer=tenant.customer,
                claim_number=f"{window}-{i}",
                submitted_date=decided - datetime.timedelta(days=5),
                decided_date=decided,
                paid_date=None if is_denied else decided + datetime.timedelta(days=10),
                outcome="DENIED" if is_denied else "PAID",
                billed_amount=Decimal("100.00"),
                paid_amount=None if is_denied else Decimal("80.00"),
            )


def test_upload_through_the_api_runs_drift_and_refreshes_the_dashboard(
    tenant: Tenant, django_capture_on_commit_callbacks: Any
) -> None:
    client = tenant.client(Role.ANALYST)
    assert client.get("/api/v1/dashboard/").json()["latest_run"] is None  # now cached
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            "/api/v1/uploads/",
            {"file": SimpleUploadedFile("c.csv", csv_bytes([claim_row("C-1"), claim_row("C-2")]))},
            format="multipart",
        )
    assert response.status_code == 202
    assert _runs(tenant) == [("upload", "succeeded")]
    with all_tenants_scope():
        run = ReportRun.objects.get(customer=tenant.customer)
    assert (run.as_of, run.claims_considered, run.events_count) == (datetime.date(2025, 1, 20), 2, 0)
    dashboard = client.get("/api/v1/dashboard/").json()
    assert (dashboard["totals"]["claims"], dashboard["latest_run"]["id"]) == (2, run.pk)


def test_run_completion_refreshes_the_dashboard(
    tenant: Tenant, django_capture_on_commit_callbacks: Any
) -> None:
    _denial_rate_drift(tenant)
    client = tenant.client(Role.VIEWER)
    with django_capture_on_commit_callbacks(execute=False) as enqueued:
        run, created = report_run_request(customer=tenant.customer, trigger=RunTrigger.MANUAL)
    before = client.get("/api/v1/dashboard/").json()
    assert (created, before["latest_run"], before["active_drift_count"]) == (True, None, 0)
    enqueued[0]()  # the worker executes the run (eager Celery)
    after = client.get("/api/v1/dashboard/").json()
    assert after["latest_run"]["id"] == run.pk
    with all_tenants_scope():
        events = list(DriftEvent.objects.filter(report_run_id=run.pk))
    assert after["active_drift_count"] == len(events) > 0
    assert after["top_drifting_payers"] == [
        {
            "payer": "Aetna",
            "events": len(events),
            "max_severity": max(e.severity for e in events),
            "revenue_impact": f"{sum(e.revenue_impact for e in events):.2f}",
        }
    ]
    active = client.get("/api/v1/drift-events/active/").json()
    assert sorted(e["id"] for e in active["results"]) == sorted(e.pk for e in events)


def _expected_summary(run: ReportRun, events: list[DriftEvent], slug: str) -> list[str]:
    by_type = Counter(e.drift_type for e in events)
    by_label = Counter(e.severity_label for e in events)
    worsening = sum(e.direction == "worsening" for e in events)
    lines = [
        f"Run {run.pk} for {slug} succeeded: as of {run.as_of}, {run.claims_considered:,} claims, "
        f"{run.groups_tested:,} groups, {run.tests_run:,} tests, {len(events)} events "
        f"({worsening} worsening, {len(events) - worsening} improving).",
        f"Windows: baseline {run.baseline_start} – {run.baseline_end}, "
        f"current {run.current_start} – {run.current_end}",
        "By drift type:  "
        + ", ".join(
            f"{t} {by_type[t]}" for t in ("DENIAL_RATE", "DECISION_TIME", "PAYMENT_DELAY", "DENIAL_DOLLARS")
        ),
        "By severity:    "
        + ", ".join(f"{label} {by_label[label]}" for label in ("critical", "high", "medium", "low")),
        f"Top {len(events)} events:",
    ]
    for e in sorted(events, key=lambda e: (-e.severity, e.pk)):
        lines.append(
            f"  {e.severity:.2f} {e.severity_label:<8} {e.drift_type:<14} {e.payer} / {e.cpt_group}: "
            f"{e.baseline_value:.4g} → {e.current_value:.4g} ({e.direction}), "
            f"p_adj={e.adjusted_p_value:.2g}, impact ${e.revenue_impact:,.2f}"
        )
    return lines


def test_run_drift_executes_a_run_and_prints_its_summary(tenant: Tenant) -> None:
    _denial_rate_drift(tenant)
    out = io.StringIO()
    call_command("run_drift", "--customer", tenant.customer.slug, stdout=out)
    with all_tenants_scope():
        run = ReportRun.objects.get(customer=tenant.customer)
        events = list(DriftEvent.objects.filter(report_run_id=run.pk))
    assert (run.trigger, run.status, run.as_of, run.claims_considered) == ("manual", "succeeded", AS_OF, 110)
    assert {(e.drift_type, e.payer, e.direction, e.baseline_value, e.current_value) for e in events} == {
        ("DENIAL_RATE", "Aetna", "worsening", 0.2, 0.6)
    }
    assert "E&M" in {e.cpt_group for e in events} <= {"E&M", "ALL"}
    assert out.getvalue().splitlines() == _expected_summary(run, events, tenant.customer.slug)


def test_run_drift_executes_a_queued_run_first_then_the_requested_as_of(tenant: Tenant) -> None:
    _denial_rate_drift(tenant)
    queued, _ = report_run_request(customer=tenant.customer, trigger=RunTrigger.UPLOAD)
    out = io.StringIO()
    call_command("run_drift", "--customer", tenant.customer.slug, "--as-of", "2026-10-31", stdout=out)
    with all_tenants_scope():
        runs = list(ReportRun.objects.filter(customer=tenant.customer).order_by("id"))
    assert [(r.pk, r.trigger, r.status, r.requested_as_of, r.as_of) for r in runs] == [
        (queued.pk, "upload", "succeeded", None, AS_OF),
        (runs[1].pk, "manual", "succeeded", datetime.date(2026, 10, 31), datetime.date(2026, 10, 31)),
    ]
    assert out.getvalue().startswith(
        f"Run {runs[1].pk} for {tenant.customer.slug} succeeded: as of 2026-10-31,"
    )


@pytest.mark.django_db
def test_seed_demo_leaves_drift_results_for_the_demo_customer() -> None:
    out = io.StringIO()
    call_command("seed_demo", "--claims", "5000", stdout=out)
    customer = Customer.objects.get(slug="demo-clinic")
    with all_tenants_scope():
        run = ReportRun.objects.get(customer=customer)
    assert run.status == "succeeded"
    assert f"Demo drift: run {run.pk} succeeded, {run.events_count} events" in out.getvalue()
    again = io.StringIO()
    call_command("seed_demo", "--claims", "5000", stdout=again)
    assert f"Demo drift: run {run.pk} succeeded" in again.getvalue()  # kept, not run again
    with all_tenants_scope():
        assert ReportRun.objects.filter(customer=customer).count() == 1
