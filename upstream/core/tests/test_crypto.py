"""core.crypto: AES-256-GCM tokens under a key ring, rotation helpers, blind indexes, keyring validation."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.core.exceptions import ImproperlyConfigured
from pytest_django.fixtures import Settings

from upstream.core import crypto
from upstream.core.crypto import PHIDecryptionError
from upstream.core.local_keys import new_key_spec

# Fixed key material for known-answer vectors: bytes 0..31 and 32..63.
KEY_0_31 = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="
KEY_32_63 = "ICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8="
# "Jane Doe" under key id "ka" = KEY_0_31, nonce bytes 0..11, AAD b"v1:ka" (the wire format, pinned).
JANE_DOE_TOKEN = "v1:ka:AAECAwQFBgcICQoLDWO4fuWhrX49IwlyPfRwRDvCWcwxSoXp"
TOKEN_RE = re.compile(r"v1:(?P<kid>[A-Za-z0-9_.-]+):(?P<payload>[A-Za-z0-9_-]+=*)")


@pytest.fixture
def spec_a() -> str:
    return new_key_spec("ka")


@pytest.fixture
def spec_b() -> str:
    return new_key_spec("kb")


@pytest.fixture
def ring_a(settings: Settings, spec_a: str) -> str:
    settings.PHI_ENCRYPTION_KEYS = spec_a
    settings.PHI_BLIND_INDEX_KEY = KEY_0_31
    return spec_a


def _payload(token: str) -> bytes:
    match = TOKEN_RE.fullmatch(token)
    assert match is not None, token
    return base64.urlsafe_b64decode(match["payload"])


# --- round trip and token format ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "plaintext",
    [
        "Jane Doe",
        "",
        " padded  ",
        "Zoë Ñúñez-O'Brien",
        "李雷 🩺 \u0000 tab\tnew\nline",
        "x" * 10_000,
    ],
)
def test_round_trip(ring_a: str, plaintext: str) -> None:
    token = crypto.encrypt(plaintext)
    assert crypto.decrypt(token) == plaintext


@pytest.mark.usefixtures("ring_a")
def test_token_format_carries_key_id_and_nonce_plus_ciphertext_plus_tag() -> None:
    plaintext = "Zoë 123"
    token = crypto.encrypt(plaintext)
    match = TOKEN_RE.fullmatch(token)
    assert match is not None
    assert match["kid"] == "ka"
    assert token.startswith("v1:ka:")
    assert plaintext not in token
    # 12-byte nonce + ciphertext as long as the UTF-8 plaintext + 16-byte tag.
    assert len(_payload(token)) == 12 + len(plaintext.encode("utf-8")) + 16


@pytest.mark.usefixtures("ring_a")
def test_empty_string_is_encrypted_not_stored_as_is() -> None:
    token = crypto.encrypt("")
    assert token.startswith("v1:ka:")
    assert len(_payload(token)) == 28
    assert crypto.decrypt(token) == ""


@pytest.mark.usefixtures("ring_a")
def test_equal_plaintexts_give_different_tokens() -> None:
    tokens = {crypto.encrypt("Jane Doe") for _ in range(50)}
    assert len(tokens) == 50
    assert {crypto.decrypt(token) for token in tokens} == {"Jane Doe"}


def test_ciphertext_is_aes_gcm_with_the_header_as_associated_data(settings: Settings) -> None:
    settings.PHI_ENCRYPTION_KEYS = f"ka:{KEY_0_31}"
    token = crypto.encrypt("Jane Doe")
    blob = _payload(token)
    key = base64.urlsafe_b64decode(KEY_0_31)
    assert AESGCM(key).decrypt(blob[:12], blob[12:], b"v1:ka") == b"Jane Doe"


def test_decrypts_pinned_known_answer_vector(settings: Settings) -> None:
    settings.PHI_ENCRYPTION_KEYS = f"ka:{KEY_0_31}"
    assert crypto.decrypt(JANE_DOE_TOKEN) == "Jane Doe"


@pytest.mark.usefixtures("ring_a")
def test_encrypt_refuses_non_strings() -> None:
    with pytest.raises(TypeError, match=r"^encrypt\(\) takes a str, not bytes$"):
        crypto.encrypt(b"Jane Doe")  # type: ignore[arg-type]


@pytest.mark.usefixtures("ring_a")
def test_encrypt_many_and_decrypt_many_keep_none_and_order() -> None:
    tokens = crypto.encrypt_many(["Jane", None, "", "李雷"])
    assert tokens[1] is None
    assert [token is not None and token.startswith("v1:ka:") for token in tokens] == [True, False, True, True]
    assert crypto.decrypt_many(tokens) == ["Jane", None, "", "李雷"]
    assert crypto.encrypt_many([]) == []
    assert crypto.encrypt_many(value for value in ("a", None))[1] is None


@pytest.mark.usefixtures("ring_a")
def test_keyring_is_parsed_once_per_setting_value(settings: Settings, spec_b: str) -> None:
    first = crypto.get_keyring()
    assert crypto.get_keyring() is first
    settings.PHI_ENCRYPTION_KEYS = spec_b
    second = crypto.get_keyring()
    assert second is not first
    assert second.primary_key_id == "kb"
    assert crypto.primary_key_id() == "kb"


# --- rotation helpers ---------------------------------------------------------------------------------------


def test_old_tokens_decrypt_after_a_new_primary_key_is_added(
    settings: Settings, ring_a: str, spec_b: str
) -> None:
    old = crypto.encrypt("Jane Doe")
    assert crypto.key_id_of(old) == "ka"
    assert crypto.needs_rotation(old) is False

    settings.PHI_ENCRYPTION_KEYS = f"{spec_b},{ring_a}"
    assert crypto.primary_key_id() == "kb"
    assert crypto.decrypt(old) == "Jane Doe"
    assert crypto.needs_rotation(old) is True
    new = crypto.encrypt("Jane Doe")
    assert crypto.key_id_of(new) == "kb"
    assert crypto.needs_rotation(new) is False
    assert list(crypto.get_keyring().keys) == ["kb", "ka"]


def test_token_under_a_removed_key_raises_without_plaintext(
    settings: Settings, ring_a: str, spec_b: str
) -> None:
    old = crypto.encrypt("Jane Doe")
    settings.PHI_ENCRYPTION_KEYS = spec_b
    with pytest.raises(PHIDecryptionError) as excinfo:
        crypto.decrypt(old)
    assert str(excinfo.value) == "PHI token uses unknown key id 'ka' (not in PHI_ENCRYPTION_KEYS)"
    with pytest.raises(PHIDecryptionError):
        crypto.decrypt_many([None, old])


# --- tampering ----------------------------------------------------------------------------------------------

AUTH_FAILED_KA = "PHI token failed authentication under key id 'ka' (tampered or wrong key)"


@pytest.mark.usefixtures("ring_a")
@pytest.mark.parametrize("position", [0, 11, 12, 20, -1])  # nonce, first ciphertext byte, tag
def test_flipping_any_byte_raises(position: int) -> None:
    token = crypto.encrypt("Jane Doe SSN 123-45-6789")
    blob = bytearray(_payload(token))
    blob[position] ^= 0x01
    tampered = "v1:ka:" + base64.urlsafe_b64encode(bytes(blob)).decode()
    with pytest.raises(PHIDecryptionError) as excinfo:
        crypto.decrypt(tampered)
    assert str(excinfo.value) == AUTH_FAILED_KA
    assert "Jane" not in str(excinfo.value)
    assert excinfo.value.__cause__ is None
    assert excinfo.value.__suppress_context__ is True


@pytest.mark.usefixtures("ring_a")
def test_truncated_token_raises() -> None:
    token = crypto.encrypt("Jane Doe")
    blob = _payload(token)
    truncated = "v1:ka:" + base64.urlsafe_b64encode(blob[:-1]).decode()
    with pytest.raises(PHIDecryptionError, match=r"^PHI token failed authentication under key id 'ka'"):
        crypto.decrypt(truncated)


def test_relabelling_a_token_to_another_key_id_raises_even_with_the_same_key_material(
    settings: Settings,
) -> None:
    # Both ids name the same key bytes: only the associated data (the header) tells them apart.
    settings.PHI_ENCRYPTION_KEYS = f"ka:{KEY_0_31},kb:{KEY_0_31}"
    token = crypto.encrypt("Jane Doe")
    assert token.startswith("v1:ka:")
    relabelled = "v1:kb:" + token.removeprefix("v1:ka:")
    with pytest.raises(PHIDecryptionError) as excinfo:
        crypto.decrypt(relabelled)
    assert str(excinfo.value) == "PHI token failed authentication under key id 'kb' (tampered or wrong key)"


def test_relabelling_to_an_unknown_key_id_raises(settings: Settings) -> None:
    settings.PHI_ENCRYPTION_KEYS = f"ka:{KEY_0_31}"
    relabelled = "v1:kz:" + JANE_DOE_TOKEN.removeprefix("v1:ka:")
    with pytest.raises(PHIDecryptionError, match=r"^PHI token uses unknown key id 'kz' "):
        crypto.decrypt(relabelled)


def test_wrong_key_under_the_same_id_raises(settings: Settings) -> None:
    settings.PHI_ENCRYPTION_KEYS = f"ka:{KEY_32_63}"
    with pytest.raises(PHIDecryptionError) as excinfo:
        crypto.decrypt(JANE_DOE_TOKEN)
    assert str(excinfo.value) == AUTH_FAILED_KA


MALFORMED = "PHI token is malformed (expected 'v1:<key id>:<data>')"


@pytest.mark.usefixtures("ring_a")
@pytest.mark.parametrize(
    ("token", "message"),
    [
        ("", MALFORMED),
        ("Jane Doe", MALFORMED),
        ("v1:ka", MALFORMED),
        ("v1::AAAA", MALFORMED),
        ("v2:ka:" + JANE_DOE_TOKEN.removeprefix("v1:ka:"), MALFORMED),
        ("V1:ka:" + JANE_DOE_TOKEN.removeprefix("v1:ka:"), MALFORMED),
        ("v1:ka:not base64!", "PHI token payload is not valid urlsafe base64"),
        ("v1:ka:AAAAé", "PHI token payload is not valid urlsafe base64"),
        ("v1:ka:" + base64.urlsafe_b64encode(bytes(27)).decode(), "PHI token payload is too short"),
        ("v1:ka:", "PHI token payload is too short"),
    ],
)
def test_malformed_tokens_raise(token: str, message: str) -> None:
    with pytest.raises(PHIDecryptionError) as excinfo:
        crypto.decrypt(token)
    assert str(excinfo.value) == message


@pytest.mark.usefixtures("ring_a")
def test_key_id_of_and_needs_rotation_reject_non_tokens() -> None:
    with pytest.raises(PHIDecryptionError, match=r"^PHI token is malformed"):
        crypto.key_id_of("123-45-6789")
    with pytest.raises(PHIDecryptionError, match=r"^PHI token is malformed"):
        crypto.needs_rotation("plain text")
    with pytest.raises(PHIDecryptionError, match=r"^PHI token must be a str, not int$"):
        crypto.decrypt(42)  # type: ignore[arg-type]
    assert crypto.key_id_of(JANE_DOE_TOKEN) == "ka"


# --- keyring validation -------------------------------------------------------------------------------------

SHORT_KEY = base64.urlsafe_b64encode(bytes(16)).decode()


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("", "PHI_ENCRYPTION_KEYS is empty"),
        (" , ", "PHI_ENCRYPTION_KEYS is empty"),
        (KEY_0_31, "PHI_ENCRYPTION_KEYS: entry 1 is not '<key id>:<base64 key>'"),
        (f"ka:{KEY_0_31},kb", "PHI_ENCRYPTION_KEYS: entry 2 is not '<key id>:<base64 key>'"),
        (
            f":{KEY_0_31}",
            "PHI_ENCRYPTION_KEYS: entry 1 has an invalid key id (allowed: 1-64 of A-Z a-z 0-9 _ . -)",
        ),
        (
            f"k a:{KEY_0_31}",
            "PHI_ENCRYPTION_KEYS: entry 1 has an invalid key id (allowed: 1-64 of A-Z a-z 0-9 _ . -)",
        ),
        (
            f"ka:{KEY_0_31},k/b:{KEY_32_63}",
            "PHI_ENCRYPTION_KEYS: entry 2 has an invalid key id (allowed: 1-64 of A-Z a-z 0-9 _ . -)",
        ),
        (f"ka:{SHORT_KEY}", "PHI_ENCRYPTION_KEYS: key 'ka' must decode to 32 bytes, got 16"),
        ("ka:", "PHI_ENCRYPTION_KEYS: key 'ka' must decode to 32 bytes, got 0"),
        ("ka:not*base64", "PHI_ENCRYPTION_KEYS: key 'ka' is not valid urlsafe base64"),
        (f"ka:{KEY_0_31},ka:{KEY_32_63}", "PHI_ENCRYPTION_KEYS: duplicate key id 'ka'"),
    ],
)
def test_malformed_keyring_is_improperly_configured(spec: str, message: str) -> None:
    with pytest.raises(ImproperlyConfigured) as excinfo:
        crypto.parse_keyring(spec)
    assert str(excinfo.value) == message
    assert KEY_0_31 not in str(excinfo.value)


def test_malformed_keyring_setting_fails_encrypt_and_decrypt(settings: Settings) -> None:
    settings.PHI_ENCRYPTION_KEYS = f"ka:{SHORT_KEY}"
    with pytest.raises(ImproperlyConfigured, match=r"^PHI_ENCRYPTION_KEYS: key 'ka' must decode to 32 bytes"):
        crypto.encrypt("Jane Doe")
    with pytest.raises(ImproperlyConfigured):
        crypto.decrypt(JANE_DOE_TOKEN)


def test_keyring_tolerates_whitespace_and_missing_padding() -> None:
    ring = crypto.parse_keyring(f"  ka : {KEY_0_31.rstrip('=')} ,\n kb:{KEY_32_63} ")
    assert ring.primary_key_id == "ka"
    assert list(ring.keys) == ["ka", "kb"]
    assert ring.decrypt(JANE_DOE_TOKEN) == "Jane Doe"


# --- blind index --------------------------------------------------------------------------------------------


def test_blind_index_known_answer(settings: Settings) -> None:
    settings.PHI_BLIND_INDEX_KEY = KEY_0_31
    expected = "e72ec86c9b5d206cbdd169dfa64edacff15defdfffa6cd791e708059532a8c97"
    assert crypto.blind_index("AB1234") == expected
    key = base64.urlsafe_b64decode(KEY_0_31)
    assert hmac.new(key, b"AB1234", hashlib.sha256).hexdigest() == expected


@pytest.mark.parametrize(
    ("value", "normalized"),
    [
        ("AB1234", "AB1234"),
        ("ab1234", "AB1234"),
        ("  ab-12 34 ", "AB1234"),
        ("A-B-1-2-3-4", "AB1234"),
        ("ab\t12\n34\u00a0", "AB1234"),
        ("\uff21\uff22\uff11\uff12\uff13\uff14", "AB1234"),  # full-width forms: NFKC folds them to ASCII
        ("", ""),
    ],
)
def test_blind_index_normalization(settings: Settings, value: str, normalized: str) -> None:
    settings.PHI_BLIND_INDEX_KEY = KEY_0_31
    assert crypto.normalize_for_blind_index(value) == normalized
    key = base64.urlsafe_b64decode(KEY_0_31)
    assert crypto.blind_index(value) == hmac.new(key, normalized.encode(), hashlib.sha256).hexdigest()


def test_blind_index_equivalent_inputs_match_and_different_values_do_not(settings: Settings) -> None:
    settings.PHI_BLIND_INDEX_KEY = KEY_0_31
    digest = crypto.blind_index(" m-123 456 ")
    assert re.fullmatch(r"[0-9a-f]{64}", digest)
    assert crypto.blind_index("M123456") == digest
    assert crypto.blind_index("M123457") != digest
    assert crypto.blind_index("M12345.6") != digest


def test_blind_index_differs_per_key(settings: Settings) -> None:
    settings.PHI_BLIND_INDEX_KEY = KEY_0_31
    under_first = crypto.blind_index("AB1234")
    settings.PHI_BLIND_INDEX_KEY = KEY_32_63
    assert crypto.blind_index("AB1234") == "75c72bbf7184c62580adc9b33f255ec83fd906158ed007b825461ee65065c565"
    assert crypto.blind_index("AB1234") != under_first


@pytest.mark.parametrize(
    ("key", "message"),
    [
        ("", "PHI_BLIND_INDEX_KEY is empty"),
        (SHORT_KEY, "PHI_BLIND_INDEX_KEY: the key must decode to 32 bytes, got 16"),
        ("not*base64", "PHI_BLIND_INDEX_KEY: the key is not valid urlsafe base64"),
    ],
)
def test_malformed_blind_index_key(settings: Settings, key: str, message: str) -> None:
    settings.PHI_BLIND_INDEX_KEY = key
    with pytest.raises(ImproperlyConfigured) as excinfo:
        crypto.blind_index("AB1234")
    assert str(excinfo.value) == message
