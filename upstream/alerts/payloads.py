"""The data of the alert webhook events (SPEC §8): ids and aggregate numbers only, never PHI.

Nothing here reads a drift event's evidence (it holds claim ids) or an operator's free-text notes.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from upstream.alerts.models import AlertEvent, Verdict
from upstream.drift.models import DriftEvent


def alert_created_data(*, alert: AlertEvent, event: DriftEvent) -> dict[str, Any]:
    """``alert.created``: the alert, its rule, and the signal's numbers and windows."""
    return {
        "alert_id": alert.pk,
        "rule_id": alert.rule_id,
        "drift_event_id": event.pk,
        "report_run_id": event.report_run_id,
        "status": alert.status,
        "payer": event.payer,
        "cpt_group": event.cpt_group,
        "drift_type": event.drift_type,
        "direction": event.direction,
        "severity": event.severity,
        "severity_label": event.severity_label,
        "confidence": event.confidence,
        "baseline_value": event.baseline_value,
        "current_value": event.current_value,
        "delta": event.delta,
        "baseline_n": event.baseline_n,
        "current_n": event.current_n,
        "p_value": event.p_value,
        "adjusted_p_value": event.adjusted_p_value,
        "revenue_impact": str(event.revenue_impact),
        "baseline_start": event.baseline_start,
        "baseline_end": event.baseline_end,
        "current_start": event.current_start,
        "current_end": event.current_end,
        "created_at": alert.created_at.isoformat() if alert.created_at else None,
    }


def verdict_counts(verdicts: list[str]) -> dict[str, int]:
    counts = Counter(verdicts)
    return {verdict: counts.get(verdict, 0) for verdict in Verdict.values}


def alert_updated_data(
    *, alert: AlertEvent, previous_status: str, verdict: str, verdicts: list[str]
) -> dict[str, Any]:
    """``alert.updated`` after feedback: the status change and the verdict counts (never the notes)."""
    return {
        "alert_id": alert.pk,
        "rule_id": alert.rule_id,
        "drift_event_id": alert.drift_event_id,
        "payer": alert.payer,
        "cpt_group": alert.cpt_group,
        "drift_type": alert.drift_type,
        "status": alert.status,
        "previous_status": previous_status,
        "verdict": verdict,
        "feedback_counts": verdict_counts(verdicts),
    }
