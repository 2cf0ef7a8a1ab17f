"""Drift detectors (SPEC §7): windows, the four tests over the aggregates of ``queries``, Benjamini–Hochberg
and event drafts.

Read only. ``detect`` aggregates one customer's claims in PostgreSQL — per (payer, cpt_group) and per payer
(``cpt_group = "ALL"``, a ``GROUPING SETS`` roll-up) — and runs a fixed number of queries whatever the number
of claims or groups: the counts, sums and denial-code counts of every group in one query, and for each
rank-tested metric one query returning every group's days as a run-length array (distinct values and their
counts, ordered, which is all a rank test and a median depend on). The example claims of the events found
take one more. Every statement filters on ``customer_id`` explicitly: raw SQL does not pass through the
tenant-scoped managers.

Definitions beyond SPEC §7, all two-sided, current window against baseline:

* Windows are whole days of ``decided_date``; the run records them as inclusive first/last days:
  baseline = (as_of − baseline_days − current_days, as_of − current_days], current = (as_of − current_days,
  as_of]. A test runs only when both of its windows reach ``min_volume``; only tests that ran enter BH.
* DENIAL_RATE: DENIED / (PAID + DENIED); OTHER claims are neither. Interval: Wilson 95 % of the current rate.
  Practical when |Δ| ≥ the absolute threshold or |Δ| / baseline rate ≥ the relative one (a change from a
  baseline of 0 is infinitely large relatively). Severity uses the absolute threshold.
  Revenue impact: Δ × billed $ of the current window's PAID + DENIED claims.
* DECISION_TIME: decided − submitted days of every claim; PAYMENT_DELAY: paid − decided days of PAID claims
  with a paid_date. Value: median; effect: Δ median in days. No interval, no revenue impact (0).
* DENIAL_DOLLARS: per PAID or DENIED claim, its billed $ if DENIED (a missing amount counts 0) else 0; value:
  mean per claim; Welch t-test from count, mean and variance (exact sums from SQL). Effect: excess denied $
  = (current mean − baseline mean) × current claim count, which is also the revenue impact. Interval: 95 %
  t-interval of the current mean. Caveat: these values are mostly 0 with a heavy right tail, and with a
  14-day window of a few hundred claims the t statistic is skewed; a current window that happens to lack
  large denials gets a p-value far below a permutation test's (3e-5 against 0.04 in the benchmark data).
* Every effect must be non-zero to be practical (a zero threshold then means "any change"); severity is 1
  when the threshold is 0. Direction: worsening when the value went up. Revenue impacts are signed.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_EVEN, Decimal, localcontext
from fractions import Fraction
from typing import Any

import numpy as np
import numpy.typing as npt
from django.db import connection
from scipy import stats as sp_stats

from upstream.drift import stats
from upstream.drift.models import ALL_GROUPS, Direction, DriftSettings, DriftType
from upstream.drift.queries import (
    EXAMPLES_SQL,
    Aggregates,
    GroupKey,
    Histogram,
    WindowCounts,
    aggregate,
    latest_decided_date,
    scan_in_table_order,
    snapshot,
)

CENT = Decimal("0.01")

__all__ = ["Detection", "EventDraft", "Finding", "Parameters", "Windows", "detect", "latest_decided_date"]

# --- inputs -----------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Windows:
    as_of: date
    baseline_days: int
    current_days: int

    @property
    def current_after(self) -> date:
        return self.as_of - timedelta(days=self.current_days)

    @property
    def baseline_after(self) -> date:
        return self.current_after - timedelta(days=self.baseline_days)

    @property
    def baseline_first(self) -> date:
        return self.baseline_after + timedelta(days=1)

    @property
    def current_first(self) -> date:
        return self.current_after + timedelta(days=1)

    def bounds(self) -> dict[str, date]:
        """Inclusive first and last decided_date of each window, named as on ReportRun and DriftEvent."""
        return {
            "baseline_start": self.baseline_first,
            "baseline_end": self.current_after,
            "current_start": self.current_first,
            "current_end": self.as_of,
        }

    def sql_params(self, customer_id: int) -> dict[str, Any]:
        return {
            "customer_id": customer_id,
            "as_of": self.as_of,
            "current_after": self.current_after,
            "baseline_after": self.baseline_after,
            "all": ALL_GROUPS,
        }


@dataclass(frozen=True, slots=True)
class Parameters:
    """A run's settings, as exact fractions so that a change equal to a threshold meets it."""

    baseline_days: int
    current_days: int
    min_volume: int
    q: Fraction
    denial_rate_abs: Fraction
    denial_rate_rel: Fraction
    decision_time_days: Fraction
    payment_delay_days: Fraction
    denial_dollars: Fraction

    @classmethod
    def from_settings(cls, settings: DriftSettings) -> Parameters:
        return cls(
            baseline_days=settings.baseline_days,
            current_days=settings.current_days,
            min_volume=settings.min_volume,
            q=Fraction(settings.q),
            denial_rate_abs=Fraction(settings.denial_rate_abs_threshold),
            denial_rate_rel=Fraction(settings.denial_rate_rel_threshold),
            decision_time_days=Fraction(settings.decision_time_days),
            payment_delay_days=Fraction(settings.payment_delay_days),
            denial_dollars=Fraction(settings.denial_dollars_threshold),
        )

    def as_json(self) -> dict[str, int | float]:
        return {
            "baseline_days": self.baseline_days,
            "current_days": self.current_days,
            "min_volume": self.min_volume,
            "q": float(self.q),
            "denial_rate_abs_threshold": float(self.denial_rate_abs),
            "denial_rate_rel_threshold": float(self.denial_rate_rel),
            "decision_time_days": float(self.decision_time_days),
            "payment_delay_days": float(self.payment_delay_days),
            "denial_dollars_threshold": float(self.denial_dollars),
        }


# --- outputs ----------------------------------------------------------------------------------------------


@dataclass(slots=True)
class Finding:
    """One test of one group: the values compared, the test, and whether the change is practically large."""

    payer: str
    cpt_group: str
    drift_type: str
    baseline_value: Fraction
    current_value: Fraction
    baseline_n: int
    current_n: int
    result: stats.TestResult
    effect: Fraction  # what the practical threshold and severity measure (Δ rate, Δ median, excess $)
    threshold: Fraction  # the threshold severity divides by
    practical: bool
    revenue_impact: Decimal
    interval: stats.Interval | None
    adjusted_p: float = 1.0

    @property
    def delta(self) -> Fraction:
        return self.current_value - self.baseline_value

    def is_event(self, q: Fraction) -> bool:
        return self.practical and self.adjusted_p <= float(q)


@dataclass(frozen=True, slots=True)
class EventDraft:
    """A DriftEvent to write: every field but customer and report_run."""

    payer: str
    cpt_group: str
    drift_type: str
    baseline_value: float
    current_value: float
    delta: float
    direction: str
    baseline_n: int
    current_n: int
    statistic: float | None
    test: str
    p_value: float
    adjusted_p_value: float
    interval_low: float | None
    interval_high: float | None
    severity: float
    severity_label: str
    confidence: float
    revenue_impact: Decimal
    baseline_start: date
    baseline_end: date
    current_start: date
    current_end: date
    evidence: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Detection:
    windows: Windows | None  # None when the customer has no claims (and no as_of was requested)
    parameters: Parameters
    claims_considered: int = 0
    groups_tested: int = 0
    findings: tuple[Finding, ...] = ()
    events: tuple[EventDraft, ...] = ()

    @property
    def tests_run(self) -> int:
        return len(self.findings)


# --- entry points -----------------------------------------------------------------------------------------


def detect(*, customer_id: int, parameters: Parameters, as_of: date | None = None) -> Detection:
    """Test every group of the customer; ``as_of`` defaults to the latest decided_date."""
    with snapshot() as own_transaction:
        as_of = as_of or latest_decided_date(customer_id=customer_id)
        if as_of is None:
            return Detection(windows=None, parameters=parameters)
        if own_transaction:
            scan_in_table_order()
        windows = Windows(as_of, parameters.baseline_days, parameters.current_days)
        sql_params = windows.sql_params(customer_id)
        aggregates = aggregate(sql_params)
        findings = _test_all(aggregates, parameters)
        adjusted = stats.benjamini_hochberg([f.result.p_value for f in findings])
        for finding, p in zip(findings, adjusted, strict=True):
            finding.adjusted_p = p
        firing = [f for f in findings if f.is_event(parameters.q)]
        events = _drafts(firing, aggregates, windows, parameters, sql_params, len(findings))
    considered = sum(
        c.claims for (_, group), by in aggregates.counts.items() if group == ALL_GROUPS for c in by.values()
    )
    return Detection(
        windows=windows,
        parameters=parameters,
        claims_considered=considered,
        groups_tested=len({(f.payer, f.cpt_group) for f in findings}),
        findings=tuple(findings),
        events=tuple(events),
    )


# --- tests ------------------------------------------------------------------------------------------------


def _test_all(aggregates: Aggregates, params: Parameters) -> list[Finding]:
    findings: list[Finding] = []
    for key in sorted(aggregates.counts):
        windows = aggregates.counts[key]
        baseline, current = windows.get(False), windows.get(True)
        if baseline is None or current is None:
            continue
        tests = (
            _denial_rate(key, baseline, current, params),
            _days(key, DriftType.DECISION_TIME, aggregates, params.decision_time_days, params),
            _days(key, DriftType.PAYMENT_DELAY, aggregates, params.payment_delay_days, params),
            _denial_dollars(key, baseline, current, params),
        )
        findings.extend(t for t in tests if t is not None)
    return findings


def _practical(effect: Fraction, threshold: Fraction) -> bool:
    return effect != 0 and abs(effect) >= threshold


def _denial_rate(key: GroupKey, base: WindowCounts, cur: WindowCounts, params: Parameters) -> Finding | None:
    if min(base.decided, cur.decided) < params.min_volume:
        return None
    delta = cur.denial_rate - base.denial_rate
    relative = delta != 0 and (base.denied == 0 or abs(delta) / base.denial_rate >= params.denial_rate_rel)
    interval = stats.wilson_interval(cur.denied, cur.decided)
    return Finding(
        payer=key[0],
        cpt_group=key[1],
        drift_type=DriftType.DENIAL_RATE,
        baseline_value=base.denial_rate,
        current_value=cur.denial_rate,
        baseline_n=base.decided,
        current_n=cur.decided,
        result=stats.proportion_test(cur.denied, cur.decided, base.denied, base.decided),
        effect=delta,
        threshold=params.denial_rate_abs,
        practical=_practical(delta, params.denial_rate_abs) or relative,
        revenue_impact=_money(delta * Fraction(cur.billed)),
        interval=interval,
    )


def _expand(histogram: Histogram) -> npt.NDArray[np.float64]:
    values, counts = histogram
    return np.repeat(values, counts)


def _days(
    key: GroupKey, drift_type: str, aggregates: Aggregates, threshold: Fraction, params: Parameters
) -> Finding | None:
    windows = aggregates.histograms[drift_type].get(key, {})
    if False not in windows or True not in windows:
        return None
    baseline, current = _expand(windows[False]), _expand(windows[True])
    if min(baseline.size, current.size) < params.min_volume:
        return None
    # Medians of integer days are exact halves: Fraction(float) keeps them exact.
    base_median, cur_median = Fraction(stats.median(baseline)), Fraction(stats.median(current))
    delta = cur_median - base_median
    return Finding(
        payer=key[0],
        cpt_group=key[1],
        drift_type=drift_type,
        baseline_value=base_median,
        current_value=cur_median,
        baseline_n=int(baseline.size),
        current_n=int(current.size),
        result=stats.mann_whitney_u(current, baseline),
        effect=delta,
        threshold=threshold,
        practical=_practical(delta, threshold),
        revenue_impact=Decimal("0.00"),
        interval=None,
    )


def _denial_dollars(
    key: GroupKey, base: WindowCounts, cur: WindowCounts, params: Parameters
) -> Finding | None:
    if min(base.decided, cur.decided) < max(params.min_volume, 2):  # a variance needs two claims
        return None
    excess = (cur.denied_mean - base.denied_mean) * cur.decided
    return Finding(
        payer=key[0],
        cpt_group=key[1],
        drift_type=DriftType.DENIAL_DOLLARS,
        baseline_value=base.denied_mean,
        current_value=cur.denied_mean,
        baseline_n=base.decided,
        current_n=cur.decided,
        result=welch_from_summary(cur, base),
        effect=excess,
        threshold=params.denial_dollars,
        practical=_practical(excess, params.denial_dollars),
        revenue_impact=_money(excess),
        interval=_mean_interval(cur),
    )


def welch_from_summary(a: WindowCounts, b: WindowCounts) -> stats.TestResult:
    """``stats.welch_t_test`` on the per-claim denied $ of ``a`` vs ``b``, from their counts, means and
    variances instead of the values themselves (same statistic, p-value and degenerate cases)."""
    n_a, n_b = a.decided, b.decided
    se2_a, se2_b = float(a.denied_variance) / n_a, float(b.denied_variance) / n_b
    se2 = se2_a + se2_b
    if se2 == 0.0:  # both samples constant: the means alone decide
        if a.denied_mean == b.denied_mean:
            return stats.TestResult(statistic=0.0, p_value=1.0, method=stats.Method.WELCH_T)
        sign = math.copysign(math.inf, a.denied_mean - b.denied_mean)
        return stats.TestResult(statistic=sign, p_value=0.0, method=stats.Method.WELCH_T)
    t = float(a.denied_mean - b.denied_mean) / math.sqrt(se2)
    df = se2 * se2 / (se2_a * se2_a / (n_a - 1) + se2_b * se2_b / (n_b - 1))
    if not math.isfinite(df):
        df = float(min(n_a, n_b) - 1)
    p = min(1.0, max(0.0, 2.0 * float(sp_stats.t.sf(abs(t), df))))
    return stats.TestResult(statistic=t, p_value=p, method=stats.Method.WELCH_T)


def _mean_interval(counts: WindowCounts) -> stats.Interval:
    mean, n = float(counts.denied_mean), counts.decided
    half = float(sp_stats.t.isf(0.025, n - 1)) * math.sqrt(float(counts.denied_variance) / n)
    return stats.Interval(low=max(0.0, mean - half), high=mean + half)


def _money(amount: Fraction) -> Decimal:
    with localcontext() as ctx:
        ctx.prec = 50
        return (Decimal(amount.numerator) / Decimal(amount.denominator)).quantize(CENT, ROUND_HALF_EVEN)


# --- events -----------------------------------------------------------------------------------------------


def _drafts(
    firing: Sequence[Finding],
    aggregates: Aggregates,
    windows: Windows,
    params: Parameters,
    sql_params: Mapping[str, Any],
    tests_run: int,
) -> list[EventDraft]:
    if not firing:
        return []
    examples = _examples(sql_params, firing)
    drafts = []
    for finding, claims in zip(firing, examples, strict=True):
        evidence = _evidence(finding, aggregates, claims, windows, params, tests_run)
        drafts.append(_draft(finding, windows, evidence))
    return drafts


def _draft(finding: Finding, windows: Windows, evidence: dict[str, Any]) -> EventDraft:
    threshold = float(finding.threshold)
    severity = 1.0 if threshold == 0 else stats.severity(float(finding.effect), threshold)
    statistic = finding.result.statistic
    return EventDraft(
        payer=finding.payer,
        cpt_group=finding.cpt_group,
        drift_type=finding.drift_type,
        baseline_value=float(finding.baseline_value),
        current_value=float(finding.current_value),
        delta=float(finding.delta),
        direction=Direction.WORSENING if finding.delta > 0 else Direction.IMPROVING,
        baseline_n=finding.baseline_n,
        current_n=finding.current_n,
        statistic=statistic if math.isfinite(statistic) else None,
        test=str(finding.result.method),
        p_value=finding.result.p_value,
        adjusted_p_value=finding.adjusted_p,
        interval_low=finding.interval.low if finding.interval else None,
        interval_high=finding.interval.high if finding.interval else None,
        severity=severity,
        severity_label=stats.severity_label(severity),
        confidence=stats.confidence(finding.adjusted_p),
        revenue_impact=finding.revenue_impact,
        evidence=evidence,
        **windows.bounds(),
    )


def _examples(sql_params: Mapping[str, Any], firing: Sequence[Finding]) -> list[list[tuple[int, str]]]:
    kind: dict[str, str] = {DriftType.DECISION_TIME: "decision", DriftType.PAYMENT_DELAY: "paid"}
    params = {
        **sql_params,
        "payers": [f.payer for f in firing],
        "groups": [f.cpt_group for f in firing],
        "kinds": [kind.get(f.drift_type, "denied") for f in firing],
        "signs": [
            1 if f.drift_type in (DriftType.DENIAL_RATE, DriftType.DENIAL_DOLLARS) or f.delta > 0 else -1
            for f in firing
        ],
    }
    examples: list[list[tuple[int, str]]] = [[] for _ in firing]
    with connection.cursor() as cursor:
        cursor.execute(EXAMPLES_SQL, params)
        for ordinal, claim_id, claim_number in cursor.fetchall():
            examples[ordinal - 1].append((claim_id, claim_number))
    return examples


def _median(histogram: Histogram | None) -> float | None:
    return None if histogram is None else stats.median(_expand(histogram))


def _window_evidence(key: GroupKey, is_current: bool, aggregates: Aggregates) -> dict[str, Any]:
    counts = aggregates.counts[key][is_current]
    rate = float(counts.denial_rate) if counts.decided else None
    wilson = stats.wilson_interval(counts.denied, counts.decided)
    decision = aggregates.histograms[DriftType.DECISION_TIME].get(key, {}).get(is_current)
    payment = aggregates.histograms[DriftType.PAYMENT_DELAY].get(key, {}).get(is_current)
    return {
        "claims": counts.claims,
        "paid": counts.decided - counts.denied,
        "denied": counts.denied,
        "paid_with_date": counts.paid_dated,
        "denial_rate": rate,
        "denial_rate_wilson95": [wilson.low, wilson.high] if counts.decided else None,
        "median_decision_days": _median(decision),
        "median_payment_days": _median(payment),
        "billed": float(counts.billed),
        "denied_dollars": float(counts.denied_dollars),
        "mean_denied_dollars_per_claim": float(counts.denied_mean) if counts.decided else None,
        "top_denial_codes": aggregates.top_denial_codes(key, is_current),
    }


def _evidence(
    finding: Finding,
    aggregates: Aggregates,
    claims: Sequence[tuple[int, str]],
    windows: Windows,
    params: Parameters,
    tests_run: int,
) -> dict[str, Any]:
    key = (finding.payer, finding.cpt_group)
    bounds = {name: day.isoformat() for name, day in windows.bounds().items()}
    evidence: dict[str, Any] = {
        "as_of": windows.as_of.isoformat(),
        "windows": {
            "baseline": [bounds["baseline_start"], bounds["baseline_end"]],
            "current": [bounds["current_start"], bounds["current_end"]],
        },
        "baseline": _window_evidence(key, False, aggregates),
        "current": _window_evidence(key, True, aggregates),
        "test": {
            "method": str(finding.result.method),
            "statistic": finding.result.statistic if math.isfinite(finding.result.statistic) else None,
            "p_value": finding.result.p_value,
            "adjusted_p_value": finding.adjusted_p,
            "tests_in_run": tests_run,
            "q": float(params.q),
        },
        "effect": float(finding.effect),
        "threshold": float(finding.threshold),
        "claim_ids": [claim_id for claim_id, _ in claims],
        "claim_numbers": [number for _, number in claims],
    }
    if finding.drift_type == DriftType.DENIAL_DOLLARS:
        evidence["excess_denied_dollars"] = float(finding.effect)
    return evidence
