"""The HTTP transport webhooks are sent over: ``requests`` sessions whose connections enforce the address
policy on the connected socket and can be aborted when an attempt's deadline passes. No Django imports.

- **Peer check.** Every new socket's peer address is checked against the address policy before anything
  (even a TLS handshake) is sent, so a DNS answer that changed since the policy check (DNS rebinding) cannot
  reach a private address.
- **Deadline.** A socket read timeout bounds each read, not the whole exchange: a receiver that trickles its
  status line and headers a byte at a time could hold an attempt for ever. ``deadline_watch`` arms a timer
  that shuts the connection's socket down when the deadline passes, which ends the blocked read.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import requests
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import NewConnectionError

from upstream.webhooks import addresses

_local = threading.local()


class PeerRefused(NewConnectionError):
    """The socket connected to an address webhooks may not reach (raised before anything is sent)."""

    def __init__(self, connection: HTTPConnection, reason: str) -> None:
        super().__init__(connection, reason)
        self.policy_message = reason


@dataclass
class Watch:
    """What the deadline timer needs: the connection the sending thread is using, and whether it fired."""

    connection: HTTPConnection | None = None
    fired: bool = False

    def abort(self) -> None:
        self.fired = True
        sock = self.connection.sock if self.connection is not None else None
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)


@contextlib.contextmanager
def deadline_watch(seconds: float) -> Iterator[Watch]:
    """Abort the connection this thread sends on if the block is still running after ``seconds``."""
    watch = Watch()
    _local.watch = watch
    timer = threading.Timer(max(seconds, 0.0), watch.abort)
    timer.daemon = True
    timer.start()
    try:
        yield watch
    finally:
        timer.cancel()
        _local.watch = None


def _guarded_pool_classes(allowed_networks: tuple[str, ...]) -> dict[str, type[HTTPConnectionPool]]:
    def guard(connection: HTTPConnection, sock: socket.socket) -> socket.socket:
        try:
            addresses.peer_check(str(sock.getpeername()[0]), allowed_networks=allowed_networks)
        except addresses.AddressNotAllowed as exc:
            sock.close()
            raise PeerRefused(connection, str(exc)) from None
        return sock

    def watched(connection: HTTPConnection) -> None:
        watch: Watch | None = getattr(_local, "watch", None)
        if watch is not None:
            watch.connection = connection

    class GuardedHTTPConnection(HTTPConnection):
        def _new_conn(self) -> socket.socket:
            return guard(self, super()._new_conn())

        def request(self, *args: Any, **kwargs: Any) -> None:
            watched(self)
            super().request(*args, **kwargs)

    class GuardedHTTPSConnection(HTTPSConnection):
        def _new_conn(self) -> socket.socket:
            return guard(self, super()._new_conn())

        def request(self, *args: Any, **kwargs: Any) -> None:
            watched(self)
            super().request(*args, **kwargs)

    class GuardedHTTPPool(HTTPConnectionPool):
        ConnectionCls = GuardedHTTPConnection

    class GuardedHTTPSPool(HTTPSConnectionPool):
        ConnectionCls = GuardedHTTPSConnection

    return {"http": GuardedHTTPPool, "https": GuardedHTTPSPool}


class GuardedAdapter(HTTPAdapter):
    """A transport adapter whose connections check their peer and can be aborted by ``deadline_watch``."""

    def __init__(self, *, allowed_networks: Sequence[str]) -> None:
        self.allowed_networks = tuple(allowed_networks)
        super().__init__()

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = _guarded_pool_classes(self.allowed_networks)


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


def peer_refused(exc: BaseException) -> PeerRefused | None:
    """The PeerRefused inside requests' ConnectionError(MaxRetryError(reason=...)), if that is the cause."""
    for candidate in (*exc.args, exc.__cause__, exc.__context__):
        reason = getattr(candidate, "reason", candidate)
        if isinstance(reason, PeerRefused):
            return reason
    return None
