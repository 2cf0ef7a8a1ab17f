"""Polars building blocks of the validation rules: trimming, parsing dates, amounts and codes, scrubbing PHI.

Every function takes and returns expressions (whole columns), never Python values per row.
"""

from __future__ import annotations

import polars as pl

from upstream.core.redaction import PHI_IN_FIELD_POLARS, POLARS_PLACEHOLDER, POLARS_SCRUB_STEPS

# Patterns use [0-9], not \d: in Rust regex \d also accepts other scripts' digits.
# YYYY-MM-DD, MM/DD/YYYY, YYYY/MM/DD; month and day may lack their leading zero (spreadsheets write 1/5/2026).
_DATE_SHAPE = (
    r"^(?:[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}|[0-9]{1,2}/[0-9]{1,2}/[0-9]{4}|[0-9]{4}/[0-9]{1,2}/[0-9]{1,2})$"
)
_DATE_FORMATS = ("%Y-%m-%d", "%m/%d/%Y", "%Y/%m/%d")
# Optional "$", digits with or without correctly placed thousands separators, at most two decimals.
_AMOUNT_SHAPE = r"^\$?(?:[0-9]{1,3}(?:,[0-9]{3})+|[0-9]+)(?:\.[0-9]{1,2})?$"
MAX_AMOUNT_CENTS = 10_000_000 * 100
# Up to four 2-character codes separated by commas, spaces, colons, semicolons or hyphens.
_MODIFIER = r"[A-Z0-9]{2}"
_MODIFIERS_SHAPE = rf"^{_MODIFIER}(?:(?:\s*[,:;-]\s*|\s+){_MODIFIER}){{0,3}}$"
# Group code + CARC: CO-45, CO45, PR-1, CO-A1, OA-B7.
DENIAL_CODE_SHAPE = r"^(?:CO|PR|OA|PI|CR)-?(?:[0-9]{1,3}|[A-Z][0-9]{1,2})$"

OUTCOME_SYNONYMS: dict[str, str] = {
    **dict.fromkeys(("paid", "approved", "accepted"), "PAID"),
    **dict.fromkeys(("denied", "rejected", "declined"), "DENIED"),
    **dict.fromkeys(("other", "adjusted", "partial"), "OTHER"),
}

REDACTED = "[REDACTED]"
DISPLAY_MAX_CHARS = 64


def trimmed(value: pl.Expr) -> pl.Expr:
    """Surrounding whitespace removed; null for empty and whitespace-only cells."""
    stripped = value.str.strip_chars()
    return pl.when(stripped.str.len_chars() > 0).then(stripped)


def has_phi(value: pl.Expr) -> pl.Expr:
    """An SSN, phone number or e-mail address occurs in the value (null stays null)."""
    return value.str.contains(PHI_IN_FIELD_POLARS)


def scrub(value: pl.Expr) -> pl.Expr:
    """Vectorised ``upstream.core.redaction.scrub``: PHI patterns replaced by ``[REDACTED-<KIND>]``."""
    for kind, pattern, replacement, passes in POLARS_SCRUB_STEPS:
        for _ in range(passes):
            value = value.str.replace_all(pattern, replacement)
        value = value.str.replace_all(POLARS_PLACEHOLDER, f"[REDACTED-{kind}]", literal=True)
    return value


def display(value: pl.Expr, *, phi_column: bool) -> pl.Expr:
    """An offending value as an issue may show it: never for PHI columns, scrubbed and shortened otherwise."""
    if phi_column:
        return pl.lit(REDACTED, dtype=pl.String)
    shown = scrub(value)
    return (
        pl.when(shown.str.len_chars() > DISPLAY_MAX_CHARS)
        .then(pl.concat_str(shown.str.slice(0, DISPLAY_MAX_CHARS), pl.lit("…")))
        .otherwise(shown)
    )


def parse_date(value: pl.Expr) -> pl.Expr:
    """The date in one of the accepted formats; null when the text or the calendar date is invalid."""
    parsed = pl.coalesce(value.str.strptime(pl.Date, fmt, strict=False) for fmt in _DATE_FORMATS)
    # Year 0000 parses (polars counts a year zero) but does not exist in PostgreSQL: the load would fail.
    return pl.when(value.str.contains(_DATE_SHAPE) & (parsed.dt.year() >= 1)).then(parsed)


def parse_cents(value: pl.Expr) -> pl.Expr:
    """The amount in cents (Int64); null when malformed or outside [0, 10,000,000]."""
    digits = value.str.strip_prefix("$").str.replace_all(",", "", literal=True)
    # Exact decimal arithmetic; 20-digit input does not fit Int64 cents and becomes null, i.e. out of range.
    cents = (digits.str.to_decimal(scale=2) * 100).cast(pl.Int64, strict=False)
    return pl.when(value.str.contains(_AMOUNT_SHAPE) & (cents <= MAX_AMOUNT_CENTS)).then(cents)


def parse_outcome(value: pl.Expr) -> pl.Expr:
    """PAID / DENIED / OTHER from a case-insensitive synonym; null when unknown."""
    return value.str.to_lowercase().replace_strict(OUTCOME_SYNONYMS, default=None, return_dtype=pl.String)


def is_valid_modifiers(upper: pl.Expr) -> pl.Expr:
    """The upper-cased modifiers list has R08's shape."""
    return upper.str.contains(_MODIFIERS_SHAPE)


def canonical_modifiers(upper: pl.Expr) -> pl.Expr:
    """``"25 59"``, ``"25;59"`` … → ``"25,59"`` (input already validated and upper-cased)."""
    return upper.str.extract_all(_MODIFIER).list.join(",")


def lookup(key: pl.Expr, mapping: dict[str, str]) -> pl.Expr:
    """``mapping[key]`` per row, null when the key is absent."""
    return key.replace_strict(mapping, default=None, return_dtype=pl.String)
