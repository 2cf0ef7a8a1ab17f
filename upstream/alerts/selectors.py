"""Reads of alerts: the alert list with everything its serializer shows in a constant number of queries."""

from __future__ import annotations

from typing import Any

from django.db.models import Prefetch, QuerySet

from upstream.alerts.models import AlertEvent, OperatorFeedback


def alerts_with_details(queryset: QuerySet[AlertEvent]) -> QuerySet[AlertEvent]:
    """Narrow nothing; join the rule and the drift event (without its evidence, which alerts never show)
    and prefetch every feedback with its operator: three queries for a page, whatever its size."""
    feedback: QuerySet[Any] = OperatorFeedback.objects.select_related("operator").order_by("created_at", "id")
    return (
        queryset.select_related("rule", "drift_event")
        .defer("drift_event__evidence")
        .prefetch_related(Prefetch("feedback", queryset=feedback))
    )
