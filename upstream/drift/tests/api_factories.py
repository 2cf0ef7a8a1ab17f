"""Factories of report runs and drift events for API tests: rows written directly (unscoped manager), so the
API can be tested without executing a drift run."""

from __future__ import annotations

import datetime
from decimal import Decimal

import factory
from django.utils import timezone

from upstream.drift.models import Direction, DriftEvent, DriftType, ReportRun, RunStatus, RunTrigger
from upstream.tenancy.tests.factories import CustomerFactory, TenantModelFactory

AS_OF = datetime.date(2026, 11, 14)


def severity_label(severity: float) -> str:
    """SPEC §7: critical ≥ 0.75, high ≥ 0.5, medium ≥ 0.25, else low."""
    for bound, label in ((0.75, "critical"), (0.5, "high"), (0.25, "medium")):
        if severity >= bound:
            return label
    return "low"


class ReportRunFactory(TenantModelFactory):
    """A finished, succeeded run as of ``AS_OF`` with the default windows of SPEC §7."""

    class Meta:
        model = ReportRun

    customer = factory.SubFactory(CustomerFactory)
    trigger = RunTrigger.MANUAL
    status = RunStatus.SUCCEEDED
    as_of = AS_OF
    baseline_start = factory.LazyAttribute(lambda run: run.as_of - datetime.timedelta(days=103))
    baseline_end = factory.LazyAttribute(lambda run: run.as_of - datetime.timedelta(days=14))
    current_start = factory.LazyAttribute(lambda run: run.as_of - datetime.timedelta(days=13))
    current_end = factory.LazyAttribute(lambda run: run.as_of)
    parameters = factory.LazyFunction(lambda: {"baseline_days": 90, "current_days": 14, "min_volume": 30})
    started_at = factory.LazyFunction(timezone.now)
    finished_at = factory.LazyFunction(timezone.now)


class DriftEventFactory(TenantModelFactory):
    """A worsening DENIAL_RATE event (20 % → 30 %) of a run; ``severity_label`` follows ``severity``."""

    class Meta:
        model = DriftEvent

    report_run = factory.SubFactory(ReportRunFactory)
    customer = factory.SelfAttribute("report_run.customer")
    payer = factory.Sequence(lambda n: f"Payer {n}")
    cpt_group = "E&M"
    drift_type = DriftType.DENIAL_RATE
    baseline_value = 0.2
    current_value = 0.3
    delta = factory.LazyAttribute(lambda e: round(e.current_value - e.baseline_value, 6))
    direction = Direction.WORSENING
    baseline_n = 400
    current_n = 80
    statistic = 2.5
    test = "two_proportion_z"
    p_value = 0.01
    adjusted_p_value = 0.02
    interval_low = 0.02
    interval_high = 0.18
    severity = 0.5
    severity_label = factory.LazyAttribute(lambda e: severity_label(e.severity))
    confidence = factory.LazyAttribute(lambda e: round(1 - e.adjusted_p_value, 6))
    revenue_impact = Decimal("1000.00")
    baseline_start = factory.SelfAttribute("report_run.baseline_start")
    baseline_end = factory.SelfAttribute("report_run.baseline_end")
    current_start = factory.SelfAttribute("report_run.current_start")
    current_end = factory.SelfAttribute("report_run.current_end")
    evidence = factory.LazyFunction(lambda: {"claim_ids": []})
