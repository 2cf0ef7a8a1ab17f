"""One HTTP attempt of a webhook (SPEC §8), with ``requests`` and no Django: build the signed headers, POST
the body without following redirects, keep at most 2 KB of the response, and enforce the timeouts.

Timeouts: ``connect`` bounds the TCP/TLS connection; the total deadline bounds the rest. The read timeout of
each socket read is the time left, and the body is read one socket read at a time with the deadline checked
between reads, so a slow or stalled body cannot stretch an attempt past the deadline.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import requests
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import NewConnectionError

from upstream.webhooks import addresses, signing
from upstream.webhooks.policy import ErrorKind

RESPONSE_BODY_LIMIT = 2048
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


class PeerRefused(NewConnectionError):
    """The socket connected to an address webhooks may not reach (raised before anything is sent)."""

    def __init__(self, connection: HTTPConnection, reason: str) -> None:
        super().__init__(connection, reason)
        self.policy_message = reason


def _guarded_pool_classes(allowed_networks: tuple[str, ...]) -> dict[str, type[HTTPConnectionPool]]:
    """Connection pools whose connections check the peer address of every new socket, so the address that
    is actually reached — not only what DNS said a moment earlier — passes the address policy."""

    def guard(connection: HTTPConnection, sock: socket.socket) -> socket.socket:
        try:
            addresses.peer_check(str(sock.getpeername()[0]), allowed_networks=allowed_networks)
        except addresses.AddressNotAllowed as exc:
            sock.close()
            raise PeerRefused(connection, str(exc)) from None
        return sock

    class GuardedHTTPConnection(HTTPConnection):
        def _new_conn(self) -> socket.socket:
            return guard(self, super()._new_conn())

    class GuardedHTTPSConnection(HTTPSConnection):
        def _new_conn(self) -> socket.socket:
            return guard(self, super()._new_conn())

    class GuardedHTTPPool(HTTPConnectionPool):
        ConnectionCls = GuardedHTTPConnection

    class GuardedHTTPSPool(HTTPSConnectionPool):
        ConnectionCls = GuardedHTTPSConnection

    return {"http": GuardedHTTPPool, "https": GuardedHTTPSPool}


class GuardedAdapter(HTTPAdapter):
    """A transport adapter that refuses, at connect time, peers outside the webhook address policy."""

    def __init__(self, *, allowed_networks: Sequence[str]) -> None:
        self.allowed_networks = tuple(allowed_networks)
        super().__init__()

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = _guarded_pool_classes(self.allowed_networks)


_local = threading.local()


def session_build(allowed_networks: Sequence[str] = ()) -> requests.Session:
    session = requests.Session()
    session.trust_env = False  # never route receivers through an ambient proxy or .netrc credentials
    adapter = GuardedAdapter(allowed_networks=allowed_networks)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


def thread_session(allowed_networks: Sequence[str] = ()) -> requests.Session:
    """One keep-alive session per thread (requests sessions are not thread-safe) and address policy."""
    sessions: dict[tuple[str, ...], requests.Session] = _local.__dict__.setdefault("sessions", {})
    key = tuple(allowed_networks)
    if key not in sessions:
        sessions[key] = session_build(key)
    return sessions[key]


def _peer_refused(exc: BaseException) -> PeerRefused | None:
    """The PeerRefused inside requests' ConnectionError(MaxRetryError(reason=...)), if that is the cause."""
    for candidate in (*exc.args, exc.__cause__, exc.__context__):
        reason = getattr(candidate, "reason", candidate)
        if isinstance(reason, PeerRefused):
            return reason
    return None


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
    session = session or thread_session(allowed_networks)
    started = time.monotonic()
    deadline = started + total_timeout

    def elapsed_ms() -> int:
        return int((time.monotonic() - started) * 1000)

    try:
        # Straight to the transport adapter: Session.send would read a redirect's whole body (unbounded, no
        # deadline) to prepare the next request even when redirects are not followed; we never follow them.
        prepared = session.prepare_request(requests.Request("POST", url, data=body, headers=headers))
        response = session.get_adapter(url).send(
            prepared, stream=True, timeout=(connect_timeout, total_timeout), verify=True, proxies={}
        )
    except requests.Timeout as exc:
        return SendResult(None, elapsed_ms(), error=_timeout_message(exc), error_kind=ErrorKind.TIMEOUT)
    except requests.ConnectionError as exc:
        refused = _peer_refused(exc)
        if refused is not None:
            return SendResult(
                None,
                elapsed_ms(),
                error=f"Not sent: {refused.policy_message}"[:500],
                error_kind=ErrorKind.REFUSED_ADDRESS,
            )
        return SendResult(
            None, elapsed_ms(), error=_error_message("connection error", exc), error_kind=ErrorKind.CONNECTION
        )
    except requests.RequestException as exc:
        return SendResult(
            None, elapsed_ms(), error=_error_message("request error", exc), error_kind=ErrorKind.OTHER
        )
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
    return "timed out waiting for the response"


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
