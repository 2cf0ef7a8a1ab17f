"""Drift detectors on real PostgreSQL: known answers for every drift type (firing and not), windows and min
volume, Benjamini–Hochberg across the run, and generator datasets with and without injected drift."""

from __future__ import annotations

import datetime
import io
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from django.utils import timezone
from scipy import stats as scipy_stats

from upstream.claims.models import Outcome, PayerMapping
from upstream.claims.tests.helpers import ingest
from upstream.demo.drift_scenarios import parse_drift_specs
from upstream.demo.generator import generate
from upstream.demo.reference_data import PAYERS
from upstream.drift import stats
from upstream.drift.detectors import (
    Detection,
    EventDraft,
    Parameters,
    WindowCounts,
    Windows,
    detect,
    welch_from_summary,
)
from upstream.drift.models import ALL_GROUPS, DriftSettings, DriftType
from upstream.drift.tests.factories import AS_OF, claim, load_generated, save_claims, window_claims
from upstream.tenancy.models import Customer
from upstream.tenancy.tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db

EM, ALL = ("Aetna", "E&M"), ("Aetna", ALL_GROUPS)
CYCLE_5 = [3, 4, 5, 6, 7]  # median 5
CYCLE_15 = [13, 14, 15, 16, 17]  # median 15


def run(customer: Customer, as_of: datetime.date | None = None, **settings: Any) -> Detection:
    return detect(
        customer_id=customer.pk, parameters=Parameters.from_settings(DriftSettings(**settings)), as_of=as_of
    )


def events(detection: Detection) -> dict[tuple[str, str, str], EventDraft]:
    return {(e.payer, e.cpt_group, e.drift_type): e for e in detection.events}


def expected_p(detection: Detection, payer_group: tuple[str, str], drift_type: str) -> tuple[float, float]:
    """(raw, BH-adjusted) p of one test; the adjustment recomputed independently over all tests of the run."""
    raw = [f.result.p_value for f in detection.findings]
    index = next(
        i
        for i, f in enumerate(detection.findings)
        if (f.payer, f.cpt_group, f.drift_type) == (*payer_group, drift_type)
    )
    return raw[index], stats.benjamini_hochberg(raw)[index]


@pytest.fixture
def customer() -> Customer:
    return CustomerFactory.create()


# --- known answers ------------------------------------------------------------------------------------------


def test_denial_rate_20_to_60_percent_is_one_event_per_group_and_roll_up(customer: Customer) -> None:
    save_claims(window_claims(customer, "baseline", 50, denied=10))
    save_claims(window_claims(customer, "current", 50, denied=30))

    detection = run(customer)

    # One payer with one CPT group: (Aetna, E&M) and its roll-up (Aetna, ALL) hold the same claims, so each
    # has exactly one DENIAL_RATE event with the same values, and nothing else fires.
    assert sorted(events(detection)) == [
        ("Aetna", "ALL", DriftType.DENIAL_RATE),
        ("Aetna", "E&M", DriftType.DENIAL_RATE),
    ]
    # Tests per group: DENIAL_RATE, DECISION_TIME, DENIAL_DOLLARS (PAYMENT_DELAY has 40 / 20 paid claims:
    # the current window misses min volume 30).
    assert (detection.groups_tested, detection.tests_run, detection.claims_considered) == (2, 6, 100)
    z = stats.proportion_test(30, 50, 10, 50)
    assert z.method == stats.Method.TWO_PROPORTION_Z
    for key in (EM, ALL):
        event = events(detection)[(*key, DriftType.DENIAL_RATE)]
        raw, adjusted = expected_p(detection, key, DriftType.DENIAL_RATE)
        wilson = stats.wilson_interval(30, 50)
        assert (event.baseline_value, event.current_value, event.delta) == (0.2, 0.6, 0.4)
        assert (event.direction, event.baseline_n, event.current_n) == ("worsening", 50, 50)
        assert (event.test, event.statistic, event.p_value) == ("two_proportion_z", z.statistic, z.p_value)
        assert (raw, event.adjusted_p_value, event.confidence) == (z.p_value, adjusted, 1 - adjusted)
        assert (event.interval_low, event.interval_high) == (wilson.low, wilson.high)
        # |Δ| 0.4 / (4 × 0.05) = 2 → capped at 1; revenue: 0.4 × $5,000 billed in the current window.
        assert (event.severity, event.severity_label, event.revenue_impact) == (
            1.0,
            "critical",
            Decimal("2000.00"),
        )
        assert (event.baseline_start, event.baseline_end) == (
            AS_OF - datetime.timedelta(103),
            AS_OF - datetime.timedelta(14),
        )
        assert (event.current_start, event.current_end) == (AS_OF - datetime.timedelta(13), AS_OF)


def test_denial_rate_event_evidence(customer: Customer) -> None:
    save_claims(window_claims(customer, "baseline", 50, denied=10))
    current = window_claims(customer, "current", 50, denied=30)
    save_claims(current)

    evidence = events(run(customer))[(*EM, DriftType.DENIAL_RATE)].evidence

    assert evidence["windows"] == {
        "baseline": ["2026-03-19", "2026-06-16"],
        "current": ["2026-06-17", "2026-06-30"],
    }
    baseline_wilson, current_wilson = stats.wilson_interval(10, 50), stats.wilson_interval(30, 50)
    assert evidence["baseline"] == {
        "claims": 50,
        "paid": 40,
        "denied": 10,
        "paid_with_date": 40,
        "denial_rate": 0.2,
        "denial_rate_wilson95": [baseline_wilson.low, baseline_wilson.high],
        "median_decision_days": 5.0,
        "median_payment_days": 10.0,
        "billed": 5000.0,
        "denied_dollars": 1000.0,
        "mean_denied_dollars_per_claim": 20.0,
        "top_denial_codes": [{"code": "CO-50", "count": 10}],
    }
    assert evidence["current"]["denial_rate_wilson95"] == [current_wilson.low, current_wilson.high]
    assert evidence["current"]["top_denial_codes"] == [{"code": "CO-50", "count": 30}]
    assert evidence["test"]["tests_in_run"] == 6
    assert (evidence["effect"], evidence["threshold"]) == (0.4, 0.05)
    # 20 examples out of the 30 denied current-window claims (equal billed $: lowest ids first).
    denied = sorted((c for c in current if c.outcome == Outcome.DENIED), key=lambda c: c.pk)[:20]
    assert evidence["claim_ids"] == [c.pk for c in denied]
    assert evidence["claim_numbers"] == [c.claim_number for c in denied]


def test_decision_time_median_5_to_15_days_is_one_event(customer: Customer) -> None:
    save_claims(window_claims(customer, "baseline", 50, decision_days=CYCLE_5))
    current = window_claims(customer, "current", 50, decision_days=CYCLE_15)
    save_claims(current)

    detection = run(customer)

    assert sorted(events(detection)) == [
        ("Aetna", "ALL", DriftType.DECISION_TIME),
        ("Aetna", "E&M", DriftType.DECISION_TIME),
    ]
    u = stats.mann_whitney_u(CYCLE_15 * 10, CYCLE_5 * 10)
    event = events(detection)[(*EM, DriftType.DECISION_TIME)]
    assert (event.baseline_value, event.current_value, event.delta, event.direction) == (
        5.0,
        15.0,
        10.0,
        "worsening",
    )
    assert (event.test, event.statistic, event.p_value) == ("mann_whitney_u", 2500.0, u.p_value)
    assert (event.interval_low, event.interval_high, event.revenue_impact) == (None, None, Decimal("0.00"))
    # 10 days / (4 × 3 days)
    assert (event.severity, event.severity_label) == (pytest.approx(10 / 12, abs=1e-12), "critical")
    # Examples: the longest decisions first (ten claims of 17 days, then 16-day ones).
    by_id = {c.pk: c for c in current}
    days = [(by_id[i].decided_date - by_id[i].submitted_date).days for i in event.evidence["claim_ids"]]
    assert days == [17] * 10 + [16] * 10
    assert (
        event.evidence["baseline"]["median_decision_days"],
        event.evidence["current"]["median_decision_days"],
    ) == (5.0, 15.0)


@pytest.mark.parametrize(("current_n", "expected"), [(29, []), (30, [ALL, EM])])
def test_min_volume_per_window(customer: Customer, current_n: int, expected: list[tuple[str, str]]) -> None:
    save_claims(window_claims(customer, "baseline", 50, denied=5))
    save_claims(window_claims(customer, "current", current_n, denied=current_n))

    detection = run(customer)

    assert [
        (e.payer, e.cpt_group) for e in detection.events if e.drift_type == DriftType.DENIAL_RATE
    ] == expected
    tested = {f.drift_type for f in detection.findings}
    assert (DriftType.DENIAL_RATE in tested) is bool(expected)


def test_min_volume_is_a_setting(customer: Customer) -> None:
    save_claims(window_claims(customer, "baseline", 50, denied=5))
    save_claims(window_claims(customer, "current", 20, denied=20))

    assert run(customer).events == ()
    assert [e.cpt_group for e in run(customer, min_volume=20).events] == [ALL_GROUPS, "E&M"]


def test_denial_rate_improving(customer: Customer) -> None:
    save_claims(window_claims(customer, "baseline", 50, denied=30))
    save_claims(window_claims(customer, "current", 50, denied=10))

    event = events(run(customer))[(*EM, DriftType.DENIAL_RATE)]

    assert (event.baseline_value, event.current_value, event.delta) == (0.6, 0.2, -0.4)
    assert (event.direction, event.revenue_impact) == ("improving", Decimal("-2000.00"))
    assert (event.severity, event.severity_label) == (1.0, "critical")


def test_denial_rate_relative_threshold_fires_below_the_absolute_one(customer: Customer) -> None:
    # 4 % → 8 %: |Δ| 0.04 < 0.05, but +100 % relative ≥ 50 %. Severity uses the absolute threshold.
    save_claims(window_claims(customer, "baseline", 1000, denied=40))
    save_claims(window_claims(customer, "current", 1000, denied=80))

    event = events(run(customer))[(*EM, DriftType.DENIAL_RATE)]

    assert (event.baseline_value, event.current_value, event.delta) == (0.04, 0.08, 0.04)
    assert (event.severity, event.severity_label) == (0.2, "low")


def test_significant_denial_rate_change_below_both_thresholds_is_no_event(customer: Customer) -> None:
    # 30 % → 34 %: significant with 3,000 claims a window, but |Δ| 0.04 < 0.05 and +13 % < 50 % relative.
    # Denied claims bill $10: excess denied $ = $0.40 × 3,000 = $1,200, below DENIAL_DOLLARS' threshold too.
    save_claims(window_claims(customer, "baseline", 3000, denied=900, billed="10.00"))
    save_claims(window_claims(customer, "current", 3000, denied=1020, billed="10.00"))

    detection = run(customer)

    finding = next(f for f in detection.findings if f.drift_type == DriftType.DENIAL_RATE)
    assert (finding.adjusted_p < 0.05, finding.practical) == (True, False)
    assert detection.events == ()


def test_decision_time_change_below_threshold_is_no_event(customer: Customer) -> None:
    save_claims(window_claims(customer, "baseline", 50, decision_days=CYCLE_5))
    save_claims(
        window_claims(customer, "current", 50, decision_days=[5, 6, 7, 8, 9])
    )  # median 7: +2 < 3 days

    detection = run(customer)

    finding = next(f for f in detection.findings if f.drift_type == DriftType.DECISION_TIME)
    assert (float(finding.delta), finding.adjusted_p < 0.05, finding.practical) == (2.0, True, False)
    assert detection.events == ()


@pytest.mark.parametrize(
    ("baseline_delays", "current_delays", "expected"),
    [
        ([8, 9, 10, 11, 12], [18, 19, 20, 21, 22], ("worsening", 10.0, 20.0)),
        ([18, 19, 20, 21, 22], [8, 9, 10, 11, 12], ("improving", 20.0, 10.0)),
        ([8, 9, 10, 11, 12], [8, 9, 10, 11, 12], None),
    ],
)
def test_payment_delay(
    customer: Customer,
    baseline_delays: list[int],
    current_delays: list[int],
    expected: tuple[str, float, float] | None,
) -> None:
    save_claims(window_claims(customer, "baseline", 50, paid_days=baseline_delays))
    save_claims(window_claims(customer, "current", 50, paid_days=current_delays))

    found = events(run(customer))

    if expected is None:
        assert found == {}
        return
    assert sorted(found) == [
        ("Aetna", "ALL", DriftType.PAYMENT_DELAY),
        ("Aetna", "E&M", DriftType.PAYMENT_DELAY),
    ]
    event = found[(*EM, DriftType.PAYMENT_DELAY)]
    assert (event.direction, event.baseline_value, event.current_value) == expected
    assert (event.baseline_n, event.current_n, event.test) == (50, 50, "mann_whitney_u")


def test_payment_delay_counts_only_paid_claims_with_a_paid_date(customer: Customer) -> None:
    save_claims(window_claims(customer, "baseline", 50, paid_days=10))
    # 40 PAID claims of the current window have no paid_date yet: 10 remain, below min volume.
    save_claims(window_claims(customer, "current", 50, paid_days=[None, None, None, None, 30]))

    detection = run(customer)

    assert DriftType.PAYMENT_DELAY not in {f.drift_type for f in detection.findings}
    assert detection.events == ()


def test_denial_dollars_fires_on_excess_denied_dollars(customer: Customer) -> None:
    # Same denial rate (10 %), denied claims bill $1,000 → $7,000: mean per claim $100 → $700,
    # excess = $600 × 100 current claims = $60,000 ≥ $5,000.
    save_claims(window_claims(customer, "baseline", 100, denied=10, billed="1000.00"))
    save_claims(window_claims(customer, "current", 100, denied=10, billed="7000.00"))

    detection = run(customer)

    assert sorted(events(detection)) == [
        ("Aetna", "ALL", DriftType.DENIAL_DOLLARS),
        ("Aetna", "E&M", DriftType.DENIAL_DOLLARS),
    ]
    event = events(detection)[(*EM, DriftType.DENIAL_DOLLARS)]
    welch = stats.welch_t_test([7000.0] * 10 + [0.0] * 90, [1000.0] * 10 + [0.0] * 90)
    assert (event.baseline_value, event.current_value, event.delta) == (100.0, 700.0, 600.0)
    assert (event.direction, event.test) == ("worsening", "welch_t")
    assert (event.statistic, event.p_value) == (
        pytest.approx(welch.statistic, rel=1e-12),
        pytest.approx(welch.p_value, rel=1e-9),
    )
    assert (event.revenue_impact, event.severity, event.evidence["excess_denied_dollars"]) == (
        Decimal("60000.00"),
        1.0,
        60000.0,
    )
    # 95 % t-interval of the current mean denied $ per claim.
    half = float(np.std([7000.0] * 10 + [0.0] * 90, ddof=1)) / 10 * float(scipy_stats.t.isf(0.025, 99))
    assert (event.interval_low, event.interval_high) == (
        pytest.approx(max(0.0, 700 - half)),
        pytest.approx(700 + half),
    )


def test_denial_dollars_below_threshold_is_no_event(customer: Customer) -> None:
    # The 20 % → 60 % case: mean denied $ per claim $20 → $60, excess $40 × 50 = $2,000 < $5,000.
    save_claims(window_claims(customer, "baseline", 50, denied=10))
    save_claims(window_claims(customer, "current", 50, denied=30))

    finding = next(f for f in run(customer).findings if f.drift_type == DriftType.DENIAL_DOLLARS)

    assert (float(finding.effect), finding.adjusted_p < 0.05, finding.practical) == (2000.0, True, False)


def test_fisher_exact_when_an_expected_count_is_below_five(customer: Customer) -> None:
    save_claims(window_claims(customer, "baseline", 30, denied=0))
    save_claims(window_claims(customer, "current", 30, denied=8))

    finding = next(f for f in run(customer).findings if f.drift_type == DriftType.DENIAL_RATE)

    assert finding.result == stats.fisher_exact_test(8, 30, 0, 30)
    assert finding.result.method == stats.Method.FISHER_EXACT


def test_benjamini_hochberg_is_applied_across_the_whole_run() -> None:
    """10 % → 19 % denied on 200 claims a window: raw p = 0.0106. Alone, its run has 8 tests (4 types × the
    group and its roll-up; every other test has p = 1), so adjusted p = 0.0106 × 8 / 2 = 0.042 ≤ 0.05: an
    event. With four more payers whose claims do not change, the run has 40 tests: 0.0106 × 40 / 2 = 0.21."""
    alone, crowded = CustomerFactory.create(), CustomerFactory.create()
    for customer in (alone, crowded):
        save_claims(window_claims(customer, "baseline", 200, denied=20, billed="0.00"))
        save_claims(window_claims(customer, "current", 200, denied=38, billed="0.00"))
    for payer in ("Cigna", "Humana", "Kaiser", "Molina"):
        save_claims(window_claims(crowded, "baseline", 50, denied=5, payer=payer, billed="0.00"))
        save_claims(window_claims(crowded, "current", 50, denied=5, payer=payer, billed="0.00"))
    p = stats.proportion_test(38, 200, 20, 200).p_value
    assert p == pytest.approx(0.010586, abs=1e-6)

    by_alone, by_crowded = run(alone), run(crowded)

    assert (by_alone.tests_run, by_crowded.tests_run) == (8, 40)
    event = events(by_alone)[(*EM, DriftType.DENIAL_RATE)]
    assert (event.p_value, event.adjusted_p_value) == (p, pytest.approx(p * 8 / 2, rel=1e-12))
    crowded_finding = next(
        f for f in by_crowded.findings if (f.payer, f.cpt_group, f.drift_type) == (*EM, DriftType.DENIAL_RATE)
    )
    assert crowded_finding.practical
    assert (crowded_finding.result.p_value, crowded_finding.adjusted_p) == (
        p,
        pytest.approx(p * 40 / 2, rel=1e-12),
    )
    assert by_crowded.events == ()


def test_welch_from_summary_matches_the_welch_test_on_the_values() -> None:
    rng = np.random.default_rng(4)
    cases = [
        (
            rng.lognormal(5, 1, 80).round(2) * (rng.random(80) < 0.2),
            rng.lognormal(5, 1, 300).round(2) * (rng.random(300) < 0.1),
        ),
        (np.zeros(40), np.zeros(60)),  # both constant, equal: p = 1
        (np.full(40, 25.0), np.zeros(60)),  # both constant, different: p = 0
        (np.array([0.0, 0.0, 100.0]), np.array([5.0, 5.0])),
    ]
    for current, baseline in cases:
        summary = welch_from_summary(_counts(current), _counts(baseline))
        direct = stats.welch_t_test(current, baseline)
        assert summary.statistic == pytest.approx(direct.statistic, rel=1e-9)
        assert summary.p_value == pytest.approx(direct.p_value, rel=1e-9, abs=1e-300)


def _counts(values: np.ndarray) -> WindowCounts:
    amounts = [Decimal(f"{v:.2f}") for v in values]
    return WindowCounts(
        claims=len(amounts),
        decided=len(amounts),
        denied=sum(1 for a in amounts if a),
        paid_dated=0,
        billed=sum(amounts, Decimal(0)),
        denied_dollars=sum(amounts, Decimal(0)),
        denied_dollars_sq=sum((a * a for a in amounts), Decimal(0)),
    )


# --- windows ------------------------------------------------------------------------------------------------


def test_windows_are_half_open_on_decided_date_relative_to_the_latest_claim(customer: Customer) -> None:
    day = datetime.timedelta(days=1)
    # Decided on as_of (the latest claim), the first and last current day, the last and first baseline day,
    # and the day before the baseline (outside).
    days = [AS_OF, AS_OF - 13 * day, AS_OF - 14 * day, AS_OF - 103 * day, AS_OF - 104 * day]
    save_claims(claim(customer, decided=d) for d in days)

    def window_sizes(as_of: datetime.date | None) -> tuple[int, int, int]:
        detection = run(customer, as_of=as_of, min_volume=1)
        rate = next(f for f in detection.findings if f.cpt_group == "E&M" and f.drift_type == "DENIAL_RATE")
        return rate.baseline_n, rate.current_n, detection.claims_considered

    detection = run(customer)
    assert detection.windows == Windows(AS_OF, 90, 14)
    assert detection.windows.bounds() == {
        "baseline_start": AS_OF - 103 * day,
        "baseline_end": AS_OF - 14 * day,
        "current_start": AS_OF - 13 * day,
        "current_end": AS_OF,
    }
    assert window_sizes(None) == (2, 2, 4)  # as_of − 104 days is outside
    # A requested as_of one day earlier: the claim decided after it is ignored, as_of − 14 moves to the
    # current window and as_of − 104 enters the baseline.
    assert window_sizes(AS_OF - day) == (2, 2, 4)
    # 14 days earlier: only the claim decided on that day is current.
    assert window_sizes(AS_OF - 14 * day) == (2, 1, 3)


def test_no_claims_no_windows(customer: Customer) -> None:
    detection = run(customer)

    assert (detection.windows, detection.tests_run, detection.events) == (None, 0, ())


def test_other_customers_claims_are_not_seen(customer: Customer) -> None:
    other = CustomerFactory.create()
    save_claims(window_claims(other, "baseline", 50, denied=10))
    save_claims(window_claims(other, "current", 50, denied=30))
    save_claims(window_claims(customer, "baseline", 50, denied=10))
    save_claims(window_claims(customer, "current", 50, denied=10))

    detection = run(customer)

    assert (detection.claims_considered, detection.events) == (100, ())


# --- generator datasets -------------------------------------------------------------------------------------

INJECTED = (
    "denial_rate:payer=Aetna,cpt_group=E&M,from=0.10,to=0.35",
    "decision_time:payer=UnitedHealthcare,cpt_group=LAB,days=+10",
    "decision_time:payer=Humana,days=-6",
    "payment_delay:payer=Cigna,days=+8",
    "denial_dollars:payer=Medicare Part B,cpt_group=E&M,factor=4",
)


@pytest.fixture
def private_media(settings: Any, tmp_path: Path) -> None:
    settings.MEDIA_ROOT = tmp_path / "media"


def test_every_injected_drift_is_found_with_its_direction(private_media: None) -> None:
    """60,000 generated claims through the real ingestion pipeline, with one drift of each kind (one of
    them improving). The data ends 70 days ago, so no date is in the future for the upload rules."""
    customer = CustomerFactory.create()
    for payer in PAYERS:
        for raw in payer.variants:
            PayerMapping.objects_all_tenants.create(
                customer=customer, raw_name=raw, normalized_name=payer.name
            )
    scenarios = parse_drift_specs(INJECTED)
    buffer = io.BytesIO()
    as_of = timezone.now().date() - datetime.timedelta(days=70)
    summary = generate(60_000, 11, buffer, as_of=as_of, drifts=scenarios)
    upload = ingest(customer, buffer.getvalue())
    assert (upload.status, upload.accepted_rows) == ("succeeded", 60_000)

    detection = run(customer)

    found = events(detection)
    primary = [d for d in summary.drifts if d.primary]
    assert len(primary) == 5
    for drift in primary:
        event = found.get((drift.payer, drift.cpt_group, drift.drift_type))
        assert event is not None, f"not found: {drift.describe()}"
        assert event.direction == drift.direction, drift.describe()
    # And nothing else: every other event is the same drift seen in a roll-up, in the CPT groups of a
    # payer-wide drift, or a side effect the generator declares (more denials are more denied dollars).
    assert {(payer, group, kind, e.direction) for (payer, group, kind), e in found.items()} == {
        ("Aetna", "E&M", DriftType.DENIAL_RATE, "worsening"),
        ("Aetna", "ALL", DriftType.DENIAL_RATE, "worsening"),
        ("Aetna", "E&M", DriftType.DENIAL_DOLLARS, "worsening"),  # side effect
        ("UnitedHealthcare", "LAB", DriftType.DECISION_TIME, "worsening"),
        ("Humana", "ALL", DriftType.DECISION_TIME, "improving"),
        ("Humana", "E&M", DriftType.DECISION_TIME, "improving"),
        ("Humana", "LAB", DriftType.DECISION_TIME, "improving"),
        ("Humana", "THERAPY", DriftType.DECISION_TIME, "improving"),
        ("Cigna", "ALL", DriftType.PAYMENT_DELAY, "worsening"),
        ("Cigna", "E&M", DriftType.PAYMENT_DELAY, "worsening"),
        ("Cigna", "LAB", DriftType.PAYMENT_DELAY, "worsening"),
        ("Cigna", "THERAPY", DriftType.PAYMENT_DELAY, "worsening"),
        ("Medicare Part B", "E&M", DriftType.DENIAL_DOLLARS, "worsening"),
        ("Medicare Part B", "ALL", DriftType.DENIAL_DOLLARS, "worsening"),
        ("Medicare Part B", "E&M", DriftType.DENIAL_RATE, "worsening"),  # side effect
        ("Medicare Part B", "ALL", DriftType.DENIAL_RATE, "worsening"),
    }
    assert detection.windows == Windows(as_of, 90, 14)


def test_no_drift_no_false_positive_over_200_groups(tmp_path: Path) -> None:
    """400,000 generated claims with no drift, windows of 90 + 90 days so that all 175 (payer, CPT group)
    cells and 25 payer roll-ups reach min volume: 200 groups, 798 tests, every null hypothesis true.

    Bound: under the complete null every discovery is false, so BH's guarantee FDR = E[V/R] ≤ q becomes
    P(at least one event) ≤ q = 0.05 (independent or positively dependent tests, as roll-ups and cells are).
    A fixed seed makes the outcome deterministic; the bound says the expected outcome is 0 events, and that
    is what this seed gives — while 33 tests (4.1 %) are significant before the correction.
    """
    customer = CustomerFactory.create()
    path = tmp_path / "null.csv"
    generate(400_000, 9, str(path))
    load_generated(customer, path)

    detection = run(customer, baseline_days=90, current_days=90)

    assert (detection.groups_tested, detection.tests_run) == (200, 798)
    assert sum(f.result.p_value <= 0.05 for f in detection.findings) == 33
    assert len(detection.events) == 0
