"""OpenAPI schema pieces: the problem-details component and error responses on every operation."""

from __future__ import annotations

from typing import Any

PROBLEM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "RFC 9457 problem details.",
    "required": ["type", "title", "status", "detail", "instance", "request_id", "errors"],
    "properties": {
        "type": {"type": "string", "example": "urn:upstream:problem:validation-error"},
        "title": {"type": "string", "example": "Bad Request"},
        "status": {"type": "integer", "example": 400},
        "detail": {"type": "string", "example": "This field is required."},
        "instance": {"type": "string", "example": "/api/v1/memberships/"},
        "request_id": {"type": "string", "nullable": True, "example": "5f0c2b7e9d2a4c1b8e3f6a7d9c0b1a2e"},
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["code", "detail", "attr"],
                "properties": {
                    "code": {"type": "string", "example": "required"},
                    "detail": {"type": "string", "example": "This field is required."},
                    "attr": {"type": "string", "nullable": True, "example": "email"},
                },
            },
        },
    },
}

_ERRORS = {
    "400": ("Invalid request", "validation-error", "required", "This field is required.", "email"),
    "401": (
        "Not authenticated",
        "unauthorized",
        "not_authenticated",
        "Authentication credentials were not provided.",
        None,
    ),
    "403": (
        "Not allowed for your role",
        "forbidden",
        "permission_denied",
        "Your role does not allow this action.",
        None,
    ),
    "404": ("Not found (also for other tenants' objects)", "not-found", "not_found", "Not found.", None),
    "429": (
        "Too many requests",
        "too-many-requests",
        "throttled",
        "Request was throttled. Expected available in 42 seconds.",
        None,
    ),
}


def _problem_response(status: str) -> dict[str, Any]:
    description, kind, code, detail, attr = _ERRORS[status]
    return {
        "description": description,
        "content": {
            "application/problem+json": {
                "schema": {"$ref": "#/components/schemas/Problem"},
                "example": {
                    "type": f"urn:upstream:problem:{kind}",
                    "title": description,
                    "status": int(status),
                    "detail": detail,
                    "instance": "/api/v1/...",
                    "request_id": "5f0c2b7e9d2a4c1b8e3f6a7d9c0b1a2e",
                    "errors": [{"code": code, "detail": detail, "attr": attr}],
                },
            }
        },
    }


def add_problem_responses(result: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    """Postprocessing hook: declare the problem+json error responses each operation can produce."""
    result.setdefault("components", {}).setdefault("schemas", {})["Problem"] = PROBLEM_SCHEMA
    for path, operations in result.get("paths", {}).items():
        for method, operation in operations.items():
            if method not in {"get", "post", "put", "patch", "delete"}:
                continue
            responses = operation.setdefault("responses", {})
            public = operation.get("security") == [{}] or path.endswith("/health/")
            wanted = ["429"]
            if method in {"post", "put", "patch"}:
                wanted.append("400")
            if not public:
                wanted += ["401", "403"]
            if "{" in path:
                wanted.append("404")
            for status in wanted:
                responses.setdefault(status, _problem_response(status))
    return result
