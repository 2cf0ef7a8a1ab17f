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
    # Autovacuum never analyzes temporary tables: without statistics the planner takes the staging table for
    # a few rows and picks nested loops for the anti-join below (measured: minutes instead of seconds).
    cursor.execute(sql.SQL("ANALYZE {}").format(sql.Identifier(table)))
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

_UPDATED_COLUMNS = (
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
    "updated_at",
)


def upsert_claims(cursor: Any, table: str, *, customer_id: int, upload_id: int) -> tuple[int, int]:
    """Insert new claims and update changed ones; (inserted, updated). Unchanged rows are not touched.

    The caller holds the Customer row lock, so two uploads of one customer never upsert at the same time
    (no deadlock between them, whatever the order of their rows). An UPDATE-then-anti-join-INSERT variant
    was ~40 % faster when the planner chose a hash anti-join, but with stale statistics on the claims table
    it chose a nested loop and ran for many minutes; ON CONFLICT probes the unique index row by row and is
    predictable (docs/benchmarks.md).
    """
    cursor.execute("SET LOCAL work_mem = '256MB'")
    assignments = sql.SQL(", ").join(
        sql.SQL("{c} = EXCLUDED.{c}").format(c=sql.Identifier(c)) for c in _UPDATED_COLUMNS
    )
    cursor.execute(
        sql.SQL(
            """
        WITH written AS (
            INSERT INTO claims_claimrecord (
                customer_id, claim_number, upload_id, payer, payer_raw, cpt, modifiers, cpt_group,
                submitted_date, decided_date, paid_date, outcome, billed_amount, allowed_amount, paid_amount,
                denial_reason_code, denial_reason_text, row_hash, patient_account_number, member_id,
                patient_name, patient_dob, patient_account_number_bidx, member_id_bidx, created_at, updated_at
            )
            SELECT %(customer)s, claim_number, %(upload)s, payer, payer_raw, cpt, coalesce(modifiers, ''),
                   cpt_group, submitted_date, decided_date, paid_date, outcome,
                   billed_cents::numeric / 100, allowed_cents::numeric / 100, paid_cents::numeric / 100,
                   coalesce(denial_reason_code, ''), coalesce(denial_reason_text, ''), {row_hash},
                   pan_enc, member_enc, name_enc, dob_enc, coalesce(pan_bidx, ''), coalesce(member_bidx, ''),
                   now(), now()
            FROM {t}
            WHERE valid AND dup_of IS NULL
            ON CONFLICT (customer_id, claim_number) DO UPDATE SET {assignments}
            WHERE claims_claimrecord.row_hash IS DISTINCT FROM EXCLUDED.row_hash
            RETURNING (xmax = 0) AS inserted
        )
        SELECT count(*) FILTER (WHERE inserted), count(*) FILTER (WHERE NOT inserted) FROM written
        """
        ).format(t=sql.Identifier(table), row_hash=sql.SQL(_ROW_HASH), assignments=assignments),
        {"customer": customer_id, "upload": upload_id},
    )
    inserted, updated = cursor.fetchone()
    return int(inserted), int(updated)
