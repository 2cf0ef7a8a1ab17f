"""Pattern-based PHI redaction: SSNs, phone numbers, e-mail addresses and MRNs.

Pure functions, no Django imports. Used by the logging filter (second line of defence) and by validation rules
that look for PHI in coded or free-text fields.
"""

from __future__ import annotations

import re

# 123-45-6789 or 123 45 6789 (the same separator twice), not inside a longer run of digits.
SSN_PATTERN = re.compile(r"(?<!\d)\d{3}([- ])\d{2}\1\d{4}(?!\d)")
# North American numbers with separators: 555-123-4567, 555.123.4567, (555) 123-4567, (555)123-4567,
# +1 555 123 4567, 1-800-555-1234; and E.164 +15551234567. Bare 10-digit runs are left alone on purpose:
# they are indistinguishable from NPIs and claim numbers. Not preceded by a digit or "-" so that dashed
# identifiers (CLM-000-123-4567) and dates are not taken for phone numbers.
PHONE_PATTERN = re.compile(
    r"(?<![\d-])(?:\+?1[\s.-]?)?(?:\(\d{3}\)[\s.-]?|\d{3}[\s.-])\d{3}[\s.-]\d{4}(?![\d-])"
    r"|\+1\d{10}(?!\d)"
)
EMAIL_PATTERN = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")
# "MRN: 00123456", "mrn=AB-1234", "Medical record number 778899": the label and an identifier of at least four
# characters that contains a digit, so prose such as "MRN field is required" is left alone.
MRN_PATTERN = re.compile(
    r"\b(?:MRN|medical\s+record\s+(?:number|no\.?|\#))\s*[:#=]{0,2}\s*(?=[A-Za-z0-9-]*\d)[A-Za-z0-9-]{4,}",
    re.IGNORECASE,
)

PATTERNS: dict[str, re.Pattern[str]] = {
    "SSN": SSN_PATTERN,
    "EMAIL": EMAIL_PATTERN,
    "MRN": MRN_PATTERN,
    "PHONE": PHONE_PATTERN,
}


def find_phi(text: str) -> list[str]:
    """Names of the PHI patterns present in ``text`` (empty when none)."""
    return [name for name, pattern in PATTERNS.items() if pattern.search(text)]


def scrub(text: str) -> str:
    """``text`` with every PHI pattern replaced by ``[REDACTED-<KIND>]``."""
    for name, pattern in PATTERNS.items():
        text = pattern.sub(f"[REDACTED-{name}]", text)
    return text


def redact_value(value: str, keep: int = 0) -> str:
    """Mask a value for display in error messages: keeps ``keep`` leading characters and the length class."""
    if not value:
        return value
    shown = value[:keep] if keep and len(value) > keep * 2 else ""
    return f"{shown}***({len(value)} chars)"
