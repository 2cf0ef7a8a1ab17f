"""OpenAPI examples of the claims endpoints (synthetic values; no real PHI)."""

from __future__ import annotations

from typing import Any

RULE: dict[str, Any] = {
    "code": "R04",
    "name": "DATE_FORMAT",
    "severity": "error",
    "description": "Every date parses as YYYY-MM-DD, MM/DD/YYYY or YYYY/MM/DD.",
}
UPLOAD: dict[str, Any] = {
    "id": 42,
    "filename": "claims-2026-11.csv.gz",
    "size_bytes": 18234567,
    "sha256": "9f2c4e0b7a1d3c5e8f6a2b4d1c3e5f7a9b0d2c4e6f8a1b3c5d7e9f0a2b4c6d8e",
    "status": "partial",
    "uploaded_by": 7,
    "total_rows": 200000,
    "processed_rows": 200000,
    "accepted_rows": 199874,
    "rejected_rows": 126,
    "warned_rows": 3120,
    "inserted_rows": 150012,
    "updated_rows": 812,
    "unchanged_rows": 49050,
    "rules": [
        {"code": "R04", "name": "DATE_FORMAT", "severity": "error", "count": 101},
        {"code": "R10", "name": "DUPLICATE_CLAIM_IN_FILE", "severity": "error", "count": 25},
        {"code": "W04", "name": "UNMAPPED_PAYER", "severity": "warning", "count": 3120},
    ],
    "issues_stored": 3246,
    "notes": [
        {
            "level": "info",
            "code": "UNKNOWN_COLUMNS",
            "message": "Ignored columns not in the contract: rendering_npi",
        }
    ],
    "date_min": "2026-05-18",
    "date_max": "2026-11-14",
    "error_code": "",
    "error_message": "",
    "created_at": "2026-11-23T09:00:00Z",
    "started_at": "2026-11-23T09:00:01Z",
    "finished_at": "2026-11-23T09:00:09Z",
}
UPLOAD_QUEUED: dict[str, Any] = {
    **UPLOAD,
    "status": "queued",
    "total_rows": 0,
    "processed_rows": 0,
    "accepted_rows": 0,
    "rejected_rows": 0,
    "warned_rows": 0,
    "inserted_rows": 0,
    "updated_rows": 0,
    "unchanged_rows": 0,
    "rules": [],
    "issues_stored": 0,
    "notes": [],
    "date_min": None,
    "date_max": None,
    "started_at": None,
    "finished_at": None,
}
ISSUE: dict[str, Any] = {
    "id": 9001,
    "row_number": 12,
    "column": "decided_date",
    "rule_code": "R04",
    "rule_name": "DATE_FORMAT",
    "severity": "error",
    "message": 'Row 12, column decided_date: "13/45/2026" is not a valid date (use YYYY-MM-DD, MM/DD/YYYY or '
    "YYYY/MM/DD) [R04 DATE_FORMAT]",
    "value": "13/45/2026",
}
UPLOAD_STATS: dict[str, Any] = {
    "uploads": 12,
    "by_status": {"succeeded": 9, "partial": 2, "failed": 1},
    "rows_total": 2400000,
    "rows_accepted": 2399120,
    "rows_rejected": 880,
    "rows_inserted": 1200000,
    "rows_updated": 15000,
    "claims_stored": 1200000,
    "last_upload_at": "2026-11-23T09:00:00Z",
}
CLAIM: dict[str, Any] = {
    "id": 1001,
    "claim_number": "CLM-3F2A-00000001",
    "upload": 42,
    "payer": "Aetna",
    "payer_raw": "AETNA INC.",
    "cpt": "99213",
    "modifiers": "25",
    "cpt_group": "E&M",
    "submitted_date": "2026-10-01",
    "decided_date": "2026-10-15",
    "paid_date": None,
    "outcome": "DENIED",
    "billed_amount": "245.00",
    "allowed_amount": "0.00",
    "paid_amount": "0.00",
    "denial_reason_code": "CO-97",
    "denial_reason_text": "Payment is included in the allowance for another service",
    "patient_account_number": "PA00000000",
    "member_id": "XYZ000000000",
    "patient_name": "Test Patient",
    "patient_dob": "1980-01-01",
    "created_at": "2026-11-23T09:00:09Z",
    "updated_at": "2026-11-23T09:00:09Z",
}
PAYER_SUMMARY: dict[str, Any] = {
    "payer": "Aetna",
    "claims": 48210,
    "paid": 41002,
    "denied": 6812,
    "other": 396,
    "denial_rate": 0.1425,
    "billed_total": "11820450.00",
    "paid_total": "6120334.12",
    "denied_billed_total": "1690230.00",
}
PAYER_MAPPING: dict[str, Any] = {
    "id": 3,
    "raw_name": "AETNA INC.",
    "normalized_name": "Aetna",
    "created_at": "2026-11-23T09:00:00Z",
    "updated_at": "2026-11-23T09:00:00Z",
}
CPT_MAPPING: dict[str, Any] = {
    "id": 5,
    "cpt": "99213",
    "group": "E&M",
    "created_at": "2026-11-23T09:00:00Z",
    "updated_at": "2026-11-23T09:00:00Z",
}
