"""One HTTP attempt of a webhook (SPEC §8), with ``requests`` and no Django: build the signed headers, POST
the body without following redirects, keep at most 2 KB of the response, and enforce the timeouts.

Timeouts: ``connect`` bounds the TCP/TLS connection; the total deadline bounds the rest. Up to the response
headers a watchdog (``transport.deadline_watch``) aborts the connection when the deadline passes; then the
body is read one socket read at a time with the read timeout shrunk to the time left and the deadline checked
between reads, so neither slow headers nor a slow or stalled body can stretch an attempt past the deadline.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import requests

from upstream.webhooks import signing, transport
from upstream.webhooks.policy import ErrorKind

RESPONSE_BODY_LIMIT = 2048
TIMED_OUT_WAITING = "timed out waiting for the response"
_CHUNK = 512


@dataclass(frozen=True)
class SendResult:
    status_code: int | None
    duration_ms: int
    response_body: str = ""
    error: str = ""
    error_kind: ErrorKind | None = None
    headers: dict[str, str] = field(default_factory=dict)


def headers_build(
    *, msg_id: str, timestamp: int, body: bytes, secrets: Sequence[str], version: str
) -> dict[str, str]:
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": signing.signature_header(
            secrets=secrets, msg_id=msg_id, timestamp=timestamp, body=body
        ),
        "X-Idempotency-Key": msg_id,
        "Content-Type": "application/json",
        "User-Agent": f"Upstream-Webhooks/{version}",
    }


def send(
    *,
    url: str,
    body: bytes,
    headers: dict[str, str],
    connect_timeout: float,
    total_timeout: float,
    session: requests.Session | None = None,
    allowed_networks: Sequence[str] = (),
) -> SendResult:
    session = session or transport.thread_session(allowed_networks)
    started = time.monotonic()
    deadline = started + total_timeout

    def elapsed_ms() -> int:
        return int((time.monotonic() - started) * 1000)

    watch = None
    try:
        # Straight to the transport adapter: Session.send would read a redirect's whole body (unbounded, no
        # deadline) to prepare the next request even when redirects are not followed; we never follow them.
        prepared = session.prepare_request(requests.Request("POST", url, data=body, headers=headers))
        # Each socket read is bounded by the read timeout; the watch bounds the whole exchange up to the
        # headers (a receiver trickling its status line would otherwise reset the read timeout forever).
        with transport.deadline_watch(total_timeout) as watch:
            response = session.get_adapter(url).send(
                prepared, stream=True, timeout=(connect_timeout, total_timeout), verify=True, proxies={}
            )
    except requests.Timeout as exc:
        return SendResult(None, elapsed_ms(), error=_timeout_message(exc), error_kind=ErrorKind.TIMEOUT)
    except requests.RequestException as exc:
        if watch is not None and watch.fired:
            return SendResult(None, elapsed_ms(), error=TIMED_OUT_WAITING, error_kind=ErrorKind.TIMEOUT)
        refused = transport.peer_refused(exc)
        if refused is not None:
            return SendResult(
                None,
                elapsed_ms(),
                error=f"Not sent: {refused.policy_message}"[:500],
                error_kind=ErrorKind.REFUSED_ADDRESS,
            )
        if isinstance(exc, requests.ConnectionError):
            return SendResult(
                None,
                elapsed_ms(),
                error=_error_message("connection error", exc),
                error_kind=ErrorKind.CONNECTION,
            )
        return SendResult(
            None, elapsed_ms(), error=_error_message("request error", exc), error_kind=ErrorKind.OTHER
        )
    if watch.fired:  # aborted while the headers trickled in: what was parsed is cut short, not an answer
        response.close()
        return SendResult(None, elapsed_ms(), error=TIMED_OUT_WAITING, error_kind=ErrorKind.TIMEOUT)
    kept = bytearray()
    complete = False
    try:
        while len(kept) <= RESPONSE_BODY_LIMIT:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError
            _socket_timeout_set(response, remaining)
            chunk = response.raw.read1(_CHUNK, decode_content=True)  # returns after one socket read
            if not chunk:
                complete = True
                break
            kept += chunk
    except Exception as exc:  # urllib3 raises its own timeout/protocol errors while reading
        # The status line is the receiver's answer; a body that is slow or broken only loses the excerpt.
        response.close()
        timed_out = isinstance(exc, TimeoutError) or "timed out" in str(exc).lower()
        problem = (
            f"the response body was cut off at the {total_timeout:g} s deadline"
            if timed_out
            else _error_message("the response body could not be read", exc)
        )
        return SendResult(
            status_code=response.status_code,
            duration_ms=elapsed_ms(),
            response_body=bytes(kept[:RESPONSE_BODY_LIMIT]).decode("utf-8", errors="replace"),
            error=problem,
            headers=_kept_headers(response),
        )
    if complete:
        response.raw.release_conn()  # keep-alive: the connection goes back to the session's pool
    else:
        response.close()  # more than we keep: drop the connection instead of draining an unbounded body
    return SendResult(
        status_code=response.status_code,
        duration_ms=elapsed_ms(),
        response_body=bytes(kept[:RESPONSE_BODY_LIMIT]).decode("utf-8", errors="replace"),
        headers=_kept_headers(response),
    )


def _kept_headers(response: requests.Response) -> dict[str, str]:
    return {k: v for k, v in response.headers.items() if k.lower() == "retry-after"}


def _socket_timeout_set(response: requests.Response, seconds: float) -> None:
    """Shrink the read timeout of the response's socket to the time left before the deadline."""
    connection = getattr(response.raw, "connection", None)
    sock = getattr(connection, "sock", None)
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.settimeout(max(seconds, 0.001))


def _timeout_message(exc: requests.Timeout) -> str:
    if isinstance(exc, requests.ConnectTimeout):
        return "timed out connecting"
    return TIMED_OUT_WAITING


def _error_message(prefix: str, exc: BaseException) -> str:
    # The exception text can repeat the URL (with a token in its query); keep only the exception's class and
    # the innermost reason, which names the network failure.
    reason: BaseException = exc
    while reason.__cause__ is not None or (reason.args and isinstance(reason.args[0], BaseException)):
        nested = reason.__cause__ or reason.args[0]
        if not isinstance(nested, BaseException) or nested is reason:
            break
        reason = nested
    detail = type(reason).__name__
    text = str(reason)
    if text and "://" not in text and "/" not in text:
        detail += f": {text}"
    return f"{prefix} ({detail})"[:500]
