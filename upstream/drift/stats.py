"""Pure statistical functions behind payer-drift detection (SPEC §7): the significance tests, Wilson
intervals, Benjamini–Hochberg adjustment and the severity/confidence scores of a drift event.

Plain Python + numpy/scipy, no Django, so every function can be checked against literal reference vectors.
Every test returns a finite p-value in [0, 1]; degenerate inputs that make a statistic undefined are mapped to
documented values instead of NaN, and invalid inputs (empty samples, n = 0, NaN values) raise ``ValueError``.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Literal

import numpy as np
import numpy.typing as npt
from scipy import stats as _sp

__all__ = [
    "FISHER_MIN_EXPECTED",
    "Interval",
    "Method",
    "SeverityLabel",
    "TestResult",
    "benjamini_hochberg",
    "confidence",
    "fisher_exact_test",
    "mann_whitney_u",
    "median",
    "proportion_test",
    "severity",
    "severity_label",
    "two_proportion_z_test",
    "welch_t_test",
    "wilson_interval",
]

# SPEC §7: the z-test's normal approximation is replaced by Fisher's exact test below this expected count.
FISHER_MIN_EXPECTED = 5.0

SeverityLabel = Literal["critical", "high", "medium", "low"]


class Method(StrEnum):
    """Which test produced a :class:`TestResult` (a ``str``, so it serializes as its value)."""

    TWO_PROPORTION_Z = "two_proportion_z"
    FISHER_EXACT = "fisher_exact"
    MANN_WHITNEY_U = "mann_whitney_u"
    WELCH_T = "welch_t"


@dataclass(frozen=True, slots=True)
class TestResult:
    """Outcome of one two-sided test.

    ``statistic`` depends on ``method``: z for the z-test, the sample odds ratio for Fisher, U of the first
    sample for Mann–Whitney, t for Welch. It may be ±inf (Fisher, Welch); ``p_value`` is always finite.
    """

    __test__ = False  # not a pytest test class, despite the name

    statistic: float
    p_value: float
    method: Method


@dataclass(frozen=True, slots=True)
class Interval:
    low: float
    high: float


# --- validation helpers -----------------------------------------------------------------------------------


def _counts(x: int, n: int, *, allow_empty: bool = False) -> tuple[int, int]:
    x, n = operator.index(x), operator.index(n)
    if n < 0 or (n == 0 and not allow_empty):
        raise ValueError(f"sample size must be positive, got n={n}")
    if not 0 <= x <= n:
        raise ValueError(f"count must be in [0, n], got x={x}, n={n}")
    return x, n


def _sample(values: npt.ArrayLike, *, name: str, min_size: int = 1) -> npt.NDArray[np.float64]:
    arr = np.asarray(values, dtype=np.float64)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional, got shape {arr.shape}")
    if arr.size < min_size:
        raise ValueError(f"{name} needs at least {min_size} value(s), got {arr.size}")
    if not np.isfinite(arr).all():
        raise ValueError(f"{name} contains NaN or infinite values")
    return arr


def _probability(p: float, *, name: str) -> float:
    p = float(p)
    if not 0.0 <= p <= 1.0:  # also rejects NaN
        raise ValueError(f"{name} must be in [0, 1], got {p}")
    return p


def _clip_p(p: float) -> float:
    p = float(p)
    if math.isnan(p):  # never let NaN through as "0 after clipping", which would read as significant
        raise ValueError("the test is numerically undefined for these inputs")
    return min(1.0, max(0.0, p))


# --- proportions ------------------------------------------------------------------------------------------


def two_proportion_z_test(x1: int, n1: int, x2: int, n2: int) -> TestResult:
    """Pooled two-proportion z-test, two-sided; ``statistic`` = (x1/n1 − x2/n2) / pooled SE.

    When the pooled proportion is 0 or 1 there is no variance to test against: statistic 0, p-value 1.
    """
    x1, n1 = _counts(x1, n1)
    x2, n2 = _counts(x2, n2)
    pooled = (x1 + x2) / (n1 + n2)
    if pooled in (0.0, 1.0):
        return TestResult(statistic=0.0, p_value=1.0, method=Method.TWO_PROPORTION_Z)
    se = math.sqrt(pooled * (1.0 - pooled) * (1.0 / n1 + 1.0 / n2))
    z = (x1 / n1 - x2 / n2) / se
    # sf, not 1 − cdf: keeps precision for the tiny p-values of large groups.
    p = 2.0 * float(_sp.norm.sf(abs(z)))
    return TestResult(statistic=z, p_value=_clip_p(p), method=Method.TWO_PROPORTION_Z)


def fisher_exact_test(x1: int, n1: int, x2: int, n2: int) -> TestResult:
    """Two-sided Fisher exact test (``scipy.stats.fisher_exact``) on [[x1, n1 − x1], [x2, n2 − x2]].

    ``statistic`` is the sample odds ratio; 0 or inf when one off-diagonal cell is 0, and 1.0 when it is
    undefined (0/0, i.e. a column of the table is empty, where the p-value is 1).
    """
    x1, n1 = _counts(x1, n1)
    x2, n2 = _counts(x2, n2)
    res = _sp.fisher_exact([[x1, n1 - x1], [x2, n2 - x2]], alternative="two-sided")
    odds = float(res.statistic)
    if math.isnan(odds):
        odds = 1.0
    return TestResult(statistic=odds, p_value=_clip_p(res.pvalue), method=Method.FISHER_EXACT)


def proportion_test(x1: int, n1: int, x2: int, n2: int) -> TestResult:
    """SPEC §7 rate test: the pooled z-test, or Fisher exact when any expected cell count is below 5.

    Expected counts are n_i·p̂ and n_i·(1 − p̂) with the pooled p̂; ``method`` tells which test ran.
    """
    x1, n1 = _counts(x1, n1)
    x2, n2 = _counts(x2, n2)
    pooled = (x1 + x2) / (n1 + n2)
    smallest_expected = min(n1, n2) * min(pooled, 1.0 - pooled)
    if smallest_expected < FISHER_MIN_EXPECTED:
        return fisher_exact_test(x1, n1, x2, n2)
    return two_proportion_z_test(x1, n1, x2, n2)


def wilson_interval(x: int, n: int, *, confidence: float = 0.95) -> Interval:
    """Wilson score interval for x successes in n trials; (0, 1) when n = 0.

    The bounds are exactly 0 when x = 0 and exactly 1 when x = n (the closed form only rounds to them).
    """
    x, n = _counts(x, n, allow_empty=True)
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be in (0, 1), got {confidence}")
    if n == 0:
        return Interval(low=0.0, high=1.0)
    z = float(_sp.norm.isf((1.0 - confidence) / 2.0))
    z2 = z * z
    p = x / n
    denominator = 1.0 + z2 / n
    centre = (p + z2 / (2.0 * n)) / denominator
    half_width = z / denominator * math.sqrt(p * (1.0 - p) / n + z2 / (4.0 * n * n))
    low = 0.0 if x == 0 else max(0.0, centre - half_width)
    high = 1.0 if x == n else min(1.0, centre + half_width)
    return Interval(low=low, high=high)


# --- continuous samples -----------------------------------------------------------------------------------


def median(values: npt.ArrayLike) -> float:
    """Median of a non-empty sample of finite values (mean of the two middle values for even sizes)."""
    return float(np.median(_sample(values, name="values")))


def mann_whitney_u(a: npt.ArrayLike, b: npt.ArrayLike) -> TestResult:
    """Two-sided Mann–Whitney U test with tie and continuity correction (normal approximation).

    Implemented with numpy (average ranks via ``np.unique``) to give the same statistic and p-value as
    ``scipy.stats.mannwhitneyu(a, b, alternative="two-sided", method="asymptotic", use_continuity=True)``:
    ``statistic`` is U of ``a`` (above n_a·n_b/2 when ``a`` tends to be larger). When every value is tied
    the variance is 0 and the p-value is 1.
    """
    xa = _sample(a, name="a")
    xb = _sample(b, name="b")
    na, nb = xa.size, xb.size
    n = na + nb
    combined = np.concatenate((xa, xb))
    _, inverse, tie_counts = np.unique(combined, return_inverse=True, return_counts=True)
    # Average rank of each distinct value: the mean of the ranks its tied block occupies.
    block_ends = np.cumsum(tie_counts, dtype=np.float64)
    average_ranks = block_ends - (tie_counts - 1) / 2.0
    rank_sum_a = float(average_ranks[inverse[:na]].sum())
    u_a = rank_sum_a - na * (na + 1) / 2.0
    u_max = max(u_a, na * nb - u_a)
    counts = tie_counts.astype(np.float64)
    tie_term = float((counts**3 - counts).sum())
    variance = na * nb / 12.0 * ((n + 1) - tie_term / (n * (n - 1)))
    if variance <= 0.0:
        return TestResult(statistic=u_a, p_value=1.0, method=Method.MANN_WHITNEY_U)
    z = (u_max - na * nb / 2.0 - 0.5) / math.sqrt(variance)
    p = 2.0 * float(_sp.norm.sf(z))
    return TestResult(statistic=u_a, p_value=_clip_p(p), method=Method.MANN_WHITNEY_U)


def welch_t_test(a: npt.ArrayLike, b: npt.ArrayLike) -> TestResult:
    """Two-sided Welch t-test (unequal variances), as ``scipy.stats.ttest_ind(a, b, equal_var=False)``.

    ``statistic`` = (mean a − mean b) / SE with Welch–Satterthwaite degrees of freedom; each sample needs at
    least two values. When both samples are constant there is no variance: equal means give statistic 0 and
    p-value 1, different means give statistic ±inf and p-value 0. "Constant" is tested on the values, not on
    the computed variance, which rounding can leave a hair above 0.
    """
    xa = _sample(a, name="a", min_size=2)
    xb = _sample(b, name="b", min_size=2)
    na, nb = xa.size, xb.size
    mean_a, mean_b = float(xa.mean()), float(xb.mean())
    constant_a, constant_b = bool(np.ptp(xa) == 0.0), bool(np.ptp(xb) == 0.0)
    se2_a = 0.0 if constant_a else float(xa.var(ddof=1)) / na
    se2_b = 0.0 if constant_b else float(xb.var(ddof=1)) / nb
    se2 = se2_a + se2_b
    if se2 == 0.0:  # both samples constant (or variances so small they underflow)
        # Compare the values themselves when constant: the mean of [0.1, 0.1, 0.1] is not exactly 0.1.
        centre_a = float(xa[0]) if constant_a else mean_a
        centre_b = float(xb[0]) if constant_b else mean_b
        if centre_a == centre_b:
            return TestResult(statistic=0.0, p_value=1.0, method=Method.WELCH_T)
        statistic = math.copysign(math.inf, centre_a - centre_b)
        return TestResult(statistic=statistic, p_value=0.0, method=Method.WELCH_T)
    t = (mean_a - mean_b) / math.sqrt(se2)
    df = se2 * se2 / (se2_a * se2_a / (na - 1) + se2_b * se2_b / (nb - 1))
    if not math.isfinite(df):  # squares underflowed; fall back to the conservative lower bound of Welch df
        df = float(min(na, nb) - 1)
    p = 2.0 * float(_sp.t.sf(abs(t), df))
    return TestResult(statistic=t, p_value=_clip_p(p), method=Method.WELCH_T)


# --- multiple testing, severity, confidence ---------------------------------------------------------------


def benjamini_hochberg(p_values: Sequence[float]) -> list[float]:
    """Benjamini–Hochberg adjusted p-values (step-up, monotone in the raw p-values, capped at 1).

    adjusted(i) = min over ranks j ≥ rank(i) of p_(j)·m/j; returned in the order of the input.
    """
    p = np.asarray(p_values, dtype=np.float64)
    if p.ndim != 1:
        raise ValueError(f"p_values must be one-dimensional, got shape {p.shape}")
    m = p.size
    if m == 0:
        return []
    if not ((p >= 0.0) & (p <= 1.0)).all():  # also rejects NaN
        raise ValueError("p_values must all be in [0, 1]")
    order = np.argsort(p, kind="stable")
    # p · (m / rank), not (p · m) / rank: the factor is ≥ 1, so rounding can never push adjusted below raw.
    scaled = p[order] * (m / np.arange(1, m + 1, dtype=np.float64))
    stepped_up = np.minimum.accumulate(scaled[::-1])[::-1]
    adjusted = np.empty(m, dtype=np.float64)
    adjusted[order] = np.minimum(stepped_up, 1.0)
    return [float(v) for v in adjusted]


def severity(effect: float, threshold: float) -> float:
    """SPEC §7 severity: min(1, |effect| / (4 × threshold)) for a positive practical threshold.

    Rounded to 12 decimals so that ratios that are exact on paper land on the label boundaries
    (0.15 / (4 × 0.05) is 0.7499999999999999 in binary floating point, but is "critical").
    """
    effect, threshold = float(effect), float(threshold)
    if math.isnan(effect):
        raise ValueError("effect must not be NaN")
    if not (threshold > 0.0 and math.isfinite(threshold)):
        raise ValueError(f"threshold must be positive and finite, got {threshold}")
    return min(1.0, round(abs(effect) / (4.0 * threshold), 12))


def severity_label(s: float) -> SeverityLabel:
    """SPEC §7 label of a severity in [0, 1]: critical ≥ 0.75, high ≥ 0.5, medium ≥ 0.25, else low."""
    s = _probability(s, name="severity")
    if s >= 0.75:
        return "critical"
    if s >= 0.5:
        return "high"
    if s >= 0.25:
        return "medium"
    return "low"


def confidence(adjusted_p: float) -> float:
    """SPEC §7 confidence of an event: 1 − its Benjamini–Hochberg adjusted p-value."""
    return 1.0 - _probability(adjusted_p, name="adjusted_p")
