"""The built-in CPT/HCPCS → group table: a polars expression for ingestion, a plain function for the API.

Both read the same ranges, so they cannot disagree. A code belongs to a range when it has the range's shape
(five digits, four digits + F, four digits + T, or a letter + four digits) and lies between its bounds; codes
of one shape have one length, so string order is numeric order. The first matching range wins. The shapes are
also R08's definition of a valid procedure code.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import polars as pl

OTHER_GROUP = "OTHER"


@dataclass(frozen=True)
class CptGroupRange:
    group: str
    first: str  # inclusive, upper-case
    last: str  # inclusive, same shape as ``first``


# Order matters: THERAPY is carved out of MEDICINE, HCPCS_DRUG/HCPCS_DME out of HCPCS_OTHER.
DEFAULT_CPT_GROUPS: tuple[CptGroupRange, ...] = (
    CptGroupRange("ANESTHESIA", "00100", "01999"),
    CptGroupRange("SURGERY", "10004", "69990"),
    CptGroupRange("RADIOLOGY", "70010", "79999"),
    CptGroupRange("LAB", "80047", "89398"),
    CptGroupRange("THERAPY", "97010", "97799"),
    CptGroupRange("MEDICINE", "90281", "99199"),
    CptGroupRange("E&M", "99202", "99499"),
    CptGroupRange("MEDICINE", "99500", "99607"),  # home health and other Medicine-section services
    CptGroupRange("CAT_II", "0000F", "9999F"),
    CptGroupRange("CAT_III", "0000T", "9999T"),
    CptGroupRange("HCPCS_DRUG", "J0000", "J9999"),
    CptGroupRange("HCPCS_DME", "E0000", "E9999"),
    CptGroupRange("HCPCS_DME", "K0000", "K9999"),
    CptGroupRange("HCPCS_DME", "L0000", "L9999"),
    CptGroupRange("HCPCS_OTHER", "A0000", "Z9999"),
)

# Shape name → pattern of a whole code (ASCII digits only: `\d` would accept other scripts' digits).
_SHAPES: dict[str, str] = {
    "numeric": r"^[0-9]{5}$",
    "cat_ii": r"^[0-9]{4}F$",
    "cat_iii": r"^[0-9]{4}T$",
    "hcpcs": r"^[A-Z][0-9]{4}$",
}
_SHAPE_RES: dict[str, re.Pattern[str]] = {name: re.compile(pattern) for name, pattern in _SHAPES.items()}


def _shape(code: str) -> str | None:
    return next((name for name, pattern in _SHAPE_RES.items() if pattern.match(code)), None)


def _range_shape(entry: CptGroupRange) -> str:
    shape = _shape(entry.first)
    if shape is None or shape != _shape(entry.last):
        raise ValueError(f"CPT group range {entry} has bounds of different or unknown shapes")
    return shape


_RANGES: tuple[tuple[CptGroupRange, str], ...] = tuple(
    (entry, _range_shape(entry)) for entry in DEFAULT_CPT_GROUPS
)


def default_cpt_group(cpt: str) -> str:
    """The built-in group of one code (trimmed, any case); ``"OTHER"`` when no range covers it."""
    code = cpt.strip().upper()
    shape = _shape(code)
    for entry, range_shape in _RANGES:
        if shape == range_shape and entry.first <= code <= entry.last:
            return entry.group
    return OTHER_GROUP


def cpt_shape_expr(code: pl.Expr) -> pl.Expr:
    """Shape of each upper-cased, trimmed code ("numeric", "cat_ii", "cat_iii", "hcpcs"); null for others."""
    shape: pl.Expr = pl.lit(None, dtype=pl.String)
    for name, pattern in reversed(_SHAPES.items()):
        shape = pl.when(code.str.contains(pattern)).then(pl.lit(name)).otherwise(shape)
    return shape


def default_cpt_group_expr(code: pl.Expr, shape: pl.Expr) -> pl.Expr:
    """Vectorised ``default_cpt_group`` for an upper-cased code column and its ``cpt_shape_expr`` column;
    null when no range covers the code. Both should be materialised columns, so that the range chain compares
    values instead of re-running patterns."""
    group: pl.Expr = pl.lit(None, dtype=pl.String)
    for entry, range_shape in reversed(_RANGES):  # built inside out, so the first range in the table wins
        covered = (shape == range_shape) & code.is_between(pl.lit(entry.first), pl.lit(entry.last))
        group = pl.when(covered).then(pl.lit(entry.group)).otherwise(group)
    return group
