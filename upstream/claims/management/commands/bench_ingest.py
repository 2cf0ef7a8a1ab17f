"""``python manage.py bench_ingest [--rows N]``: full ingest vs a bare ``COPY`` of the same file (SPEC §12).

Generates a seeded claims file (in a child process, so its memory is not counted), times ``COPY`` of the file
into an untyped table, then times the real pipeline (file rules, row rules, normalization, PHI encryption,
staging ``COPY``, upsert) for a fresh benchmark customer, and prints rows/s, peak memory and the ratio.
"""

from __future__ import annotations

import datetime
import resource
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from django.core.files import File
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection
from django.test.utils import override_settings

from upstream.claims import services
from upstream.tenancy import services as tenancy
from upstream.tenancy.scoping import tenant_scope

BLOCK = 1 << 20


class Command(BaseCommand):
    help = "Benchmark claims ingestion against a bare COPY of the same file."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--rows", type=int, default=1_000_000)
        parser.add_argument("--seed", type=int, default=2026)
        parser.add_argument(
            "--file", type=Path, default=None, help="Use this file instead of generating one."
        )
        parser.add_argument("--keep", action="store_true", help="Keep the benchmark customer and its claims.")

    def handle(self, *args: Any, **opts: Any) -> None:
        with tempfile.TemporaryDirectory(prefix="upstream-bench-") as tmp:
            path = opts["file"] or Path(tmp) / "bench.csv"
            if opts["file"] is None:
                started = time.monotonic()
                today = datetime.date.today()
                subprocess.run(  # noqa: S603  (our own manage.py, fixed arguments)
                    [
                        sys.executable,
                        "manage.py",
                        "generate_claims",
                        "--rows",
                        str(opts["rows"]),
                        "--seed",
                        str(opts["seed"]),
                        "--out",
                        str(path),
                        "--as-of",
                        str(today - datetime.timedelta(days=10)),
                        "--paid-through",
                        str(today - datetime.timedelta(days=1)),
                    ],
                    check=True,
                    stdout=subprocess.DEVNULL,
                )
                self.stdout.write(
                    f"generated {opts['rows']:,} rows in {time.monotonic() - started:.1f} s "
                    f"({path.stat().st_size / 1e6:.0f} MB)"
                )
            copy_seconds = self._bare_copy(path)
            ingest_seconds, upload = self._ingest(path)
            if not opts["keep"]:
                self._cleanup(upload.customer_id)
        rows = upload.total_rows
        peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        ratio = ingest_seconds / copy_seconds
        self.stdout.write(f"bare COPY:   {copy_seconds:7.2f} s  {rows / copy_seconds:>12,.0f} rows/s")
        self.stdout.write(
            f"full ingest: {ingest_seconds:7.2f} s  {rows / ingest_seconds:>12,.0f} rows/s  "
            f"status={upload.status} accepted={upload.accepted_rows:,} "
            f"inserted={upload.inserted_rows:,}"
        )
        self.stdout.write(f"ratio:       {ratio:7.2f} (budget <= 2.5)")
        self.stdout.write(f"peak memory: {peak_mib:7.0f} MiB (budget <= 1024)")

    def _bare_copy(self, path: Path) -> float:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            header = path.open("rb").readline().decode().strip().split(",")
            columns = ", ".join(f'"c{i}" text' for i in range(len(header)))
            cursor.execute(f"DROP TABLE IF EXISTS bench_raw_copy; CREATE TABLE bench_raw_copy ({columns})")
            started = time.monotonic()
            with (
                path.open("rb") as fh,
                cursor.copy("COPY bench_raw_copy FROM STDIN WITH (FORMAT csv, HEADER)") as copy,
            ):
                while block := fh.read(BLOCK):
                    copy.write(block)
            elapsed = time.monotonic() - started
            cursor.execute("DROP TABLE bench_raw_copy")
        return elapsed

    def _cleanup(self, customer_id: int) -> None:
        with connection.cursor() as cursor:
            for table in (
                "drift_driftevent",
                "drift_reportrun",
                "drift_driftsettings",
                "claims_claimrecord",
                "claims_uploadissue",
                "claims_upload",
            ):
                cursor.execute(f"DELETE FROM {table} WHERE customer_id = %s", [customer_id])  # noqa: S608
            cursor.execute("DELETE FROM tenancy_customer WHERE id = %s", [customer_id])

    def _ingest(self, path: Path) -> tuple[float, Any]:
        customer = tenancy.customer_create(name=f"Bench {uuid.uuid4().hex[:8]}")
        # The drift run an upload triggers is not part of ingest: queue it instead of running it in-process.
        with (
            tenant_scope(customer.pk),
            path.open("rb") as fh,
            override_settings(CELERY_TASK_ALWAYS_EAGER=False),
        ):
            started = time.monotonic()
            upload = services.upload_store(customer=customer, user=None, file=File(fh, name=path.name))
            upload = services.upload_process(upload_id=upload.pk)
            elapsed = time.monotonic() - started
        if upload.status == "failed":
            raise CommandError(f"ingest failed: {upload.error_code} {upload.error_message}")
        return elapsed, upload
