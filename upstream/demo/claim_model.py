"""Sampling tables and the row loop behind the claims generator (see generator.py for the public API).

Every distribution is drawn once into a lookup table from the seeded RNG; the loop then indexes tables with
``getrandbits`` and writes pre-formatted CSV lines, which keeps it at a few microseconds per row.
"""

from __future__ import annotations

import csv
import math
import random
from bisect import bisect_left
from collections import Counter
from collections.abc import Callable, Sequence
from datetime import date, timedelta
from typing import Any

from upstream.demo.drift_scenarios import (
    DecisionTimeDrift,
    DenialDollarsDrift,
    DenialRateDrift,
    DriftScenario,
    PaymentDelayDrift,
)
from upstream.demo.injected_errors import ERROR_KINDS, plant_error
from upstream.demo.reference_data import (
    CPT_CODES,
    CPT_GROUPS,
    DENIAL_CODES,
    FIRST_NAMES,
    LAST_NAMES,
    PAYER_VOLUME_EXPONENT,
    PAYERS,
)

HISTORY_DAYS = 180  # decided dates spread uniformly over the 180 days up to as-of
CURRENT_DAYS = 14  # SPEC §7 windows on decided_date: current (as_of - 14d, as_of]
BASELINE_DAYS = 90  # baseline (as_of - 104d, as_of - 14d]
OTHER_RATE = 0.02
VARIANT_RATE = 0.03  # share of a payer's rows spelled with one of its raw variants
MAX_DENIAL_RATE = 0.95
CHUNK_ROWS = 8192  # part of the output's definition: changing it changes which patients share claims

_BITS = 16  # lookup tables of 2**16 entries, indexed with getrandbits(16)
_SMALL_BITS = 10  # per-payer / per-code tables of 2**10 sampled values
_DATE_SPAN_BEFORE = HISTORY_DAYS + 40 + 61  # oldest submitted date: decision time 40 days + 60-day drift
_DATE_SPAN_AFTER = 30 + 61  # latest paid date: payment delay 30 days + 60-day drift
_DOB_FIRST, _DOB_LAST = date(1940, 1, 1), date(2020, 12, 31)
_LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"

Counts = tuple[dict[str, int], dict[str, int], dict[str, int], dict[date, int]]


def csv_field(value: str) -> str:
    """``value`` quoted the way csv.writer's QUOTE_MINIMAL would."""
    if any(char in value for char in ',"\r\n'):
        return '"' + value.replace('"', '""') + '"'
    return value


class ClaimModel:
    """Sampling tables for one generation run, drawn once from the seeded RNG, and the hot row loop."""

    def __init__(
        self,
        rng: random.Random,
        as_of: date,
        scenarios: tuple[DriftScenario, ...],
        min_volume: int,
        paid_through: date | None,
    ) -> None:
        self.rng = rng
        self.scenarios = scenarios
        self.min_volume = min_volume
        self.claim_prefix = f"CLM-{rng.randrange(16**3):03X}{rng.choice('ABCDEF')}-"
        self.first_day = as_of - timedelta(days=_DATE_SPAN_BEFORE)
        self.dates = [
            (self.first_day + timedelta(days=d)).isoformat()
            for d in range(_DATE_SPAN_BEFORE + _DATE_SPAN_AFTER + 1)
        ]
        self.as_of_index = _DATE_SPAN_BEFORE
        self.paid_through_index = (paid_through - self.first_day).days if paid_through else len(self.dates)
        dob_days = (_DOB_LAST - _DOB_FIRST).days + 1
        self.dobs = [(_DOB_FIRST + timedelta(days=d)).isoformat() for d in range(dob_days)]
        self.patient_mix = (rng.randrange(10**8), rng.randrange(10**9))

        volume = [1.0 / (rank**PAYER_VOLUME_EXPONENT) for rank in range(1, len(PAYERS) + 1)]
        self.payer_table = _weighted_table(range(len(PAYERS)), volume, _BITS)
        self.cpt_table = _weighted_table(range(len(CPT_CODES)), [c[2] for c in CPT_CODES], _BITS)
        self.offset_table = _weighted_table(range(HISTORY_DAYS), [1.0] * HISTORY_DAYS, _BITS)
        self.group_cpt_tables = {
            group.name: _weighted_table(
                [i for i, c in enumerate(CPT_CODES) if c[1] == group.name],
                [c[2] for c in CPT_CODES if c[1] == group.name],
                _BITS,
            )
            for group in CPT_GROUPS
        }
        small = 1 << _SMALL_BITS
        self.payer_raw = [
            [csv_field(payer.name)] * (small - round(small * VARIANT_RATE))
            + [csv_field(payer.variants[k % len(payer.variants)]) for k in range(round(small * VARIANT_RATE))]
            for payer in PAYERS
        ]
        self.decision_days = [_spread_table(rng, p.decision_days, 1, 40, 10, small) for p in PAYERS]
        self.payment_days = [_spread_table(rng, p.payment_days, 3, 30, 9, small) for p in PAYERS]
        self.allowed_pct = [
            [min(90, max(40, round(rng.gauss(p.allowed_pct, 6)))) for _ in range(small)] for p in PAYERS
        ]
        self.paid_pct = [round(rng.triangular(70, 100, 95)) for _ in range(small)]
        groups = {group.name: group for group in CPT_GROUPS}
        self.cpt_text = [csv_field(code) for code, _, _, _ in CPT_CODES]
        self.billed = [
            _billed_table(rng, price, groups[name].amount_sigma, small) for _, name, _, price in CPT_CODES
        ]
        self.modifiers = [_modifier_table(groups[name].modifiers, small) for _, name, _, _ in CPT_CODES]
        self.denials = _weighted_table(
            [f"{csv_field(code)},{csv_field(text)}" for code, text, _ in DENIAL_CODES],
            [weight for _, _, weight in DENIAL_CODES],
            _SMALL_BITS,
        )
        self.params_before, self.params_current = self._slice_params()

    def _slice_params(
        self,
    ) -> tuple[list[tuple[float, int, int, float]], list[tuple[float, int, int, float]]]:
        """Per (payer, cpt) cell: (denial threshold, decision shift, payment shift, denied-dollar scale)."""
        groups = {group.name: group for group in CPT_GROUPS}
        group_of = [groups[c[1]] for c in CPT_CODES]
        before_rate = [
            min(0.6, max(0.01, payer.denial_rate * group.denial_multiplier))
            for payer in PAYERS
            for group in group_of
        ]
        current_rate = list(before_rate)
        decision_shift = [0] * len(before_rate)
        payment_shift = [0] * len(before_rate)
        denied_scale = [1.0] * len(before_rate)
        for scenario in self.scenarios:
            for cell in self._cells(scenario):
                if isinstance(scenario, DenialRateDrift):
                    before_rate[cell], current_rate[cell] = scenario.from_rate, scenario.to_rate
                elif isinstance(scenario, DenialDollarsDrift):
                    scaled = before_rate[cell] * scenario.factor
                    current_rate[cell] = min(MAX_DENIAL_RATE, scaled)
                    denied_scale[cell] = scaled / current_rate[cell]
                elif isinstance(scenario, DecisionTimeDrift):
                    decision_shift[cell] = scenario.days
                elif isinstance(scenario, PaymentDelayDrift):
                    payment_shift[cell] = scenario.days

        def threshold(rate: float) -> float:
            return OTHER_RATE + (1.0 - OTHER_RATE) * rate

        before = [(threshold(rate), 0, 0, 1.0) for rate in before_rate]
        current = [
            (threshold(rate), decision_shift[cell], payment_shift[cell], denied_scale[cell])
            for cell, rate in enumerate(current_rate)
        ]
        return before, current

    def _cells(self, scenario: DriftScenario) -> list[int]:
        payer = next(i for i, p in enumerate(PAYERS) if p.name == scenario.payer)
        return [
            payer * len(CPT_CODES) + i
            for i, code in enumerate(CPT_CODES)
            if scenario.cpt_group is None or code[1] == scenario.cpt_group
        ]

    def place_guaranteed_rows(self, rows: int) -> dict[int, tuple[int, int, int]]:
        """Row index -> (payer, cpt, decided offset) for rows that give each drift slice its volume."""
        volumes: dict[tuple[str, str | None], int] = {}
        for scenario in self.scenarios:
            key = (scenario.payer, scenario.cpt_group)
            volumes[key] = max(volumes.get(key, 0), scenario.min_volume or self.min_volume)
        needed = 2 * sum(volumes.values())
        if needed > rows:
            raise ValueError(
                f"{rows} rows cannot hold the drift scenarios: their slices need {needed} rows "
                f"({len(volumes)} slice(s) x 2 windows x minimum volume)."
            )
        rng = self.rng
        positions = iter(rng.sample(range(rows), needed))
        windows = ((0, CURRENT_DAYS - 1), (CURRENT_DAYS, CURRENT_DAYS + BASELINE_DAYS - 1))
        forced: dict[int, tuple[int, int, int]] = {}
        for (payer_name, group), volume in volumes.items():
            payer = next(i for i, p in enumerate(PAYERS) if p.name == payer_name)
            table = self.group_cpt_tables[group] if group else self.cpt_table
            for first, last in windows:
                for _ in range(volume):
                    forced[next(positions)] = (payer, table[rng.getrandbits(_BITS)], rng.randint(first, last))
        return forced

    def patients(self, first: int, count: int) -> list[str]:
        """Patients ``first`` .. ``first + count - 1``: account and member numbers are unique per patient."""
        rng, mix_account, mix_member = self.rng, *self.patient_mix
        dobs, n_dobs = self.dobs, len(self.dobs)
        out = []
        for k in range(first, first + count):
            account = (k * 61_803_399 + mix_account) % 10**8  # multiplier prime to 10**8: a bijection
            member = (k * 618_033_989 + mix_member) % 10**9
            letters = "".join(rng.choice(_LETTERS) for _ in range(3))
            name = f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}"
            out.append(f"PA{account:08d},{letters}{member:09d},{name},{dobs[int(rng.random() * n_dobs)]}")
        return out

    def write_rows(
        self,
        rows: int,
        forced: dict[int, tuple[int, int, int]],
        write: Callable[[str], Any],
        error_rate: float,
        error_rng: random.Random,
    ) -> Counts:
        rng = self.rng
        bits, rnd = rng.getrandbits, rng.random
        payer_table, cpt_table, offset_table = self.payer_table, self.cpt_table, self.offset_table
        payer_raw, cpt_text, modifiers, billed = self.payer_raw, self.cpt_text, self.modifiers, self.billed
        decision_days, payment_days = self.decision_days, self.payment_days
        allowed_pct, paid_pct, denials = self.allowed_pct, self.paid_pct, self.denials
        params_before, params_current = self.params_before, self.params_current
        dates, as_of_index, paid_through = self.dates, self.as_of_index, self.paid_through_index
        prefix, n_cpt, small = self.claim_prefix, len(CPT_CODES), _SMALL_BITS
        late_paid = [0] * len(dates)
        payer_counter: Counter[int] = Counter()
        denied = other = 0
        errors_by_kind = dict.fromkeys(ERROR_KINDS, 0)
        forced_rows = sorted(forced)
        last_error, clean_before_last_error = -1, -1

        for start in range(0, rows, CHUNK_ROWS):
            n = min(CHUNK_ROWS, rows - start)
            payers = [payer_table[bits(_BITS)] for _ in range(n)]
            cpts = [cpt_table[bits(_BITS)] for _ in range(n)]
            offsets = [offset_table[bits(_BITS)] for _ in range(n)]
            lo, hi = bisect_left(forced_rows, start), bisect_left(forced_rows, start + n)
            for row in forced_rows[lo:hi]:
                payers[row - start], cpts[row - start], offsets[row - start] = forced[row]
            payer_counter.update(payers)
            n_patients = (n + 3) // 4
            patients = self.patients(start // 4, n_patients)
            error_rows = iter(
                [start + j for j in range(n) if error_rng.random() < error_rate and start + j not in forced]
                if error_rate
                else []
            )
            next_error = next(error_rows, -1)
            lines = []
            for row, payer, cpt, offset in zip(range(start, start + n), payers, cpts, offsets, strict=True):
                cell = payer * n_cpt + cpt
                threshold, decision_shift, payment_shift, denied_scale = (
                    params_current[cell] if offset < CURRENT_DAYS else params_before[cell]
                )
                decided = as_of_index - offset
                decision = decision_days[payer][bits(small)] + decision_shift
                submitted = decided - (decision if decision > 0 else 1)
                cents, amount = billed[cpt][bits(small)]
                draw = rnd()
                if draw < OTHER_RATE:
                    other += 1
                    allowed = cents * allowed_pct[payer][bits(small)] // 100
                    outcome, paid_date, amounts, denial = "OTHER", "", f"{amount},{allowed / 100:.2f},", ","
                elif draw < threshold:
                    denied += 1
                    if denied_scale != 1.0:
                        amount = f"{round(cents * denied_scale) / 100:.2f}"
                    tail = ",0.00,0.00" if bits(2) else ",,"
                    outcome, paid_date, amounts, denial = "DENIED", "", amount + tail, denials[bits(small)]
                else:
                    allowed = cents * allowed_pct[payer][bits(small)] // 100
                    paid = allowed * paid_pct[bits(small)] // 100
                    delay = payment_days[payer][bits(small)] + payment_shift
                    paid_day = decided + (delay if delay > 0 else 1)
                    if paid_day > paid_through:
                        paid_date = ""  # payment not yet visible in an extract taken on paid_through
                    else:
                        paid_date = dates[paid_day]
                        if paid_day > as_of_index:
                            late_paid[paid_day] += 1
                    outcome, amounts, denial = "PAID", f"{amount},{allowed / 100:.2f},{paid / 100:.2f}", ","
                line = (
                    f"{prefix}{row + 1:08d},{payer_raw[payer][bits(small)]},{cpt_text[cpt]},"
                    f"{modifiers[cpt][bits(small)]},{dates[submitted]},{dates[decided]},{paid_date},{outcome},"
                    f"{amounts},{denial},{patients[int(rnd() * n_patients)]}\n"
                )
                if row == next_error:
                    # One clean row written before this one, whose claim number a duplicate can reuse.
                    clean = row - 1 if row - 1 != last_error else clean_before_last_error
                    last_error, clean_before_last_error = row, clean
                    fields = next(csv.reader([line]))
                    duplicate_of = f"{prefix}{clean + 1:08d}" if clean >= 0 else None
                    kind = ERROR_KINDS[error_rng.randrange(len(ERROR_KINDS))]
                    errors_by_kind[plant_error(kind, fields, error_rng, duplicate_of)] += 1
                    line = ",".join(csv_field(value) for value in fields) + "\n"
                    next_error = next(error_rows, -1)
                lines.append(line)
            write("".join(lines))

        payer_counts = {payer.name: payer_counter[i] for i, payer in enumerate(PAYERS)}
        outcomes = {"PAID": rows - denied - other, "DENIED": denied, "OTHER": other}
        late = {self.first_day + timedelta(days=i): n for i, n in enumerate(late_paid) if n}
        return payer_counts, outcomes, {k: v for k, v in errors_by_kind.items() if v}, late


def _weighted_table(values: Sequence[Any] | range, weights: Sequence[float], bits: int) -> list[Any]:
    """A 2**bits list holding each value in proportion to its weight (largest-remainder rounding)."""
    size = 1 << bits
    total = sum(weights)
    exact = [w * size / total for w in weights]
    counts = [math.floor(x) for x in exact]
    by_remainder = sorted(range(len(exact)), key=lambda i: (counts[i] - exact[i], i))
    for i in by_remainder[: size - sum(counts)]:
        counts[i] += 1
    return [value for value, count in zip(values, counts, strict=True) for _ in range(count)]


def _spread_table(rng: random.Random, median: int, low: int, high: int, spread: int, size: int) -> list[int]:
    """Integer days around ``median`` (symmetric, so the median holds) within [low, high]."""
    width = max(1, min(median - low, high - median, spread))
    return [min(high, max(low, round(rng.triangular(median - width, median + width)))) for _ in range(size)]


def _billed_table(rng: random.Random, price: float, sigma: float, size: int) -> list[tuple[int, str]]:
    """(cents, text) billed amounts, log-normal around ``price`` and clipped at 3.5 sigma."""
    out = []
    for _ in range(size):
        factor = math.exp(max(-3.5, min(3.5, rng.gauss(0.0, 1.0))) * sigma) if sigma else 1.0
        cents = round(price * factor * 100)
        out.append((cents, f"{cents / 100:.2f}"))
    return out


def _modifier_table(options: tuple[tuple[str, float], ...], size: int) -> list[str]:
    table: list[str] = []
    for modifier, probability in options:
        table.extend([csv_field(modifier)] * round(size * probability))
    return table + [""] * (size - len(table))
