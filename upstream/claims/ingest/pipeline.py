"""The ingestion pipeline of SPEC §6: file rules → batched row rules → PHI encryption → COPY into staging →
R10 in SQL → one upsert, all counted exactly and recorded on the Upload.

Everything the user sent ends accepted, rejected with its rule, or counted unchanged. Re-running the pipeline
for an upload is safe: a finished upload is left alone, and an unfinished one is processed from scratch (its
staging table and issues are rebuilt; the upsert writes nothing twice).
"""

from __future__ import annotations

import logging
import queue
import tempfile
import threading
import zoneinfo
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl
from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone
from polars.exceptions import PanicException

from upstream.claims.ingest import loader
from upstream.claims.ingest import phi as phi_batch
from upstream.claims.ingest.reader import FileRejected, PreparedFile, iter_batches, prepare_file
from upstream.claims.ingest.rules import RULES_BY_CODE, ValidationContext, validate_batch
from upstream.claims.models import (
    TERMINAL_STATUSES,
    CptGroupMapping,
    PayerMapping,
    Upload,
    UploadIssue,
    UploadStatus,
)
from upstream.drift import dashboard as drift_dashboard
from upstream.drift import services as drift_services
from upstream.drift.models import RunTrigger
from upstream.tenancy.models import Customer
from upstream.webhooks import services as webhook_services
from upstream.webhooks.models import EventType as WebhookEventType

logger = logging.getLogger(__name__)

ISSUE_COLUMNS = ("row_number", "column", "rule_code", "severity", "message", "value")
PHI_SOURCE = ("patient_account_number", "member_id", "patient_name", "patient_dob")


@dataclass
class _Tally:
    total: int = 0
    rejected_by_rules: int = 0
    warned_by_rules: int = 0
    blank_lines: int = 0
    rule_counts: Counter[str] = field(default_factory=Counter)
    issues: pl.DataFrame | None = None  # the first `cap` issues by row number

    def keep_issues(self, batch: pl.DataFrame, cap: int) -> None:
        if batch.height == 0:
            return
        merged = batch if self.issues is None else pl.concat([self.issues, batch])
        self.issues = merged.sort("row_number", maintain_order=True).head(cap)


def _context(upload: Upload, header_field_count: int) -> ValidationContext:
    customer: Customer = upload.customer
    today = timezone.now().astimezone(zoneinfo.ZoneInfo(customer.timezone)).date()
    payers = {
        raw.strip().lower(): norm
        for raw, norm in PayerMapping.objects.filter(customer_id=customer.pk).values_list(
            "raw_name", "normalized_name"
        )
    }
    cpts = {
        cpt.strip().upper(): group
        for cpt, group in CptGroupMapping.objects.filter(customer_id=customer.pk).values_list("cpt", "group")
    }
    return ValidationContext(
        upload_date=today,
        payer_mappings=payers,
        cpt_group_mappings=cpts,
        header_field_count=header_field_count,
    )


def _staging_frame(rows: pl.DataFrame, claim_numbers: pl.Series) -> pl.DataFrame:
    """What goes to staging: every record's row number and trimmed claim number; full, encrypted values only
    for records that passed the row rules."""
    valid = rows.filter(~pl.col("__rejected"))
    phi = valid.select(pl.col(name).cast(pl.String) for name in PHI_SOURCE)
    encrypted = valid.select(
        pl.col("__row").alias("row_number"),
        pl.lit(True).alias("valid"),
        pl.col("__warned").alias("warned"),
        "claim_number",
        "payer",
        "payer_raw",
        "cpt",
        "modifiers",
        "cpt_group",
        "submitted_date",
        "decided_date",
        "paid_date",
        "outcome",
        "billed_cents",
        "allowed_cents",
        "paid_cents",
        "denial_reason_code",
        "denial_reason_text",
    ).with_columns(
        phi_batch.encrypt_series(phi["patient_account_number"]).alias("pan_enc"),
        phi_batch.encrypt_series(phi["member_id"]).alias("member_enc"),
        phi_batch.encrypt_series(phi["patient_name"]).alias("name_enc"),
        phi_batch.encrypt_series(phi["patient_dob"]).alias("dob_enc"),
        phi_batch.blind_index_series(phi["patient_account_number"]).alias("pan_bidx"),
        phi_batch.blind_index_series(phi["member_id"]).alias("member_bidx"),
        phi_batch.digest_rows(phi),
    )
    rejected = (
        pl.DataFrame(
            {"row_number": rows["__row"], "claim_number": claim_numbers, "rejected": rows["__rejected"]}
        )
        .filter(pl.col("rejected"))
        .select("row_number", pl.lit(False).alias("valid"), pl.lit(False).alias("warned"), "claim_number")
    )
    return pl.concat([encrypted, rejected], how="diagonal_relaxed")


def _r10_issues(cursor: Any, table: str, cap: int) -> pl.DataFrame:
    rule = RULES_BY_CODE["R10"]
    rows = loader.duplicate_rows(cursor, table, cap)
    messages = [
        f'Row {row}, column claim_number: "{number}" already appears in row {first} [R10 {rule.name}]'
        for row, number, first in rows
    ]
    return pl.DataFrame(
        {
            "row_number": [r[0] for r in rows],
            "column": ["claim_number"] * len(rows),
            "rule_code": ["R10"] * len(rows),
            "severity": ["error"] * len(rows),
            "message": messages,
            "value": [r[1][:64] for r in rows],
        },
        schema={
            "row_number": pl.Int64,
            "column": pl.String,
            "rule_code": pl.String,
            "severity": pl.String,
            "message": pl.String,
            "value": pl.String,
        },
    )


def _store_issues(cursor: Any, upload: Upload, issues: pl.DataFrame | None) -> int:
    UploadIssue.objects_all_tenants.filter(upload_id=upload.pk).delete()
    if issues is None or issues.height == 0:
        return 0
    frame = issues.select(
        pl.lit(upload.customer_id).alias("customer_id"),
        pl.lit(upload.pk).alias("upload_id"),
        "row_number",
        pl.col("column").fill_null(""),
        "rule_code",
        "severity",
        "message",
        pl.col("value").fill_null("").str.slice(0, 300),
    )
    loader.copy_frame(cursor, UploadIssue._meta.db_table, frame, tuple(frame.columns))
    return frame.height


def _fail(upload: Upload, code: str, message: str) -> None:
    upload.status = UploadStatus.FAILED
    upload.error_code = code
    upload.error_message = message
    upload.finished_at = timezone.now()
    with transaction.atomic():
        upload.save(update_fields=["status", "error_code", "error_message", "finished_at"])
        _emit_completed(upload)


def _emit_completed(upload: Upload) -> None:
    """``upload.completed`` into the webhook outbox, in the transaction that records the terminal status.
    Counts and codes only: no filename (practices name files after patients) and no row values."""
    webhook_services.webhook_event_emit(
        customer_id=upload.customer_id,
        event_type=WebhookEventType.UPLOAD_COMPLETED,
        data={
            "upload_id": upload.pk,
            "status": upload.status,
            "total_rows": upload.total_rows,
            "accepted_rows": upload.accepted_rows,
            "rejected_rows": upload.rejected_rows,
            "warned_rows": upload.warned_rows,
            "inserted_rows": upload.inserted_rows,
            "updated_rows": upload.updated_rows,
            "unchanged_rows": upload.unchanged_rows,
            "rule_counts": upload.rule_counts,
            "date_min": upload.date_min,
            "date_max": upload.date_max,
            "error_code": upload.error_code or None,
        },
    )


def upload_process(*, upload_id: int, progress: Callable[[int], None] | None = None) -> Upload:
    """Process one upload to a terminal status; idempotent. ``progress`` is called with rows read so far."""
    upload = Upload.objects.select_related("customer").get(pk=upload_id)
    if upload.status in TERMINAL_STATUSES:
        return upload
    Upload.objects.filter(pk=upload.pk).update(
        status=UploadStatus.PROCESSING, started_at=timezone.now(), processed_rows=0
    )
    upload.refresh_from_db()
    table = loader.staging_name(upload.pk)
    cap = settings.UPLOAD_MAX_ISSUES
    try:
        with tempfile.TemporaryDirectory(prefix="upstream-ingest-") as work_dir:
            with open(upload.stored_path, "rb") as source:
                prepared = prepare_file(
                    source,
                    filename=upload.filename,
                    size_bytes=upload.size_bytes,
                    max_bytes=settings.UPLOAD_MAX_BYTES,
                    work_path=Path(work_dir) / "data.csv",
                )
            tally = _load_staging(upload, prepared, table, cap, progress)
        _finish(upload, prepared, tally, table, cap)
    except FileRejected as rejected:
        _fail(upload, rejected.code, rejected.message)
    except FileNotFoundError:
        _fail(upload, "F01", "The stored file is gone; upload it again.")
    except (Exception, PanicException):  # polars' Rust panics derive from BaseException
        # The details stay in the log (scrubbed); the user gets a stable code and no internals.
        logger.exception("ingest of upload %s failed unexpectedly", upload.pk)
        _fail(
            upload,
            "INTERNAL",
            "Processing failed unexpectedly; the team has been notified. Nothing was stored from this file.",
        )
    finally:
        with connection.cursor() as cursor:
            loader.staging_drop(cursor, table)
        Path(upload.stored_path).unlink(missing_ok=True)  # the raw file holds plaintext PHI: keep it briefly
    return upload


class _StagingWriter:
    """COPYs staging frames on a background thread, so PostgreSQL loads batch n while Python validates and
    encrypts batch n + 1 (the two use different cores). It borrows the processing connection's underlying
    psycopg connection (the temp table lives there); the caller must not use that connection until
    ``close``. At most ``depth`` frames wait in the queue, so memory stays bounded."""

    def __init__(self, table: str, upload_id: int, progress: Callable[[int], None] | None, depth: int = 2):
        connection.ensure_connection()
        self._raw = connection.connection
        self._table = table
        self._upload_id = upload_id
        self._progress = progress
        self._queue: queue.Queue[tuple[pl.DataFrame, int] | None] = queue.Queue(maxsize=depth)
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name=f"staging-{upload_id}", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while (item := self._queue.get()) is not None:
            if self._error is not None:
                continue  # drain after a failure; the main thread raises it
            frame, rows_so_far = item
            try:
                with self._raw.cursor() as cursor:
                    loader.copy_frame(cursor, self._table, frame, loader.STAGING_NAMES)
                    cursor.execute(
                        "UPDATE claims_upload SET processed_rows = %s WHERE id = %s",
                        [rows_so_far, self._upload_id],
                    )
                if self._progress is not None:
                    self._progress(rows_so_far)
            except BaseException as exc:  # handed to the main thread, which re-raises it
                self._error = exc

    def put(self, frame: pl.DataFrame, rows_so_far: int) -> None:
        self._raise_if_failed()
        self._queue.put((frame, rows_so_far))

    def close(self) -> None:
        self._queue.put(None)
        self._thread.join()
        self._raise_if_failed()

    def abandon(self) -> None:
        """Stop after the frames already queued, keeping the caller's own exception as the one raised."""
        self._queue.put(None)
        self._thread.join()

    def _raise_if_failed(self) -> None:
        if self._error is not None:
            raise self._error


def _load_staging(
    upload: Upload, prepared: PreparedFile, table: str, cap: int, progress: Callable[[int], None] | None
) -> _Tally:
    ctx = _context(upload, prepared.field_count)
    tally = _Tally()
    with connection.cursor() as cursor:
        loader.staging_create(cursor, table)
    writer = _StagingWriter(table, upload.pk, progress)
    try:
        for frame in iter_batches(prepared):
            blank = frame["__field_count"] == 0
            tally.blank_lines += int(blank.sum())
            frame = frame.filter(~blank)
            tally.total += frame.height
            if tally.total > settings.UPLOAD_MAX_ROWS:
                raise FileRejected(
                    "F05",
                    f"The file has more than {settings.UPLOAD_MAX_ROWS:,} data rows; "
                    "split it into smaller files.",
                )
            result = validate_batch(frame, ctx)
            issues = result.issues
            tally.rule_counts.update(dict(issues.group_by("rule_code").len().iter_rows()))
            tally.keep_issues(issues.select(ISSUE_COLUMNS), cap)
            tally.rejected_by_rules += int(result.rows["__rejected"].sum())
            claim_numbers = frame["claim_number"].str.strip_chars()
            writer.put(_staging_frame(result.rows, claim_numbers), tally.total)
    except BaseException:
        writer.abandon()
        raise
    writer.close()
    if tally.total == 0:
        raise FileRejected("F05", "The file has a header but no data rows.")
    return tally


def _finish(upload: Upload, prepared: PreparedFile, tally: _Tally, table: str, cap: int) -> None:
    with transaction.atomic(), connection.cursor() as cursor:
        # Lock order starts with the Customer row: uploads of one customer finish one at a time.
        Customer.objects.select_for_update().get(pk=upload.customer_id)
        earlier = (
            Upload.objects.filter(
                sha256=upload.sha256, status__in=[UploadStatus.SUCCEEDED, UploadStatus.PARTIAL]
            )
            .exclude(pk=upload.pk)
            .first()
        )
        if earlier is not None:
            raise FileRejected("F06", f"This file was already processed as upload {earlier.pk}.")
        loader.mark_duplicates(cursor, table)
        summary = loader.staging_summary(cursor, table)
        if summary.duplicates:
            tally.rule_counts["R10"] += summary.duplicates
            tally.keep_issues(_r10_issues(cursor, table, cap), cap)
        inserted, updated = loader.upsert_claims(
            cursor, table, customer_id=upload.customer_id, upload_id=upload.pk
        )
        upload.issues_stored = _store_issues(cursor, upload, tally.issues)
        rejected = tally.rejected_by_rules + summary.newly_rejected
        upload.total_rows = tally.total
        upload.processed_rows = tally.total
        upload.rejected_rows = rejected
        upload.accepted_rows = summary.accepted
        upload.warned_rows = summary.warned
        upload.inserted_rows = inserted
        upload.updated_rows = updated
        upload.unchanged_rows = summary.accepted - inserted - updated
        upload.rule_counts = dict(sorted(tally.rule_counts.items()))
        upload.date_min, upload.date_max = summary.date_min, summary.date_max
        upload.notes = _notes(prepared, tally)
        upload.finished_at = timezone.now()
        if summary.accepted == 0:
            most = max(
                (c for c in tally.rule_counts if RULES_BY_CODE[c].severity == "error"),
                key=lambda c: tally.rule_counts[c],
            )
            upload.status = UploadStatus.FAILED
            upload.error_code = most
            upload.error_message = (
                f"All {tally.total:,} rows were rejected (most often {most} "
                f"{RULES_BY_CODE[most].name}); nothing was stored."
            )
        else:
            upload.status = UploadStatus.PARTIAL if rejected else UploadStatus.SUCCEEDED
        upload.save()
        _emit_completed(upload)
        if upload.status in (UploadStatus.SUCCEEDED, UploadStatus.PARTIAL):
            _on_completed_commit(upload)


def _on_completed_commit(upload: Upload) -> None:
    """Once the new claims are committed, the dashboard recomputes and a drift run is requested (SPEC §6;
    debounced to one queued run per customer). Robust callbacks: a failure there is logged and never turns
    an upload whose claims are stored into an error."""
    customer = upload.customer
    transaction.on_commit(lambda: drift_dashboard.dashboard_invalidate(customer_id=customer.pk), robust=True)
    transaction.on_commit(
        lambda: drift_services.report_run_request(customer=customer, trigger=RunTrigger.UPLOAD), robust=True
    )


def _notes(prepared: PreparedFile, tally: _Tally) -> list[dict[str, str]]:
    notes = []
    if prepared.unknown_columns:
        notes.append(
            {
                "level": "info",
                "code": "UNKNOWN_COLUMNS",
                "message": "Ignored columns not in the contract: " + ", ".join(prepared.unknown_columns),
            }
        )
    if tally.blank_lines:
        notes.append(
            {
                "level": "info",
                "code": "BLANK_LINES",
                "message": f"{tally.blank_lines:,} blank line(s) skipped.",
            }
        )
    return notes
