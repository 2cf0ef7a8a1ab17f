"""The reader: file rules F01–F05 and batching into the frame the row rules expect."""

from __future__ import annotations

import datetime
import gzip
import io
from pathlib import Path

import polars as pl
import pytest

from upstream.claims.ingest.reader import FileRejected, PreparedFile, iter_batches, prepare_file
from upstream.claims.ingest.rules import ValidationContext, validate_batch
from upstream.demo.generator import generate

HEADER = b"claim_number,payer,cpt,submitted_date,decided_date,outcome\n"
ROW = b"C%d,Aetna,99213,2026-01-01,2026-01-05,paid\n"


def prepare(data: bytes, tmp_path: Path, name: str = "claims.csv", max_bytes: int = 10**8) -> PreparedFile:
    return prepare_file(
        io.BytesIO(data),
        filename=name,
        size_bytes=len(data),
        max_bytes=max_bytes,
        work_path=tmp_path / "data.csv",
    )


def rejected(data: bytes, tmp_path: Path, **kwargs: object) -> tuple[str, str]:
    with pytest.raises(FileRejected) as info:
        prepare(data, tmp_path, **kwargs)  # type: ignore[arg-type]
    return info.value.code, info.value.message


def rows(prepared: PreparedFile, **kwargs: int) -> list[dict[str, object]]:
    frames = list(iter_batches(prepared, **kwargs))
    return pl.concat(frames).select("__row", "__field_count", "claim_number", "payer").to_dicts()


@pytest.mark.parametrize("name", ["claims.txt", "claims.csv.zip", "claims", "claims.gz"])
def test_f01_file_name(tmp_path: Path, name: str) -> None:
    code, message = rejected(HEADER + ROW % 1, tmp_path, name=name)
    assert code == "F01"
    assert name in message


def test_f01_binary_and_broken_gzip(tmp_path: Path) -> None:
    assert rejected(HEADER + b"C1,A\x00etna\n", tmp_path) == (
        "F01",
        f"The file is not text: a NUL byte at byte offset {len(HEADER) + 4}.",
    )
    code, _ = rejected(b"definitely not gzip", tmp_path, name="claims.csv.gz")
    assert code == "F01"
    truncated = gzip.compress(HEADER + ROW % 1)[:-12]
    assert rejected(truncated, tmp_path, name="claims.csv.gz")[0] == "F01"


def test_f02_size_limits(tmp_path: Path) -> None:
    data = HEADER + ROW % 1
    assert rejected(data, tmp_path, max_bytes=len(data) - 1) == (
        "F02",
        f"The file has {len(data):,} bytes; the limit is {len(data) - 1:,} bytes.",
    )
    bomb = gzip.compress(HEADER + b"x" * 5000)
    code, message = rejected(bomb, tmp_path, name="b.csv.gz", max_bytes=200)
    assert code == "F02"
    assert "decompressed" in message


def test_f03_reports_byte_offset(tmp_path: Path) -> None:
    data = HEADER + b"C1,Cr\xe8me,99213,2026-01-01,2026-01-05,paid\n"
    code, message = rejected(data, tmp_path)
    assert code == "F03"
    assert f"byte offset {len(HEADER) + 5} holds 0xe8" in message
    cut = HEADER + b"C1,Caf\xc3"
    assert rejected(cut, tmp_path)[0] == "F03"


def test_f04_header_problems(tmp_path: Path) -> None:
    assert rejected(b"claim_number,payer\nC1,A\n", tmp_path) == (
        "F04",
        "Required column(s) missing from the header: cpt, submitted_date, decided_date, outcome.",
    )
    code, message = rejected(
        b"claim_id,claim_number,payer,cpt,submitted_date,decided_date,outcome\n", tmp_path
    )
    assert code == "F04"
    assert "'claim_id' and 'claim_number' both mean claim_number" in message
    assert rejected(b",,\n1,2,3\n", tmp_path)[0] == "F04"


def test_f05_no_data(tmp_path: Path) -> None:
    assert rejected(HEADER, tmp_path) == ("F05", "The file has a header but no data rows.")
    assert rejected(HEADER + b"\n\n  \n", tmp_path)[0] == "F05"
    assert rejected(b"", tmp_path)[0] == "F05"


def test_header_aliases_bom_and_unknown_columns(tmp_path: Path) -> None:
    data = b"\xef\xbb\xbfClaim ID, Payer-Name ,CPT Code,Submitted Date,decided_date,STATUS,Rendering NPI\r\n"
    prepared = prepare(data + b"C1,Aetna,99213,2026-01-01,2026-01-05,paid,123\r\n", tmp_path)
    assert prepared.columns == [
        "claim_number",
        "payer",
        "cpt",
        "submitted_date",
        "decided_date",
        "outcome",
        None,
    ]
    assert prepared.unknown_columns == ["Rendering NPI"]
    assert rows(prepared) == [{"__row": 2, "__field_count": 7, "claim_number": "C1", "payer": "Aetna"}]


def test_field_counts_quotes_and_blank_lines(tmp_path: Path) -> None:
    body = (
        b'C1,"Blue, Cross",99213,2026-01-01,2026-01-05,paid\n'
        b"C2,Aetna\n"
        b"\n"
        b"C3,Aetna,99213,2026-01-01,2026-01-05,paid,extra,more\n"
        b'C4,"He said ""hi""",99213,2026-01-01,2026-01-05,paid\n'
    )
    assert rows(prepare(HEADER + body, tmp_path)) == [
        {"__row": 2, "__field_count": 6, "claim_number": "C1", "payer": "Blue, Cross"},
        {"__row": 3, "__field_count": 2, "claim_number": "C2", "payer": "Aetna"},
        {"__row": 4, "__field_count": 0, "claim_number": None, "payer": None},
        {"__row": 5, "__field_count": 8, "claim_number": "C3", "payer": "Aetna"},
        {"__row": 6, "__field_count": 6, "claim_number": "C4", "payer": 'He said "hi"'},
    ]


def test_multiline_fields_and_stray_quotes_fall_back_without_losing_records(tmp_path: Path) -> None:
    body = (
        b'C1,"Multi\nline",99213,2026-01-01,2026-01-05,paid\n'
        b'C2,Ae"tna,99213,2026-01-01,2026-01-05,paid\n'
        b"C3,Aetna,99213,2026-01-01,2026-01-05,paid\n"
    )
    assert rows(prepare(HEADER + body, tmp_path)) == [
        {"__row": 2, "__field_count": 6, "claim_number": "C1", "payer": "Multi\nline"},
        {"__row": 3, "__field_count": 6, "claim_number": "C2", "payer": 'Ae"tna'},
        {"__row": 4, "__field_count": 6, "claim_number": "C3", "payer": "Aetna"},
    ]


def test_small_chunks_keep_every_record_in_order(tmp_path: Path) -> None:
    data = HEADER + b"".join(ROW % i for i in range(500)) + b'C500,"quoted\nnewline",x,y,z,w\n'
    result = rows(prepare(data, tmp_path), chunk_bytes=97)
    assert [r["__row"] for r in result] == list(range(2, 503))
    assert [r["claim_number"] for r in result] == [f"C{i}" for i in range(501)]


def test_gzip_is_read(tmp_path: Path) -> None:
    prepared = prepare(gzip.compress(HEADER + ROW % 1 + ROW % 2), tmp_path, name="claims.CSV.GZ")
    assert [r["claim_number"] for r in rows(prepared)] == ["C1", "C2"]


def test_reader_frames_validate_without_polars_panic(tmp_path: Path) -> None:
    # Regression: frames built by the reader have multi-chunk columns, on which polars 2.1 panicked inside
    # validate_batch once R06 fired on some rows. validate_batch now rechunks its input.
    buffer = io.StringIO()
    generate(40_000, 7, buffer, as_of=datetime.date(2026, 11, 15))
    prepared = prepare(buffer.getvalue().encode(), tmp_path)
    batch = next(iter_batches(prepared))
    assert max(batch.n_chunks("all")) > 1
    ctx = ValidationContext(
        upload_date=datetime.date(2026, 11, 10),
        payer_mappings={},
        cpt_group_mappings={},
        header_field_count=prepared.field_count,
    )
    result = validate_batch(batch, ctx)
    assert result.rows.height == 40_000
    assert result.issues.filter(pl.col("rule_code") == "R06").height > 0
