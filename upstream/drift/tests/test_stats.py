"""Known-answer tests for ``upstream.drift.stats``: textbook examples, hand formulas, scipy references."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats as sp

from upstream.drift.stats import (
    FISHER_MIN_EXPECTED,
    Interval,
    Method,
    TestResult,
    benjamini_hochberg,
    confidence,
    fisher_exact_test,
    mann_whitney_u,
    median,
    proportion_test,
    severity,
    severity_label,
    two_proportion_z_test,
    welch_t_test,
    wilson_interval,
)

TIGHT = 1e-9


def _normal_two_sided_p(z: float) -> float:
    return math.erfc(abs(z) / math.sqrt(2.0))


# --- two-proportion z-test --------------------------------------------------------------------------------


def test_z_test_textbook_example() -> None:
    # 45/100 vs 30/100: pooled 0.375, SE = sqrt(0.375·0.625·0.02) = 0.068465, z = 0.15 / SE.
    result = two_proportion_z_test(45, 100, 30, 100)
    assert result.method == Method.TWO_PROPORTION_Z
    assert result.statistic == pytest.approx(2.1909, abs=1e-4)
    assert result.p_value == pytest.approx(0.0285, abs=1e-4)


def test_z_test_matches_the_pooled_formula_by_hand() -> None:
    x1, n1, x2, n2 = 12, 40, 25, 60
    pooled = (x1 + x2) / (n1 + n2)
    z = (x1 / n1 - x2 / n2) / math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    result = two_proportion_z_test(x1, n1, x2, n2)
    assert result.statistic == pytest.approx(z, abs=TIGHT)
    assert result.statistic < 0
    assert result.p_value == pytest.approx(_normal_two_sided_p(z), abs=TIGHT)


def test_z_test_squared_is_the_uncorrected_pearson_chi_square() -> None:
    table = [[37, 163], [61, 139]]
    chi2, p, _, _ = sp.chi2_contingency(table, correction=False)
    result = two_proportion_z_test(37, 200, 61, 200)
    assert result.statistic**2 == pytest.approx(chi2, abs=TIGHT)
    assert result.p_value == pytest.approx(p, abs=TIGHT)


def test_z_test_spec_example_20_vs_60_percent() -> None:
    result = two_proportion_z_test(10, 50, 30, 50)
    assert result.statistic == pytest.approx(-0.4 / math.sqrt(0.4 * 0.6 * 0.04), abs=TIGHT)
    assert result.statistic == pytest.approx(-4.0825, abs=1e-4)
    assert result.p_value < 0.001
    assert result.p_value == pytest.approx(4.4555e-5, abs=1e-8)


def test_z_test_is_antisymmetric_in_its_samples() -> None:
    forward = two_proportion_z_test(10, 50, 30, 50)
    backward = two_proportion_z_test(30, 50, 10, 50)
    assert backward.statistic == pytest.approx(-forward.statistic, abs=TIGHT)
    assert backward.p_value == pytest.approx(forward.p_value, abs=TIGHT)


def test_z_test_keeps_tiny_p_values_for_large_groups() -> None:
    # z ≈ −10.98: 1 − Φ(|z|) would round to 0; the survival function keeps ≈ 5e-28.
    result = two_proportion_z_test(20_000, 100_000, 22_000, 100_000)
    z = -0.02 / math.sqrt(0.21 * 0.79 * 2e-5)
    assert result.statistic == pytest.approx(z, abs=1e-9)
    assert result.p_value == pytest.approx(_normal_two_sided_p(z), rel=1e-9)
    assert 1e-29 < result.p_value < 1e-26


def test_z_test_p_value_underflows_to_zero_not_nan() -> None:
    result = two_proportion_z_test(20_000, 100_000, 30_000, 100_000)
    assert result.statistic == pytest.approx(-0.1 / math.sqrt(0.25 * 0.75 * 2e-5), abs=1e-9)
    assert result.p_value == 0.0


@pytest.mark.parametrize(("x1", "x2"), [(0, 0), (50, 80)])
def test_z_test_pooled_proportion_at_zero_or_one_has_nothing_to_test(x1: int, x2: int) -> None:
    assert two_proportion_z_test(x1, 50, x2, 80) == TestResult(0.0, 1.0, Method.TWO_PROPORTION_Z)


@pytest.mark.parametrize(
    ("x1", "n1", "x2", "n2"), [(0, 0, 3, 10), (3, 10, 0, 0), (11, 10, 3, 10), (-1, 10, 3, 10), (3, -2, 3, 10)]
)
def test_z_test_rejects_empty_or_inconsistent_counts(x1: int, n1: int, x2: int, n2: int) -> None:
    with pytest.raises(ValueError, match=r"sample size|count"):
        two_proportion_z_test(x1, n1, x2, n2)


# --- Fisher exact -----------------------------------------------------------------------------------------


def test_fisher_lady_tasting_tea() -> None:
    # [[3, 1], [1, 3]]: tables at least as extreme are 3-1 and 4-0 both ways, (16 + 1) · 2 / 70.
    result = fisher_exact_test(3, 4, 1, 4)
    assert result.method == Method.FISHER_EXACT
    assert result.p_value == pytest.approx(0.4857, abs=1e-4)
    assert result.p_value == pytest.approx(34 / 70, abs=TIGHT)
    assert result.statistic == pytest.approx(9.0, abs=TIGHT)


def test_fisher_perfect_separation_has_infinite_odds_ratio() -> None:
    # [[3, 0], [0, 3]]: P(4 of the first column in row one) = 1 / C(6, 3) = 1/20, doubled.
    result = fisher_exact_test(3, 3, 0, 3)
    assert result.statistic == math.inf
    assert result.p_value == pytest.approx(0.1, abs=TIGHT)


def test_fisher_empty_column_has_odds_ratio_one_and_p_one() -> None:
    result = fisher_exact_test(0, 5, 0, 7)
    assert result == TestResult(1.0, 1.0, Method.FISHER_EXACT)


def test_fisher_rejects_an_empty_sample() -> None:
    with pytest.raises(ValueError, match="sample size"):
        fisher_exact_test(0, 0, 1, 4)


# --- proportion_test routing ------------------------------------------------------------------------------


def test_proportion_test_small_expected_count_routes_to_fisher() -> None:
    # pooled 9/40 = 0.225, expected denials per window 20 · 0.225 = 4.5 < 5.
    result = proportion_test(2, 20, 7, 20)
    assert result.method == Method.FISHER_EXACT
    assert result == fisher_exact_test(2, 20, 7, 20)
    assert result.p_value == pytest.approx(float(sp.fisher_exact([[2, 18], [7, 13]]).pvalue), abs=TIGHT)


def test_proportion_test_expected_count_exactly_five_uses_the_z_test() -> None:
    # pooled 10/40 = 0.25, smallest expected count 20 · 0.25 = 5, which is not below the limit.
    assert FISHER_MIN_EXPECTED == 5.0
    result = proportion_test(3, 20, 7, 20)
    assert result.method == Method.TWO_PROPORTION_Z
    assert result == two_proportion_z_test(3, 20, 7, 20)


def test_proportion_test_small_expected_non_event_count_routes_to_fisher() -> None:
    # pooled 38/40: expected *paid* claims 20 · 0.05 = 1 < 5.
    assert proportion_test(19, 20, 19, 20).method == Method.FISHER_EXACT


def test_proportion_test_spec_example_uses_the_z_test() -> None:
    result = proportion_test(10, 50, 30, 50)
    assert result.method == Method.TWO_PROPORTION_Z
    assert result.p_value < 0.001


def test_proportion_test_with_no_events_is_not_significant() -> None:
    assert proportion_test(0, 40, 0, 40) == TestResult(1.0, 1.0, Method.FISHER_EXACT)


def test_proportion_test_rejects_an_empty_window() -> None:
    with pytest.raises(ValueError, match="sample size"):
        proportion_test(0, 0, 0, 40)


# --- Wilson interval --------------------------------------------------------------------------------------


def test_wilson_standard_example() -> None:
    interval = wilson_interval(81, 263)
    assert interval.low == pytest.approx(0.2553, abs=1e-4)
    assert interval.high == pytest.approx(0.3662, abs=1e-4)


def test_wilson_matches_the_closed_form_at_90_percent() -> None:
    x, n, z = 7, 20, 1.6448536269514722
    p = x / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    interval = wilson_interval(x, n, confidence=0.90)
    assert interval.low == pytest.approx(centre - half, abs=TIGHT)
    assert interval.high == pytest.approx(centre + half, abs=TIGHT)
    assert interval.low < p < interval.high


def test_wilson_zero_successes() -> None:
    # Upper bound z² / (n + z²) with z = 1.96: 3.8415 / 13.8415.
    interval = wilson_interval(0, 10)
    assert interval.low == 0.0
    assert interval.high == pytest.approx(0.2775, abs=1e-4)


def test_wilson_all_successes() -> None:
    interval = wilson_interval(10, 10)
    assert interval.low == pytest.approx(0.7225, abs=1e-4)
    assert interval.high == 1.0


def test_wilson_is_wider_at_higher_confidence() -> None:
    narrow = wilson_interval(30, 100, confidence=0.90)
    wide = wilson_interval(30, 100, confidence=0.99)
    assert wide.low < narrow.low < 0.3 < narrow.high < wide.high


def test_wilson_empty_sample_is_the_whole_unit_interval() -> None:
    assert wilson_interval(0, 0) == Interval(0.0, 1.0)


@pytest.mark.parametrize("level", [0.0, 1.0, 1.5, -0.1])
def test_wilson_rejects_confidence_outside_the_open_unit_interval(level: float) -> None:
    with pytest.raises(ValueError, match="confidence"):
        wilson_interval(3, 10, confidence=level)


def test_wilson_rejects_more_successes_than_trials() -> None:
    with pytest.raises(ValueError, match="count"):
        wilson_interval(11, 10)


# --- median -----------------------------------------------------------------------------------------------


def test_median_odd_and_even() -> None:
    assert median([5, 1, 3]) == 3.0
    assert median(np.array([4.0, 1.0, 3.0, 2.0])) == 2.5


@pytest.mark.parametrize("values", [[], [1.0, math.nan], [[1.0, 2.0]]])
def test_median_rejects_empty_nan_or_nested_input(values: list[float]) -> None:
    with pytest.raises(ValueError, match="values"):
        median(values)


# --- Mann–Whitney U ---------------------------------------------------------------------------------------


def test_mann_whitney_published_example() -> None:
    # scipy's documented example (Mann & Whitney's setting): U = 17 and asymptotic p = 0.11134688653314041.
    males = [19, 22, 16, 29, 24]
    females = [20, 11, 17, 12]
    result = mann_whitney_u(males, females)
    assert result.method == Method.MANN_WHITNEY_U
    assert result.statistic == 17.0
    # No ties: σ = sqrt(n1·n2·(n + 1) / 12) = sqrt(50/3); z = (17 − 10 − 0.5) / σ.
    z = (17 - 10 - 0.5) / math.sqrt(5 * 4 * 10 / 12)
    assert result.p_value == pytest.approx(_normal_two_sided_p(z), abs=TIGHT)
    assert result.p_value == pytest.approx(0.11134688653314041, abs=1e-12)


def test_mann_whitney_tie_correction_by_hand() -> None:
    a = [1, 2, 2, 3]
    b = [2, 3, 3, 4, 5]
    # Ranks of 1 2 2 2 3 3 3 4 5: 1, 3, 3, 3, 6, 6, 6, 8, 9 → R_a = 1 + 3 + 3 + 6 = 13, U_a = 13 − 10 = 3.
    tie_term = (3**3 - 3) + (3**3 - 3)
    sigma = math.sqrt(4 * 5 / 12 * ((9 + 1) - tie_term / (9 * 8)))
    z = (17 - 10 - 0.5) / sigma  # max(U_a, U_b) = 20 − 3 = 17
    result = mann_whitney_u(a, b)
    assert result.statistic == 3.0
    assert result.p_value == pytest.approx(_normal_two_sided_p(z), abs=TIGHT)


@pytest.mark.parametrize(("seed", "size_a", "size_b"), [(1, 30, 45), (2, 200, 150), (3, 5_000, 7_000)])
def test_mann_whitney_matches_scipy_on_tied_samples(seed: int, size_a: int, size_b: int) -> None:
    rng = np.random.default_rng(seed)
    # Decision times in whole days: heavy ties, shifted slightly in the second window.
    a = rng.poisson(12, size_a).astype(float)
    b = rng.poisson(13, size_b).astype(float)
    expected = sp.mannwhitneyu(a, b, alternative="two-sided", method="asymptotic", use_continuity=True)
    result = mann_whitney_u(a, b)
    assert result.statistic == pytest.approx(float(expected.statistic), abs=1e-6)
    assert result.p_value == pytest.approx(float(expected.pvalue), abs=1e-12)


def test_mann_whitney_is_symmetric_in_its_samples() -> None:
    a, b = [1.5, 2.0, 7.0, 3.0], [4.0, 9.0, 2.0, 8.0, 6.0]
    forward, backward = mann_whitney_u(a, b), mann_whitney_u(b, a)
    assert forward.statistic + backward.statistic == len(a) * len(b)
    assert forward.p_value == pytest.approx(backward.p_value, abs=TIGHT)


def test_mann_whitney_separated_large_samples_are_significant_and_finite() -> None:
    result = mann_whitney_u(np.arange(50_000.0), np.arange(50_000.0) + 60_000)
    assert result.statistic == 0.0
    assert 0.0 <= result.p_value < 1e-300


def test_mann_whitney_all_values_tied_is_not_significant() -> None:
    result = mann_whitney_u([4.0] * 6, [4.0] * 9)
    assert result == TestResult(27.0, 1.0, Method.MANN_WHITNEY_U)


@pytest.mark.parametrize(
    ("a", "b"), [([], [1.0]), ([1.0], []), ([1.0, math.nan], [2.0]), ([math.inf], [1.0])]
)
def test_mann_whitney_rejects_empty_or_non_finite_samples(a: list[float], b: list[float]) -> None:
    with pytest.raises(ValueError, match=r"needs at least|NaN or infinite"):
        mann_whitney_u(a, b)


# --- Welch t-test -----------------------------------------------------------------------------------------


def test_welch_published_example() -> None:
    # R, t.test(ts1, ts2) (Welch is R's default): t = -1.8325, df = 17.9, p-value = 0.08356.
    ts1 = [11, 9, 10, 11, 10, 12, 9, 11, 12, 9]
    ts2 = [11, 13, 10, 13, 12, 9, 11, 12, 12, 11]
    result = welch_t_test(ts1, ts2)
    assert result.method == Method.WELCH_T
    assert result.statistic == pytest.approx(-1.8325, abs=1e-4)
    assert result.p_value == pytest.approx(0.08356, abs=1e-5)


@pytest.mark.parametrize(("seed", "size_a", "size_b"), [(1, 30, 45), (2, 400, 90), (3, 20_000, 30_000)])
def test_welch_matches_scipy(seed: int, size_a: int, size_b: int) -> None:
    rng = np.random.default_rng(seed)
    # Denied dollars per claim: mostly zero, a few large amounts, different spread per window.
    a = np.where(rng.random(size_a) < 0.2, rng.gamma(2.0, 400.0, size_a), 0.0)
    b = np.where(rng.random(size_b) < 0.3, rng.gamma(2.0, 700.0, size_b), 0.0)
    expected = sp.ttest_ind(a, b, equal_var=False)
    result = welch_t_test(a, b)
    assert result.statistic == pytest.approx(float(expected.statistic), abs=1e-9)
    assert result.p_value == pytest.approx(float(expected.pvalue), abs=1e-12)


def test_welch_one_constant_sample_matches_scipy() -> None:
    a = [0.0] * 40
    b = [0.0] * 30 + [1200.0, 250.0, 80.0, 4000.0]
    expected = sp.ttest_ind(a, b, equal_var=False)
    result = welch_t_test(a, b)
    assert result.statistic == pytest.approx(float(expected.statistic), abs=1e-9)
    assert result.p_value == pytest.approx(float(expected.pvalue), abs=1e-12)


def test_welch_both_constant_and_equal_is_not_significant() -> None:
    # The means of these are not exactly 0.1 and their variances are not exactly 0 in floating point.
    assert welch_t_test([0.1] * 3, [0.1] * 7) == TestResult(0.0, 1.0, Method.WELCH_T)


@pytest.mark.parametrize(
    ("a", "b", "sign"), [([2.0, 2.0], [5.0, 5.0, 5.0], -1.0), ([5.0] * 4, [2.0] * 3, 1.0)]
)
def test_welch_both_constant_and_different_is_infinitely_significant(
    a: list[float], b: list[float], sign: float
) -> None:
    assert welch_t_test(a, b) == TestResult(sign * math.inf, 0.0, Method.WELCH_T)


@pytest.mark.parametrize(("a", "b"), [([1.0], [1.0, 2.0]), ([1.0, 2.0], []), ([1.0, math.nan], [1.0, 2.0])])
def test_welch_rejects_samples_without_a_variance(a: list[float], b: list[float]) -> None:
    with pytest.raises(ValueError, match=r"needs at least|NaN or infinite"):
        welch_t_test(a, b)


small_samples = st.lists(st.integers(min_value=0, max_value=5), min_size=2, max_size=12)


@settings(deadline=None, max_examples=200)
@given(a=small_samples, b=small_samples)
def test_rank_and_t_tests_never_return_nan(a: list[int], b: list[int]) -> None:
    for result in (mann_whitney_u(a, b), welch_t_test(a, b)):
        assert 0.0 <= result.p_value <= 1.0
        assert not math.isnan(result.statistic)


@settings(deadline=None, max_examples=200)
@given(
    n1=st.integers(min_value=1, max_value=60),
    n2=st.integers(min_value=1, max_value=60),
    f1=st.floats(min_value=0, max_value=1),
    f2=st.floats(min_value=0, max_value=1),
)
def test_proportion_tests_never_return_nan(n1: int, n2: int, f1: float, f2: float) -> None:
    x1, x2 = round(f1 * n1), round(f2 * n2)
    for result in (two_proportion_z_test(x1, n1, x2, n2), proportion_test(x1, n1, x2, n2)):
        assert 0.0 <= result.p_value <= 1.0
        assert not math.isnan(result.statistic)


# --- Benjamini–Hochberg -----------------------------------------------------------------------------------


def test_bh_classic_example() -> None:
    assert benjamini_hochberg([0.01, 0.04, 0.03, 0.005]) == pytest.approx([0.02, 0.04, 0.04, 0.02], abs=1e-12)


def test_bh_step_up_makes_adjusted_values_monotone() -> None:
    # Raw p·m/rank would be 0.05, 0.045, 0.04: the step-up takes the running minimum from the top.
    assert benjamini_hochberg([0.01, 0.03, 0.04]) == pytest.approx([0.03, 0.04, 0.04], abs=1e-12)
    assert benjamini_hochberg([0.04, 0.03, 0.01]) == pytest.approx([0.04, 0.04, 0.03], abs=1e-12)


def test_bh_caps_at_one() -> None:
    assert benjamini_hochberg([1.0, 1.0, 1.0]) == [1.0, 1.0, 1.0]
    assert benjamini_hochberg([0.9, 0.6]) == pytest.approx([0.9, 0.9], abs=1e-12)


def test_bh_empty_and_single() -> None:
    assert benjamini_hochberg([]) == []
    assert benjamini_hochberg([0.2]) == [0.2]


@pytest.mark.parametrize("p_values", [[0.5, 1.2], [-0.01], [math.nan, 0.1]])
def test_bh_rejects_values_outside_the_unit_interval(p_values: list[float]) -> None:
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        benjamini_hochberg(p_values)


def _bh_by_definition(p_values: list[float]) -> list[float]:
    m = len(p_values)
    ranked = sorted(range(m), key=lambda i: p_values[i])
    rank_of = {index: position + 1 for position, index in enumerate(ranked)}
    return [
        min(min(1.0, p_values[ranked[j - 1]] * m / j) for j in range(rank_of[i], m + 1)) for i in range(m)
    ]


@settings(deadline=None, max_examples=300)
@given(st.lists(st.floats(min_value=0.0, max_value=1.0), min_size=1, max_size=40))
def test_bh_properties(p_values: list[float]) -> None:
    adjusted = benjamini_hochberg(p_values)
    assert len(adjusted) == len(p_values)
    assert adjusted == pytest.approx(_bh_by_definition(p_values), abs=1e-12)
    for raw, adj in zip(p_values, adjusted, strict=True):
        assert raw <= adj <= 1.0
    for i, raw_i in enumerate(p_values):
        for j, raw_j in enumerate(p_values):
            if raw_i <= raw_j:
                assert adjusted[i] <= adjusted[j]


# --- severity, labels, confidence -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("effect", "threshold", "expected"),
    [
        (0.0, 0.05, 0.0),
        (0.05, 0.05, 0.25),
        (-0.1, 0.05, 0.5),
        (0.15, 0.05, 0.75),  # 0.7499999999999999 before rounding
        (0.2, 0.05, 1.0),
        (0.9, 0.05, 1.0),
        (-9.0, 3.0, 0.75),
        (6_000.0, 5_000.0, 0.3),
        (math.inf, 3.0, 1.0),
    ],
)
def test_severity(effect: float, threshold: float, expected: float) -> None:
    assert severity(effect, threshold) == expected


@pytest.mark.parametrize(("effect", "threshold"), [(1.0, 0.0), (1.0, -3.0), (1.0, math.inf), (math.nan, 3.0)])
def test_severity_rejects_bad_inputs(effect: float, threshold: float) -> None:
    with pytest.raises(ValueError, match=r"threshold|NaN"):
        severity(effect, threshold)


@pytest.mark.parametrize(
    ("s", "label"),
    [
        (1.0, "critical"),
        (0.75, "critical"),
        (0.7499, "high"),
        (0.5, "high"),
        (0.4999, "medium"),
        (0.25, "medium"),
        (0.2499, "low"),
        (0.0, "low"),
    ],
)
def test_severity_label_boundaries(s: float, label: str) -> None:
    assert severity_label(s) == label


def test_severity_label_of_a_rounded_severity() -> None:
    assert severity_label(severity(0.15, 0.05)) == "critical"


@pytest.mark.parametrize("s", [-0.01, 1.01, math.nan])
def test_severity_label_rejects_values_outside_the_unit_interval(s: float) -> None:
    with pytest.raises(ValueError, match="severity"):
        severity_label(s)


@pytest.mark.parametrize(("adjusted_p", "expected"), [(0.02, 0.98), (0.0, 1.0), (1.0, 0.0), (0.05, 0.95)])
def test_confidence(adjusted_p: float, expected: float) -> None:
    assert confidence(adjusted_p) == pytest.approx(expected, abs=1e-15)


@pytest.mark.parametrize("adjusted_p", [-0.1, 1.5, math.nan])
def test_confidence_rejects_values_outside_the_unit_interval(adjusted_p: float) -> None:
    with pytest.raises(ValueError, match="adjusted_p"):
        confidence(adjusted_p)


# --- result types -----------------------------------------------------------------------------------------


def test_results_are_frozen_and_serializable() -> None:
    result = two_proportion_z_test(45, 100, 30, 100)
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.p_value = 0.5  # type: ignore[misc]
    assert isinstance(result.method, str)
    assert result.method == "two_proportion_z"
    assert dataclasses.asdict(wilson_interval(0, 0)) == {"low": 0.0, "high": 1.0}
