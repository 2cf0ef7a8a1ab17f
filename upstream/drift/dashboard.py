"""The customer dashboard (SPEC §9 ``dashboard/``): claim totals, active drift, a six-month denial-rate trend
and the top drifting payers, computed in SQL and cached per customer.

The cache key carries a per-customer version token; ``dashboard_invalidate`` replaces the token (after an
upload or a drift run completes), so every earlier entry is simply never read again, even one a slow request
writes after the invalidation.
"""

from __future__ import annotations

import datetime
import uuid
import zoneinfo
from decimal import Decimal
from typing import Any

from django.core.cache import cache
from django.db.models import Count, DecimalField, Max, Q, Sum, Value
from django.db.models.functions import Coalesce, TruncMonth
from django.utils import timezone

from upstream.claims.models import ClaimRecord, Outcome
from upstream.drift import selectors
from upstream.drift.models import Direction, DriftEvent
from upstream.tenancy.models import Customer

CACHE_SECONDS = 3600  # an upper bound: uploads and runs invalidate at once
TREND_MONTHS = 6
TOP_PAYERS = 5
RECENT_DAYS = 30

_MONEY = DecimalField(max_digits=16, decimal_places=2)
_ZERO = Value(Decimal("0.00"), output_field=_MONEY)


def _version_key(customer_id: int) -> str:
    return f"drift:dashboard:version:{customer_id}"


def _version(customer_id: int) -> str:
    key = _version_key(customer_id)
    version = cache.get(key)
    if version is None:
        # A fresh random token, never a counter restarting at 0: an evicted version key must not revive
        # entries written under an earlier version.
        cache.add(key, uuid.uuid4().hex, timeout=None)
        version = cache.get(key)
    return str(version)


def dashboard_invalidate(*, customer_id: int) -> None:
    """Make the customer's next dashboard request recompute (called when an upload or a run completes)."""
    cache.set(_version_key(customer_id), uuid.uuid4().hex, timeout=None)


def _local_today(customer: Customer) -> datetime.date:
    return timezone.now().astimezone(zoneinfo.ZoneInfo(customer.timezone)).date()


def dashboard_get(*, customer: Customer) -> dict[str, Any]:
    """The dashboard of ``customer``, from the cache when nothing changed since it was computed.

    Runs inside the customer's tenant scope. "Today" is the customer's local date, part of the key, so the
    30-day count moves on at midnight.
    """
    today = _local_today(customer)
    key = f"drift:dashboard:{customer.pk}:{_version(customer.pk)}:{today.isoformat()}"
    cached: dict[str, Any] | None = cache.get(key)
    if cached is not None:
        return cached
    data = dashboard_compute(today=today)
    cache.set(key, data, CACHE_SECONDS)
    return data


def _rate(denied: int, paid: int) -> float | None:
    decided = denied + paid
    return round(denied / decided, 4) if decided else None


def _add_months(month: datetime.date, months: int) -> datetime.date:
    index = month.year * 12 + month.month - 1 + months
    return datetime.date(index // 12, index % 12 + 1, 1)


def _denial_rate_trend(latest_decided: datetime.date | None) -> list[dict[str, Any]]:
    """Claims, denied, paid and denial rate per month of decided_date (DATE_TRUNC in SQL), for the six months
    up to the latest decided_date; months without claims are listed with zeros."""
    if latest_decided is None:
        return []
    last_month = latest_decided.replace(day=1)
    first_month = _add_months(last_month, -(TREND_MONTHS - 1))
    rows = (
        ClaimRecord.objects.filter(decided_date__gte=first_month, decided_date__lte=latest_decided)
        .annotate(month=TruncMonth("decided_date"))
        .order_by()
        .values("month")
        .annotate(
            claims=Count("id"),
            denied=Count("id", filter=Q(outcome=Outcome.DENIED)),
            paid=Count("id", filter=Q(outcome=Outcome.PAID)),
        )
    )
    by_month = {row["month"]: row for row in rows}
    trend = []
    for offset in range(TREND_MONTHS):
        month = _add_months(first_month, offset)
        row = by_month.get(month, {"claims": 0, "denied": 0, "paid": 0})
        trend.append(
            {
                "month": month,
                "claims": row["claims"],
                "denied": row["denied"],
                "paid": row["paid"],
                "denial_rate": _rate(row["denied"], row["paid"]),
            }
        )
    return trend


def dashboard_compute(*, today: datetime.date) -> dict[str, Any]:
    """Compute the dashboard of the customer in scope (five aggregate queries, none per row)."""
    totals = ClaimRecord.objects.aggregate(
        claims=Count("id"),
        claims_last_30_days=Count(
            "id",
            filter=Q(decided_date__gt=today - datetime.timedelta(days=RECENT_DAYS), decided_date__lte=today),
        ),
        paid=Count("id", filter=Q(outcome=Outcome.PAID)),
        denied=Count("id", filter=Q(outcome=Outcome.DENIED)),
        billed_total=Coalesce(Sum("billed_amount"), _ZERO, output_field=_MONEY),
        paid_total=Coalesce(Sum("paid_amount"), _ZERO, output_field=_MONEY),
        latest_decided_date=Max("decided_date"),
    )
    latest_decided = totals.pop("latest_decided_date")
    totals["denial_rate"] = _rate(totals["denied"], totals["paid"])

    latest_run = selectors.latest_succeeded_run()
    active_count = 0
    top_payers: list[dict[str, Any]] = []
    if latest_run is not None:
        worsening = DriftEvent.objects.filter(report_run_id=latest_run.pk, direction=Direction.WORSENING)
        active_count = worsening.count()
        top_payers = list(
            worsening.order_by()
            .values("payer")
            .annotate(
                events=Count("id"),
                max_severity=Max("severity"),
                revenue_impact=Coalesce(Sum("revenue_impact"), _ZERO, output_field=_MONEY),
            )
            .order_by("-max_severity", "-revenue_impact", "payer")[:TOP_PAYERS]
        )
    return {
        "generated_at": timezone.now(),
        "as_of": today,
        "totals": {**totals, "latest_decided_date": latest_decided},
        "latest_run": None
        if latest_run is None
        else {"id": latest_run.pk, "as_of": latest_run.as_of, "finished_at": latest_run.finished_at},
        "active_drift_count": active_count,
        "denial_rate_trend": _denial_rate_trend(latest_decided),
        "top_drifting_payers": top_payers,
    }
