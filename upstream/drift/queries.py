"""The SQL side of drift detection: the aggregation queries, their read snapshot, and the per-group counts and
run-length arrays they return (see ``upstream.drift.detectors`` for what is done with them).

Every statement filters on ``customer_id`` explicitly: raw SQL does not pass through the tenant-scoped
managers. The number of queries is fixed whatever the number of claims or groups.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from fractions import Fraction
from typing import Any

import numpy as np
import numpy.typing as npt
from django.db import connection, transaction

from upstream.drift.models import ALL_GROUPS, DriftType

GroupKey = tuple[str, str]  # (payer, cpt_group); cpt_group is ALL_GROUPS for the payer-wide roll-up
Histogram = tuple[npt.NDArray[np.float64], npt.NDArray[np.int64]]  # distinct values, their counts
EXAMPLE_CLAIMS = 20
TOP_DENIAL_CODES = 5

_WINDOW = "customer_id = %(customer_id)s AND decided_date > %(baseline_after)s AND decided_date <= %(as_of)s"
_GROUP = "CASE WHEN GROUPING(cpt_group) = 1 THEN %(all)s ELSE cpt_group END AS cpt_group"

# Counts and sums per (payer, cpt_group, window) and per denial code, then rolled up per payer over the small
# per-cell result (a plain GROUP BY first lets PostgreSQL scan in parallel; GROUPING SETS alone cannot). Rows
# with ``by_code`` carry one denial code's count in ``denied``.
COUNTS_SQL = f"""
SELECT payer, {_GROUP}, GROUPING(cpt_group) = 1 AS rollup, is_current, GROUPING(code) = 0 AS by_code, code,
       sum(claims)::bigint, sum(decided)::bigint, sum(denied)::bigint, sum(paid_dated)::bigint,
       coalesce(sum(billed), 0), coalesce(sum(denied_dollars), 0), coalesce(sum(denied_dollars_sq), 0)
FROM (
    SELECT payer, cpt_group, decided_date > %(current_after)s AS is_current,
           CASE WHEN outcome = 'DENIED' THEN denial_reason_code END AS code,
           count(*) AS claims,
           count(*) FILTER (WHERE outcome IN ('PAID', 'DENIED')) AS decided,
           count(*) FILTER (WHERE outcome = 'DENIED') AS denied,
           count(*) FILTER (WHERE outcome = 'PAID' AND paid_date IS NOT NULL) AS paid_dated,
           sum(billed_amount) FILTER (WHERE outcome IN ('PAID', 'DENIED')) AS billed,
           sum(billed_amount) FILTER (WHERE outcome = 'DENIED') AS denied_dollars,
           sum(billed_amount * billed_amount) FILTER (WHERE outcome = 'DENIED') AS denied_dollars_sq
    FROM claims_claimrecord
    WHERE {_WINDOW}
    GROUP BY payer, cpt_group, is_current, code
) AS cells
GROUP BY GROUPING SETS (
    (payer, cpt_group, is_current), (payer, is_current),
    (payer, cpt_group, is_current, code), (payer, is_current, code)
)
"""  # noqa: S608  (constant fragments only; values are bound parameters)

_HISTOGRAM_SQL = f"""
SELECT payer, cpt_group, rollup, is_current, array_agg(days ORDER BY days), array_agg(n ORDER BY days)
FROM (
    SELECT payer, {_GROUP}, GROUPING(cpt_group) = 1 AS rollup, is_current, days, sum(n)::bigint AS n
    FROM (
        SELECT payer, cpt_group, decided_date > %(current_after)s AS is_current, {{days}} AS days,
               count(*) AS n
        FROM claims_claimrecord
        WHERE {_WINDOW} AND {{condition}}
        GROUP BY payer, cpt_group, is_current, days
    ) AS cells
    GROUP BY GROUPING SETS ((payer, cpt_group, is_current, days), (payer, is_current, days))
) AS histogram
GROUP BY payer, cpt_group, rollup, is_current
"""  # noqa: S608
HISTOGRAM_SQL: dict[str, str] = {
    DriftType.DECISION_TIME: _HISTOGRAM_SQL.format(days="decided_date - submitted_date", condition="TRUE"),
    DriftType.PAYMENT_DELAY: _HISTOGRAM_SQL.format(
        days="paid_date - decided_date", condition="outcome = 'PAID' AND paid_date IS NOT NULL"
    ),
}

# Up to 20 current-window claims per event, in one pass over the current window: denied claims (largest billed
# first) for the denial types, the longest (worsening) or shortest (improving) times for the time types.
EXAMPLES_SQL = f"""
SELECT ord, id, claim_number
FROM (
    SELECT w.ord, c.id, c.claim_number,
           row_number() OVER (
               PARTITION BY w.ord
               ORDER BY w.sign * CASE w.kind WHEN 'denied' THEN coalesce(c.billed_amount, 0)
                                             WHEN 'paid' THEN c.paid_date - c.decided_date
                                             ELSE c.decided_date - c.submitted_date END DESC, c.id
           ) AS rank
    FROM claims_claimrecord AS c
    JOIN unnest(%(payers)s::text[], %(groups)s::text[], %(kinds)s::text[], %(signs)s::int[])
         WITH ORDINALITY AS w(payer, cpt_group, kind, sign, ord)
      ON c.payer = w.payer AND (w.cpt_group = %(all)s OR c.cpt_group = w.cpt_group)
         AND CASE w.kind WHEN 'denied' THEN c.outcome = 'DENIED'
                         WHEN 'paid' THEN c.outcome = 'PAID' AND c.paid_date IS NOT NULL
                         ELSE TRUE END
    WHERE c.customer_id = %(customer_id)s
      AND c.decided_date > %(current_after)s AND c.decided_date <= %(as_of)s
) AS ranked
WHERE rank <= {EXAMPLE_CLAIMS}
ORDER BY ord, rank
"""  # noqa: S608

# ORDER BY … LIMIT 1 rather than max(): one index entry read whatever the planner believes about the customer.
LATEST_SQL = (
    "SELECT decided_date FROM claims_claimrecord WHERE customer_id = %s ORDER BY decided_date DESC LIMIT 1"
)


@dataclass(frozen=True, slots=True)
class WindowCounts:
    """One group's claims in one window, as aggregated by COUNTS_SQL."""

    claims: int
    decided: int  # PAID + DENIED
    denied: int
    paid_dated: int  # PAID with a paid_date
    billed: Decimal  # billed $ of PAID + DENIED claims
    denied_dollars: Decimal  # billed $ of DENIED claims
    denied_dollars_sq: Decimal  # sum of squared billed $ of DENIED claims

    @property
    def denial_rate(self) -> Fraction:
        return Fraction(self.denied, self.decided)

    @property
    def denied_mean(self) -> Fraction:
        return Fraction(self.denied_dollars) / self.decided

    @property
    def denied_variance(self) -> Fraction:
        """Sample variance of the per-claim denied $ (exact: the sums are exact decimals)."""
        n, total = self.decided, Fraction(self.denied_dollars)
        return (Fraction(self.denied_dollars_sq) - total * total / n) / (n - 1)


@dataclass
class Aggregates:
    counts: dict[GroupKey, dict[bool, WindowCounts]] = field(default_factory=lambda: defaultdict(dict))
    denial_codes: dict[tuple[GroupKey, bool], list[tuple[str, int]]] = field(
        default_factory=lambda: defaultdict(list)
    )
    histograms: dict[str, dict[GroupKey, dict[bool, Histogram]]] = field(default_factory=dict)

    def top_denial_codes(self, key: GroupKey, is_current: bool) -> list[dict[str, Any]]:
        ranked = sorted(self.denial_codes.get((key, is_current), []), key=lambda item: (-item[1], item[0]))
        return [{"code": code, "count": n} for code, n in ranked[:TOP_DENIAL_CODES]]


def latest_decided_date(*, customer_id: int) -> date | None:
    with connection.cursor() as cursor:
        cursor.execute(LATEST_SQL, [customer_id])
        row = cursor.fetchone()
    return row[0] if row else None


@contextmanager
def snapshot() -> Iterator[bool]:
    """Every query of a detection sees one snapshot (an upload committing mid-run cannot skew counts against
    arrays): a read-only REPEATABLE READ transaction, or the caller's transaction when there is one. Yields
    whether the transaction is ours, i.e. whether settings local to it stay local to the detection."""
    if connection.in_atomic_block:
        with transaction.atomic():  # a savepoint: a failing query cannot poison the caller's transaction
            yield False
        return
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        # JIT compilation costs these aggregations more than it saves (≈ 0.1 s a query, a million claims).
        cursor.execute("SET LOCAL jit = off")
        # Exact (not lossy) bitmaps of a million claims' pages, and per-cell aggregates in memory instead of
        # sorts spilled to disk (the planner overestimates the number of cells).
        cursor.execute("SET LOCAL work_mem = '32MB'")
        yield True


def scan_in_table_order() -> None:
    """For the rest of the detection's own transaction, read the customer's claims with bitmap scans of the
    (customer, decided_date) range: only this customer's pages, once each, in table order, whatever the
    statistics say. A plain index scan visits one random heap page per claim, and right after a large
    upload, statistics that do not know the new rows yet make the planner pick it: a run over a million
    claims took 16 s instead of 3. A sequential scan reads every tenant's claims: its cost grows with the
    whole table, not with the customer. (Index-only scans go too, hence after the latest decided_date.)"""
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_indexscan = off")
        cursor.execute("SET LOCAL enable_seqscan = off")


def group_key(payer: str, cpt_group: str, rollup: bool) -> GroupKey | None:
    # A customer's own CPT group literally named "ALL" would collide with the roll-up: it is only rolled up.
    if not rollup and cpt_group == ALL_GROUPS:
        return None
    return payer, cpt_group


def aggregate(sql_params: Mapping[str, Any]) -> Aggregates:
    aggregates = Aggregates()
    with connection.cursor() as cursor:
        cursor.execute(COUNTS_SQL, sql_params)
        for payer, group, rollup, is_current, by_code, code, *values in cursor.fetchall():
            key = group_key(payer, group, rollup)
            if key is None:
                continue
            counts = WindowCounts(*values)
            if not by_code:
                aggregates.counts[key][is_current] = counts
            elif code:  # NULL: claims not denied; "": denied without a code
                aggregates.denial_codes[key, is_current].append((code, counts.denied))
        for drift_type, sql in HISTOGRAM_SQL.items():
            cursor.execute(sql, sql_params)
            by_group: dict[GroupKey, dict[bool, Histogram]] = defaultdict(dict)
            for payer, group, rollup, is_current, days, counts in cursor.fetchall():
                key = group_key(payer, group, rollup)
                if key is not None:
                    by_group[key][is_current] = (np.asarray(days, np.float64), np.asarray(counts, np.int64))
            aggregates.histograms[drift_type] = by_group
    return aggregates
