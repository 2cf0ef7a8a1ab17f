"""A fast local webhook receiver for ``bench_webhooks``, run as its own process (so it does not share the
sender's GIL): ``python -m upstream.webhooks.bench_receiver``. Standard library only.

It answers every POST ``200 ok`` over keep-alive connections, counts requests and distinct ``webhook-id``
values, prints its port on the first line of stdout, and reports ``{"requests", "distinct_ids"}`` on
``GET /stats``.
"""

from __future__ import annotations

import json
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

_lock = threading.Lock()
_ids: set[str] = set()
_count = 0


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # One write per response and no Nagle delay: headers and body written separately would wait for
    # the client's delayed ACK (~40 ms per request).
    wbufsize = 64 * 1024
    disable_nagle_algorithm = True

    def do_POST(self) -> None:
        global _count
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        with _lock:
            _count += 1
            _ids.add(self.headers.get("webhook-id") or "")
        self._answer(b"ok")

    def do_GET(self) -> None:
        with _lock:
            stats = {"requests": _count, "distinct_ids": len(_ids)}
        self._answer(json.dumps(stats).encode())

    def _answer(self, body: bytes) -> None:
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        return


def main() -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    server.request_queue_size = 128
    sys.stdout.write(f"{server.server_address[1]}\n")
    sys.stdout.flush()
    server.serve_forever()


if __name__ == "__main__":
    main()
