"""Password strength beyond Django's validators: mixed character classes."""

from __future__ import annotations

import string

from django.contrib.auth.base_user import AbstractBaseUser
from django.core.exceptions import ValidationError


class CharacterClassValidator:
    """Requires at least three of: lower case, upper case, digits, symbols."""

    def validate(self, password: str, user: AbstractBaseUser | None = None) -> None:
        classes = [
            any(c.islower() for c in password),
            any(c.isupper() for c in password),
            any(c.isdigit() for c in password),
            any(c in string.punctuation or c.isspace() for c in password),
        ]
        if sum(classes) < 3:
            raise ValidationError(
                "The password must mix at least three of: lower-case letters, upper-case letters, digits, "
                "symbols.",
                code="password_too_simple",
            )

    def get_help_text(self) -> str:
        return "Use at least three of: lower-case letters, upper-case letters, digits, symbols."
