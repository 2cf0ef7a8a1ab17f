"""Per-request (or per-task) context carried in context variables: request id and active customer id.

Logging reads these so every log line names its request and tenant without passing them around.
"""

from __future__ import annotations

from contextvars import ContextVar

request_id_var: ContextVar[str | None] = ContextVar("request_id", default=None)
customer_id_var: ContextVar[int | None] = ContextVar("customer_id", default=None)
