"""``python manage.py ingest_claims FILE --customer SLUG``: the upload pipeline from the shell."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from typing import Any

from django.core.files import File
from django.core.management.base import BaseCommand, CommandError, CommandParser

from upstream.claims import services
from upstream.claims.ingest.rules import RULES_BY_CODE
from upstream.claims.models import Upload
from upstream.tenancy.scoping import tenant_scope
from upstream.tenancy.selectors import customer_resolve

BAR_WIDTH = 30


class Command(BaseCommand):
    help = "Ingest a claims CSV (.csv or .csv.gz) for a customer, showing progress and a summary."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path)
        parser.add_argument("--customer", required=True, help="Customer slug or id.")
        parser.add_argument("--quiet", action="store_true", help="No progress bar.")

    def handle(self, *args: Any, **opts: Any) -> None:
        path: Path = opts["file"]
        if not path.is_file():
            raise CommandError(f"No such file: {path}")
        customer = customer_resolve(reference=opts["customer"])
        if customer is None:
            raise CommandError(f"No customer with slug or id {opts['customer']!r}.")
        size = path.stat().st_size
        started = time.monotonic()
        # A rough total for the bar: the average record of a claims export is ~150 bytes (x4 gzip ratio).
        estimate = max(1, size * (4 if path.name.lower().endswith(".gz") else 1) // 150)

        def progress(rows: int) -> None:
            if opts["quiet"]:
                return
            done = min(rows / estimate, 0.99)
            filled = int(done * BAR_WIDTH)
            rate = rows / max(time.monotonic() - started, 1e-6)
            sys.stderr.write(
                f"\r[{'#' * filled}{'.' * (BAR_WIDTH - filled)}] {rows:,} rows  {rate:,.0f} rows/s"
            )
            sys.stderr.flush()

        with tenant_scope(customer.pk), path.open("rb") as fh:
            try:
                upload = services.upload_store(
                    customer=customer, user=None, file=File(fh, name=os.path.basename(path))
                )
            except services.DuplicateUpload as exc:
                raise CommandError(f"F06 DUPLICATE_FILE: {exc}") from exc
            upload = services.upload_process(upload_id=upload.pk, progress=progress)
        if not opts["quiet"]:
            sys.stderr.write("\n")
        self._summary(upload, time.monotonic() - started)
        if upload.status == "failed":
            raise CommandError(f"Upload {upload.pk} failed: {upload.error_code} {upload.error_message}")

    def _summary(self, upload: Upload, seconds: float) -> None:
        w = self.stdout.write
        w(f"Upload {upload.pk}: {upload.filename} → {upload.status} in {seconds:.1f} s")
        rows = [
            ("total rows", upload.total_rows),
            ("accepted", upload.accepted_rows),
            ("rejected", upload.rejected_rows),
            ("warned", upload.warned_rows),
            ("inserted", upload.inserted_rows),
            ("updated", upload.updated_rows),
            ("unchanged", upload.unchanged_rows),
        ]
        for label, value in rows:
            w(f"  {label:<12} {value:>12,}")
        if upload.rule_counts:
            w("  rule counts:")
            for code, count in sorted(upload.rule_counts.items()):
                name = RULES_BY_CODE[code].name if code in RULES_BY_CODE else ""
                w(f"    {code} {name:<26} {count:>10,}")
        for note in upload.notes:
            w(f"  note: {note['message']}")
