"""``python manage.py generate_claims --rows N --seed S --out FILE``: a seeded synthetic claims CSV.

Options: ``--as-of YYYY-MM-DD``, ``--drift SPEC`` (repeatable, grammar in upstream/demo/drift_scenarios.py),
``--error-rate F``, ``--min-volume N``, ``--paid-through YYYY-MM-DD`` and ``--gzip`` (implied by ``.gz``).
"""

from __future__ import annotations

import time
from datetime import date
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from upstream.demo.drift_scenarios import DriftSpecError, parse_drift_specs
from upstream.demo.generator import DEFAULT_AS_OF, DEFAULT_MIN_VOLUME, generate


class Command(BaseCommand):
    help = "Write a deterministic synthetic claims CSV (SPEC §4), optionally with injected drift and errors."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--rows", type=int, required=True, help="Number of claim rows to write.")
        parser.add_argument(
            "--seed", type=int, default=1, help="RNG seed; same arguments + seed = same bytes."
        )
        parser.add_argument("--out", required=True, help="Output file; gzip-compressed when it ends in .gz.")
        parser.add_argument(
            "--as-of", default=DEFAULT_AS_OF.isoformat(), help="Latest decided_date (YYYY-MM-DD)."
        )
        parser.add_argument(
            "--drift",
            action="append",
            default=[],
            metavar="SPEC",
            help="Repeatable drift scenario, e.g. 'denial_rate:payer=Aetna,cpt_group=E&M,from=0.10,to=0.35'.",
        )
        parser.add_argument(
            "--error-rate", type=float, default=0.0, help="Share of rows given one deliberate rule violation."
        )
        parser.add_argument(
            "--min-volume",
            type=int,
            default=DEFAULT_MIN_VOLUME,
            help="Claims guaranteed per window for every drift slice.",
        )
        parser.add_argument(
            "--paid-through",
            default=None,
            help="Extract date (YYYY-MM-DD): payments after it are left without a paid_date.",
        )
        parser.add_argument("--gzip", action="store_true", help="Gzip the output whatever its name.")

    def handle(self, *args: Any, **opts: Any) -> None:
        rows: int = opts["rows"]
        if rows < 1:
            raise CommandError(f"--rows must be at least 1, got {rows}.")
        if not 0.0 <= opts["error_rate"] <= 1.0:
            raise CommandError(f"--error-rate must be between 0 and 1, got {opts['error_rate']}.")
        if opts["min_volume"] < 1:
            raise CommandError(f"--min-volume must be at least 1, got {opts['min_volume']}.")
        as_of = _parse_date("--as-of", opts["as_of"])
        paid_through = _parse_date("--paid-through", opts["paid_through"]) if opts["paid_through"] else None
        try:
            scenarios = parse_drift_specs(opts["drift"])
        except DriftSpecError as exc:
            raise CommandError(str(exc)) from exc
        out = Path(opts["out"])
        if not out.parent.is_dir():
            raise CommandError(f"Cannot write {out}: directory {out.parent} does not exist.")

        started = time.perf_counter()
        try:
            summary = generate(
                rows,
                opts["seed"],
                out,
                as_of=as_of,
                drifts=scenarios,
                error_rate=opts["error_rate"],
                min_volume=opts["min_volume"],
                gzip=True if opts["gzip"] else None,
                paid_through=paid_through,
            )
        except OSError as exc:
            raise CommandError(f"Cannot write {out}: {exc.strerror or exc}.") from exc
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        elapsed = time.perf_counter() - started

        self.stdout.write(
            self.style.SUCCESS(f"Wrote {out} in {elapsed:.2f}s ({rows / elapsed:,.0f} rows/s).")
        )
        for line in summary.lines():
            self.stdout.write(line)
        # The file itself never depends on today's date; this only warns about what ingestion will say.
        future = summary.rows_paid_after(date.today())
        if future:
            self.stdout.write(
                self.style.WARNING(
                    f"{future:,} rows have a paid_date after today and would fail R06 (DATE_NOT_FUTURE) if "
                    "uploaded today; use an earlier --as-of or --paid-through."
                )
            )


def _parse_date(option: str, value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise CommandError(f"{option} must be a date in YYYY-MM-DD form, got {value!r}.") from None
