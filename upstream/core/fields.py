"""``EncryptedTextField``: a text column holding PHI encrypted at rest (SPEC §10), see ``core.crypto``.

Python sees plaintext; the database sees only ``v1:<key id>:...`` tokens. ``None`` is stored as SQL NULL and
every ``str`` (including ``""``) is encrypted, so ``""`` round-trips as ``""`` and is indistinguishable in the
table from any other short value. Ciphertexts are randomized, so the only lookup allowed is ``isnull`` (and
``field=None``, which Django turns into ``isnull``); exact search goes through a separate blind-index column.
"""

from __future__ import annotations

from typing import Any

from django.core import checks
from django.core.exceptions import FieldError
from django.db import models
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models.lookups import Exact, IsNull, Lookup, Transform

from upstream.core.crypto import decrypt, encrypt

__all__ = ["EncryptedFieldLookupError", "EncryptedTextField"]


class EncryptedFieldLookupError(FieldError):
    """A query tried to filter, compare or transform an encrypted column."""


def _lookup_error(field: models.Field[Any, Any], lookup_name: str) -> EncryptedFieldLookupError:
    label = f"{field.model._meta.label}.{field.name}" if hasattr(field, "model") else field.name
    return EncryptedFieldLookupError(
        f"{label} is an EncryptedTextField and cannot be queried with '{lookup_name}': its ciphertexts are "
        "randomized, so comparisons never match. Only 'isnull' is supported; for exact search filter on the "
        "field's blind index (core.crypto.blind_index) instead."
    )


class _NullOnlyExact(Exact):
    """``field=None`` is allowed (Django rewrites it to ``isnull``); ``field=<anything else>`` is refused."""

    def get_prep_lookup(self) -> Any:
        if self.rhs is None:
            return None
        raise _lookup_error(self.lhs.output_field, "exact")


class EncryptedTextField(models.TextField):
    """A ``TextField`` encrypted with the primary PHI key on write and decrypted on read."""

    description = "Text encrypted at rest (AES-256-GCM, PHI)"

    def get_prep_value(self, value: Any) -> str | None:
        plaintext = super().get_prep_value(value)
        if plaintext is None:
            return None
        return encrypt(plaintext)

    def from_db_value(
        self, value: str | None, expression: Any, connection: BaseDatabaseWrapper
    ) -> str | None:
        if value is None:
            return None
        return decrypt(value)

    def get_lookup(self, lookup_name: str) -> type[Lookup[Any]] | None:
        if lookup_name == "isnull":
            return IsNull
        if lookup_name == "exact":
            return _NullOnlyExact
        raise _lookup_error(self, lookup_name)

    def get_transform(self, lookup_name: str) -> type[Transform] | None:
        raise _lookup_error(self, lookup_name)

    def check(self, **kwargs: Any) -> list[checks.CheckMessage]:
        errors = super().check(**kwargs)
        if self.unique or self.primary_key:
            errors.append(
                checks.Error(
                    "EncryptedTextField cannot be unique or a primary key: its ciphertexts are randomized.",
                    hint="Put a unique constraint on a blind-index column instead.",
                    obj=self,
                    id="core.E001",
                )
            )
        return errors
