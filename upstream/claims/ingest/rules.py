"""The 23 validation rules of SPEC §5 and the vectorised row validation/normalization of one claims batch.

``validate_batch`` checks R01–R09, R11 and W01–W06 with polars expressions over a whole batch, no per-row
Python (the expressions are in ``checks``). R10 (duplicates across the file) is checked by the loader in SQL,
F01–F06 by the reader; they are listed here so that the catalog (``GET /api/v1/validation-rules/``) is
complete.
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

import polars as pl

from upstream.claims.ingest.checks import Check, normalized_columns, prepare, row_checks, shown
from upstream.claims.ingest.cpt_groups import DEFAULT_CPT_GROUPS, CptGroupRange, default_cpt_group

__all__ = [
    "DEFAULT_CPT_GROUPS",
    "ISSUE_SCHEMA",
    "RULES",
    "RULES_BY_CODE",
    "CptGroupRange",
    "Rule",
    "Severity",
    "ValidationContext",
    "ValidationResult",
    "default_cpt_group",
    "validate_batch",
]

Severity = Literal["file", "error", "warning"]


@dataclass(frozen=True)
class Rule:
    code: str
    name: str
    severity: Severity
    description: str


RULES: tuple[Rule, ...] = (
    Rule("F01", "FILE_TYPE", "file", "The file name ends in .csv or .csv.gz and its content is text."),
    Rule(
        "F02", "FILE_SIZE", "file", "The file is no larger than the upload size limit (512 MiB by default)."
    ),
    Rule(
        "F03",
        "FILE_ENCODING",
        "file",
        "The file is valid UTF-8; the message gives the offset of the first bad byte.",
    ),
    Rule("F04", "HEADER", "file", "The header has every required column and no column twice."),
    Rule("F05", "ROW_LIMITS", "file", "The file has at least one data row and no more than the row limit."),
    Rule(
        "F06",
        "DUPLICATE_FILE",
        "file",
        "The same file was not already uploaded successfully by this customer.",
    ),
    Rule("R01", "FIELD_COUNT", "error", "The row has as many fields as the header."),
    Rule("R02", "REQUIRED_VALUE", "error", "Required fields are not blank."),
    Rule("R03", "FIELD_LENGTH", "error", "Values fit their columns' maximum lengths."),
    Rule("R04", "DATE_FORMAT", "error", "Dates are real dates written YYYY-MM-DD, MM/DD/YYYY or YYYY/MM/DD."),
    Rule(
        "R05",
        "DATE_ORDER",
        "error",
        "The submitted date is not after the decided date, nor the decided after paid.",
    ),
    Rule("R06", "DATE_NOT_FUTURE", "error", "No date is after the day of the upload."),
    Rule("R07", "OUTCOME_VALUE", "error", "The outcome is PAID, DENIED or OTHER, or one of their synonyms."),
    Rule(
        "R08",
        "PROCEDURE_CODE",
        "error",
        "The procedure code is a CPT, CPT category II/III or HCPCS level II code; modifiers are up to four "
        "2-character codes.",
    ),
    Rule(
        "R09",
        "AMOUNT_VALUE",
        "error",
        "Amounts are numbers with at most two decimals between 0 and 10,000,000.",
    ),
    Rule(
        "R10",
        "DUPLICATE_CLAIM_IN_FILE",
        "error",
        "The claim number does not appear earlier in the same file.",
    ),
    Rule(
        "R11",
        "PHI_IN_CODED_FIELD",
        "error",
        "Payer, claim number, procedure code, modifiers and denial code hold no SSN, phone number or e-mail.",
    ),
    Rule("W01", "DENIAL_CODE_MISSING", "warning", "A denied claim has a denial reason code."),
    Rule(
        "W02",
        "DENIAL_CODE_UNKNOWN",
        "warning",
        "The denial code is a group code (CO, PR, OA, PI, CR) followed by a CARC code, such as CO-45.",
    ),
    Rule(
        "W03",
        "AMOUNT_INCONSISTENT",
        "warning",
        "Paid is not more than allowed, allowed not more than billed, and a denied claim was not paid.",
    ),
    Rule(
        "W04",
        "UNMAPPED_PAYER",
        "warning",
        "The payer has a payer mapping; otherwise its name is kept as given.",
    ),
    Rule(
        "W05",
        "UNMAPPED_CPT_GROUP",
        "warning",
        "The procedure code has a customer or built-in group; otherwise it is grouped as OTHER.",
    ),
    Rule(
        "W06",
        "PHI_IN_FREE_TEXT",
        "warning",
        "The denial reason text holds no SSN, phone number or e-mail; any found is redacted before storage.",
    ),
)
RULES_BY_CODE: dict[str, Rule] = {rule.code: rule for rule in RULES}

ISSUE_SCHEMA: dict[str, pl.DataType] = {
    "row_number": pl.Int64(),
    "column": pl.String(),
    "rule_code": pl.String(),
    "severity": pl.String(),
    "message": pl.String(),
    "value": pl.String(),
}


@dataclass(frozen=True)
class ValidationContext:
    upload_date: datetime.date
    payer_mappings: Mapping[str, str]  # raw payer name, stripped and lower-cased -> normalized name
    cpt_group_mappings: Mapping[str, str]  # the customer's own: CPT, upper-cased -> group
    header_field_count: int


@dataclass
class ValidationResult:
    rows: pl.DataFrame  # one row per input row, same order: __row, __rejected, __warned, normalized values
    issues: pl.DataFrame  # one row per violation, ISSUE_SCHEMA


def _issue_frame(flags: pl.LazyFrame, index: int, check: Check) -> pl.LazyFrame:
    rule = RULES_BY_CODE[check.code]
    where = f"Row {{}}, column {check.column}: " if check.column else "Row {}: "
    value = shown(check.column) if check.shows_value and check.column else pl.lit(None, dtype=pl.String)
    quoted = '"{}" ' if check.shows_value else ""
    template = f"{where}{quoted}{check.detail} [{rule.code} {rule.name}]"
    args = (pl.col("__row"), *((value,) if check.shows_value else ()), *check.args)
    return flags.filter(pl.col(f"__check_{index}")).select(
        pl.col("__row").cast(pl.Int64).alias("row_number"),
        pl.lit(check.column, dtype=pl.String).alias("column"),
        pl.lit(rule.code, dtype=pl.String).alias("rule_code"),
        pl.lit(rule.severity, dtype=pl.String).alias("severity"),
        pl.format(template, *args).alias("message"),
        value.alias("value"),
        pl.lit(index, dtype=pl.Int32).alias("__order"),
    )


def validate_batch(df: pl.DataFrame, ctx: ValidationContext) -> ValidationResult:
    """Validate and normalize one batch (String columns for ALL_COLUMNS, ``__row``, ``__field_count``).

    Issues come sorted by row, then rule code, then column. Cost on a 2-core machine: ~0.13 s per 100,000-row
    batch when few rows have issues, ~0.25 s when nearly every row has one (message building dominates).
    """
    rule_checks = row_checks(upload_date=ctx.upload_date, header_field_count=ctx.header_field_count)
    flags = (
        prepare(
            # One chunk per column: polars 2.1 panics ("assertion failed: i < self.len()") on some
            # multi-chunk inputs, e.g. the sliced frames the CSV reader produces.
            df.rechunk().lazy(),
            header_field_count=ctx.header_field_count,
            payer_mappings=ctx.payer_mappings,
            cpt_group_mappings=ctx.cpt_group_mappings,
        )
        .with_columns(
            *(check.violated.fill_null(False).alias(f"__check_{i}") for i, check in enumerate(rule_checks))
        )
        .collect()
        .lazy()
    )
    by_severity = {
        severity: [
            pl.col(f"__check_{i}")
            for i, c in enumerate(rule_checks)
            if RULES_BY_CODE[c.code].severity == severity
        ]
        for severity in ("error", "warning")
    }
    rejected = pl.any_horizontal(by_severity["error"])
    rows = flags.select(
        pl.col("__row").cast(pl.Int64),
        rejected.alias("__rejected"),
        (~rejected & pl.any_horizontal(by_severity["warning"])).alias("__warned"),
        *normalized_columns(),
    )
    issues = (
        pl.concat([_issue_frame(flags, i, check) for i, check in enumerate(rule_checks)])
        .sort("row_number", "__order")
        .drop("__order")
    )
    rows_df, issues_df = pl.collect_all([rows, issues])
    return ValidationResult(rows=rows_df, issues=issues_df)
