"""The row checks of R01–R09, R11 and W01–W06 as polars expressions over a batch's working columns.

``prepare`` adds the working columns (trimmed values, parsed dates, amounts and codes, PHI flags, mappings);
``row_checks`` says where each (rule, column) is violated and how its message reads; ``normalized_columns``
are the values the loader stores. ``upstream.claims.ingest.rules.validate_batch`` puts them together.
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from dataclasses import dataclass

import polars as pl

from upstream.claims.ingest import parsing
from upstream.claims.ingest.columns import (
    ALL_COLUMNS,
    AMOUNT_COLUMNS,
    DATE_COLUMNS,
    MAX_LENGTHS,
    PHI_COLUMNS,
    REQUIRED_COLUMNS,
)
from upstream.claims.ingest.cpt_groups import OTHER_GROUP, cpt_shape_expr, default_cpt_group_expr

# Where R11 looks for PHI; a coded value that holds PHI is reported once, as R11, and not checked further.
CODED_COLUMNS: tuple[str, ...] = ("claim_number", "payer", "cpt", "modifiers", "denial_reason_code")


@dataclass(frozen=True)
class Check:
    """One (rule, column) check: where it is violated and how its message reads."""

    code: str
    column: str | None
    violated: pl.Expr
    detail: str  # pl.format template for what follows the value; "{}" placeholders take ``args``
    args: tuple[pl.Expr, ...] = ()
    shows_value: bool = True


# Names of the working columns.
def _t(column: str) -> str:
    return f"__t_{column}"  # trimmed, null when blank


def _ok(column: str) -> str:
    return f"__ok_{column}"  # present and within its length; false on R01 rows


def _phi(column: str) -> str:
    return f"__phi_{column}"


def _date(column: str) -> str:
    return f"__d_{column}"


def _cents(column: str) -> str:
    return f"__cents_{column}"


def _iso(column: str) -> pl.Expr:
    return pl.col(_date(column)).dt.to_string("%Y-%m-%d")


def shown(column: str) -> pl.Expr:
    return parsing.display(pl.col(_t(column)), phi_column=column in PHI_COLUMNS)


def prepare(
    df: pl.LazyFrame,
    *,
    header_field_count: int,
    payer_mappings: Mapping[str, str],
    cpt_group_mappings: Mapping[str, str],
) -> pl.LazyFrame:
    """The input plus every parsed value and per-column fact the checks and the output need."""
    t = {column: pl.col(_t(column)) for column in ALL_COLUMNS}
    work = df.with_columns(
        *(parsing.trimmed(pl.col(column)).alias(_t(column)) for column in ALL_COLUMNS),
        (pl.col("__field_count") != header_field_count).fill_null(False).alias("__bad"),
    )
    work = work.with_columns(
        *(
            (t[column].is_not_null() & (t[column].str.len_chars() <= MAX_LENGTHS[column]) & ~pl.col("__bad"))
            .fill_null(False)
            .alias(_ok(column))
            for column in ALL_COLUMNS
        ),
        pl.col(_t("cpt")).str.to_uppercase().alias("__cpt_upper"),
        pl.col(_t("modifiers")).str.to_uppercase().alias("__modifiers_upper"),
        pl.col(_t("denial_reason_code")).str.to_uppercase().alias("__code_upper"),
    )
    ok = {column: pl.col(_ok(column)) for column in ALL_COLUMNS}
    payers = {key.strip().lower(): value for key, value in payer_mappings.items()}
    work = work.with_columns(
        *((ok[column] & parsing.has_phi(t[column])).alias(_phi(column)) for column in CODED_COLUMNS),
        (ok["denial_reason_text"] & parsing.has_phi(t["denial_reason_text"])).alias("__phi_text"),
        *(
            pl.when(ok[column]).then(parsing.parse_date(t[column])).alias(_date(column))
            for column in DATE_COLUMNS
        ),
        *(
            pl.when(ok[column]).then(parsing.parse_cents(t[column])).alias(_cents(column))
            for column in AMOUNT_COLUMNS
        ),
        pl.when(ok["outcome"]).then(parsing.parse_outcome(t["outcome"])).alias("__outcome"),
        cpt_shape_expr(pl.col("__cpt_upper")).alias("__cpt_shape"),
    )
    usable = {column: ok[column] & ~pl.col(_phi(column)) for column in CODED_COLUMNS}
    work = work.with_columns(
        pl.when(usable["cpt"] & pl.col("__cpt_shape").is_not_null())
        .then(pl.col("__cpt_upper"))
        .alias("__cpt"),
        (usable["modifiers"] & parsing.is_valid_modifiers(pl.col("__modifiers_upper"))).alias(
            "__modifiers_ok"
        ),
        (
            usable["denial_reason_code"] & ~pl.col("__code_upper").str.contains(parsing.DENIAL_CODE_SHAPE)
        ).alias("__code_unknown"),
        *(
            pl.when(usable[column]).then(t[column]).alias(f"__usable_{column}")
            for column in ("claim_number", "payer")
        ),
    )
    cpt_groups = {key.strip().upper(): value for key, value in cpt_group_mappings.items()}
    return work.with_columns(
        parsing.lookup(pl.col("__usable_payer").str.to_lowercase(), payers).alias("__payer_mapped"),
        parsing.lookup(pl.col("__cpt"), cpt_groups).alias("__group_customer"),
        default_cpt_group_expr(pl.col("__cpt"), pl.col("__cpt_shape")).alias("__group_default"),
    )


def row_checks(*, upload_date: datetime.date, header_field_count: int) -> list[Check]:
    """Every (rule, column) check, in rule-code then column order: the order issues are reported in."""
    live = ~pl.col("__bad")
    ok = {column: pl.col(_ok(column)) for column in ALL_COLUMNS}
    denied = pl.col("__outcome") == "DENIED"
    billed, allowed, paid = (pl.col(_cents(column)) for column in AMOUNT_COLUMNS)
    upload_day = upload_date.isoformat()
    paid_reason = (
        pl.when((paid > allowed) & denied)
        .then(pl.format("is more than allowed_amount {} and the claim is DENIED", shown("allowed_amount")))
        .when(paid > allowed)
        .then(pl.format("is more than allowed_amount {}", shown("allowed_amount")))
        .otherwise(pl.lit("is more than 0 on a DENIED claim"))
    )
    return [
        Check(
            "R01",
            None,
            pl.col("__bad"),
            f"the row has {{}} fields but the header has {header_field_count}",
            (pl.col("__field_count"),),
            shows_value=False,
        ),
        *(
            Check("R02", c, live & pl.col(_t(c)).is_null(), "a required value is blank", shows_value=False)
            for c in REQUIRED_COLUMNS
        ),
        *(
            Check(
                "R03",
                c,
                live & (pl.col(_t(c)).str.len_chars() > MAX_LENGTHS[c]),
                f"is {{}} characters long; the maximum is {MAX_LENGTHS[c]}",
                (pl.col(_t(c)).str.len_chars(),),
            )
            for c in ALL_COLUMNS
        ),
        *(
            Check(
                "R04",
                c,
                ok[c] & pl.col(_date(c)).is_null(),
                "is not a valid date (use YYYY-MM-DD, MM/DD/YYYY or YYYY/MM/DD)",
            )
            for c in DATE_COLUMNS
        ),
        Check(
            "R05",
            "decided_date",
            pl.col(_date("decided_date")) < pl.col(_date("submitted_date")),
            "is before submitted_date {}",
            (_iso("submitted_date"),),
        ),
        Check(
            "R05",
            "paid_date",
            pl.col(_date("paid_date")) < pl.col(_date("decided_date")),
            "is before decided_date {}",
            (_iso("decided_date"),),
        ),
        *(
            Check("R06", c, pl.col(_date(c)) > upload_date, f"is after the upload date {upload_day}")
            for c in DATE_COLUMNS
        ),
        Check(
            "R07",
            "outcome",
            ok["outcome"] & pl.col("__outcome").is_null(),
            "is not an outcome (PAID, DENIED or OTHER, or a synonym such as approved, rejected, adjusted)",
        ),
        Check(
            "R08",
            "cpt",
            ok["cpt"] & ~pl.col(_phi("cpt")) & pl.col("__cpt").is_null(),
            "is not a procedure code (5-digit CPT, 4 digits + F or T, or a letter + 4 digits)",
        ),
        Check(
            "R08",
            "modifiers",
            ok["modifiers"] & ~pl.col(_phi("modifiers")) & ~pl.col("__modifiers_ok"),
            "is not a list of up to four 2-character modifiers",
        ),
        *(
            Check(
                "R09",
                c,
                ok[c] & pl.col(_cents(c)).is_null(),
                "is not an amount between 0 and 10,000,000 (digits, optional $ and thousands separators, "
                "at most two decimals)",
            )
            for c in AMOUNT_COLUMNS
        ),
        *(
            Check("R11", c, pl.col(_phi(c)), "contains an SSN, phone number or e-mail address")
            for c in CODED_COLUMNS
        ),
        Check(
            "W01",
            "denial_reason_code",
            live & denied & pl.col(_t("denial_reason_code")).is_null(),
            "the claim is DENIED but has no denial reason code",
            shows_value=False,
        ),
        Check(
            "W02",
            "denial_reason_code",
            pl.col("__code_unknown"),
            "is not a group code (CO, PR, OA, PI, CR) followed by a CARC code, such as CO-45",
        ),
        Check(
            "W03",
            "allowed_amount",
            allowed > billed,
            "is more than billed_amount {}",
            (shown("billed_amount"),),
        ),
        Check("W03", "paid_amount", (paid > allowed) | (denied & (paid > 0)), "{}", (paid_reason,)),
        Check(
            "W04",
            "payer",
            pl.col("__usable_payer").is_not_null() & pl.col("__payer_mapped").is_null(),
            "has no payer mapping; the name is kept as given",
        ),
        Check(
            "W05",
            "cpt",
            pl.col("__cpt").is_not_null()
            & pl.col("__group_customer").is_null()
            & pl.col("__group_default").is_null(),
            f"has no customer or built-in CPT group; it is grouped as {OTHER_GROUP}",
        ),
        Check(
            "W06",
            "denial_reason_text",
            pl.col("__phi_text"),
            "contains an SSN, phone number or e-mail address; it is redacted before storage",
        ),
    ]


def normalized_columns() -> list[pl.Expr]:
    """The output columns of ``ValidationResult.rows`` after the flags."""
    ok = {column: pl.col(_ok(column)) for column in ALL_COLUMNS}
    return [
        pl.col("__usable_claim_number").alias("claim_number"),
        pl.coalesce(pl.col("__payer_mapped"), pl.col("__usable_payer")).alias("payer"),
        pl.col("__usable_payer").alias("payer_raw"),
        pl.col("__cpt").alias("cpt"),
        pl.when(pl.col("__modifiers_ok"))
        .then(parsing.canonical_modifiers(pl.col("__modifiers_upper")))
        .alias("modifiers"),
        pl.when(pl.col("__cpt").is_not_null())
        .then(pl.coalesce(pl.col("__group_customer"), pl.col("__group_default"), pl.lit(OTHER_GROUP)))
        .alias("cpt_group"),
        *(pl.col(_date(c)).alias(c) for c in ("submitted_date", "decided_date", "paid_date")),
        pl.col("__outcome").alias("outcome"),
        *(pl.col(_cents(c)).alias(c.replace("_amount", "_cents")) for c in AMOUNT_COLUMNS),
        pl.when(ok["denial_reason_code"] & ~pl.col(_phi("denial_reason_code")))
        .then(pl.col("__code_upper"))
        .alias("denial_reason_code"),
        pl.when(ok["denial_reason_text"])
        .then(parsing.scrub(pl.col(_t("denial_reason_text"))))
        .alias("denial_reason_text"),
        *(
            pl.when(ok[c]).then(pl.col(_t(c))).alias(c)
            for c in ("patient_account_number", "member_id", "patient_name")
        ),
        pl.col(_date("patient_dob")).alias("patient_dob"),
    ]
