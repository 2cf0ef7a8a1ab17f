"""Seeded synthetic claims CSV (SPEC §4) for demos, tests and benchmarks, with injectable drift and errors.

Pure Python with no Django imports. Rows are produced in fixed-size chunks and written as they are made, so
memory stays bounded for any row count; the same arguments and seed always give byte-identical output.
"""

from __future__ import annotations

import gzip as gzip_module
import io
import os
import random
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import IO, Any

from upstream.demo.claim_model import BASELINE_DAYS, CURRENT_DAYS, ClaimModel, csv_field
from upstream.demo.drift_scenarios import DriftScenario, InjectedDrift, describe_injected, validate_scenarios
from upstream.demo.injected_errors import CSV_HEADER, ERROR_RULES

__all__ = [
    "DEFAULT_AS_OF",
    "DEFAULT_MIN_VOLUME",
    "GenerationSummary",
    "baseline_window",
    "csv_field",
    "current_window",
    "generate",
]

DEFAULT_AS_OF = date(2026, 11, 15)
DEFAULT_MIN_VOLUME = 60


@dataclass(frozen=True)
class GenerationSummary:
    rows: int
    seed: int
    as_of: date
    payer_counts: dict[str, int]  # canonical payer -> rows, in payer-rank order
    outcome_counts: dict[str, int]  # PAID / DENIED / OTHER as generated, before planted errors
    injected_errors: dict[str, int]  # rule code -> rows carrying that planted violation
    injected_errors_by_kind: dict[str, int]  # injected_errors.ERROR_RULES kind -> rows
    scenarios: tuple[DriftScenario, ...]
    drifts: tuple[InjectedDrift, ...]
    guaranteed_rows: int  # rows placed in drift slices to reach their minimum volume per window
    # paid_date -> rows, for paid dates written after as_of (planted errors aside)
    paid_dates_after_as_of: dict[date, int] = field(default_factory=dict)

    def rows_paid_after(self, day: date) -> int:
        """Rows whose paid_date falls after ``day`` (R06 rejects dates after the upload day)."""
        return sum(count for paid, count in self.paid_dates_after_as_of.items() if paid > day)

    def lines(self) -> list[str]:
        out = [f"{self.rows:,} claims, seed {self.seed}, as of {self.as_of.isoformat()}"]
        out.append(
            "outcomes: " + ", ".join(f"{name} {count:,}" for name, count in self.outcome_counts.items())
        )
        out.append("payers:")
        out.extend(f"  {payer:<34} {count:>10,}" for payer, count in self.payer_counts.items())
        if self.drifts:
            out.append(f"drift injected ({self.guaranteed_rows:,} rows placed to reach minimum volume):")
            out.extend(f"  {drift.describe()}" for drift in self.drifts)
        if self.injected_errors:
            out.append("planted errors by rule:")
            out.extend(f"  {rule} {count:,}" for rule, count in self.injected_errors.items())
        return out


def current_window(as_of: date) -> tuple[date, date]:
    """(first, last) decided_date of the current window, both inclusive."""
    return as_of - timedelta(days=CURRENT_DAYS - 1), as_of


def baseline_window(as_of: date) -> tuple[date, date]:
    """(first, last) decided_date of the baseline window, both inclusive."""
    return as_of - timedelta(days=CURRENT_DAYS + BASELINE_DAYS - 1), as_of - timedelta(days=CURRENT_DAYS)


def generate(
    rows: int,
    seed: int,
    out: IO[str] | IO[bytes] | str | os.PathLike[str],
    *,
    as_of: date = DEFAULT_AS_OF,
    drifts: Sequence[DriftScenario] = (),
    error_rate: float = 0.0,
    min_volume: int = DEFAULT_MIN_VOLUME,
    gzip: bool | None = None,
    paid_through: date | None = None,
) -> GenerationSummary:
    """Write ``rows`` claims as CSV to ``out`` (a path, or a text or binary stream) and summarise them.

    ``gzip`` defaults to True for paths ending in ``.gz``. ``paid_through`` censors payments: PAID claims
    whose payment would land after it keep an empty paid_date, as in an extract taken that day; by default
    every PAID claim carries its paid_date, which can fall up to 30 days (plus any drift) after ``as_of``.
    """
    if rows < 1:
        raise ValueError(f"rows must be at least 1, got {rows}.")
    if not 0.0 <= error_rate <= 1.0:
        raise ValueError(f"error_rate must be between 0 and 1, got {error_rate}.")
    if min_volume < 1:
        raise ValueError(f"min_volume must be at least 1, got {min_volume}.")
    scenarios = tuple(drifts)
    validate_scenarios(scenarios)
    if gzip is None:
        gzip = isinstance(out, str | os.PathLike) and os.fspath(out).endswith(".gz")

    # Synthetic data, not secrets: a seeded, reproducible PRNG is exactly what is wanted here.
    model = ClaimModel(random.Random(seed), as_of, scenarios, min_volume, paid_through)  # noqa: S311
    forced = model.place_guaranteed_rows(rows)
    with _open_output(out, gzip) as write:
        write(",".join(CSV_HEADER) + "\n")
        error_rng = random.Random(f"{seed}:errors")  # noqa: S311  # its own stream: clean rows stay identical
        counts = model.write_rows(rows, forced, write, error_rate, error_rng)
    payer_counts, outcome_counts, errors_by_kind, late_paid = counts
    injected = Counter({ERROR_RULES[kind]: count for kind, count in errors_by_kind.items()})
    return GenerationSummary(
        rows=rows,
        seed=seed,
        as_of=as_of,
        payer_counts=payer_counts,
        outcome_counts=outcome_counts,
        injected_errors=dict(sorted(injected.items())),
        injected_errors_by_kind=errors_by_kind,
        scenarios=scenarios,
        drifts=describe_injected(scenarios),
        guaranteed_rows=len(forced),
        paid_dates_after_as_of=late_paid,
    )


@contextmanager
def _open_output(
    out: IO[str] | IO[bytes] | str | os.PathLike[str], gzip: bool
) -> Iterator[Callable[[str], Any]]:
    """A write(str) function on ``out``; paths are opened (and closed) here, streams are left open."""
    if isinstance(out, str | os.PathLike):
        with open(out, "wb") as raw:
            if not gzip:
                yield lambda text: raw.write(text.encode("utf-8"))
                return
            # mtime=0 and no file name in the header keep gzip output byte-identical between runs.
            with gzip_module.GzipFile(
                filename="", mode="wb", fileobj=raw, mtime=0, compresslevel=3
            ) as packed:
                yield lambda text: packed.write(text.encode("utf-8"))
        return
    if _is_text_stream(out):
        if gzip:
            raise ValueError("gzip output needs a path or a binary stream, not a text stream.")
        yield out.write  # type: ignore[misc]
        return
    binary: IO[bytes] = out  # type: ignore[assignment]
    if not gzip:
        yield lambda text: binary.write(text.encode("utf-8"))
        return
    with gzip_module.GzipFile(filename="", mode="wb", fileobj=binary, mtime=0, compresslevel=3) as packed:
        yield lambda text: packed.write(text.encode("utf-8"))


def _is_text_stream(out: IO[Any]) -> bool:
    if isinstance(out, io.TextIOBase):
        return True
    if isinstance(out, io.RawIOBase | io.BufferedIOBase):
        return False
    try:
        out.write("")
    except TypeError:
        return False
    return True
