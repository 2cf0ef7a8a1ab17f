"""Reading an uploaded claims file: file-level rules F01–F05 and batched parsing into string columns.

``prepare_file`` streams the upload once (gunzipping when needed), checks type, size, UTF-8 and the header,
and writes the data records (without header or BOM) to a work file. ``iter_batches`` then cuts that file on
record boundaries into chunks of bounded size and parses each with polars into the frame that the row rules
expect (every contract column as a string, ``__row`` and ``__field_count``). Chunks polars cannot parse
(stray quotes) fall back to the standard library's lenient ``csv`` reader, so no record is ever lost.
"""

from __future__ import annotations

import codecs
import csv
import gzip
import io
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

import polars as pl

from upstream.claims.ingest.columns import ALL_COLUMNS, REQUIRED_COLUMNS, canonical_header

READ_BLOCK = 1 << 20
DEFAULT_CHUNK_BYTES = 16 << 20
DECOMPRESSION_FACTOR_LIMIT = 20  # a .csv.gz may expand at most this many times the upload limit
# The csv module refuses fields over 128 KiB by default. A record is read whole (chunks bound memory), so a
# long quoted cell must become an R03 row, not an exception.
csv.field_size_limit(max(csv.field_size_limit(), 2**31 - 1))


class FileRejected(Exception):
    """The file as a whole fails a file rule (F01–F05); nothing of it is stored."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


@dataclass
class PreparedFile:
    data_path: Path
    header: list[str]  # the raw header names, in file order
    columns: list[str | None]  # canonical contract name per position, None for unknown columns
    unknown_columns: list[str] = field(default_factory=list)
    data_bytes: int = 0

    @property
    def field_count(self) -> int:
        return len(self.header)


def _is_gzip(filename: str) -> bool:
    return filename.lower().endswith(".csv.gz")


def _check_name_and_size(filename: str, size_bytes: int, max_bytes: int) -> None:
    lower = filename.lower()
    if not (lower.endswith(".csv") or lower.endswith(".csv.gz")):
        raise FileRejected("F01", f"The file name {filename!r} must end in .csv or .csv.gz.")
    if size_bytes > max_bytes:
        raise FileRejected("F02", f"The file has {size_bytes:,} bytes; the limit is {max_bytes:,} bytes.")
    if size_bytes == 0:
        raise FileRejected("F05", "The file is empty: it needs a header row and at least one data row.")


def _split_header(buffer: bytes) -> tuple[bytes, bytes] | None:
    """(header record, rest) once ``buffer`` holds a complete header line (outside quotes), else None."""
    start = 0
    while True:
        newline = buffer.find(b"\n", start)
        if newline == -1:
            return None
        if buffer.count(b'"', 0, newline) % 2 == 0:
            return buffer[:newline], buffer[newline + 1 :]
        start = newline + 1


def _parse_header(raw: bytes) -> tuple[list[str], list[str | None], list[str]]:
    text = raw.decode("utf-8").rstrip("\r")
    try:
        header = next(csv.reader([text]), [])
    except csv.Error as exc:  # a bare CR inside the line, e.g. a file with classic Mac (CR-only) line ends
        raise FileRejected(
            "F04", "The header row cannot be read: lines must end with LF or CRLF, not a bare CR."
        ) from exc
    if not header or all(not h.strip() for h in header):
        raise FileRejected("F04", "The first row must be a header naming the columns; it is empty.")
    canonical = [canonical_header(h) for h in header]
    seen: dict[str, str] = {}
    duplicates = []
    for raw_name, name in zip(header, canonical, strict=True):
        if name and name in seen:
            duplicates.append(f"{seen[name]!r} and {raw_name!r} both mean {name}")
        seen.setdefault(name, raw_name)
    if duplicates:
        raise FileRejected("F04", "A column appears twice: " + "; ".join(duplicates) + ".")
    missing = [c for c in REQUIRED_COLUMNS if c not in seen]
    if missing:
        raise FileRejected("F04", "Required column(s) missing from the header: " + ", ".join(missing) + ".")
    columns: list[str | None] = [name if name in ALL_COLUMNS else None for name in canonical]
    unknown = [raw_name for raw_name, col in zip(header, columns, strict=True) if col is None]
    return header, columns, unknown


def prepare_file(
    source: BinaryIO, *, filename: str, size_bytes: int, max_bytes: int, work_path: Path
) -> PreparedFile:
    """Check F01–F04 while copying the data records to ``work_path``; raises ``FileRejected``."""
    _check_name_and_size(filename, size_bytes, max_bytes)
    stream: BinaryIO = gzip.GzipFile(fileobj=source, mode="rb") if _is_gzip(filename) else source  # type: ignore[assignment]
    decoder = codecs.getincrementaldecoder("utf-8")("strict")
    limit = max_bytes * DECOMPRESSION_FACTOR_LIMIT
    offset = 0
    head = b""
    prepared: PreparedFile | None = None
    try:
        with work_path.open("wb") as out:
            while True:
                block = stream.read(READ_BLOCK)
                if not block:
                    break
                if offset == 0 and block.startswith(codecs.BOM_UTF8):
                    block = block[len(codecs.BOM_UTF8) :]
                    offset = len(codecs.BOM_UTF8)
                # Bytes of a character cut by the previous block: error positions count from them.
                pending = decoder.getstate()[0]
                try:
                    decoder.decode(block)
                except UnicodeDecodeError as exc:
                    raise FileRejected(
                        "F03",
                        f"The file is not valid UTF-8: byte offset {offset - len(pending) + exc.start} holds "
                        f"0x{(pending + block)[exc.start]:02x}. Save the file as UTF-8 and upload it again.",
                    ) from exc
                nul = block.find(b"\x00")
                if nul != -1:
                    raise FileRejected(
                        "F01", f"The file is not text: a NUL byte at byte offset {offset + nul}."
                    )
                offset += len(block)
                if offset > limit:
                    raise FileRejected("F02", f"The decompressed file exceeds {limit:,} bytes.")
                if prepared is None:
                    head += block
                    split = _split_header(head)
                    if split is None:
                        continue
                    header_raw, rest = split
                    header, columns, unknown = _parse_header(header_raw)
                    prepared = PreparedFile(
                        data_path=work_path, header=header, columns=columns, unknown_columns=unknown
                    )
                    block, head = rest, b""
                out.write(block)
                prepared.data_bytes += len(block)
            pending = decoder.getstate()[0]
            try:
                decoder.decode(b"", final=True)
            except UnicodeDecodeError as exc:
                raise FileRejected(
                    "F03",
                    f"The file is not valid UTF-8: it ends inside a multi-byte character "
                    f"at byte offset {offset - len(pending) + exc.start}.",
                ) from exc
    except (gzip.BadGzipFile, EOFError, zlib.error) as exc:
        raise FileRejected("F01", f"The file is not a readable gzip archive ({type(exc).__name__}).") from exc
    if prepared is None:
        if head.strip():
            header, columns, unknown = _parse_header(head)
            prepared = PreparedFile(
                data_path=work_path, header=header, columns=columns, unknown_columns=unknown
            )
        else:
            raise FileRejected("F04", "The file has no header row.")
    if prepared.data_bytes == 0 or (prepared.data_bytes < 65536 and not work_path.read_bytes().strip()):
        raise FileRejected("F05", "The file has a header but no data rows.")
    return prepared


# --- batches --------------------------------------------------------------------------------------------


def _record_chunks(path: Path, chunk_bytes: int) -> Iterator[bytes]:
    """The data file in pieces that end on a record boundary (a newline outside quotes)."""
    with path.open("rb") as fh:
        carry = b""
        while True:
            block = fh.read(chunk_bytes)
            buffer = carry + block
            if not block:
                if buffer:
                    yield buffer
                return
            cut = buffer.rfind(b"\n")
            while cut != -1 and buffer.count(b'"', 0, cut) % 2:
                cut = buffer.rfind(b"\n", 0, cut)
            if cut == -1:  # one record longer than the chunk: keep reading
                carry = buffer
                continue
            yield buffer[: cut + 1]
            carry = buffer[cut + 1 :]


_QUOTED = r'"(?:[^"]|"")*"'


class _Misaligned(Exception):
    """Lines and records differ in this chunk (a quoted field spans lines): use the lenient parser."""


def _parse_fast(chunk: bytes, width: int) -> pl.DataFrame:
    # A synthetic first record with `width` empty fields pins the column count (polars otherwise takes it
    # from the chunk's first record); longer records are truncated, shorter ones padded. Field counts for
    # R01 come from the lines themselves: commas outside quoted sections, plus one.
    names = [f"f{i}" for i in range(width)]
    frame = pl.read_csv(
        io.BytesIO(b"," * (width - 1) + b"\n" + chunk),
        has_header=False,
        new_columns=names,
        infer_schema=False,
        truncate_ragged_lines=True,
        quote_char='"',
    ).slice(1)
    lines = chunk.decode("utf-8").split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    if len(lines) != frame.height:
        raise _Misaligned
    text = pl.Series("line", lines, dtype=pl.String).str.strip_suffix("\r")
    unquoted = text.str.replace_all(_QUOTED, "") if b'"' in chunk else text
    counts = (unquoted.str.count_matches(",", literal=True) + 1).cast(pl.Int32)
    counts = pl.select(pl.when(text == "").then(0).otherwise(counts).cast(pl.Int32)).to_series()
    return frame.with_columns(counts.alias("__field_count"))


def _parse_lenient(chunk: bytes, width: int) -> pl.DataFrame:
    records = list(csv.reader(io.StringIO(chunk.decode("utf-8"), newline=""), strict=False))
    data: dict[str, list[str | None]] = {f"f{i}": [] for i in range(width)}
    counts: list[int] = []
    for record in records:
        counts.append(0 if record in ([], [""]) else len(record))
        for i in range(width):
            data[f"f{i}"].append(record[i] if i < len(record) else None)
    frame = pl.DataFrame(data, schema={f"f{i}": pl.String for i in range(width)})
    return frame.with_columns(pl.Series("__field_count", counts, dtype=pl.Int32))


def iter_batches(prepared: PreparedFile, *, chunk_bytes: int = DEFAULT_CHUNK_BYTES) -> Iterator[pl.DataFrame]:
    """Frames with every contract column (String, null when absent), ``__row`` and ``__field_count``.

    ``__row`` counts records like a spreadsheet: the header is row 1. Blank lines are records with
    ``__field_count`` 0; the caller skips and reports them.
    """
    width = prepared.field_count
    next_row = 2
    for chunk in _record_chunks(prepared.data_path, chunk_bytes):
        try:
            frame = _parse_fast(chunk, width)
        except (pl.exceptions.PolarsError, _Misaligned):
            frame = _parse_lenient(chunk, width)
        height = frame.height
        selected = [
            pl.int_range(next_row, next_row + height, dtype=pl.Int64).alias("__row"),
            pl.col("__field_count"),
        ]
        present = {name: i for i, name in enumerate(prepared.columns) if name is not None}
        for name in ALL_COLUMNS:
            if name in present:
                selected.append(pl.col(f"f{present[name]}").alias(name))
            else:
                selected.append(pl.lit(None, dtype=pl.String).alias(name))
        next_row += height
        yield frame.select(selected)
