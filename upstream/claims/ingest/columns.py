"""The CSV contract's columns (SPEC §4): canonical names, aliases, required set, PHI set, length limits."""

from __future__ import annotations

import re

REQUIRED_COLUMNS: tuple[str, ...] = (
    "claim_number",
    "payer",
    "cpt",
    "submitted_date",
    "decided_date",
    "outcome",
)
PHI_COLUMNS: tuple[str, ...] = ("patient_account_number", "member_id", "patient_name", "patient_dob")
OPTIONAL_COLUMNS: tuple[str, ...] = (
    *PHI_COLUMNS,
    "modifiers",
    "paid_date",
    "billed_amount",
    "allowed_amount",
    "paid_amount",
    "denial_reason_code",
    "denial_reason_text",
)
ALL_COLUMNS: tuple[str, ...] = (*REQUIRED_COLUMNS, *OPTIONAL_COLUMNS)
DATE_COLUMNS: tuple[str, ...] = ("submitted_date", "decided_date", "paid_date", "patient_dob")
AMOUNT_COLUMNS: tuple[str, ...] = ("billed_amount", "allowed_amount", "paid_amount")

ALIASES: dict[str, str] = {
    "claim_id": "claim_number",
    "payer_name": "payer",
    "cpt_code": "cpt",
    "procedure_code": "cpt",
    "status": "outcome",
}

# R03 FIELD_LENGTH: the longest value each column accepts (characters).
MAX_LENGTHS: dict[str, int] = {
    "claim_number": 64,
    "payer": 255,
    "cpt": 16,
    "modifiers": 32,
    "submitted_date": 10,
    "decided_date": 10,
    "paid_date": 10,
    "outcome": 32,
    "billed_amount": 20,
    "allowed_amount": 20,
    "paid_amount": 20,
    "denial_reason_code": 16,
    "denial_reason_text": 1000,
    "patient_account_number": 64,
    "member_id": 64,
    "patient_name": 255,
    "patient_dob": 10,
}

_SEPARATORS = re.compile(r"[\s\-]+")


def canonical_header(name: str) -> str:
    """Header matching of SPEC §4: trimmed, case-insensitive, spaces and dashes as underscores, aliases."""
    key = _SEPARATORS.sub("_", name.strip().lstrip("\ufeff").lower()).strip("_")
    return ALIASES.get(key, key)
