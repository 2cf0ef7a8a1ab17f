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

# The same patterns for engines without look-around or back-references (polars, i.e. Rust `regex`), used
# by the vectorised validation rules. A look-behind/look-ahead becomes a captured boundary, ``(^|...)`` or
# ``(...|$)``, that the replacement puts back. As a match consumes its trailing boundary, two neighbours one
# character apart need a second replacement pass (see POLARS_SCRUB_STEPS). Kept in step with the patterns
# above by the agreement tests in upstream/claims/tests/test_rules.py. One known, harmless difference: when
# two phone numbers are one character apart and the second starts with a country code, that "+1" or "1"
# stays outside the label.
SSN_POLARS = r"(^|\D)(\d{3}-\d{2}-\d{4}|\d{3} \d{2} \d{4})(\D|$)"
PHONE_POLARS = (
    r"(^|[^\d-])((?:\+?1[\s.-]?)?(?:\(\d{3}\)[\s.-]?|\d{3}[\s.-])\d{3}[\s.-]\d{4})([^\d-]|$)"
    r"|()(\+1\d{10})(\D|$)"
)
EMAIL_POLARS = EMAIL_PATTERN.pattern
# "an identifier of at least four characters that contains a digit", spelled out by the position of its first
# digit instead of a look-ahead.
MRN_POLARS = (
    r"(?i)\b(?:MRN|medical\s+record\s+(?:number|no\.?|#))\s*[:#=]{0,2}\s*"
    r"(?:\d[A-Za-z0-9-]{3,}|[A-Za-z-]\d[A-Za-z0-9-]{2,}|[A-Za-z-]{2}\d[A-Za-z0-9-]+|[A-Za-z-]{3,}\d[A-Za-z0-9-]*)"
)
# Stand-in for a label while a pattern's passes run. It ends with a digit, as every SSN and phone number does,
# so the second pass sees the left context the look-behind saw in the original text.
POLARS_PLACEHOLDER = "\ue0000"
# (kind, pattern, replacement, passes) in the order scrub() applies them; replacements use Rust `${n}` groups
# and write POLARS_PLACEHOLDER, which is then replaced by the kind's ``[REDACTED-<KIND>]`` label.
POLARS_SCRUB_STEPS: tuple[tuple[str, str, str, int], ...] = (
    ("SSN", SSN_POLARS, "${1}" + POLARS_PLACEHOLDER + "${3}", 2),
    ("EMAIL", EMAIL_POLARS, POLARS_PLACEHOLDER, 1),
    ("MRN", MRN_POLARS, POLARS_PLACEHOLDER, 1),
    ("PHONE", PHONE_POLARS, "${1}${4}" + POLARS_PLACEHOLDER + "${3}${6}", 2),
)
# SSN, phone or e-mail anywhere in a value: the PHI that R11/W06 look for (MRNs are only scrubbed).
PHI_IN_FIELD_POLARS = "|".join((SSN_POLARS, PHONE_POLARS, EMAIL_POLARS))


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
