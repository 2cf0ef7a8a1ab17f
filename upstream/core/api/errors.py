"""RFC 9457 problem details for every API error (SPEC §9), built on drf-standardized-errors.

Body: ``{"type", "title", "status", "detail", "instance", "request_id",
"errors": [{"code", "detail", "attr"}]}`` served as ``application/problem+json``.
Views never build error bodies by hand; they raise.
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from django.http import HttpRequest, JsonResponse
from drf_standardized_errors.formatter import ExceptionFormatter
from drf_standardized_errors.handler import ExceptionHandler
from drf_standardized_errors.types import Error, ErrorResponse
from rest_framework import exceptions
from rest_framework.response import Response

PROBLEM_CONTENT_TYPE = "application/problem+json"
PROBLEM_TYPE_PREFIX = "urn:upstream:problem:"


def problem_type(status: int, exc: exceptions.APIException | None = None) -> str:
    if isinstance(exc, exceptions.ValidationError):
        return PROBLEM_TYPE_PREFIX + "validation-error"
    try:
        phrase = HTTPStatus(status).phrase
    except ValueError:
        phrase = "error"
    return PROBLEM_TYPE_PREFIX + phrase.lower().replace(" ", "-").replace("'", "")


def problem_body(
    *,
    status: int,
    detail: str,
    instance: str,
    request_id: str | None,
    errors: list[dict[str, Any]],
    type_: str | None = None,
) -> dict[str, Any]:
    try:
        title = HTTPStatus(status).phrase
    except ValueError:
        title = "Error"
    return {
        "type": type_ or problem_type(status),
        "title": title,
        "status": status,
        "detail": detail,
        "instance": instance,
        "request_id": request_id,
        "errors": errors,
    }


def _request_id(request: Any) -> str | None:
    return getattr(request, "request_id", None) or getattr(
        getattr(request, "_request", None), "request_id", None
    )


class ProblemFormatter(ExceptionFormatter):
    def get_errors(self) -> list[Error]:
        detail = self.exc.detail
        if isinstance(self.exc, exceptions.ValidationError):
            return super().get_errors()
        # Non-validation errors carry one message; simplejwt nests it in a dict with extra token details.
        if isinstance(detail, dict):
            message = str(detail.get("detail", self.exc.default_detail))
            code = str(detail.get("code", self.exc.default_code))
        else:
            message = str(detail)
            code = getattr(detail, "code", None) or self.exc.default_code
        return [Error(code=code, detail=message, attr=None)]

    def format_error_response(self, error_response: ErrorResponse) -> Any:
        request = self.context.get("request")
        errors = [{"code": e.code, "detail": e.detail, "attr": e.attr} for e in error_response.errors]
        status = self.exc.status_code
        if isinstance(self.exc, exceptions.ValidationError):
            many = f"The request has {len(errors)} invalid values."
            detail = str(errors[0]["detail"]) if len(errors) == 1 else many
        else:
            detail = str(errors[0]["detail"]) if errors else str(self.exc.default_detail)
        body = problem_body(
            status=status,
            detail=detail,
            instance=request.path if request is not None else "",
            request_id=_request_id(request),
            errors=errors,
            type_=problem_type(status, self.exc),
        )
        for key, value in (getattr(self.exc, "extra", None) or {}).items():
            body.setdefault(key, value)  # RFC 9457 extension members; the core members always win
        return body


class ProblemExceptionHandler(ExceptionHandler):
    def get_response(self, exc: exceptions.APIException, data: dict[str, Any]) -> Response:
        return Response(
            data, status=exc.status_code, headers=self.get_headers(exc), content_type=PROBLEM_CONTENT_TYPE
        )


def problem_response(request: HttpRequest, *, status: int, detail: str, code: str) -> JsonResponse:
    """A problem+json response for errors raised outside DRF views (Django's 404/500 handlers)."""
    body = problem_body(
        status=status,
        detail=detail,
        instance=request.path,
        request_id=_request_id(request),
        errors=[{"code": code, "detail": detail, "attr": None}],
    )
    return JsonResponse(body, status=status, content_type=PROBLEM_CONTENT_TYPE)
