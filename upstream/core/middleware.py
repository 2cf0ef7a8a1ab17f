"""Request-id middleware: every response carries ``X-Request-ID`` (the caller's, when well-formed)."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from upstream.core.context import customer_id_var, request_id_var

REQUEST_ID_HEADER = "X-Request-ID"
_VALID_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{8,128}$")


class RequestIDMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        incoming = request.headers.get(REQUEST_ID_HEADER, "")
        request_id = incoming if _VALID_REQUEST_ID.match(incoming) else uuid.uuid4().hex
        request.request_id = request_id  # type: ignore[attr-defined]
        rid_token = request_id_var.set(request_id)
        cid_token = customer_id_var.set(None)
        try:
            response = self.get_response(request)
        finally:
            request_id_var.reset(rid_token)
            customer_id_var.reset(cid_token)
        response[REQUEST_ID_HEADER] = request_id
        return response
