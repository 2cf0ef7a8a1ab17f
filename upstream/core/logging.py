"""Logging filters: request/tenant context on every record and PHI scrubbing as a second line of defence."""

from __future__ import annotations

import logging
from typing import Any

from django.http import HttpRequest

from upstream.core.context import customer_id_var, request_id_var
from upstream.core.redaction import scrub

# Attributes every LogRecord has; anything else on a record came from ``extra=`` (or a filter) and is
# serialized by the JSON formatter, so it is scrubbed too.
_STANDARD_RECORD_ATTRS = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {
    "message",
    "asctime",
}
_MAX_DEPTH = 5


def _scrub_value(value: Any, depth: int = 0) -> Any:
    """Scrub strings, and strings inside dicts, lists and tuples (a few levels deep); other values as is."""
    if isinstance(value, HttpRequest):
        # django.request passes the request with every 4xx/5xx; its repr has the query string, where PHI
        # lookups live (?member_id=...). Keep the method and path only.
        return f"<{type(value).__name__}: {value.method} {value.path!r}>"
    if isinstance(value, str):
        return scrub(value)
    if depth >= _MAX_DEPTH:
        return value
    if isinstance(value, dict):
        return {key: _scrub_value(item, depth + 1) for key, item in value.items()}
    if type(value) in (list, tuple):  # exact types: a namedtuple cannot be rebuilt from one iterable
        return type(value)(_scrub_value(item, depth + 1) for item in value)
    return value


class RequestContextFilter(logging.Filter):
    """Adds ``request_id`` and ``customer_id`` from the current context to each record."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id_var.get()
        record.customer_id = customer_id_var.get()
        return True


class PHIScrubFilter(logging.Filter):
    """Scrubs SSN/phone/e-mail/MRN patterns from the rendered message, the exception and stack text, and
    ``extra=`` attributes.

    The message is rendered (``msg % args``) before scrubbing, so PHI passed as an argument is caught; a dict
    message keeps its shape with its values scrubbed. The exception is rendered into ``exc_text`` and
    ``exc_info`` is dropped, because formatters that find ``exc_info`` (python-json-logger among them) render
    the traceback again from it and would bypass the scrubbed text.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, dict) and not record.args:
            record.msg = _scrub_value(record.msg)
        else:
            try:
                message = record.getMessage()
            except Exception:  # a malformed record must still be logged, never crash the caller
                message = str(record.msg)
            record.msg = scrub(message)
            record.args = None
        if record.exc_info:
            if not record.exc_text:
                record.exc_text = logging.Formatter().formatException(record.exc_info)
            record.exc_info = None
        if record.exc_text:
            record.exc_text = scrub(record.exc_text)
        if record.stack_info:
            record.stack_info = scrub(record.stack_info)
        for name, value in list(vars(record).items()):
            if name not in _STANDARD_RECORD_ATTRS:
                setattr(record, name, _scrub_value(value))
        return True
