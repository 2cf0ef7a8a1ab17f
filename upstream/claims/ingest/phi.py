"""PHI protection for whole batches: encryption, blind indexes and change digests over polars Series.

Produces exactly what ``upstream.core.crypto`` produces value by value (the tests check both agree), with the
per-value Python work cut to the AES-GCM or HMAC call itself: nonces come from one ``os.urandom`` call,
base64 and the token header are vectorised, and blind-index normalization runs in polars for ASCII values.
"""

from __future__ import annotations

import hashlib
import hmac
import os

import polars as pl

from upstream.core.crypto import NONCE_BYTES, blind_index_key, get_keyring, normalize_for_blind_index

# The ASCII characters normalize_for_blind_index removes: whitespace as Python's re sees it, and "-".
_ASCII_DROPPED = r"[\t\n\x0B\x0C\r\x1C-\x1F \-]"


def encrypt_series(values: pl.Series) -> pl.Series:
    """Each value encrypted under the primary key as a ``v1:<kid>:…`` token; nulls stay null."""
    key = get_keyring().primary
    items = values.cast(pl.String).to_list()
    nonces = os.urandom(NONCE_BYTES * len(items))
    seal = key.cipher.encrypt
    aad = key.aad
    blobs: list[bytes | None] = []
    append = blobs.append
    for i, value in enumerate(items):
        if value is None:
            append(None)
        else:
            nonce = nonces[i * NONCE_BYTES : (i + 1) * NONCE_BYTES]
            append(nonce + seal(nonce, value.encode("utf-8"), aad))
    encoded = pl.Series(values.name, blobs, dtype=pl.Binary).bin.encode("base64")
    urlsafe = encoded.str.replace_all("+", "-", literal=True).str.replace_all("/", "_", literal=True)
    return pl.select(pl.concat_str(pl.lit(key.header), urlsafe).alias(values.name)).to_series()


def blind_index_series(values: pl.Series) -> pl.Series:
    """``blind_index`` of each value; null, and values that normalize to nothing, give null."""
    strings = values.cast(pl.String)
    normalized = strings.str.to_uppercase().str.replace_all(_ASCII_DROPPED, "")
    non_ascii = strings.str.contains(r"[^\x00-\x7F]").fill_null(False)
    texts = normalized.to_list()
    if non_ascii.any():  # NFKC and Unicode whitespace: the exact Python normalization for these few
        originals = strings.to_list()
        for i in non_ascii.arg_true().to_list():
            texts[i] = normalize_for_blind_index(originals[i])
    key = blind_index_key()
    digest = hmac.digest
    out = [digest(key, t.encode("utf-8"), "sha256").hex() if t else None for t in texts]
    return pl.Series(values.name, out, dtype=pl.String)


def digest_rows(frame: pl.DataFrame) -> pl.Series:
    """A keyed BLAKE2b digest of each row's values (nulls as empty), for change detection over PHI."""
    joined = frame.select(
        pl.concat_str([pl.col(c).cast(pl.String).fill_null("") for c in frame.columns], separator="\x1f")
    ).to_series()
    key = blind_index_key()
    blake = hashlib.blake2b
    return pl.Series(
        "phi_digest",
        [blake(v.encode("utf-8"), key=key, digest_size=32).hexdigest() for v in joined.to_list()],
        dtype=pl.String,
    )
