"""``python manage.py run_drift --customer SLUG [--as-of DATE]``: run drift detection now, in this process,
and print what it found (SPEC §7)."""

from __future__ import annotations

import datetime
from decimal import Decimal
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from upstream.drift import selectors, services
from upstream.drift.dashboard import dashboard_invalidate
from upstream.drift.models import DriftEvent, ReportRun, RunStatus, RunTrigger
from upstream.tenancy.models import Customer
from upstream.tenancy.scoping import tenant_scope


def _date(value: str) -> datetime.date:
    try:
        return datetime.date.fromisoformat(value)
    except ValueError as exc:
        raise CommandError(f"--as-of must be a date as YYYY-MM-DD, not {value!r}") from exc


def _money(amount: Decimal) -> str:
    return f"-${-amount:,.2f}" if amount < 0 else f"${amount:,.2f}"


def drift_run_now(*, customer: Customer, as_of: datetime.date | None) -> ReportRun:
    """Request a run (debounced like every trigger) and execute it synchronously.

    When a run was already queued (after an upload, say) that run is executed; if it was queued with another
    ``as_of`` than the one asked for, a run with the requested ``as_of`` is executed after it. Should a worker
    pick the queued run up at the same moment, the run service executes it once.
    """
    run, created = services.report_run_request(customer=customer, trigger=RunTrigger.MANUAL, as_of=as_of)
    if not created and as_of is not None and run.requested_as_of != as_of:
        services.drift_run_execute(report_run_id=run.pk)
        run, _ = services.report_run_request(customer=customer, trigger=RunTrigger.MANUAL, as_of=as_of)
    run = services.drift_run_execute(report_run_id=run.pk)
    dashboard_invalidate(customer_id=customer.pk)
    return run


class Command(BaseCommand):
    help = "Run drift detection for one customer now and print a summary of the events found."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--customer", required=True, help="The customer's slug.")
        parser.add_argument(
            "--as-of", type=_date, default=None, help="YYYY-MM-DD; default: the latest decided_date."
        )
        parser.add_argument("--top", type=int, default=10, help="How many of the top events to list.")

    def handle(self, *args: Any, **opts: Any) -> None:
        customer = Customer.objects.filter(slug=opts["customer"]).first()
        if customer is None:
            raise CommandError(f"No customer with slug {opts['customer']!r}.")
        with tenant_scope(customer.pk):
            run = drift_run_now(customer=customer, as_of=opts["as_of"])
            run = selectors.report_runs_with_event_counts(ReportRun.objects.filter(pk=run.pk)).get()
            if run.status != RunStatus.SUCCEEDED:
                raise CommandError(f"Run {run.pk} {run.status}: {run.error or 'no error recorded'}")
            top = list(
                DriftEvent.objects.filter(report_run_id=run.pk).order_by("-severity", "id")[: opts["top"]]
            )
        self._summary(customer, run, top)

    def _summary(self, customer: Customer, run: ReportRun, top: list[DriftEvent]) -> None:
        counts = selectors.report_run_event_counts(run)
        out = self.stdout.write
        out(
            self.style.SUCCESS(
                f"Run {run.pk} for {customer.slug} {run.status}: as of {run.as_of}, "
                f"{run.claims_considered:,} claims, {run.groups_tested:,} groups, {run.tests_run:,} tests, "
                f"{counts['total']} events "
                f"({counts['worsening']} worsening, {counts['improving']} improving)."
            )
        )
        out(
            f"Windows: baseline {run.baseline_start} – {run.baseline_end}, "
            f"current {run.current_start} – {run.current_end}"
        )
        out("By drift type:  " + ", ".join(f"{k} {v}" for k, v in counts["by_drift_type"].items()))
        out("By severity:    " + ", ".join(f"{k} {v}" for k, v in counts["by_severity_label"].items()))
        if not top:
            out("No drift found.")
            return
        out(f"Top {len(top)} events:")
        for event in top:
            out(
                f"  {event.severity:.2f} {event.severity_label:<8} {event.drift_type:<14} "
                f"{event.payer} / {event.cpt_group}: {event.baseline_value:.4g} → {event.current_value:.4g} "
                f"({event.direction}), p_adj={event.adjusted_p_value:.2g}, "
                f"impact {_money(event.revenue_impact)}"
            )
