"""Property-based fuzzing of uploads through the real API view: whatever the bytes, cells or header, the
request never fails with a 500, and the upload ends succeeded, partial or failed with a catalogued code."""

from __future__ import annotations

import csv
import gzip
import io
import uuid
from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from upstream.claims.ingest.columns import ALL_COLUMNS, REQUIRED_COLUMNS
from upstream.claims.ingest.rules import RULES_BY_CODE
from upstream.claims.models import ClaimRecord, PayerMapping, Upload, UploadStatus
from upstream.claims.tests.helpers import claim_row
from upstream.core.testing.tenants import Tenant
from upstream.tenancy.roles import Role
from upstream.tenancy.scoping import tenant_scope

FUZZ = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
FINAL = {UploadStatus.SUCCEEDED, UploadStatus.PARTIAL, UploadStatus.FAILED}


@pytest.fixture(autouse=True)
def _fuzz_settings(settings: Any, tmp_path: Path) -> None:
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.THROTTLE_RATES = {**settings.THROTTLE_RATES, "uploads": None}  # hundreds of uploads per test


@pytest.fixture
def fuzz_tenant(tenant: Tenant) -> Tenant:
    PayerMapping.objects_all_tenants.create(
        customer=tenant.customer, raw_name="Aetna", normalized_name="Aetna"
    )
    return tenant


def post_and_check(tenant: Tenant, data: bytes, name: str, capture: Any) -> Upload | None:
    """POST as the analyst, run the task and check the invariants; the finished Upload (None on a 409)."""
    with capture(execute=True):
        response = tenant.client(Role.ANALYST).post(
            "/api/v1/uploads/", {"file": SimpleUploadedFile(name, data)}, format="multipart"
        )
    if response.status_code == 409:  # the same bytes already succeeded (hypothesis replays examples)
        body = response.json()
        assert body["errors"][0]["code"] == "F06"
        earlier = Upload.objects_all_tenants.get(pk=body["existing_upload_id"])
        assert earlier.customer_id == tenant.customer.pk
        assert earlier.status in (UploadStatus.SUCCEEDED, UploadStatus.PARTIAL)
        return None
    assert response.status_code == 202, response.content[:500]
    upload = Upload.objects_all_tenants.get(pk=response.json()["id"])
    assert upload.status in FINAL
    if upload.status == UploadStatus.FAILED:
        assert upload.error_code in RULES_BY_CODE, (upload.error_code, upload.error_message)
        assert RULES_BY_CODE[upload.error_code].severity in ("file", "error")
        assert upload.error_message
    else:
        assert upload.error_code == ""
        assert upload.accepted_rows > 0
        assert (upload.rejected_rows > 0) == (upload.status == UploadStatus.PARTIAL)
    assert upload.accepted_rows + upload.rejected_rows == upload.total_rows
    assert upload.inserted_rows + upload.updated_rows + upload.unchanged_rows == upload.accepted_rows
    assert upload.warned_rows <= upload.accepted_rows
    assert upload.issues_stored <= sum(upload.rule_counts.values())
    assert set(upload.rule_counts) <= set(RULES_BY_CODE)
    with tenant_scope(tenant.customer.pk):
        assert ClaimRecord.objects.filter(upload_id=upload.pk).count() == (
            upload.inserted_rows + upload.updated_rows
        )
    return upload


def _csv(header: list[str], rows: list[list[str]], line_end: str = "\n") -> bytes:
    """Well-formed CSV: a cell holding CR or LF is quoted only when that character is part of ``line_end``."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator=line_end)
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue().encode("utf-8")


def _nonce_row(header_columns: list[str]) -> list[str]:
    """A valid row with a fresh claim number, laid out for the given (canonical) columns, so that every
    example's bytes are new; unknown columns get a value too."""
    values = claim_row(f"N-{uuid.uuid4().hex[:12]}")
    return [values.get(column, "ignored") for column in header_columns]


# --- (a) arbitrary bytes ----------------------------------------------------------------------------------

raw_bytes = st.one_of(
    st.binary(max_size=3000),
    st.binary(max_size=3000).map(lambda b: gzip.compress(b, mtime=0)),  # valid gzip of arbitrary content
    st.binary(max_size=200).map(
        lambda b: (",".join(ALL_COLUMNS) + "\n").encode() + b
    ),  # a header, then noise
)


HEADER_LINE = ",".join(ALL_COLUMNS).encode()
VALID_LINE = ",".join(claim_row("C-1").values()).encode()


@FUZZ
@given(data=raw_bytes, name=st.sampled_from(["x.csv", "x.csv.gz"]))
# Inputs that once made the reader raise (csv.Error → INTERNAL): CR-only line ends, a bare CR in the header, a
# header name and a multi-line cell longer than the csv module's default field limit.
@example(data=HEADER_LINE + b"\r" + VALID_LINE + b"\r", name="x.csv")
@example(data=b"claim_number\rpayer,cpt\n1,2\n", name="x.csv")
@example(data=HEADER_LINE + b',"' + b"h" * 200_000 + b'"\n' + VALID_LINE + b",x\n", name="x.csv")
@example(data=HEADER_LINE + b"\n" + VALID_LINE[:-1] + b'"' + b"t" * 200_000 + b'\nt"\n', name="x.csv")
def test_arbitrary_bytes(
    fuzz_tenant: Tenant, django_capture_on_commit_callbacks: Any, data: bytes, name: str
) -> None:
    post_and_check(fuzz_tenant, data, name, django_capture_on_commit_callbacks)


# --- (b) valid structure, arbitrary cell values -------------------------------------------------------------

cell_text = st.one_of(
    st.text(st.characters(exclude_categories=["Cs"]), max_size=40),  # any unicode, NUL included
    st.text(st.sampled_from(list('",\n\r \t;$-/.0123456789aZé€😀\x00')), max_size=30),
    st.sampled_from(["", " ", '"', '""', "\n", "\r\n", ",", "N/A", "null", "1e5", "-1", "$1,00.0", "٣٤٥٦٧"]),
    st.integers(min_value=65, max_value=3000).map(lambda n: "x" * n),  # too long for any column
    # Shaped like dates and amounts, so that the parsers' edges (year 0000, day 31 of a 30-day month, 20-digit
    # amounts, misplaced thousands separators) are reached, not only the shape checks.
    st.from_regex(
        r"\A[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}\Z|\A[0-9]{1,2}/[0-9]{1,2}/[0-9]{4}\Z|\A[0-9]{4}/[0-9]{2}/[0-9]{2}\Z"
    ),
    st.from_regex(r"\A\$?[0-9,]{1,24}(\.[0-9]{0,3})?\Z"),
)
overrides = st.dictionaries(st.sampled_from(ALL_COLUMNS), cell_text, max_size=6)


@FUZZ
@given(rows=st.lists(overrides, min_size=1, max_size=6), compress=st.booleans())
@example(rows=[{"submitted_date": "0000-01-01"}, {"paid_date": "12/31/0000"}], compress=False)  # was INTERNAL
def test_arbitrary_cell_values(
    fuzz_tenant: Tenant,
    django_capture_on_commit_callbacks: Any,
    rows: list[dict[str, str]],
    compress: bool,
) -> None:
    header = list(ALL_COLUMNS)
    body = [_nonce_row(list(header))]
    for i, values in enumerate(rows):
        row = claim_row(f"F-{i}")
        row.update(values)
        body.append([row[column] for column in header])
    data = _csv(header, body, line_end="\r\n")
    upload = post_and_check(
        fuzz_tenant,
        gzip.compress(data, mtime=0) if compress else data,
        "x.csv.gz" if compress else "x.csv",
        django_capture_on_commit_callbacks,
    )
    assert upload is not None
    if "\x00" in data.decode():
        assert (upload.status, upload.error_code) == (UploadStatus.FAILED, "F01")
    else:
        # The nonce row is valid whatever the others hold, so the file as a whole never fails.
        assert upload.status in (UploadStatus.SUCCEEDED, UploadStatus.PARTIAL), upload.error_message
        assert upload.total_rows == len(body)


# --- (c) header permutations, aliases, missing and extra columns --------------------------------------------

SPELLINGS: dict[str, list[str]] = {column: [column] for column in ALL_COLUMNS}
SPELLINGS["claim_number"] += ["Claim Number", "CLAIM-NUMBER", " claim_id ", "Claim ID"]
SPELLINGS["payer"] += ["PAYER", "payer_name", "Payer Name"]
SPELLINGS["cpt"] += ["CPT", "cpt_code", "Procedure Code", "procedure-code"]
SPELLINGS["outcome"] += ["Outcome", "status", "STATUS"]
SPELLINGS["submitted_date"] += ["Submitted Date", "submitted-date"]
SPELLINGS["patient_dob"] += ["Patient DOB"]
UNKNOWN = ["notes", "clinic", "x", ""]  # lower case already: how the reader compares names


@st.composite
def headers(draw: st.DrawFn) -> tuple[list[str], list[str]]:
    """(raw header, canonical column per position: a contract column, or the unknown name as ``?name``)."""
    columns = draw(st.lists(st.sampled_from(ALL_COLUMNS), unique=True, min_size=1, max_size=len(ALL_COLUMNS)))
    if draw(st.booleans()):  # usually a complete file
        columns = list(dict.fromkeys([*REQUIRED_COLUMNS, *columns]))
    columns = draw(st.permutations(columns))
    if draw(st.integers(0, 9)) == 0:  # now and then a column twice
        columns = [*columns, draw(st.sampled_from(columns))]
    raw: list[str] = [draw(st.sampled_from(SPELLINGS[c])) for c in columns]
    canonical: list[str] = list(columns)
    for _ in range(draw(st.integers(0, 2))):
        at = draw(st.integers(0, len(raw)))
        unknown = draw(st.sampled_from(UNKNOWN))
        raw.insert(at, unknown)
        canonical.insert(at, f"?{unknown}")
    return raw, canonical


@FUZZ
@given(header=headers(), rows=st.integers(1, 4))
def test_header_permutations_aliases_and_missing_columns(
    fuzz_tenant: Tenant,
    django_capture_on_commit_callbacks: Any,
    header: tuple[list[str], list[str]],
    rows: int,
) -> None:
    raw, canonical = header
    body = [_nonce_row(canonical) for _ in range(rows)]
    upload = post_and_check(fuzz_tenant, _csv(raw, body), "x.csv", django_capture_on_commit_callbacks)
    assert upload is not None
    named = [c for c in canonical if c != "?"]  # blank header cells may repeat
    if len(set(named)) != len(named) or not set(REQUIRED_COLUMNS) <= set(named):
        # A column twice (unknown ones too: "no column twice") or a required one missing.
        assert (upload.status, upload.error_code) == (UploadStatus.FAILED, "F04"), upload.error_message
    else:
        assert (upload.status, upload.total_rows, upload.accepted_rows) == (
            UploadStatus.SUCCEEDED,
            rows,
            rows,
        )
        assert upload.inserted_rows == rows
        assert bool(upload.notes) == any(c.startswith("?") for c in canonical)
