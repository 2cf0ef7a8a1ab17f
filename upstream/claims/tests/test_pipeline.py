"""The ingestion pipeline end to end (SPEC §4–§6): row and file rules with exact counts, duplicates and
re-uploads, idempotent re-runs, the issue cap, and payer/CPT mappings applied at ingest and afterwards."""

from __future__ import annotations

import datetime
import zoneinfo
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.utils import timezone
from psycopg import sql

from upstream.claims.ingest import loader
from upstream.claims.ingest.reader import READ_BLOCK
from upstream.claims.models import (
    ClaimRecord,
    CptGroupMapping,
    PayerMapping,
    Upload,
    UploadIssue,
    UploadStatus,
)
from upstream.claims.tests.helpers import HEADER, claim_row, csv_bytes, ingest, process, store
from upstream.core.testing.api import PROBLEM
from upstream.core.testing.tenants import Tenant, make_tenant
from upstream.tenancy.roles import Role
from upstream.tenancy.scoping import tenant_scope

COUNT_FIELDS = (
    "status",
    "total_rows",
    "accepted_rows",
    "rejected_rows",
    "warned_rows",
    "inserted_rows",
    "updated_rows",
    "unchanged_rows",
    "rule_counts",
    "issues_stored",
    "error_code",
)


@pytest.fixture(autouse=True)
def _private_media(settings: Any, tmp_path: Path) -> None:
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def aetna(tenant: Tenant) -> PayerMapping:
    """Map the payer of ``claim_row`` so that valid rows raise no W04."""
    return PayerMapping.objects_all_tenants.create(
        customer=tenant.customer, raw_name="Aetna", normalized_name="Aetna"
    )


def counts(upload: Upload) -> dict[str, Any]:
    return {name: getattr(upload, name) for name in COUNT_FIELDS}


def issues_of(upload: Upload) -> list[tuple[int | None, str, str, str]]:
    with tenant_scope(upload.customer_id):
        return list(
            UploadIssue.objects.filter(upload_id=upload.pk)
            .order_by("row_number", "id")
            .values_list("row_number", "column", "rule_code", "severity")
        )


def claims_of(tenant: Tenant) -> dict[str, ClaimRecord]:
    with tenant_scope(tenant.customer.pk):
        return {claim.claim_number: claim for claim in ClaimRecord.objects.all()}


# --- row rules ------------------------------------------------------------------------------------------


def _rule_breaking_rows() -> list[dict[str, str] | list[str]]:
    """Row N of the file (header = row 1) breaks the rule named in the comment."""
    return [
        claim_row("C-001"),  # 2 valid
        claim_row("C-002"),  # 3 valid
        ["C-R01", "Aetna", "99213"],  # 4 R01: 3 fields, header has 17
        claim_row("C-R02", payer="  "),  # 5 R02 payer blank
        claim_row("C" * 65),  # 6 R03 claim_number > 64
        claim_row("C-R04a", decided_date="2025-13-01"),  # 7 R04 decided_date
        claim_row("C-R05", submitted_date="2025-02-01"),  # 8 R05 decided (01-20) before submitted
        claim_row("C-R06", decided_date="2030-01-01", paid_date=""),  # 9 R06 after the upload day
        claim_row("C-R07", outcome="maybe"),  # 10 R07
        claim_row("C-R08", cpt="123"),  # 11 R08
        claim_row("C-R09", billed_amount="12.345"),  # 12 R09
        claim_row("C-001"),  # 13 R10 (first seen in row 2)
        claim_row("C-R11", payer="Aetna 555-123-4567"),  # 14 R11 phone number in payer
        claim_row("C-W01", outcome="denied", paid_amount="0"),  # 15 W01 denied without code
        claim_row("C-W02", outcome="DENIED", paid_amount="0", denial_reason_code="XX-1"),  # 16 W02
        claim_row("C-W03", allowed_amount="300.00"),  # 17 W03 allowed > billed
        claim_row("C-W04a", payer="Unmapped Health"),  # 18 W04
        claim_row("C-W05", cpt="00050"),  # 19 W05 no group covers 00050
        claim_row("C-W06", denial_reason_text="call jane@example.com"),  # 20 W06
        claim_row("C-003"),  # 21 valid
        claim_row("C-R04b", paid_date="2025/02/30"),  # 22 R04 paid_date (no such day)
        claim_row("C-W04b", payer="Other Plan"),  # 23 W04
    ]


def test_each_row_rule_at_known_rows_gives_exact_counts_and_issues(
    tenant: Tenant, aetna: PayerMapping
) -> None:
    upload = ingest(tenant, csv_bytes(_rule_breaking_rows()))

    assert counts(upload) == {
        "status": UploadStatus.PARTIAL,
        "total_rows": 22,
        "accepted_rows": 10,  # rows 2, 3, 15–21, 23
        "rejected_rows": 12,
        "warned_rows": 7,  # rows 15–20, 23
        "inserted_rows": 10,
        "updated_rows": 0,
        "unchanged_rows": 0,
        "rule_counts": {
            "R01": 1,
            "R02": 1,
            "R03": 1,
            "R04": 2,
            "R05": 1,
            "R06": 1,
            "R07": 1,
            "R08": 1,
            "R09": 1,
            "R10": 1,
            "R11": 1,
            "W01": 1,
            "W02": 1,
            "W03": 1,
            "W04": 2,
            "W05": 1,
            "W06": 1,
        },
        "issues_stored": 19,
        "error_code": "",
    }
    assert issues_of(upload) == [
        (4, "", "R01", "error"),
        (5, "payer", "R02", "error"),
        (6, "claim_number", "R03", "error"),
        (7, "decided_date", "R04", "error"),
        (8, "decided_date", "R05", "error"),
        (9, "decided_date", "R06", "error"),
        (10, "outcome", "R07", "error"),
        (11, "cpt", "R08", "error"),
        (12, "billed_amount", "R09", "error"),
        (13, "claim_number", "R10", "error"),
        (14, "payer", "R11", "error"),
        (15, "denial_reason_code", "W01", "warning"),
        (16, "denial_reason_code", "W02", "warning"),
        (17, "allowed_amount", "W03", "warning"),
        (18, "payer", "W04", "warning"),
        (19, "cpt", "W05", "warning"),
        (20, "denial_reason_text", "W06", "warning"),
        (22, "paid_date", "R04", "error"),
        (23, "payer", "W04", "warning"),
    ]
    with tenant_scope(tenant.customer.pk):
        messages = dict(
            UploadIssue.objects.filter(upload_id=upload.pk).values_list("rule_code", "message").order_by("id")
        )
        r11 = UploadIssue.objects.get(upload_id=upload.pk, rule_code="R11")
    assert messages["R01"] == "Row 4: the row has 3 fields but the header has 17 [R01 FIELD_COUNT]"
    assert messages["R10"] == (
        'Row 13, column claim_number: "C-001" already appears in row 2 [R10 DUPLICATE_CLAIM_IN_FILE]'
    )
    today = timezone.now().astimezone(zoneinfo.ZoneInfo(tenant.customer.timezone)).date()
    assert messages["R06"] == (
        f'Row 9, column decided_date: "2030-01-01" is after the upload date {today.isoformat()}'
        " [R06 DATE_NOT_FUTURE]"
    )
    # The phone number is the offending value, yet it is never shown.
    assert "555-123-4567" not in r11.message + r11.value
    assert r11.value == "Aetna [REDACTED-PHONE]"

    claims = claims_of(tenant)
    assert sorted(claims) == [
        "C-001",
        "C-002",
        "C-003",
        "C-W01",
        "C-W02",
        "C-W03",
        "C-W04a",
        "C-W04b",
        "C-W05",
        "C-W06",
    ]
    assert {claim.upload_id for claim in claims.values()} == {upload.pk}
    assert claims["C-W05"].cpt_group == "OTHER"
    assert claims["C-001"].cpt_group == "E&M"
    assert claims["C-W06"].denial_reason_text == "call [REDACTED-EMAIL]"
    assert claims["C-W04a"].payer == claims["C-W04a"].payer_raw == "Unmapped Health"
    assert claims["C-W02"].denial_reason_code == "XX-1"
    assert claims["C-001"].billed_amount == Decimal("200.00")
    assert upload.date_min == datetime.date(2025, 1, 20)
    assert upload.date_max == datetime.date(2025, 1, 20)


def test_year_zero_is_a_date_format_error(tenant: Tenant, aetna: PayerMapping) -> None:
    # Polars accepts year 0000, PostgreSQL has no such year: without R04 the whole load failed (INTERNAL).
    rows = [
        claim_row("C-1"),
        claim_row("C-2", submitted_date="0000-01-05"),
        claim_row("C-3", paid_date="01/05/0000"),
        claim_row("C-4", patient_dob="0000/01/05"),
    ]
    upload = ingest(tenant, csv_bytes(rows))
    assert (upload.status, upload.accepted_rows, upload.rejected_rows) == (UploadStatus.PARTIAL, 1, 3)
    assert issues_of(upload) == [
        (3, "submitted_date", "R04", "error"),
        (4, "paid_date", "R04", "error"),
        (5, "patient_dob", "R04", "error"),
    ]
    # The earliest real year is fine.
    assert ingest(tenant, csv_bytes([claim_row("C-5", submitted_date="0001-01-01")])).status == "succeeded"


def test_clean_file_succeeds(tenant: Tenant, aetna: PayerMapping) -> None:
    upload = ingest(tenant, csv_bytes([claim_row(f"C-{i}") for i in range(5)]))
    assert counts(upload) == {
        "status": UploadStatus.SUCCEEDED,
        "total_rows": 5,
        "accepted_rows": 5,
        "rejected_rows": 0,
        "warned_rows": 0,
        "inserted_rows": 5,
        "updated_rows": 0,
        "unchanged_rows": 0,
        "rule_counts": {},
        "issues_stored": 0,
        "error_code": "",
    }
    assert upload.notes == []
    assert upload.finished_at is not None
    assert not Path(upload.stored_path).exists()  # the raw file (plaintext PHI) is removed once processed
    assert len(claims_of(tenant)) == 5


def test_all_rows_rejected_fails_with_the_most_frequent_error(tenant: Tenant, aetna: PayerMapping) -> None:
    rows = [claim_row(f"C-{i}", outcome="maybe") for i in range(3)] + [claim_row("C-9", cpt="x")]
    upload = ingest(tenant, csv_bytes(rows))
    assert upload.status == UploadStatus.FAILED
    assert upload.error_code == "R07"
    assert upload.error_message == (
        "All 4 rows were rejected (most often R07 OUTCOME_VALUE); nothing was stored."
    )
    assert (upload.total_rows, upload.accepted_rows, upload.rejected_rows) == (4, 0, 4)
    assert upload.rule_counts == {"R07": 3, "R08": 1}
    assert claims_of(tenant) == {}


def test_blank_lines_are_skipped_and_reported(tenant: Tenant, aetna: PayerMapping) -> None:
    data = csv_bytes([claim_row("C-1")]) + b"\n\n" + csv_bytes([claim_row("C-2")]).split(b"\n", 1)[1]
    upload = ingest(tenant, data)
    assert (upload.status, upload.total_rows, upload.accepted_rows) == (UploadStatus.SUCCEEDED, 2, 2)
    assert upload.notes == [{"level": "info", "code": "BLANK_LINES", "message": "2 blank line(s) skipped."}]


# --- file rules -------------------------------------------------------------------------------------------

VALID = csv_bytes([claim_row("C-1"), claim_row("C-2")])
HEADER_LINE = (",".join(HEADER) + "\n").encode()


def _assert_failed(upload: Upload, code: str, message: str | None = None) -> None:
    assert upload.status == UploadStatus.FAILED
    assert upload.error_code == code, upload.error_message
    if message is not None:
        assert upload.error_message == message
    assert (upload.accepted_rows, upload.inserted_rows) == (0, 0)
    assert upload.finished_at is not None


def test_f01_wrong_extension(tenant: Tenant) -> None:
    upload = ingest(tenant, VALID, name="claims.xlsx")
    _assert_failed(upload, "F01", "The file name 'claims.xlsx' must end in .csv or .csv.gz.")
    assert claims_of(tenant) == {}


def test_f01_binary_content(tenant: Tenant) -> None:
    upload = ingest(tenant, HEADER_LINE + b"C-1,\x00\x01\x02\n", name="claims.csv")
    _assert_failed(upload, "F01", f"The file is not text: a NUL byte at byte offset {len(HEADER_LINE) + 4}.")


def test_f01_corrupt_gzip(tenant: Tenant) -> None:
    upload = ingest(tenant, b"this is not gzip", name="claims.csv.gz")
    _assert_failed(upload, "F01")


def test_f02_too_big(tenant: Tenant, settings: Any) -> None:
    settings.UPLOAD_MAX_BYTES = len(VALID) - 1
    upload = ingest(tenant, VALID)
    _assert_failed(
        upload, "F02", f"The file has {len(VALID):,} bytes; the limit is {len(VALID) - 1:,} bytes."
    )


def test_f02_limit_is_inclusive(tenant: Tenant, settings: Any, aetna: PayerMapping) -> None:
    settings.UPLOAD_MAX_BYTES = len(VALID)
    assert ingest(tenant, VALID).status == UploadStatus.SUCCEEDED


def test_f03_invalid_utf8_gives_the_byte_offset(tenant: Tenant) -> None:
    prefix = HEADER_LINE + "C-1,Aetna é,".encode()
    upload = ingest(tenant, prefix + b"\xff\xfe,rest\n")
    _assert_failed(
        upload,
        "F03",
        f"The file is not valid UTF-8: byte offset {len(prefix)} holds 0xff. "
        "Save the file as UTF-8 and upload it again.",
    )


def test_f03_offset_counts_the_bom(tenant: Tenant) -> None:
    prefix = b"\xef\xbb\xbf" + HEADER_LINE + b"C-1,"
    upload = ingest(tenant, prefix + b"\xc3\x28\n")
    _assert_failed(upload, "F03")
    assert f"byte offset {len(prefix)} holds 0xc3" in upload.error_message


def test_f03_truncated_character_at_the_end(tenant: Tenant) -> None:
    prefix = HEADER_LINE + b"C-1,Aetna"
    upload = ingest(tenant, prefix + b"\xe2\x82")  # the first two bytes of "€"
    _assert_failed(
        upload,
        "F03",
        f"The file is not valid UTF-8: it ends inside a multi-byte character at byte offset {len(prefix)}.",
    )


def test_f03_character_cut_at_a_read_block_boundary(tenant: Tenant) -> None:
    # The reader decodes 1 MiB blocks; a broken sequence that starts in one block and ends in the next must
    # still be reported at its first byte, with that byte's value.
    prefix = HEADER_LINE + b"C-1,Aetna,99213,2025-01-02,2025-01-20,paid,"
    prefix += b"x" * (READ_BLOCK - 1 - len(prefix))
    upload = ingest(tenant, prefix + b"\xe2A\n")
    _assert_failed(
        upload,
        "F03",
        f"The file is not valid UTF-8: byte offset {READ_BLOCK - 1} holds 0xe2. "
        "Save the file as UTF-8 and upload it again.",
    )


def test_f04_missing_required_column(tenant: Tenant) -> None:
    header = [c for c in HEADER if c not in ("payer", "outcome")]
    upload = ingest(tenant, csv_bytes([claim_row("C-1")], header))
    _assert_failed(upload, "F04", "Required column(s) missing from the header: payer, outcome.")


def test_f04_duplicate_column(tenant: Tenant) -> None:
    header = [*HEADER, "Claim ID"]
    upload = ingest(tenant, csv_bytes([[*claim_row("C-1").values(), "C-1"]], header))
    _assert_failed(
        upload, "F04", "A column appears twice: 'claim_number' and 'Claim ID' both mean claim_number."
    )


def test_f05_header_only(tenant: Tenant) -> None:
    _assert_failed(ingest(tenant, HEADER_LINE), "F05", "The file has a header but no data rows.")
    _assert_failed(ingest(tenant, HEADER_LINE + b"\n\n"), "F05", "The file has a header but no data rows.")


def test_f05_empty_file(tenant: Tenant) -> None:
    _assert_failed(ingest(tenant, b""), "F05")


def test_f05_too_many_rows(tenant: Tenant, settings: Any, aetna: PayerMapping) -> None:
    settings.UPLOAD_MAX_ROWS = 3
    rows = [claim_row(f"C-{i}") for i in range(4)]
    _assert_failed(
        ingest(tenant, csv_bytes(rows)),
        "F05",
        "The file has more than 3 data rows; split it into smaller files.",
    )
    assert claims_of(tenant) == {}
    assert ingest(tenant, csv_bytes(rows[:3])).status == UploadStatus.SUCCEEDED


def test_bare_cr_line_ends_fail_f04_instead_of_crashing(tenant: Tenant) -> None:
    data = csv_bytes([claim_row("C-1"), claim_row("C-2")]).replace(b"\n", b"\r")  # classic Mac line ends
    _assert_failed(
        ingest(tenant, data),
        "F04",
        "The header row cannot be read: lines must end with LF or CRLF, not a bare CR.",
    )


def test_very_long_quoted_cell_over_several_lines_is_one_r03_row(tenant: Tenant, aetna: PayerMapping) -> None:
    # Longer than the csv module's default field limit (128 KiB); the line break sends the chunk to the
    # lenient parser.
    text = "word " * 30_000 + "\nmore"
    rows = [claim_row("C-1"), claim_row("C-2", denial_reason_text=text), claim_row("C-3")]
    upload = ingest(tenant, csv_bytes(rows))
    assert (upload.status, upload.total_rows, upload.accepted_rows) == (UploadStatus.PARTIAL, 3, 2)
    assert upload.rule_counts == {"R03": 1}
    assert issues_of(upload) == [(3, "denial_reason_text", "R03", "error")]
    assert sorted(claims_of(tenant)) == ["C-1", "C-3"]


# --- format variants ------------------------------------------------------------------------------------


def test_gzip_bom_aliases_and_unknown_columns(tenant: Tenant, aetna: PayerMapping) -> None:
    header = [
        "Claim ID",
        "PAYER_NAME",
        "cpt-code",
        "Submitted Date",
        "decided_date",
        "Status",
        "Clinic Note",
        "paid_amount",
    ]
    rows = [
        ["C-1", "Aetna", "99213", "01/02/2025", "2025/01/20", "approved", "anything", "$1,234.50"],
        ["C-2", "Aetna", "99214", "2025-01-03", "2025-01-21", "Rejected", "", "0"],
    ]
    upload = ingest(tenant, csv_bytes(rows, header, compress=True, bom=True), name="claims.CSV.GZ")
    assert (upload.status, upload.total_rows, upload.accepted_rows) == (UploadStatus.SUCCEEDED, 2, 2)
    assert upload.rule_counts == {"W01": 1}
    assert upload.notes == [
        {
            "level": "info",
            "code": "UNKNOWN_COLUMNS",
            "message": "Ignored columns not in the contract: Clinic Note",
        }
    ]
    claims = claims_of(tenant)
    first, second = claims["C-1"], claims["C-2"]
    assert (first.outcome, first.submitted_date, first.decided_date) == (
        "PAID",
        datetime.date(2025, 1, 2),
        datetime.date(2025, 1, 20),
    )
    assert first.paid_amount == Decimal("1234.50")
    assert (second.outcome, second.cpt) == ("DENIED", "99214")


def test_bom_only_before_the_header_is_ignored(tenant: Tenant, aetna: PayerMapping) -> None:
    upload = ingest(tenant, csv_bytes([claim_row("C-1")], bom=True))
    assert (upload.status, upload.notes) == (UploadStatus.SUCCEEDED, [])
    assert list(claims_of(tenant)) == ["C-1"]


# --- duplicates and re-uploads ----------------------------------------------------------------------------


def _post(tenant: Tenant, data: bytes, capture: Any, name: str = "claims.csv") -> Any:
    with capture(execute=True):
        return tenant.client(Role.ANALYST).post(
            "/api/v1/uploads/", {"file": SimpleUploadedFile(name, data)}, format="multipart"
        )


def test_reuploading_the_same_file_is_409(
    tenant: Tenant, aetna: PayerMapping, django_capture_on_commit_callbacks: Any
) -> None:
    data = csv_bytes([claim_row("C-1"), claim_row("C-2")])
    first = _post(tenant, data, django_capture_on_commit_callbacks)
    assert first.status_code == 202
    upload_id = first.json()["id"]
    assert Upload.objects_all_tenants.get(pk=upload_id).status == UploadStatus.SUCCEEDED

    again = _post(tenant, data, django_capture_on_commit_callbacks, name="renamed.csv")
    assert again.status_code == 409
    assert again["Content-Type"] == PROBLEM
    body = again.json()
    # assert_problem() insists on exactly the core members; this problem adds the RFC 9457 extension member.
    assert set(body) == {
        "type",
        "title",
        "status",
        "detail",
        "instance",
        "request_id",
        "errors",
        "existing_upload_id",
    }
    assert body["errors"][0]["code"] == "F06"
    assert body["existing_upload_id"] == upload_id
    assert body["detail"] == f"This file was already processed as upload {upload_id}."
    assert body["status"] == 409
    assert body["request_id"] == again["X-Request-ID"]
    assert Upload.objects_all_tenants.filter(customer=tenant.customer).count() == 1
    # Another customer may upload the very same bytes.
    assert ingest(_other_tenant(), data).status == UploadStatus.SUCCEEDED


def _other_tenant() -> Tenant:
    """Another customer, set up like ``tenant`` (Aetna mapped)."""
    other = make_tenant()
    PayerMapping.objects_all_tenants.create(
        customer=other.customer, raw_name="Aetna", normalized_name="Aetna"
    )
    return other


def test_failed_upload_may_be_retried_with_the_same_bytes(tenant: Tenant, aetna: PayerMapping) -> None:
    data = csv_bytes([claim_row("C-1", outcome="maybe")])
    assert ingest(tenant, data).status == UploadStatus.FAILED
    assert ingest(tenant, data).status == UploadStatus.FAILED  # no F06: the earlier one did not succeed


def test_modified_file_counts_inserted_updated_unchanged(tenant: Tenant, aetna: PayerMapping) -> None:
    original = [
        claim_row("C-1"),
        claim_row("C-2", member_id="M-2"),
        claim_row("C-3"),
        claim_row("C-4", member_id="M-4"),
        claim_row("C-5"),
    ]
    first = ingest(tenant, csv_bytes(original))
    assert (first.inserted_rows, first.updated_rows, first.unchanged_rows) == (5, 0, 0)

    modified = [
        claim_row("C-1"),  # identical
        claim_row("C-2", member_id="M-2"),  # identical
        claim_row("C-3", paid_amount="99.99", outcome="adjusted"),  # changed values
        claim_row("C-4", member_id="M-4-NEW"),  # only its PHI changed
        claim_row("C-6"),  # new
        claim_row("C-7", payer="  Aetna  "),  # new (payer trimmed)
    ]
    second = ingest(tenant, csv_bytes(modified))
    assert counts(second) == {
        "status": UploadStatus.SUCCEEDED,
        "total_rows": 6,
        "accepted_rows": 6,
        "rejected_rows": 0,
        "warned_rows": 0,
        "inserted_rows": 2,
        "updated_rows": 2,
        "unchanged_rows": 2,
        "rule_counts": {},
        "issues_stored": 0,
        "error_code": "",
    }
    claims = claims_of(tenant)
    assert len(claims) == 7
    assert {n: c.upload_id for n, c in claims.items()} == {
        "C-1": first.pk,
        "C-2": first.pk,
        "C-3": second.pk,
        "C-4": second.pk,
        "C-5": first.pk,
        "C-6": second.pk,
        "C-7": second.pk,
    }
    assert (claims["C-3"].paid_amount, claims["C-3"].outcome) == (Decimal("99.99"), "OTHER")
    assert claims["C-4"].member_id == "M-4-NEW"
    assert claims["C-2"].member_id == "M-2"
    assert claims["C-7"].payer_raw == "Aetna"

    # The same changed content again (different bytes: reordered) changes nothing.
    third = ingest(tenant, csv_bytes(list(reversed(modified))))
    assert (third.inserted_rows, third.updated_rows, third.unchanged_rows) == (0, 0, 6)
    assert {n: c.upload_id for n, c in claims_of(tenant).items()}["C-3"] == second.pk


# --- idempotent re-runs ------------------------------------------------------------------------------------


def test_rerunning_a_finished_upload_changes_nothing(tenant: Tenant, aetna: PayerMapping) -> None:
    upload = ingest(tenant, csv_bytes(_rule_breaking_rows()))
    before_claims = {n: (c.pk, c.updated_at) for n, c in claims_of(tenant).items()}
    before_issues = issues_of(upload)

    again = process(upload)
    assert counts(again) == counts(upload)
    assert again.finished_at == upload.finished_at
    assert issues_of(again) == before_issues
    assert {n: (c.pk, c.updated_at) for n, c in claims_of(tenant).items()} == before_claims


def test_rerunning_an_upload_stuck_in_processing_completes_once(tenant: Tenant, aetna: PayerMapping) -> None:
    data = csv_bytes(_rule_breaking_rows())
    reference = ingest(_other_tenant(), data)  # the same file, processed normally by another customer

    # A worker died mid-way: the upload says processing, a stale staging table (with a junk row) and the
    # stored file are still there. The task is delivered again (acks_late).
    upload = store(tenant, data)
    Upload.objects_all_tenants.filter(pk=upload.pk).update(status=UploadStatus.PROCESSING, processed_rows=7)
    table = loader.staging_name(upload.pk)
    with connection.cursor() as cursor:
        loader.staging_create(cursor, table)
        cursor.execute(
            sql.SQL("INSERT INTO {} (row_number, valid, claim_number) VALUES (2, true, 'JUNK')").format(
                sql.Identifier(table)
            )
        )
    UploadIssue.objects_all_tenants.create(
        customer=tenant.customer,
        upload=upload,
        row_number=2,
        rule_code="R07",
        severity="error",
        message="stale",
    )

    done = process(upload)
    assert counts(done) == counts(reference)
    assert done.processed_rows == 22
    assert issues_of(done) == issues_of(reference)
    claims = claims_of(tenant)
    assert len(claims) == 10
    assert "JUNK" not in claims


# --- the issue cap ----------------------------------------------------------------------------------------


def test_issue_cap_keeps_the_earliest_rows_and_exact_counts(
    tenant: Tenant, aetna: PayerMapping, settings: Any
) -> None:
    settings.UPLOAD_MAX_ISSUES = 5
    rows = [claim_row("C-0")]  # row 2
    for i in range(12):  # rows 3–14: bad outcome; row 4 also repeats C-0 (R10)
        rows.append(claim_row("C-0" if i == 1 else f"C-{i + 1}", outcome="nope"))
    rows.append(claim_row("C-0"))  # row 15: R10 only
    upload = ingest(tenant, csv_bytes(rows))
    assert upload.rule_counts == {"R07": 12, "R10": 2}
    assert (upload.total_rows, upload.accepted_rows, upload.rejected_rows) == (14, 1, 13)
    assert upload.issues_stored == 5
    assert issues_of(upload) == [
        (3, "outcome", "R07", "error"),
        (4, "outcome", "R07", "error"),
        (4, "claim_number", "R10", "error"),
        (5, "outcome", "R07", "error"),
        (6, "outcome", "R07", "error"),
    ]


# --- mappings ---------------------------------------------------------------------------------------------


def test_payer_and_cpt_mappings_apply_at_ingest(tenant: Tenant) -> None:
    PayerMapping.objects_all_tenants.create(
        customer=tenant.customer, raw_name="AETNA Health Inc", normalized_name="Aetna"
    )
    CptGroupMapping.objects_all_tenants.create(customer=tenant.customer, cpt="99213", group="OFFICE")
    rows = [
        claim_row("C-1", payer="  aetna health inc ", cpt="99213"),
        claim_row("C-2", payer="AETNA HEALTH INC", cpt="99214"),
        claim_row("C-3", payer="Cigna", cpt="99213"),
    ]
    upload = ingest(tenant, csv_bytes(rows))
    assert upload.rule_counts == {"W04": 1}
    assert issues_of(upload) == [(4, "payer", "W04", "warning")]
    claims = claims_of(tenant)
    assert [(claims[n].payer, claims[n].payer_raw, claims[n].cpt_group) for n in ("C-1", "C-2", "C-3")] == [
        ("Aetna", "aetna health inc", "OFFICE"),
        ("Aetna", "AETNA HEALTH INC", "E&M"),
        ("Cigna", "Cigna", "OFFICE"),
    ]


def test_mapping_created_through_the_api_renormalizes_stored_claims(
    tenant: Tenant, django_capture_on_commit_callbacks: Any
) -> None:
    rows = [
        claim_row("C-1", payer="BCBS TX", cpt="99213"),
        claim_row("C-2", payer="bcbs tx ", cpt="80053"),
        claim_row("C-3", payer="Cigna", cpt="99213"),
    ]
    upload = ingest(tenant, csv_bytes(rows))
    assert upload.rule_counts == {"W04": 3}
    analyst = tenant.client(Role.ANALYST)
    with django_capture_on_commit_callbacks(execute=True):
        response = analyst.post(
            "/api/v1/payer-mappings/", {"raw_name": "Bcbs Tx", "normalized_name": "Blue Cross"}, format="json"
        )
    assert response.status_code == 201, response.content
    with django_capture_on_commit_callbacks(execute=True):
        response = analyst.post(
            "/api/v1/cpt-group-mappings/", {"cpt": "99213", "group": "office"}, format="json"
        )
    assert response.status_code == 201, response.content
    claims = claims_of(tenant)
    assert [(claims[n].payer, claims[n].payer_raw, claims[n].cpt_group) for n in ("C-1", "C-2", "C-3")] == [
        ("Blue Cross", "BCBS TX", "OFFICE"),
        ("Blue Cross", "bcbs tx", "LAB"),
        ("Cigna", "Cigna", "OFFICE"),
    ]
    # Re-normalization does not make the same content count as changed on a re-upload.
    again = ingest(tenant, csv_bytes(list(reversed(rows))))
    assert (again.inserted_rows, again.updated_rows, again.unchanged_rows) == (0, 0, 3)
    assert again.rule_counts == {"W04": 1}
