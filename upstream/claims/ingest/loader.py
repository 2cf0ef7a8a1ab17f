"""Loading validated batches into PostgreSQL: a per-upload staging table filled with ``COPY``, duplicate claim
numbers found in SQL (R10), and one ``INSERT … ON CONFLICT DO UPDATE … WHERE content changed`` upsert.

The staging table is a temporary table of the processing connection; it holds every data record (rejected
ones only with their row number and claim number, for R10) and disappears with the connection.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Any

import polars as pl
from psycopg import sql

STAGING_COLUMNS: tuple[tuple[str, str], ...] = (
    ("row_number", "bigint"),
    ("valid", "boolean"),
    ("warned", "boolean"),
    ("claim_number", "text"),
    ("payer", "text"),
    ("payer_raw", "text"),
    ("cpt", "text"),
    ("modifiers", "text"),
    ("cpt_group", "text"),
    ("submitted_date", "date"),
    ("decided_date", "date"),
    ("paid_date", "date"),
    ("outcome", "text"),
    ("billed_cents", "bigint"),
    ("allowed_cents", "bigint"),
    ("paid_cents", "bigint"),
    ("denial_reason_code", "text"),
    ("denial_reason_text", "text"),
    ("pan_enc", "text"),
    ("member_enc", "text"),
    ("name_enc", "text"),
    ("dob_enc", "text"),
    ("pan_bidx", "text"),
    ("member_bidx", "text"),
    ("phi_digest", "text"),
)
STAGING_NAMES: tuple[str, ...] = tuple(name for name, _ in STAGING_COLUMNS)


def staging_name(upload_id: int) -> str:
    return f"claims_staging_{int(upload_id)}"


def staging_create(cursor: Any, table: str) -> None:
    columns = sql.SQL(", ").join(
        sql.SQL("{} {}").format(sql.Identifier(n), sql.SQL(t)) for n, t in STAGING_COLUMNS
    )
    cursor.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(sql.Identifier(table)))
    cursor.execute(
        sql.SQL("CREATE TEMPORARY TABLE {} ({}, dup_of bigint)").format(sql.Identifier(table), columns)
    )


def staging_drop(cursor: Any, table: str) -> None:
    cursor.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(sql.Identifier(table)))


def copy_frame(cursor: Any, table: str, frame: pl.DataFrame, columns: tuple[str, ...]) -> None:
    """``COPY`` a frame in CSV: unquoted empty is NULL, a quoted empty string stays an empty string."""
    if frame.height == 0:
        return
    buffer = io.BytesIO()
    frame.select(columns).write_csv(buffer, include_header=False, null_value="", quote_style="non_numeric")
    statement = sql.SQL("COPY {} ({}) FROM STDIN WITH (FORMAT csv)").format(
        sql.Identifier(table), sql.SQL(", ").join(sql.Identifier(c) for c in columns)
    )
    with cursor.copy(statement) as copy:
        copy.write(buffer.getbuffer())


def mark_duplicates(cursor: Any, table: str) -> None:
    """R10: every record whose claim number appeared in an earlier record gets ``dup_of`` = that row."""
    cursor.execute(
        sql.SQL(
            """
        UPDATE {t} AS s SET dup_of = d.first_row
        FROM (
            SELECT row_number,
                   first_value(row_number) OVER w AS first_row,
                   row_number() OVER w AS position
            FROM {t}
            WHERE claim_number IS NOT NULL AND claim_number <> ''
            WINDOW w AS (PARTITION BY claim_number ORDER BY row_number)
        ) AS d
        WHERE d.row_number = s.row_number AND d.position > 1
        """
        ).format(t=sql.Identifier(table))
    )


def duplicate_rows(cursor: Any, table: str, limit: int) -> list[tuple[int, str, int]]:
    cursor.execute(
        sql.SQL(
            "SELECT row_number, claim_number, dup_of FROM {} WHERE dup_of IS NOT NULL"
            " ORDER BY row_number LIMIT %s"
        ).format(sql.Identifier(table)),
        [limit],
    )
    return list(cursor.fetchall())


@dataclass(frozen=True)
class StagingSummary:
    duplicates: int
    newly_rejected: int  # rows that passed every other rule but repeat an earlier claim number
    accepted: int
    warned: int
    date_min: Any
    date_max: Any


def staging_summary(cursor: Any, table: str) -> StagingSummary:
    cursor.execute(
        sql.SQL(
            """
        SELECT count(*) FILTER (WHERE dup_of IS NOT NULL),
               count(*) FILTER (WHERE dup_of IS NOT NULL AND valid),
               count(*) FILTER (WHERE dup_of IS NULL AND valid),
               count(*) FILTER (WHERE dup_of IS NULL AND valid AND warned),
               min(decided_date) FILTER (WHERE dup_of IS NULL AND valid),
               max(decided_date) FILTER (WHERE dup_of IS NULL AND valid)
        FROM {}
        """
        ).format(sql.Identifier(table))
    )
    row = cursor.fetchone()
    return StagingSummary(*row)


# The content hash covers what the file said (payer_raw, cpt), not what we derived from it (payer, cpt_group):
# re-normalizing stored claims after a mapping change must not make an identical re-upload count as updated.
_ROW_HASH = """md5(concat_ws(chr(31), claim_number, payer_raw, cpt, coalesce(modifiers, ''),
    submitted_date::text, decided_date::text, coalesce(paid_date::text, ''), outcome,
    coalesce(billed_cents::text, ''), coalesce(allowed_cents::text, ''), coalesce(paid_cents::text, ''),
    coalesce(denial_reason_code, ''), coalesce(denial_reason_text, ''), coalesce(phi_digest, '')))"""

_WRITTEN_COLUMNS = (
    "upload_id",
    "payer",
    "payer_raw",
    "cpt",
    "modifiers",
    "cpt_group",
    "submitted_date",
    "decided_date",
    "paid_date",
    "outcome",
    "billed_amount",
    "allowed_amount",
    "paid_amount",
    "denial_reason_code",
    "denial_reason_text",
    "row_hash",
    "patient_account_number",
    "member_id",
    "patient_name",
    "patient_dob",
    "patient_account_number_bidx",
    "member_id_bidx",
)
# The staging expressions that give those columns, in the same order.
_SOURCE = """%(upload)s, payer, payer_raw, cpt, coalesce(modifiers, ''), cpt_group, submitted_date,
    decided_date, paid_date, outcome, billed_cents::numeric / 100, allowed_cents::numeric / 100,
    paid_cents::numeric / 100, coalesce(denial_reason_code, ''), coalesce(denial_reason_text, ''), {row_hash},
    pan_enc, member_enc, name_enc, dob_enc, coalesce(pan_bidx, ''), coalesce(member_bidx, '')"""


def upsert_claims(cursor: Any, table: str, *, customer_id: int, upload_id: int) -> tuple[int, int]:
    """Update changed claims, then insert new ones; (inserted, updated). Unchanged claims are not touched.

    Two set-based statements instead of ``INSERT … ON CONFLICT``: the anti-join finds new claims in one pass
    where ON CONFLICT probes the unique index row by row (about twice as slow at a million rows). It is safe
    because every writer that inserts claims holds the Customer row lock (``pipeline._finish``), so no other
    transaction can insert the same claim numbers in between; the unique key stays as the last guard.
    """
    cursor.execute("SET LOCAL work_mem = '256MB'")
    params = {"customer": customer_id, "upload": upload_id}
    source = sql.SQL(_SOURCE).format(row_hash=sql.SQL(_ROW_HASH))
    columns = sql.SQL(", ").join(sql.Identifier(c) for c in _WRITTEN_COLUMNS)
    cursor.execute(
        sql.SQL(
            """
            UPDATE claims_claimrecord AS c SET ({columns}, updated_at) = ({values}, now())
            FROM (SELECT claim_number, {source} FROM {t} WHERE valid AND dup_of IS NULL)
                AS s (_number, {columns})
            WHERE c.customer_id = %(customer)s AND c.claim_number = s._number
              AND c.row_hash IS DISTINCT FROM s.row_hash
            """
        ).format(
            columns=columns,
            source=source,
            t=sql.Identifier(table),
            values=sql.SQL(", ").join(sql.Identifier("s", c) for c in _WRITTEN_COLUMNS),
        ),
        params,
    )
    updated = cursor.rowcount
    cursor.execute(
        sql.SQL(
            """
            INSERT INTO claims_claimrecord (customer_id, claim_number, {columns}, created_at, updated_at)
            SELECT %(customer)s, s.claim_number, {source}, now(), now()
            FROM {t} AS s
            WHERE s.valid AND s.dup_of IS NULL AND NOT EXISTS (
                SELECT 1 FROM claims_claimrecord AS c
                WHERE c.customer_id = %(customer)s AND c.claim_number = s.claim_number
            )
            """
        ).format(columns=columns, source=source, t=sql.Identifier(table)),
        params,
    )
    return int(cursor.rowcount), int(updated)
