"""A real HTTP receiver for webhook tests: ``http.server`` on 127.0.0.1 (a free port) in a thread.

Script the responses (status, headers, body, delay) per request, in order; when the script runs out it
answers ``default``. Every request is recorded with its headers and body and verified with the reference
``standardwebhooks`` library against each secret the receiver knows (``verified_by`` lists the secrets that
verify it), so tests assert on what actually went over the wire.

    with Receiver(secrets=[endpoint.secret]) as receiver:
        receiver.script(Reply(503), Reply(200))
        ...
        assert [r.webhook_id for r in receiver.requests] == [...]
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any

from standardwebhooks import Webhook


@dataclass(frozen=True)
class Reply:
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b"ok"
    delay: float = 0.0  # seconds before answering (to provoke the sender's timeout)


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    verified_by: list[str]

    @property
    def webhook_id(self) -> str:
        return self.headers["webhook-id"]

    def json(self) -> Any:
        return json.loads(self.body)


class Receiver:
    def __init__(self, *, secrets: list[str] | None = None, default: Reply | None = None) -> None:
        self.secrets = list(secrets or [])
        self.default = default or Reply()
        self.requests: list[Received] = []
        self._script: deque[Reply] = deque()
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, like real receivers
            # One write per response and no Nagle delay: headers and body written separately would wait for
            # the client's delayed ACK (~40 ms per request).
            wbufsize = 64 * 1024
            disable_nagle_algorithm = True

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                headers = {k.lower(): v for k, v in self.headers.items()}
                reply = receiver._record(self.path, headers, body)
                if reply.delay:
                    time.sleep(reply.delay)
                try:
                    self.send_response(reply.status)
                    for name, value in reply.headers.items():
                        self.send_header(name, value)
                    self.send_header("Content-Length", str(len(reply.body)))
                    self.end_headers()
                    self.wfile.write(reply.body)
                except OSError:  # the sender gave up (timeout) and closed the connection
                    self.close_connection = True

            def log_message(self, format: str, *args: Any) -> None:
                return

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="webhook-receiver", daemon=True
        )

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}/hooks"

    def script(self, *replies: Reply) -> None:
        with self._lock:
            self._script.extend(replies)

    def _record(self, path: str, headers: dict[str, str], body: bytes) -> Reply:
        verified = []
        for secret in self.secrets:
            try:
                Webhook(secret).verify(body, headers)
            except Exception:  # noqa: S112 (a signature that does not verify: recorded as such)
                continue
            verified.append(secret)
        with self._lock:
            self.requests.append(Received(path=path, headers=headers, body=body, verified_by=verified))
            return self._script.popleft() if self._script else self.default

    def __enter__(self) -> Receiver:
        self._thread.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
