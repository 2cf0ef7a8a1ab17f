"""Field-level PHI encryption (AES-256-GCM with a key ring) and blind indexes (HMAC-SHA256), SPEC §10.

A token looks like ``v1:<key id>:<urlsafe base64 of nonce || ciphertext || tag>``. The header ``v1:<key id>``
is authenticated as associated data, so a token cannot be relabelled to another key or version. Keys come
from ``settings.PHI_ENCRYPTION_KEYS`` (``"kid1:<key>,kid2:<key>"``, newest and primary first); parsing is
cached on the setting's string value, so a changed setting (``override_settings``) takes effect at once.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import os
import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.core.exceptions import ImproperlyConfigured

__all__ = [
    "TOKEN_VERSION",
    "Keyring",
    "PHIDecryptionError",
    "blind_index",
    "decrypt",
    "decrypt_many",
    "encrypt",
    "encrypt_many",
    "get_keyring",
    "key_id_of",
    "needs_rotation",
    "normalize_for_blind_index",
    "parse_keyring",
    "primary_key_id",
]

TOKEN_VERSION = "v1"  # noqa: S105  (a format tag, not a secret)
KEY_BYTES = 32
NONCE_BYTES = 12
TAG_BYTES = 16
KEY_ID_PATTERN = re.compile(r"[A-Za-z0-9_.-]{1,64}")
_BLIND_INDEX_DROPPED = re.compile(r"[\s-]+")
# The ASCII characters _BLIND_INDEX_DROPPED removes (re's \s includes the separators \x1c-\x1f).
_ASCII_DROPPED = {ord(c): None for c in map(chr, range(128)) if _BLIND_INDEX_DROPPED.fullmatch(c)}


class PHIDecryptionError(Exception):
    """A token could not be decrypted: malformed, unknown key id, or failed authentication (tampered or
    wrong key). The message names the reason and at most the key id, never the plaintext or ciphertext."""


@dataclass(frozen=True)
class _Key:
    key_id: str
    cipher: AESGCM
    header: str  # "v1:<key id>:", the token prefix
    aad: bytes  # b"v1:<key id>", authenticated with every ciphertext


@dataclass(frozen=True)
class Keyring:
    """Parsed ``PHI_ENCRYPTION_KEYS``: the primary (first) key encrypts, every key decrypts."""

    primary: _Key
    keys: Mapping[str, _Key]

    @property
    def primary_key_id(self) -> str:
        return self.primary.key_id

    def encrypt(self, plaintext: str) -> str:
        """Encrypt with the primary key (see the module-level ``encrypt``)."""
        return _encrypt_with(self.primary, plaintext)

    def decrypt(self, token: str) -> str:
        """Decrypt with the key the token names (see the module-level ``decrypt``)."""
        return _decrypt_with(self, token)


def _decode_key(encoded: str, *, setting: str, label: str) -> bytes:
    text = encoded.strip()
    try:
        raw = base64.b64decode(text + "=" * (-len(text) % 4), altchars=b"-_", validate=True)
    except (binascii.Error, ValueError):
        raise ImproperlyConfigured(f"{setting}: {label} is not valid urlsafe base64") from None
    if len(raw) != KEY_BYTES:
        raise ImproperlyConfigured(f"{setting}: {label} must decode to {KEY_BYTES} bytes, got {len(raw)}")
    return raw


def _make_key(key_id: str, raw: bytes) -> _Key:
    header = f"{TOKEN_VERSION}:{key_id}"
    return _Key(key_id=key_id, cipher=AESGCM(raw), header=f"{header}:", aad=header.encode("ascii"))


@lru_cache(maxsize=16)
def parse_keyring(spec: str) -> Keyring:
    """Parse a ``"kid1:<urlsafe base64 32-byte key>,kid2:<...>"`` string (primary first).

    Raises ``ImproperlyConfigured`` for an empty ring, an entry without ``:``, a key id outside
    ``[A-Za-z0-9_.-]{1,64}``, a key that is not 32 bytes of urlsafe base64, or a duplicate key id.
    The AES-GCM objects are built here, once per distinct ring.
    """
    setting = "PHI_ENCRYPTION_KEYS"
    entries = [entry.strip() for entry in spec.split(",")]
    if not any(entries):
        raise ImproperlyConfigured(f"{setting} is empty")
    keys: dict[str, _Key] = {}
    for position, entry in enumerate(entries, start=1):
        key_id, sep, encoded = entry.partition(":")
        key_id = key_id.strip()
        if not sep:
            raise ImproperlyConfigured(f"{setting}: entry {position} is not '<key id>:<base64 key>'")
        if not KEY_ID_PATTERN.fullmatch(key_id):
            raise ImproperlyConfigured(
                f"{setting}: entry {position} has an invalid key id (allowed: 1-64 of A-Z a-z 0-9 _ . -)"
            )
        if key_id in keys:
            raise ImproperlyConfigured(f"{setting}: duplicate key id {key_id!r}")
        keys[key_id] = _make_key(key_id, _decode_key(encoded, setting=setting, label=f"key {key_id!r}"))
    primary = next(iter(keys.values()))
    return Keyring(primary=primary, keys=keys)


@lru_cache(maxsize=16)
def _parse_blind_index_key(encoded: str) -> bytes:
    if not encoded.strip():
        raise ImproperlyConfigured("PHI_BLIND_INDEX_KEY is empty")
    return _decode_key(encoded, setting="PHI_BLIND_INDEX_KEY", label="the key")


def get_keyring() -> Keyring:
    """The key ring from the current settings (parsed once per distinct setting value)."""
    from django.conf import settings

    return parse_keyring(settings.PHI_ENCRYPTION_KEYS)


def primary_key_id() -> str:
    """The id of the key new values are encrypted with."""
    return get_keyring().primary.key_id


def _encrypt_with(key: _Key, plaintext: str) -> str:
    nonce = os.urandom(NONCE_BYTES)
    sealed = key.cipher.encrypt(nonce, plaintext.encode("utf-8"), key.aad)
    return key.header + base64.urlsafe_b64encode(nonce + sealed).decode("ascii")


def encrypt(plaintext: str) -> str:
    """Encrypt ``plaintext`` with the primary key: ``v1:<key id>:<urlsafe base64(nonce||ciphertext)>``.

    Every call uses a fresh random 96-bit nonce, so equal plaintexts give different tokens.
    """
    if not isinstance(plaintext, str):
        raise TypeError(f"encrypt() takes a str, not {type(plaintext).__name__}")
    return _encrypt_with(get_keyring().primary, plaintext)


def encrypt_many(values: Iterable[str | None]) -> list[str | None]:
    """``encrypt`` over a batch with one key-ring lookup; ``None`` stays ``None``. (Ingestion encrypts whole
    polars Series with ``upstream.claims.ingest.phi.encrypt_series``.)"""
    key = get_keyring().primary
    return [None if value is None else _encrypt_with(key, value) for value in values]


def _split(token: str) -> tuple[str, str]:
    if not isinstance(token, str):
        raise PHIDecryptionError(f"PHI token must be a str, not {type(token).__name__}")
    version, sep1, rest = token.partition(":")
    key_id, sep2, payload = rest.partition(":")
    if version != TOKEN_VERSION or not sep1 or not sep2 or not key_id:
        raise PHIDecryptionError(f"PHI token is malformed (expected '{TOKEN_VERSION}:<key id>:<data>')")
    return key_id, payload


def key_id_of(token: str) -> str:
    """The id of the key ``token`` was encrypted with (``PHIDecryptionError`` if it is not a token)."""
    return _split(token)[0]


def needs_rotation(token: str) -> bool:
    """Whether ``token`` was encrypted with a key other than the current primary key."""
    return key_id_of(token) != get_keyring().primary.key_id


def _decrypt_with(keyring: Keyring, token: str) -> str:
    key_id, payload = _split(token)
    key = keyring.keys.get(key_id)
    if key is None:
        raise PHIDecryptionError(f"PHI token uses unknown key id {key_id!r} (not in PHI_ENCRYPTION_KEYS)")
    try:
        blob = base64.b64decode(payload, altchars=b"-_", validate=True)
    except (binascii.Error, ValueError):
        raise PHIDecryptionError("PHI token payload is not valid urlsafe base64") from None
    if len(blob) < NONCE_BYTES + TAG_BYTES:
        raise PHIDecryptionError("PHI token payload is too short")
    try:
        plaintext = key.cipher.decrypt(blob[:NONCE_BYTES], blob[NONCE_BYTES:], key.aad)
    except InvalidTag:
        raise PHIDecryptionError(
            f"PHI token failed authentication under key id {key_id!r} (tampered or wrong key)"
        ) from None
    return plaintext.decode("utf-8")


def decrypt(token: str) -> str:
    """Decrypt a token made by ``encrypt`` with whichever key of the ring its key id names.

    Raises ``PHIDecryptionError`` for a malformed token, an unknown key id, or a failed authentication.
    """
    return _decrypt_with(get_keyring(), token)


def decrypt_many(tokens: Iterable[str | None]) -> list[str | None]:
    """``decrypt`` over a batch with one key-ring lookup; ``None`` stays ``None``."""
    keyring = get_keyring()
    return [None if token is None else _decrypt_with(keyring, token) for token in tokens]


def normalize_for_blind_index(value: str) -> str:
    """The canonical form hashed by ``blind_index``: Unicode NFKC, upper case, and every whitespace
    character and ``-`` removed (leading, trailing and internal). So ``" ab-12 34 "`` → ``"AB1234"``."""
    if value.isascii():  # NFKC leaves ASCII unchanged; translate() is the same removal, ~10x faster
        return value.upper().translate(_ASCII_DROPPED)
    return _BLIND_INDEX_DROPPED.sub("", unicodedata.normalize("NFKC", value).upper())


def blind_index(value: str) -> str:
    """HMAC-SHA256 under ``PHI_BLIND_INDEX_KEY`` of ``normalize_for_blind_index(value)``, as 64 hex chars.

    Deterministic for a given key, so equal (after normalization) values can be looked up exactly without
    decrypting; unrelated to the encryption keys.
    """
    message = normalize_for_blind_index(value).encode("utf-8")
    return hmac.digest(blind_index_key(), message, "sha256").hex()


def blind_index_key() -> bytes:
    """The blind-index key from settings, for batch code that computes the same digests as ``blind_index``."""
    from django.conf import settings

    return _parse_blind_index_key(settings.PHI_BLIND_INDEX_KEY)
