"""Reads of drift detection: runs with their event counts, and the "active" events (latest succeeded run).

Every function returns a queryset built on the tenant-scoped managers (or narrows the one it is given), so it
runs inside the caller's tenant scope and never reaches another customer's rows.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Count, F, OrderBy, Q, QuerySet

from upstream.drift.models import Direction, DriftEvent, DriftType, ReportRun, RunStatus, SeverityLabel

# "Latest" succeeded run: the one over the most recent data (as_of), then the one that finished last. A
# backdated what-if run (POST with an earlier as_of) must not replace the current picture on the dashboard.
LATEST_FIRST: tuple[OrderBy | str, ...] = (
    F("as_of").desc(nulls_last=True),
    F("finished_at").desc(nulls_last=True),
    "-id",
)


def _count_key(prefix: str, value: str) -> str:
    return f"events_{prefix}_{value.lower()}"


def report_runs_with_event_counts(queryset: QuerySet[ReportRun]) -> QuerySet[ReportRun]:
    """Annotate each run with its event counts (total, by direction, drift type and severity label) in the
    same query: one aggregate over the events join, so a page of runs costs one query whatever its size."""
    counts: dict[str, Any] = {"events_total": Count("events")}
    for direction in Direction.values:
        counts[_count_key("direction", direction)] = Count("events", filter=Q(events__direction=direction))
    for drift_type in DriftType.values:
        counts[_count_key("type", drift_type)] = Count("events", filter=Q(events__drift_type=drift_type))
    for label in SeverityLabel.values:
        counts[_count_key("label", label)] = Count("events", filter=Q(events__severity_label=label))
    return queryset.annotate(**counts)


def report_run_event_counts(run: ReportRun) -> dict[str, Any]:
    """The counts annotated by ``report_runs_with_event_counts``, shaped for the API."""
    return {
        "total": run.events_total,  # type: ignore[attr-defined]
        "worsening": getattr(run, _count_key("direction", Direction.WORSENING)),
        "improving": getattr(run, _count_key("direction", Direction.IMPROVING)),
        "by_drift_type": {t: getattr(run, _count_key("type", t)) for t in DriftType.values},
        "by_severity_label": {
            label: getattr(run, _count_key("label", label)) for label in SeverityLabel.values
        },
    }


def latest_succeeded_run_ids() -> QuerySet[ReportRun, dict[str, Any]]:
    """Ids of the latest succeeded run of each customer in scope (one per customer: DISTINCT ON), as an
    uncorrelated subquery that PostgreSQL evaluates once."""
    return (
        ReportRun.objects.filter(status=RunStatus.SUCCEEDED)
        .order_by("customer_id", *LATEST_FIRST)
        .distinct("customer_id")
        .values("id")
    )


def latest_succeeded_run() -> ReportRun | None:
    """The latest succeeded run of the customer in scope."""
    return ReportRun.objects.filter(status=RunStatus.SUCCEEDED).order_by(*LATEST_FIRST).first()


def drift_events_active(queryset: QuerySet[DriftEvent]) -> QuerySet[DriftEvent]:
    """Narrow ``queryset`` to the events of the latest succeeded run of their customer."""
    return queryset.filter(report_run_id__in=latest_succeeded_run_ids())
