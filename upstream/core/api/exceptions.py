"""API exceptions beyond DRF's own."""

from __future__ import annotations

from typing import Any

from rest_framework import status
from rest_framework.exceptions import APIException


class Conflict(APIException):
    """409. ``extra`` adds RFC 9457 extension members to the problem body (e.g. the conflicting id)."""

    status_code = status.HTTP_409_CONFLICT
    default_detail = "The request conflicts with the current state of the resource."
    default_code = "conflict"

    def __init__(
        self, detail: Any = None, code: str | None = None, *, extra: dict[str, Any] | None = None
    ) -> None:
        super().__init__(detail, code)
        self.extra = extra or {}


class ServiceUnavailable(APIException):
    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_detail = "Service temporarily unavailable."
    default_code = "service_unavailable"
