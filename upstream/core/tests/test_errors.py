"""Every error kind of SPEC §9 answers RFC 9457 problem+json with the same shape."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from django.test import Client
from rest_framework.test import APIClient

from upstream.core.testing.api import PROBLEM, assert_problem
from upstream.core.testing.tenants import Tenant
from upstream.tenancy.roles import Role


def test_validation_error_lists_every_field(tenant: Tenant) -> None:
    response = tenant.client(Role.OWNER).post(
        "/api/v1/memberships/", {"email": "not-an-email", "role": "boss"}, format="json"
    )
    body = assert_problem(response, 400)
    assert body["type"] == "urn:upstream:problem:validation-error"
    assert body["title"] == "Bad Request"
    assert body["instance"] == "/api/v1/memberships/"
    assert body["detail"] == "The request has 2 invalid values."
    assert sorted((e["attr"], e["code"]) for e in body["errors"]) == [
        ("email", "invalid"),
        ("role", "invalid_choice"),
    ]


def test_malformed_json_is_400(tenant: Tenant) -> None:
    response = tenant.client(Role.OWNER).generic(
        "POST", "/api/v1/memberships/", "{not json", content_type="application/json"
    )
    assert_problem(response, 400, "parse_error")


def test_401_problem(anon_client: APIClient) -> None:
    body = assert_problem(anon_client.get("/api/v1/me/"), 401, "not_authenticated")
    assert body["type"] == "urn:upstream:problem:unauthorized"
    assert body["title"] == "Unauthorized"
    bad_token = APIClient()
    bad_token.credentials(HTTP_AUTHORIZATION="Bearer garbage")
    body = assert_problem(bad_token.get("/api/v1/me/"), 401, "token_not_valid")
    assert body["detail"] == "Given token not valid for any token type"


def test_403_problem(tenant: Tenant) -> None:
    body = assert_problem(tenant.client(Role.VIEWER).get("/api/v1/memberships/"), 403, "permission_denied")
    assert body["detail"] == "Your role does not allow this action."
    assert body["type"] == "urn:upstream:problem:forbidden"


def test_404_problem_inside_and_outside_drf(tenant: Tenant) -> None:
    body = assert_problem(tenant.client(Role.OWNER).get("/api/v1/memberships/999999/"), 404, "not_found")
    assert body["type"] == "urn:upstream:problem:not-found"
    outside = Client().get("/api/v1/no-such-endpoint/")
    body = assert_problem(outside, 404, "not_found")
    assert body["instance"] == "/api/v1/no-such-endpoint/"
    assert Client().get("/not-api/").status_code == 404
    assert "html" in Client().get("/not-api/")["Content-Type"]


def test_page_out_of_range_is_404(tenant: Tenant) -> None:
    assert_problem(tenant.client(Role.OWNER).get("/api/v1/memberships/?page=99"), 404, "not_found")


def test_405_problem(tenant: Tenant) -> None:
    body = assert_problem(tenant.client(Role.OWNER).delete("/api/v1/me/"), 405, "method_not_allowed")
    assert body["detail"] == 'Method "DELETE" not allowed.'


def test_415_problem(tenant: Tenant) -> None:
    response = tenant.client(Role.OWNER).generic(
        "POST", "/api/v1/memberships/", "email=x", content_type="text/plain"
    )
    body = assert_problem(response, 415, "unsupported_media_type")
    assert body["type"] == "urn:upstream:problem:unsupported-media-type"


def test_429_problem_on_reads(tenant: Tenant, settings: Any) -> None:
    settings.THROTTLE_RATES = {**settings.THROTTLE_RATES, "reads": "2/hour"}
    client = tenant.client(Role.VIEWER)
    assert client.get("/api/v1/me/").status_code == 200
    assert client.get("/api/v1/customers/").status_code == 200
    response = client.get("/api/v1/me/")
    body = assert_problem(response, 429, "throttled")
    assert body["type"] == "urn:upstream:problem:too-many-requests"
    assert 0 < int(response["Retry-After"]) <= 3600


@pytest.mark.urls("upstream.core.tests.urls_errors")
@pytest.mark.django_db
def test_500_problem_from_drf_view_hides_details_and_scrubs_logs(caplog: Any) -> None:
    client = APIClient(raise_request_exception=False)
    with caplog.at_level(logging.ERROR):
        response = client.get("/api/v1/test-boom/")
    body = assert_problem(response, 500, "error")
    assert body["detail"] == "Server Error (500)"
    assert "123-45-6789" not in response.content.decode()
    handler = logging.getLogger().handlers[0]
    rendered = [handler.format(r) for r in caplog.records if r.name == "django.request"]
    assert rendered, "the 500 must be logged"
    assert all("123-45-6789" not in line for line in rendered)
    assert any("[REDACTED-SSN]" in line for line in rendered)


@pytest.mark.urls("upstream.core.tests.urls_errors")
@pytest.mark.django_db
def test_500_problem_outside_drf_under_api() -> None:
    client = Client(raise_request_exception=False)
    response = client.get("/api/v1/test-django-boom/")
    body = assert_problem(response, 500, "error")
    assert body["instance"] == "/api/v1/test-django-boom/"
    html = client.get("/outside/boom/")
    assert html.status_code == 500
    assert html["Content-Type"] != PROBLEM


def test_request_id_on_success_and_error(tenant: Tenant) -> None:
    ok = tenant.client(Role.OWNER).get("/api/v1/me/", HTTP_X_REQUEST_ID="client-req-0001")
    assert ok["X-Request-ID"] == "client-req-0001"
    err = APIClient().get("/api/v1/me/", HTTP_X_REQUEST_ID="client-req-0002")
    assert err["X-Request-ID"] == "client-req-0002"
    assert err.json()["request_id"] == "client-req-0002"


def test_pagination_shape_and_limits(tenant: Tenant) -> None:
    client = tenant.client(Role.OWNER)
    page = client.get("/api/v1/memberships/?page_size=2").json()
    assert set(page) == {"count", "next", "previous", "results"}
    assert page["count"] == 4
    assert len(page["results"]) == 2
    assert page["next"].endswith("/api/v1/memberships/?page=2&page_size=2")
    assert page["previous"] is None
    capped = client.get("/api/v1/memberships/?page_size=100000").json()
    assert len(capped["results"]) == 4
