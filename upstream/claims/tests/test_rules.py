"""Validation rules of claims ingestion (claims.ingest.rules): every row rule with literal rows, exact issues
and exact normalized values; PHI never reaching issues; the polars regexes agreeing with core.redaction.
"""

from __future__ import annotations

import datetime
import random
from collections.abc import Mapping, Sequence
from typing import Any

import polars as pl
import pytest

from upstream.claims.ingest import parsing
from upstream.claims.ingest.columns import ALL_COLUMNS, PHI_COLUMNS
from upstream.claims.ingest.cpt_groups import cpt_shape_expr, default_cpt_group_expr
from upstream.claims.ingest.rules import (
    DEFAULT_CPT_GROUPS,
    ISSUE_SCHEMA,
    RULES,
    RULES_BY_CODE,
    ValidationContext,
    ValidationResult,
    default_cpt_group,
    validate_batch,
)
from upstream.core.redaction import EMAIL_PATTERN, PHONE_PATTERN, SSN_PATTERN, scrub

HEADER_FIELDS = 17
UPLOAD_DAY = datetime.date(2026, 3, 1)
CTX = ValidationContext(
    upload_date=UPLOAD_DAY,
    payer_mappings={"aetna": "Aetna Health", "blue cross": "BCBS"},
    cpt_group_mappings={"99213": "OFFICE_VISIT", "00050": "CUSTOM"},
    header_field_count=HEADER_FIELDS,
)

VALID: dict[str, str | None] = {
    "claim_number": "CLM-0001",
    "payer": "Aetna",
    "cpt": "99214",
    "submitted_date": "2026-01-05",
    "decided_date": "2026-01-20",
    "outcome": "paid",
    "patient_account_number": "PA-1",
    "member_id": "M-1",
    "patient_name": "Ann Example",
    "patient_dob": "1980-04-01",
    "modifiers": "25",
    "paid_date": "2026-01-25",
    "billed_amount": "200.00",
    "allowed_amount": "150.00",
    "paid_amount": "120.00",
    "denial_reason_code": None,
    "denial_reason_text": None,
}
VALID_NORMALIZED: dict[str, Any] = {
    "__row": 2,
    "__rejected": False,
    "__warned": False,
    "claim_number": "CLM-0001",
    "payer": "Aetna Health",
    "payer_raw": "Aetna",
    "cpt": "99214",
    "modifiers": "25",
    "cpt_group": "E&M",
    "submitted_date": datetime.date(2026, 1, 5),
    "decided_date": datetime.date(2026, 1, 20),
    "paid_date": datetime.date(2026, 1, 25),
    "outcome": "PAID",
    "billed_cents": 20000,
    "allowed_cents": 15000,
    "paid_cents": 12000,
    "denial_reason_code": None,
    "denial_reason_text": None,
    "patient_account_number": "PA-1",
    "member_id": "M-1",
    "patient_name": "Ann Example",
    "patient_dob": datetime.date(1980, 4, 1),
}
# A denied claim that raises no warning.
DENIED: dict[str, str | None] = {
    **VALID,
    "outcome": "denied",
    "paid_amount": "0",
    "paid_date": None,
    "denial_reason_code": "CO-45",
}

IssueKey = tuple[int, str | None, str, str]


def frame(
    *rows: Mapping[str, str | None], field_counts: Sequence[int] | None = None, first_row: int = 2
) -> pl.DataFrame:
    """An input batch as the reader builds it: String columns, spreadsheet row numbers, field counts."""
    counts = list(field_counts) if field_counts is not None else [HEADER_FIELDS] * len(rows)
    return pl.DataFrame(
        {
            **{column: [row.get(column) for row in rows] for column in ALL_COLUMNS},
            "__row": list(range(first_row, first_row + len(rows))),
            "__field_count": counts,
        },
        schema={**dict.fromkeys(ALL_COLUMNS, pl.String), "__row": pl.Int64, "__field_count": pl.Int32},
    )


def validate(
    *rows: Mapping[str, str | None], ctx: ValidationContext = CTX, **kwargs: Any
) -> ValidationResult:
    return validate_batch(frame(*rows, **kwargs), ctx)


def keys(result: ValidationResult) -> list[IssueKey]:
    return [
        (issue["row_number"], issue["column"], issue["rule_code"], issue["severity"])
        for issue in result.issues.iter_rows(named=True)
    ]


def one_row(**overrides: str | None) -> tuple[list[IssueKey], dict[str, Any]]:
    result = validate({**VALID, **overrides})
    return keys(result), result.rows.row(0, named=True)


def only(rule_code: str, result: ValidationResult) -> list[dict[str, Any]]:
    return [issue for issue in result.issues.iter_rows(named=True) if issue["rule_code"] == rule_code]


# --- the catalog ------------------------------------------------------------------------------------------


def test_catalog_has_the_23_rules_of_the_spec() -> None:
    assert [(rule.code, rule.name, rule.severity) for rule in RULES] == [
        ("F01", "FILE_TYPE", "file"),
        ("F02", "FILE_SIZE", "file"),
        ("F03", "FILE_ENCODING", "file"),
        ("F04", "HEADER", "file"),
        ("F05", "ROW_LIMITS", "file"),
        ("F06", "DUPLICATE_FILE", "file"),
        ("R01", "FIELD_COUNT", "error"),
        ("R02", "REQUIRED_VALUE", "error"),
        ("R03", "FIELD_LENGTH", "error"),
        ("R04", "DATE_FORMAT", "error"),
        ("R05", "DATE_ORDER", "error"),
        ("R06", "DATE_NOT_FUTURE", "error"),
        ("R07", "OUTCOME_VALUE", "error"),
        ("R08", "PROCEDURE_CODE", "error"),
        ("R09", "AMOUNT_VALUE", "error"),
        ("R10", "DUPLICATE_CLAIM_IN_FILE", "error"),
        ("R11", "PHI_IN_CODED_FIELD", "error"),
        ("W01", "DENIAL_CODE_MISSING", "warning"),
        ("W02", "DENIAL_CODE_UNKNOWN", "warning"),
        ("W03", "AMOUNT_INCONSISTENT", "warning"),
        ("W04", "UNMAPPED_PAYER", "warning"),
        ("W05", "UNMAPPED_CPT_GROUP", "warning"),
        ("W06", "PHI_IN_FREE_TEXT", "warning"),
    ]
    assert list(RULES_BY_CODE) == [rule.code for rule in RULES]
    for rule in RULES:
        assert rule.description.endswith(".")
        assert rule.description.count(". ") == 0, rule.code  # one sentence


# --- a valid row and the output shape ---------------------------------------------------------------------


def test_valid_row_has_no_issue_and_is_normalized() -> None:
    result = validate(VALID)

    assert result.issues.height == 0
    assert dict(result.issues.schema) == ISSUE_SCHEMA
    assert result.rows.to_dicts() == [VALID_NORMALIZED]
    assert dict(result.rows.schema) == {
        "__row": pl.Int64,
        "__rejected": pl.Boolean,
        "__warned": pl.Boolean,
        "claim_number": pl.String,
        "payer": pl.String,
        "payer_raw": pl.String,
        "cpt": pl.String,
        "modifiers": pl.String,
        "cpt_group": pl.String,
        "submitted_date": pl.Date,
        "decided_date": pl.Date,
        "paid_date": pl.Date,
        "outcome": pl.String,
        "billed_cents": pl.Int64,
        "allowed_cents": pl.Int64,
        "paid_cents": pl.Int64,
        "denial_reason_code": pl.String,
        "denial_reason_text": pl.String,
        "patient_account_number": pl.String,
        "member_id": pl.String,
        "patient_name": pl.String,
        "patient_dob": pl.Date,
    }


def test_values_are_trimmed_and_absent_optionals_are_null() -> None:
    row = {**{c: f"  {v}\t" for c, v in VALID.items() if v is not None}, "modifiers": None, "paid_date": " "}
    row.update(billed_amount=None, allowed_amount=None, paid_amount=None, member_id=None)

    result = validate(row)

    assert keys(result) == []
    assert result.rows.to_dicts() == [
        {
            **VALID_NORMALIZED,
            "modifiers": None,
            "paid_date": None,
            "billed_cents": None,
            "allowed_cents": None,
            "paid_cents": None,
            "member_id": None,
        }
    ]


def test_empty_batch() -> None:
    result = validate()

    assert result.rows.height == 0
    assert result.issues.height == 0
    assert dict(result.issues.schema) == ISSUE_SCHEMA


# --- R01 FIELD_COUNT ----------------------------------------------------------------------------------------


def test_r01_field_count_reports_only_r01() -> None:
    broken = {**VALID, "cpt": "bad", "outcome": "maybe", "payer": None, "billed_amount": "-1"}
    result = validate(broken, VALID, field_counts=[16, HEADER_FIELDS])

    assert keys(result) == [(2, None, "R01", "error")]
    assert result.issues.row(0, named=True) == {
        "row_number": 2,
        "column": None,
        "rule_code": "R01",
        "severity": "error",
        "message": "Row 2: the row has 16 fields but the header has 17 [R01 FIELD_COUNT]",
        "value": None,
    }
    assert result.rows["__rejected"].to_list() == [True, False]
    assert result.rows.row(1, named=True) == {**VALID_NORMALIZED, "__row": 3}


# --- R02 REQUIRED_VALUE -------------------------------------------------------------------------------------


def test_r02_blank_required_values() -> None:
    result = validate({**VALID, "payer": "   ", "outcome": None, "member_id": ""})

    assert keys(result) == [(2, "payer", "R02", "error"), (2, "outcome", "R02", "error")]
    assert result.issues["message"].to_list() == [
        "Row 2, column payer: a required value is blank [R02 REQUIRED_VALUE]",
        "Row 2, column outcome: a required value is blank [R02 REQUIRED_VALUE]",
    ]
    assert result.issues["value"].to_list() == [None, None]
    assert result.rows.row(0, named=True)["__rejected"] is True


def test_r02_every_required_column() -> None:
    blanks = dict.fromkeys(("claim_number", "payer", "cpt", "submitted_date", "decided_date", "outcome"), " ")

    assert one_row(**blanks)[0] == [
        (2, column, "R02", "error")
        for column in ("claim_number", "payer", "cpt", "submitted_date", "decided_date", "outcome")
    ]


# --- R03 FIELD_LENGTH ---------------------------------------------------------------------------------------


def test_r03_too_long_value_is_reported_truncated() -> None:
    result = validate({**VALID, "claim_number": "C" * 65})

    assert keys(result) == [(2, "claim_number", "R03", "error")]
    issue = result.issues.row(0, named=True)
    assert issue["value"] == "C" * 64 + "…"
    assert issue["message"] == (
        f'Row 2, column claim_number: "{"C" * 64}…" is 65 characters long; the maximum is 64 '
        "[R03 FIELD_LENGTH]"
    )


def test_r03_at_the_limit_is_accepted() -> None:
    issues, row = one_row(claim_number=" " + "C" * 64 + " ")

    assert issues == []
    assert row["claim_number"] == "C" * 64


def test_r03_skips_further_checks_of_the_column() -> None:
    # Too long and also not a code, a date or an amount: only R03 is reported for each column.
    issues, row = one_row(cpt="X" * 17, decided_date="2026-01-20-later", billed_amount="1" * 21)

    assert issues == [
        (2, "cpt", "R03", "error"),
        (2, "decided_date", "R03", "error"),
        (2, "billed_amount", "R03", "error"),
    ]
    assert (row["cpt"], row["decided_date"], row["billed_cents"]) == (None, None, None)


def test_r03_phi_column_value_is_redacted() -> None:
    result = validate({**VALID, "patient_name": "Bartholomew " * 30})

    assert keys(result) == [(2, "patient_name", "R03", "error")]
    issue = result.issues.row(0, named=True)
    assert issue["value"] == "[REDACTED]"
    assert issue["message"] == (
        'Row 2, column patient_name: "[REDACTED]" is 359 characters long; the maximum is 255 '
        "[R03 FIELD_LENGTH]"
    )


# --- R04 DATE_FORMAT ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-01-05", datetime.date(2026, 1, 5)),
        ("01/05/2026", datetime.date(2026, 1, 5)),
        ("2026/01/05", datetime.date(2026, 1, 5)),
        ("1/5/2026", datetime.date(2026, 1, 5)),
        ("2026-1-5", datetime.date(2026, 1, 5)),
        ("2024-02-29", datetime.date(2024, 2, 29)),
        ("12/31/2025", datetime.date(2025, 12, 31)),
    ],
)
def test_r04_accepted_date_formats(text: str, expected: datetime.date) -> None:
    issues, row = one_row(submitted_date=text)

    assert issues == []
    assert row["submitted_date"] == expected


@pytest.mark.parametrize(
    "text",
    [
        "2026-02-30",
        "02/30/2026",
        "2025-02-29",
        "2026-13-01",
        "13/45/2026",
        "20260105",
        "2026.01.05",
        "05-01-2026",
        "2026-01/05",
        "Jan 5 2026",
        "26-01-05",
        "2026-01-5x",
    ],
)
def test_r04_invalid_dates(text: str) -> None:
    issues, row = one_row(submitted_date=text)

    assert issues == [(2, "submitted_date", "R04", "error")]
    assert row["submitted_date"] is None


def test_r04_message_and_every_date_column() -> None:
    rows = [{**VALID, "decided_date": "13/45/2026", "paid_date": None}]
    rows.append({**VALID, "paid_date": "2026-02-30", "patient_dob": "1980-02-30", "submitted_date": "x"})
    result = validate(*rows, first_row=12)

    assert keys(result) == [
        (12, "decided_date", "R04", "error"),
        (13, "submitted_date", "R04", "error"),
        (13, "paid_date", "R04", "error"),
        (13, "patient_dob", "R04", "error"),
    ]
    assert result.issues.row(0, named=True)["message"] == (
        'Row 12, column decided_date: "13/45/2026" is not a valid date (use YYYY-MM-DD, MM/DD/YYYY or '
        "YYYY/MM/DD) [R04 DATE_FORMAT]"
    )
    assert result.issues["value"].to_list() == ["13/45/2026", "x", "2026-02-30", "[REDACTED]"]


# --- R05 DATE_ORDER -----------------------------------------------------------------------------------------


def test_r05_decided_before_submitted() -> None:
    result = validate({**VALID, "decided_date": "2026-01-04", "paid_date": None})

    assert keys(result) == [(2, "decided_date", "R05", "error")]
    assert result.issues["message"].to_list() == [
        'Row 2, column decided_date: "2026-01-04" is before submitted_date 2026-01-05 [R05 DATE_ORDER]'
    ]


def test_r05_paid_before_decided() -> None:
    result = validate({**VALID, "paid_date": "01/19/2026"})

    assert keys(result) == [(2, "paid_date", "R05", "error")]
    assert result.issues["message"].to_list() == [
        'Row 2, column paid_date: "01/19/2026" is before decided_date 2026-01-20 [R05 DATE_ORDER]'
    ]


def test_r05_same_day_and_missing_paid_date_are_in_order() -> None:
    same_day = {**VALID, "submitted_date": "2026-01-20", "paid_date": "2026/01/20"}
    result = validate(same_day, {**VALID, "paid_date": None})

    assert keys(result) == []
    assert result.rows["paid_date"].to_list() == [datetime.date(2026, 1, 20), None]


# --- R06 DATE_NOT_FUTURE ------------------------------------------------------------------------------------


def test_r06_dates_after_the_upload_day() -> None:
    result = validate({**VALID, "decided_date": "2026-03-02", "paid_date": None, "patient_dob": "03/02/2026"})

    assert keys(result) == [(2, "decided_date", "R06", "error"), (2, "patient_dob", "R06", "error")]
    assert result.issues["message"].to_list() == [
        'Row 2, column decided_date: "2026-03-02" is after the upload date 2026-03-01 [R06 DATE_NOT_FUTURE]',
        'Row 2, column patient_dob: "[REDACTED]" is after the upload date 2026-03-01 [R06 DATE_NOT_FUTURE]',
    ]


def test_r06_upload_day_itself_is_allowed() -> None:
    issues, row = one_row(decided_date="2026-03-01", paid_date="2026-03-01", patient_dob="2026-03-01")

    assert issues == []
    assert row["paid_date"] == UPLOAD_DAY


# --- R07 OUTCOME_VALUE --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("paid", "PAID"),
        (" Approved ", "PAID"),
        ("ACCEPTED", "PAID"),
        ("denied", "DENIED"),
        ("Rejected", "DENIED"),
        ("declined", "DENIED"),
        ("OTHER", "OTHER"),
        ("adjusted", "OTHER"),
        ("Partial", "OTHER"),
    ],
)
def test_r07_outcome_synonyms(text: str, expected: str) -> None:
    issues, row = one_row(**{**DENIED, "outcome": text})

    assert issues == []
    assert row["outcome"] == expected


@pytest.mark.parametrize("text", ["pending", "paid!", "P", "denied partially"])
def test_r07_unknown_outcome(text: str) -> None:
    issues, row = one_row(outcome=text)

    assert issues == [(2, "outcome", "R07", "error")]
    assert row["outcome"] is None


# --- R08 PROCEDURE_CODE -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "code", "group"),
    [
        ("99214", "99214", "E&M"),
        (" 0001f ", "0001F", "CAT_II"),
        ("0042T", "0042T", "CAT_III"),
        ("j1100", "J1100", "HCPCS_DRUG"),
        ("G0008", "G0008", "HCPCS_OTHER"),
        ("99213", "99213", "OFFICE_VISIT"),  # the customer's mapping wins over the built-in E&M
    ],
)
def test_r08_valid_procedure_codes(text: str, code: str, group: str) -> None:
    issues, row = one_row(cpt=text)

    assert issues == []
    assert (row["cpt"], row["cpt_group"]) == (code, group)


@pytest.mark.parametrize("text", ["9921", "992134", "ABCDE", "0001X", "JJ100", "99213-25", "٩٩٢١٣"])
def test_r08_invalid_procedure_codes(text: str) -> None:
    issues, row = one_row(cpt=text)

    assert issues == [(2, "cpt", "R08", "error")]
    assert (row["cpt"], row["cpt_group"]) == (None, None)


@pytest.mark.parametrize(
    ("text", "canonical"),
    [
        ("25", "25"),
        ("25,59", "25,59"),
        ("25 59", "25,59"),
        ("25;59", "25,59"),
        ("25:59", "25,59"),
        ("25-59", "25,59"),
        ("lt, rt", "LT,RT"),
        ("25, 59 ; 76-77", "25,59,76,77"),
    ],
)
def test_r08_valid_modifiers(text: str, canonical: str) -> None:
    issues, row = one_row(modifiers=text)

    assert issues == []
    assert row["modifiers"] == canonical


@pytest.mark.parametrize("text", ["25,59,76,77,78", "255", "2", "25,,59", "25/59", "25,"])
def test_r08_invalid_modifiers(text: str) -> None:
    issues, row = one_row(modifiers=text)

    assert issues == [(2, "modifiers", "R08", "error")]
    assert row["modifiers"] is None


# --- R09 AMOUNT_VALUE ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "cents"),
    [
        ("$1,234.56", 123456),
        ("1234.5", 123450),
        ("1,234", 123400),
        ("0", 0),
        ("$0.99", 99),
        ("0.29", 29),
        ("10,000,000.00", 1_000_000_000),
        ("10000000", 1_000_000_000),
    ],
)
def test_r09_valid_amounts(text: str, cents: int) -> None:
    issues, row = one_row(billed_amount=text, allowed_amount=None, paid_amount=None)

    assert issues == []
    assert row["billed_cents"] == cents


@pytest.mark.parametrize(
    "text",
    [
        "1,23.00",
        "1.234",
        "-5",
        "$-5",
        "10000000.01",
        "10,000,001",
        "12.",
        ".50",
        "abc",
        "1 234",
        "1234,567",
        "$$5",
    ],
)
def test_r09_invalid_amounts(text: str) -> None:
    issues, row = one_row(billed_amount=text, allowed_amount=None, paid_amount=None)

    assert issues == [(2, "billed_amount", "R09", "error")]
    assert row["billed_cents"] is None


def test_r09_one_issue_per_bad_column() -> None:
    result = validate({**VALID, "billed_amount": "1.234", "allowed_amount": "ten", "paid_amount": "5"})

    assert keys(result) == [(2, "billed_amount", "R09", "error"), (2, "allowed_amount", "R09", "error")]
    assert result.issues["message"].to_list()[1] == (
        'Row 2, column allowed_amount: "ten" is not an amount between 0 and 10,000,000 (digits, optional $ '
        "and thousands separators, at most two decimals) [R09 AMOUNT_VALUE]"
    )


# --- R11 PHI_IN_CODED_FIELD ---------------------------------------------------------------------------------


def test_r11_phi_in_coded_fields_is_reported_scrubbed() -> None:
    result = validate(
        {
            **VALID,
            "claim_number": "123-45-6789",
            "payer": "Call 555-123-4567",
            "cpt": "(555)123-4567",
            "modifiers": "a@b.co",
            "outcome": "denied",
            "paid_amount": "0",
            "denial_reason_code": "x@y.com",
        }
    )

    # A coded value that holds PHI is not checked further: no R08, W02, W04 for those columns.
    assert keys(result) == [
        (2, "claim_number", "R11", "error"),
        (2, "payer", "R11", "error"),
        (2, "cpt", "R11", "error"),
        (2, "modifiers", "R11", "error"),
        (2, "denial_reason_code", "R11", "error"),
    ]
    assert result.issues["value"].to_list() == [
        "[REDACTED-SSN]",
        "Call [REDACTED-PHONE]",
        "[REDACTED-PHONE]",
        "[REDACTED-EMAIL]",
        "[REDACTED-EMAIL]",
    ]
    assert result.issues["message"].to_list()[1] == (
        'Row 2, column payer: "Call [REDACTED-PHONE]" contains an SSN, phone number or e-mail address '
        "[R11 PHI_IN_CODED_FIELD]"
    )
    row = result.rows.row(0, named=True)
    assert (row["claim_number"], row["payer"], row["cpt"], row["denial_reason_code"]) == (
        None,
        None,
        None,
        None,
    )


def test_r11_identifiers_that_look_like_numbers_are_not_phi() -> None:
    issues, row = one_row(claim_number="CLM-000-123-4567", payer="Plan 1234567893")

    assert issues == [(2, "payer", "W04", "warning")]
    assert (row["claim_number"], row["payer"]) == ("CLM-000-123-4567", "Plan 1234567893")


# --- W01 DENIAL_CODE_MISSING --------------------------------------------------------------------------------


def test_w01_denied_without_denial_code() -> None:
    result = validate({**DENIED, "denial_reason_code": "  "}, DENIED)

    assert keys(result) == [(2, "denial_reason_code", "W01", "warning")]
    assert result.issues.row(0, named=True)["message"] == (
        "Row 2, column denial_reason_code: the claim is DENIED but has no denial reason code "
        "[W01 DENIAL_CODE_MISSING]"
    )
    assert result.rows.select("__rejected", "__warned", "denial_reason_code").rows() == [
        (False, True, None),
        (False, False, "CO-45"),
    ]


def test_w01_paid_claim_needs_no_denial_code() -> None:
    assert one_row(denial_reason_code=None)[0] == []


# --- W02 DENIAL_CODE_UNKNOWN --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "stored"),
    [
        ("CO-45", "CO-45"),
        ("co45", "CO45"),
        ("PR-1", "PR-1"),
        (" CO-A1 ", "CO-A1"),
        ("oa-b7", "OA-B7"),
        ("PI-123", "PI-123"),
        ("CR-B12", "CR-B12"),
    ],
)
def test_w02_known_denial_codes(text: str, stored: str) -> None:
    issues, row = one_row(**{**DENIED, "denial_reason_code": text})

    assert issues == []
    assert row["denial_reason_code"] == stored


@pytest.mark.parametrize("text", ["XX-45", "CO-1234", "CO-AB", "45", "CO-A123", "CO 45", "N-45"])
def test_w02_unknown_denial_codes(text: str) -> None:
    issues, row = one_row(**{**DENIED, "denial_reason_code": text})

    assert issues == [(2, "denial_reason_code", "W02", "warning")]
    assert row["denial_reason_code"] == text.upper()
    assert (row["__rejected"], row["__warned"]) == (False, True)


# --- W03 AMOUNT_INCONSISTENT --------------------------------------------------------------------------------


def test_w03_inconsistent_amounts() -> None:
    rows = [
        {**VALID, "allowed_amount": "250.00"},  # allowed > billed
        {**VALID, "paid_amount": "150.01"},  # paid > allowed
        {**DENIED, "paid_amount": "10"},  # denied and paid
        {**DENIED, "paid_amount": "$150.01"},  # both
    ]
    result = validate(*rows)

    assert keys(result) == [
        (2, "allowed_amount", "W03", "warning"),
        (3, "paid_amount", "W03", "warning"),
        (4, "paid_amount", "W03", "warning"),
        (5, "paid_amount", "W03", "warning"),
    ]
    assert result.issues["message"].to_list() == [
        'Row 2, column allowed_amount: "250.00" is more than billed_amount 200.00 [W03 AMOUNT_INCONSISTENT]',
        'Row 3, column paid_amount: "150.01" is more than allowed_amount 150.00 [W03 AMOUNT_INCONSISTENT]',
        'Row 4, column paid_amount: "10" is more than 0 on a DENIED claim [W03 AMOUNT_INCONSISTENT]',
        'Row 5, column paid_amount: "$150.01" is more than allowed_amount 150.00 and the claim is DENIED '
        "[W03 AMOUNT_INCONSISTENT]",
    ]
    assert result.rows["__warned"].to_list() == [True, True, True, True]


def test_w03_consistent_or_incomplete_amounts() -> None:
    rows = [
        {**VALID, "billed_amount": "150", "allowed_amount": "150", "paid_amount": "150"},
        {**VALID, "allowed_amount": None, "paid_amount": "999"},  # nothing to compare paid with
        {**DENIED, "paid_amount": None},
        {**DENIED, "paid_amount": "$0.00"},
    ]

    assert keys(validate(*rows)) == []


# --- W04 UNMAPPED_PAYER -------------------------------------------------------------------------------------


def test_w04_unmapped_payer_keeps_the_raw_name() -> None:
    result = validate({**VALID, "payer": " Cigna  West "}, {**VALID, "payer": "  BLUE Cross "})

    assert keys(result) == [(2, "payer", "W04", "warning")]
    assert result.issues.row(0, named=True)["message"] == (
        'Row 2, column payer: "Cigna  West" has no payer mapping; the name is kept as given '
        "[W04 UNMAPPED_PAYER]"
    )
    assert result.rows.select("payer", "payer_raw", "__warned").rows() == [
        ("Cigna  West", "Cigna  West", True),
        ("BCBS", "BLUE Cross", False),
    ]


def test_w04_mapping_keys_are_normalized() -> None:
    ctx = ValidationContext(
        upload_date=UPLOAD_DAY,
        payer_mappings={" AETNA ": "Aetna Health"},
        cpt_group_mappings={},
        header_field_count=HEADER_FIELDS,
    )
    result = validate(VALID, ctx=ctx)

    assert keys(result) == []
    assert result.rows["payer"].to_list() == ["Aetna Health"]


# --- W05 UNMAPPED_CPT_GROUP ---------------------------------------------------------------------------------


def test_w05_code_without_any_group() -> None:
    result = validate({**VALID, "cpt": "99999"}, {**VALID, "cpt": "00050"})

    assert keys(result) == [(2, "cpt", "W05", "warning")]
    assert result.issues.row(0, named=True)["message"] == (
        'Row 2, column cpt: "99999" has no customer or built-in CPT group; it is grouped as OTHER '
        "[W05 UNMAPPED_CPT_GROUP]"
    )
    assert result.rows.select("cpt", "cpt_group", "__warned").rows() == [
        ("99999", "OTHER", True),
        ("00050", "CUSTOM", False),  # no built-in group, but the customer's mapping has one
    ]


# --- W06 PHI_IN_FREE_TEXT -----------------------------------------------------------------------------------


def test_w06_phi_in_denial_text_is_redacted() -> None:
    rows = [
        {**VALID, "denial_reason_text": " Patient called from 555-123-4567, SSN 123-45-6789 "},
        {**VALID, "denial_reason_text": "Contractual obligation"},
        {**VALID, "denial_reason_text": "see MRN 778899"},  # MRNs are scrubbed but are not W06 PHI
    ]
    result = validate(*rows)

    assert keys(result) == [(2, "denial_reason_text", "W06", "warning")]
    assert result.issues.row(0, named=True) == {
        "row_number": 2,
        "column": "denial_reason_text",
        "rule_code": "W06",
        "severity": "warning",
        "message": 'Row 2, column denial_reason_text: "Patient called from [REDACTED-PHONE], SSN '
        '[REDACTED-SSN]" contains an SSN, phone number or e-mail address; it is redacted before storage '
        "[W06 PHI_IN_FREE_TEXT]",
        "value": "Patient called from [REDACTED-PHONE], SSN [REDACTED-SSN]",
    }
    assert result.rows.select("denial_reason_text", "__warned").rows() == [
        ("Patient called from [REDACTED-PHONE], SSN [REDACTED-SSN]", True),
        ("Contractual obligation", False),
        ("see [REDACTED-MRN]", False),
    ]


# --- a mixed batch ------------------------------------------------------------------------------------------


def test_mixed_batch_counts_and_flags() -> None:
    rows = [
        VALID,  # 2: clean
        {**VALID, "cpt": "abc", "payer": "Cigna"},  # 3: R08 + W04 -> rejected, not warned
        {**VALID, "payer": "Cigna"},  # 4: W04 -> warned
        {**VALID, "outcome": "maybe", "billed_amount": "-5"},  # 5: R07 + R09
        {**DENIED, "denial_reason_code": None, "cpt": "99999"},  # 6: W01 + W05
        {**VALID, "submitted_date": "2026-02-30", "decided_date": None},  # 7: R04 + R02
        VALID,  # 8: R01 (field count below)
        {**VALID, "claim_number": "SSN 123-45-6789", "denial_reason_text": "a@b.com"},  # 9: R11 + W06
        {**VALID, "paid_date": "2026-01-01", "allowed_amount": "300"},  # 10: R05 + W03
        {**VALID, "patient_dob": "2027-01-01"},  # 11: R06
    ]
    counts = [HEADER_FIELDS] * len(rows)
    counts[6] = 18
    result = validate(*rows, field_counts=counts)

    per_rule = dict(result.issues.group_by("rule_code").len().sort("rule_code").rows())
    assert per_rule == {
        "R01": 1,
        "R02": 1,
        "R04": 1,
        "R05": 1,
        "R06": 1,
        "R07": 1,
        "R08": 1,
        "R09": 1,
        "R11": 1,
        "W01": 1,
        "W03": 1,
        "W04": 2,
        "W05": 1,
        "W06": 1,
    }
    assert result.issues["row_number"].to_list() == [3, 3, 4, 5, 5, 6, 6, 7, 7, 8, 9, 9, 10, 10, 11]
    assert result.rows.select("__row", "__rejected", "__warned").rows() == [
        (2, False, False),
        (3, True, False),
        (4, False, True),
        (5, True, False),
        (6, False, True),
        (7, True, False),
        (8, True, False),
        (9, True, False),
        (10, True, False),
        (11, True, False),
    ]


# --- PHI never in issues ------------------------------------------------------------------------------------

SECRETS = ("Zebulon Quixote", "MBR-SECRET-777", "ACCT-HIDDEN-42", "1901-13-45", "2099-07-04")
PLANTED_PHI = ("123-45-6789", "555-867-5309", "jane.doe@example.com", "778899")


def test_phi_never_appears_in_issues() -> None:
    phi: dict[str, str | None] = {
        "patient_name": "Zebulon Quixote",
        "member_id": "MBR-SECRET-777",
        "patient_account_number": "ACCT-HIDDEN-42",
    }
    rows = [
        {**VALID, **phi, "patient_dob": "1901-13-45"},  # R04 on a PHI date
        {**VALID, **phi, "patient_dob": "2099-07-04"},  # R06 on a PHI date
        {**VALID, **phi, "patient_name": "Zebulon Quixote " * 20},  # R03 on a PHI column
        {**VALID, **phi, "claim_number": "123-45-6789", "payer": "555-867-5309"},  # R11
        {**VALID, **phi, "denial_reason_text": "mail jane.doe@example.com, MRN 778899"},  # W06
        {**VALID, **phi, "cpt": "bad", "denial_reason_code": "jane.doe@example.com"},  # R08 + R11
        {**VALID, **phi, "outcome": "?"},
    ]
    result = validate(*rows, field_counts=[HEADER_FIELDS] * 6 + [3])

    assert result.issues.height == 9
    text_cells = [str(cell) for row in result.issues.rows() for cell in row if cell is not None]
    for secret in (*SECRETS, *PLANTED_PHI):
        assert not any(secret in cell for cell in text_cells), secret
    phi_issues = result.issues.filter(pl.col("column").is_in(PHI_COLUMNS))
    assert phi_issues["column"].to_list() == ["patient_dob", "patient_dob", "patient_name"]
    assert phi_issues["value"].to_list() == ["[REDACTED]"] * 3


# --- the polars regexes agree with core.redaction -----------------------------------------------------------

SCRUB_VECTORS = [
    "SSN 123-45-6789 on file",
    "ssn:123 45 6789.",
    "(123-45-6789)",
    "call 555-123-4567 now",
    "call 555.123.4567 now",
    "call 555 123 4567 now",
    "call (555) 123-4567 now",
    "call (555)123-4567 now",
    "call +1 555 123 4567 now",
    "call +1 (555) 123-4567 now",
    "call 1-800-555-1234 now",
    "call +15551234567 now",
    "mail jane.doe+claims@example.co.uk today",
    "from J_Roe99@clinic-north.org",
    "MRN: 00123456 admitted",
    "patient mrn=AB-1234",
    "MRN#A1234",
    "MRN 778899",
    "Medical record number 778899",
    "medical record no. 12345,",
    "Service date 2026-01-15",
    "dates 01/15/2026 and 2026/01/15",
    "claim CLM-000-123-4567",
    "paid $1,234,567.89 of 2,000,000.00",
    "NPI 1234567893",
    "MRN field is required",
    "1123-45-6789 and 123-45-67890",
    "123-45-6789 123-45-6789-123-45-6789 123 45 6789",
    "555-123-4567+1555-123-4567",
    "555-123-4567,555-123-4567;555-123-4567",
    "",
]


def _polars_scrub(texts: Sequence[str]) -> list[str]:
    return pl.Series("t", texts, dtype=pl.String).to_frame().select(parsing.scrub(pl.col("t")))["t"].to_list()


def _random_texts(count: int) -> list[str]:
    rnd = random.Random(20260301)
    pieces = [*"0123456789" * 3, *" -.()+@:#=/aMRNbxz_,", "MRN", "mrn ", "medical record no. ", "1-", "+1"]
    pieces += ["@ex.com", "555-123-4567", "123-45-6789", "123 45 6789", "+15551234567", "(555)"]
    return ["".join(rnd.choice(pieces) for _ in range(rnd.randint(0, 25))) for _ in range(count)]


def test_polars_scrub_agrees_with_python_scrub() -> None:
    texts = SCRUB_VECTORS + _random_texts(20_000)

    assert _polars_scrub(texts) == [scrub(text) for text in texts]


def test_polars_scrub_known_difference_leaves_no_phi() -> None:
    # Two numbers one character apart, the second with a country code: the "+" stays outside the label.
    text = "555-123-4567 +1 555 123 4567"

    assert scrub(text) == "[REDACTED-PHONE] [REDACTED-PHONE]"
    assert _polars_scrub([text]) == ["[REDACTED-PHONE] +[REDACTED-PHONE]"]


def test_polars_phi_detection_agrees_with_python_patterns() -> None:
    texts = SCRUB_VECTORS + _random_texts(20_000)
    detected = pl.Series("t", texts, dtype=pl.String).to_frame().select(parsing.has_phi(pl.col("t")))["t"]

    expected = [any(p.search(text) for p in (SSN_PATTERN, PHONE_PATTERN, EMAIL_PATTERN)) for text in texts]
    assert detected.to_list() == expected
    assert sum(expected) > 5_000  # the corpus exercises both outcomes


# --- the built-in CPT groups --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "group"),
    [
        ("00100", "ANESTHESIA"),
        ("01999", "ANESTHESIA"),
        ("10004", "SURGERY"),
        ("69990", "SURGERY"),
        ("70010", "RADIOLOGY"),
        ("79999", "RADIOLOGY"),
        ("80047", "LAB"),
        ("89398", "LAB"),
        ("90281", "MEDICINE"),
        ("97009", "MEDICINE"),
        ("97010", "THERAPY"),
        ("97799", "THERAPY"),
        ("97800", "MEDICINE"),
        ("99199", "MEDICINE"),
        ("99202", "E&M"),
        ("99499", "E&M"),
        ("99500", "MEDICINE"),
        ("0001F", "CAT_II"),
        ("0042T", "CAT_III"),
        ("J1100", "HCPCS_DRUG"),
        ("E0114", "HCPCS_DME"),
        ("K0001", "HCPCS_DME"),
        ("L3000", "HCPCS_DME"),
        ("G0008", "HCPCS_OTHER"),
        ("A0425", "HCPCS_OTHER"),
        (" j1100 ", "HCPCS_DRUG"),
        ("00099", "OTHER"),
        ("10003", "OTHER"),
        ("99201", "OTHER"),
        ("99999", "OTHER"),
        ("9921", "OTHER"),
        ("abc", "OTHER"),
    ],
)
def test_default_cpt_group(code: str, group: str) -> None:
    assert default_cpt_group(code) == group


def test_default_cpt_groups_python_and_polars_agree() -> None:
    numeric = [f"{n:05d}" for n in range(100_000)]
    category = [f"{n:04d}{suffix}" for n in range(0, 10_000, 7) for suffix in "FTU"]
    hcpcs = [f"{letter}{n:04d}" for letter in "ABEGJKLQVZ" for n in range(0, 10_000, 97)]
    codes = [*numeric, *category, *hcpcs, "", "ABCDE", "1234", "J12345"]
    table = pl.DataFrame({"code": codes}).with_columns(shape=cpt_shape_expr(pl.col("code")))
    vectorised = table.select(
        default_cpt_group_expr(pl.col("code"), pl.col("shape")).fill_null("OTHER").alias("group")
    )["group"].to_list()

    assert vectorised == [default_cpt_group(code) for code in codes]
    assert {entry.group for entry in DEFAULT_CPT_GROUPS} <= set(vectorised)
