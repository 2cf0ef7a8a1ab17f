"""Small database helpers shared by the domain apps."""

from __future__ import annotations

from django.db import IntegrityError


def constraint_violated(exc: IntegrityError, constraint: str) -> bool:
    """Did ``exc`` come from the named constraint? Reads PostgreSQL's diagnostic field, not the message."""
    diag = getattr(exc.__cause__, "diag", None)
    return getattr(diag, "constraint_name", None) == constraint
