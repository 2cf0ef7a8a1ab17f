"""Deliberate rule violations the claims generator can plant, one per affected row.

Each kind breaks exactly one row rule of SPEC §5 (warnings aside) so ingestion tests can assert exact
per-rule counts; ``ERROR_RULES`` records which rule each kind trips.
"""

from __future__ import annotations

import random
from datetime import date, timedelta

CSV_HEADER: tuple[str, ...] = (
    "claim_number",
    "payer",
    "cpt",
    "modifiers",
    "submitted_date",
    "decided_date",
    "paid_date",
    "outcome",
    "billed_amount",
    "allowed_amount",
    "paid_amount",
    "denial_reason_code",
    "denial_reason_text",
    "patient_account_number",
    "member_id",
    "patient_name",
    "patient_dob",
)

# kind -> rule code (SPEC §5); the order is the order kinds are drawn in, keep it stable.
ERROR_RULES: dict[str, str] = {
    "blank_required": "R02",  # claim_number or payer left blank
    "bad_date": "R04",  # submitted_date that no accepted format parses
    "date_order": "R05",  # decided_date moved before submitted_date
    "future_date": "R06",  # paid_date (PAID) or decided_date (otherwise) in 2099
    "bad_outcome": "R07",  # outcome outside every synonym list
    "bad_cpt": "R08",  # malformed procedure code
    "bad_amount": "R09",  # billed_amount unparseable or outside [0, 10,000,000]
    "duplicate_claim": "R10",  # claim_number of the latest earlier row without a planted error
    "phi_in_payer": "R11",  # an SSN appended to the payer name
}
ERROR_KINDS: tuple[str, ...] = tuple(ERROR_RULES)

_COLUMN = {name: index for index, name in enumerate(CSV_HEADER)}
_BAD_DATES = ("2026-02-30", "13/45/2026", "2026.03.04", "yesterday")
_BAD_OUTCOMES = ("PENDING", "IN REVIEW", "APPEALED", "unknown")
_BAD_CPTS = ("9921", "ABCDE", "992134", "99.213")
_BAD_AMOUNTS = ("-125.00", "12.5.0", "20000000.00", "abc")
_FAR_FUTURE = date(2099, 1, 1)


def plant_error(kind: str, fields: list[str], rng: random.Random, duplicate_of: str | None) -> str:
    """Break ``fields`` (one CSV row, in CSV_HEADER order) in place; return the kind actually planted.

    ``duplicate_of`` is a claim number already written to the file by a clean row; when there is none yet a
    duplicate cannot be made and the row gets a bad outcome instead.
    """
    if kind == "duplicate_claim" and duplicate_of is None:
        kind = "bad_outcome"
    if kind == "blank_required":
        fields[_COLUMN[rng.choice(("claim_number", "payer"))]] = ""
    elif kind == "bad_date":
        fields[_COLUMN["submitted_date"]] = rng.choice(_BAD_DATES)
    elif kind == "date_order":
        submitted = date.fromisoformat(fields[_COLUMN["submitted_date"]])
        fields[_COLUMN["decided_date"]] = (submitted - timedelta(days=rng.randint(1, 10))).isoformat()
    elif kind == "future_date":
        column = "paid_date" if fields[_COLUMN["paid_date"]] else "decided_date"
        fields[_COLUMN[column]] = (_FAR_FUTURE + timedelta(days=rng.randrange(365))).isoformat()
    elif kind == "bad_outcome":
        fields[_COLUMN["outcome"]] = rng.choice(_BAD_OUTCOMES)
    elif kind == "bad_cpt":
        fields[_COLUMN["cpt"]] = rng.choice(_BAD_CPTS)
    elif kind == "bad_amount":
        fields[_COLUMN["billed_amount"]] = rng.choice(_BAD_AMOUNTS)
    elif kind == "duplicate_claim":
        fields[_COLUMN["claim_number"]] = duplicate_of or ""
    elif kind == "phi_in_payer":
        # Area, group and serial stay in the ranges SSN validators accept (no 000, 666 or 9xx areas).
        ssn = f"{rng.randint(100, 665)}-{rng.randint(10, 99)}-{rng.randint(1000, 9999)}"
        fields[_COLUMN["payer"]] = f"{fields[_COLUMN['payer']]} {ssn}"
    else:
        raise ValueError(f"Unknown error kind {kind!r}; expected one of {', '.join(ERROR_KINDS)}.")
    return kind
