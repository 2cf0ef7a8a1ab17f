"""Signing: a literal vector, the reference library, secrets, deterministic bodies."""

from __future__ import annotations

import base64

import pytest
from standardwebhooks import Webhook

from upstream.webhooks import signing

# The test vector of the Standard Webhooks specification (and of its reference libraries).
VECTOR_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
VECTOR_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek"
VECTOR_TIMESTAMP = 1614265330
VECTOR_BODY = b'{"test": 2432232314}'
VECTOR_SIGNATURE = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


def test_signature_matches_the_specification_vector() -> None:
    assert (
        signing.signature(
            secret=VECTOR_SECRET, msg_id=VECTOR_ID, timestamp=VECTOR_TIMESTAMP, body=VECTOR_BODY
        )
        == VECTOR_SIGNATURE
    )


def test_signature_without_prefix_is_the_same() -> None:
    bare = VECTOR_SECRET.removeprefix("whsec_")
    assert (
        signing.signature(secret=bare, msg_id=VECTOR_ID, timestamp=VECTOR_TIMESTAMP, body=VECTOR_BODY)
        == VECTOR_SIGNATURE
    )


def test_secret_is_prefixed_base64_of_32_random_bytes() -> None:
    secret = signing.secret_generate()
    assert secret.startswith("whsec_")
    assert len(base64.b64decode(secret.removeprefix("whsec_"), validate=True)) == 32
    assert signing.secret_generate() != secret


def test_header_with_two_secrets_verifies_with_each_in_the_reference_library() -> None:
    new, old = signing.secret_generate(), signing.secret_generate()
    timestamp = 1_800_000_000
    header = signing.signature_header(secrets=[new, old], msg_id="42", timestamp=timestamp, body=b"{}")
    parts = header.split(" ")
    assert len(parts) == 2
    assert parts[0] == signing.signature(secret=new, msg_id="42", timestamp=timestamp, body=b"{}")
    assert parts[1] == signing.signature(secret=old, msg_id="42", timestamp=timestamp, body=b"{}")


def test_reference_library_verifies_our_headers() -> None:
    import time

    from upstream.webhooks.sender import headers_build

    secret = signing.secret_generate()
    body = signing.body_serialize({"type": "webhook.test", "data": {"n": 1}, "timestamp": "t"})
    headers = headers_build(
        msg_id="7", timestamp=int(time.time()), body=body, secrets=[secret], version="1.2.3"
    )
    assert Webhook(secret).verify(body, headers) == {
        "type": "webhook.test",
        "data": {"n": 1},
        "timestamp": "t",
    }
    other = signing.secret_generate()
    with pytest.raises(Exception, match="No matching signature found"):
        Webhook(other).verify(body, headers)
    assert headers["X-Idempotency-Key"] == headers["webhook-id"] == "7"
    assert headers["User-Agent"] == "Upstream-Webhooks/1.2.3"
    assert headers["Content-Type"] == "application/json"


def test_body_is_deterministic_compact_sorted_json() -> None:
    assert signing.body_serialize({"b": 1, "a": {"é": [1, 2]}}) == '{"a":{"é":[1,2]},"b":1}'.encode()
    assert signing.body_serialize({"a": 1, "b": 2}) == signing.body_serialize({"b": 2, "a": 1})
