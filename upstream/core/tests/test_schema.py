"""The OpenAPI schema: served offline, error responses declared, examples on every operation."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from drf_spectacular.generators import SchemaGenerator

METHODS = ("get", "post", "put", "patch", "delete")


@pytest.fixture(scope="module")
def schema() -> dict[str, Any]:
    result: dict[str, Any] = SchemaGenerator().get_schema(request=None, public=True)
    return result


def _operations(schema: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (path, method, op)
        for path, ops in schema["paths"].items()
        for method, op in ops.items()
        if method in METHODS
    ]


def _has_example(content: dict[str, Any]) -> bool:
    return any("example" in media or "examples" in media for media in content.values())


def test_every_operation_documents_success_examples(schema: dict[str, Any]) -> None:
    missing = []
    for path, method, op in _operations(schema):
        if (
            method in ("post", "put", "patch")
            and "requestBody" in op
            and not _has_example(op["requestBody"]["content"])
        ):
            missing.append(f"{method.upper()} {path} request")
        success = [r for code, r in op["responses"].items() if code.startswith("2") and "content" in r]
        if success and not any(_has_example(r["content"]) for r in success):
            missing.append(f"{method.upper()} {path} response")
    assert missing == []


def test_every_authenticated_operation_declares_problem_errors(schema: dict[str, Any]) -> None:
    for path, method, op in _operations(schema):
        problems = {
            code for code, r in op["responses"].items() if "application/problem+json" in r.get("content", {})
        }
        assert "429" in problems, (method, path)
        if op.get("security") != [{}] and not path.endswith("/health/"):
            assert {"401", "403"} <= problems, (method, path)
        if "{" in path:
            assert "404" in problems, (method, path)
    assert schema["components"]["schemas"]["Problem"]["required"] == [
        "type",
        "title",
        "status",
        "detail",
        "instance",
        "request_id",
        "errors",
    ]
    assert "jwtAuth" in schema["components"]["securitySchemes"]


@pytest.mark.django_db
def test_docs_and_their_assets_are_served_offline() -> None:
    client = Client()
    schema_response = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert schema_response.status_code == 200
    assert schema_response.json()["openapi"].startswith("3.")
    swagger = client.get("/api/docs/")
    assert swagger.status_code == 200
    assert b"/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js" in swagger.content
    assert b"unpkg" not in swagger.content
    assert b"cdn.jsdelivr" not in swagger.content
    asset = client.get("/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js")
    assert asset.status_code == 200
    redoc = client.get("/api/redoc/")
    assert redoc.status_code == 200
    assert b"/static/drf_spectacular_sidecar/redoc/bundles/redoc.standalone.js" in redoc.content
