"""The generic API contract every tenant-facing endpoint must meet (CONVENTIONS "Tests").

Subclass ``APIContract`` in an app's ``tests/test_api.py``, set the URL, the roles allowed per action and how
to make an object and payloads; pytest then collects these checks for that endpoint:

- 401 problem+json without a token, for every supported method;
- each role allowed to read lists and retrieves; every other role gets 403;
- another tenant's object answers 404 for read, update and delete, and never shows in the list;
- each role allowed to create / update / delete succeeds; every other role gets 403 and nothing changes.

Set an action's roles to ``None`` when the endpoint does not support it; the contract then checks 405.
"""

from __future__ import annotations

from typing import Any, ClassVar

import pytest
from django.db import models
from rest_framework.test import APIClient

from upstream.core.testing.tenants import Tenant, make_tenant
from upstream.tenancy.roles import Role
from upstream.tenancy.scoping import all_tenants_scope

ALL_ROLES: tuple[str, ...] = tuple(Role.values)
MANAGERS: tuple[str, ...] = (Role.OWNER, Role.ADMIN)
WRITERS: tuple[str, ...] = (Role.OWNER, Role.ADMIN, Role.ANALYST)
PROBLEM = "application/problem+json"


def assert_problem(response: Any, status: int, code: str | None = None) -> dict[str, Any]:
    """The response is an RFC 9457 problem with this status (and first error code)."""
    assert response.status_code == status, (response.status_code, getattr(response, "content", b"")[:500])
    assert response["Content-Type"] == PROBLEM
    body: dict[str, Any] = response.json()
    # The core members of SPEC §9; a problem may add RFC 9457 extension members (e.g. existing_upload_id).
    assert {"type", "title", "status", "detail", "instance", "request_id", "errors"} <= set(body)
    assert body["status"] == status
    assert body["request_id"] == response["X-Request-ID"]
    if code is not None:
        assert body["errors"][0]["code"] == code, body
    return body


class APIContract:
    base_url: ClassVar[str]
    read_roles: ClassVar[tuple[str, ...]] = ALL_ROLES
    create_roles: ClassVar[tuple[str, ...] | None] = None
    update_roles: ClassVar[tuple[str, ...] | None] = None
    delete_roles: ClassVar[tuple[str, ...] | None] = None
    has_detail: ClassVar[bool] = True
    model: ClassVar[type[models.Model] | None] = None

    # --- to implement -----------------------------------------------------------------------------------
    def make_object(self, tenant: Tenant) -> models.Model:
        raise NotImplementedError

    def create_payload(self, tenant: Tenant) -> dict[str, Any]:
        raise NotImplementedError

    def update_payload(self, tenant: Tenant, obj: models.Model) -> dict[str, Any]:
        raise NotImplementedError

    def create_format(self) -> str:
        return "json"

    # --- helpers ------------------------------------------------------------------------------------------
    def detail_url(self, obj: models.Model) -> str:
        return f"{self.base_url}{obj.pk}/"

    def _exists(self, obj: models.Model) -> bool:
        with all_tenants_scope():
            return type(obj)._base_manager.filter(pk=obj.pk).exists()

    def _snapshot(self, obj: models.Model) -> dict[str, Any]:
        with all_tenants_scope():
            return dict(type(obj)._base_manager.filter(pk=obj.pk).values().get())

    @staticmethod
    def _ids(response: Any) -> set[Any]:
        body = response.json()
        results = body["results"] if isinstance(body, dict) and "results" in body else body
        return {row["id"] for row in results}

    # --- the contract ---------------------------------------------------------------------------------------
    @pytest.mark.django_db
    def test_requires_authentication(self) -> None:
        tenant = make_tenant()
        client = APIClient()
        checks: list[tuple[str, str]] = [("get", self.base_url)]
        if self.create_roles is not None:
            checks.append(("post", self.base_url))
        if self.has_detail:
            obj = self.make_object(tenant)
            checks.append(("get", self.detail_url(obj)))
            if self.update_roles is not None:
                checks.append(("patch", self.detail_url(obj)))
            if self.delete_roles is not None:
                checks.append(("delete", self.detail_url(obj)))
        for method, url in checks:
            response = getattr(client, method)(url)
            assert_problem(response, 401, "not_authenticated")

    @pytest.mark.django_db
    def test_read_by_role(self) -> None:
        tenant = make_tenant()
        obj = self.make_object(tenant) if self.has_detail else None
        for role in ALL_ROLES:
            client = tenant.client(role)
            response = client.get(self.base_url)
            if role in self.read_roles:
                assert response.status_code == 200, (role, response.content[:300])
                if obj is not None:
                    assert obj.pk in self._ids(response), role
                    detail = client.get(self.detail_url(obj))
                    assert detail.status_code == 200, (role, detail.content[:300])
                    assert detail.json()["id"] == obj.pk
            else:
                assert_problem(response, 403, "permission_denied")
                if obj is not None:
                    assert_problem(client.get(self.detail_url(obj)), 403, "permission_denied")

    @pytest.mark.django_db
    def test_other_tenants_object_is_not_found(self) -> None:
        if not self.has_detail:
            return  # no objects: nothing of another tenant's to reach
        tenant, other = make_tenant(), make_tenant()
        foreign = self.make_object(other)
        before = self._snapshot(foreign)
        read_role = self.read_roles[0]
        client = tenant.client(read_role)
        listed = client.get(self.base_url)
        assert listed.status_code == 200
        assert foreign.pk not in self._ids(listed)
        assert_problem(client.get(self.detail_url(foreign)), 404, "not_found")
        if self.update_roles:
            writer = tenant.client(self.update_roles[0])
            response = writer.patch(
                self.detail_url(foreign), self.update_payload(tenant, foreign), format="json"
            )
            assert_problem(response, 404, "not_found")
        if self.delete_roles:
            deleter = tenant.client(self.delete_roles[0])
            assert_problem(deleter.delete(self.detail_url(foreign)), 404, "not_found")
        assert self._snapshot(foreign) == before

    @pytest.mark.django_db
    def test_unsupported_methods_are_405(self) -> None:
        tenant = make_tenant()
        client = tenant.client(Role.OWNER)
        if self.create_roles is None:
            assert_problem(client.post(self.base_url, {}, format="json"), 405, "method_not_allowed")
        if self.has_detail:
            obj = self.make_object(tenant)
            if self.update_roles is None:
                assert_problem(
                    client.patch(self.detail_url(obj), {}, format="json"), 405, "method_not_allowed"
                )
            if self.delete_roles is None:
                assert_problem(client.delete(self.detail_url(obj)), 405, "method_not_allowed")

    @pytest.mark.django_db
    def test_create_by_role(self) -> None:
        if self.create_roles is None:
            return  # covered by test_unsupported_methods_are_405
        tenant = make_tenant()
        for role in ALL_ROLES:
            response = tenant.client(role).post(
                self.base_url, self.create_payload(tenant), format=self.create_format()
            )
            if role in self.create_roles:
                assert response.status_code in (201, 202), (role, response.content[:500])
            else:
                assert_problem(response, 403)

    @pytest.mark.django_db
    def test_update_by_role(self) -> None:
        if self.update_roles is None or not self.has_detail:
            return  # covered by test_unsupported_methods_are_405
        tenant = make_tenant()
        for role in ALL_ROLES:
            obj = self.make_object(tenant)
            before = self._snapshot(obj)
            response = tenant.client(role).patch(
                self.detail_url(obj), self.update_payload(tenant, obj), format="json"
            )
            if role in self.update_roles:
                assert response.status_code == 200, (role, response.content[:500])
                assert self._snapshot(obj) != before, role
            else:
                assert_problem(response, 403)
                assert self._snapshot(obj) == before, role

    @pytest.mark.django_db
    def test_delete_by_role(self) -> None:
        if self.delete_roles is None or not self.has_detail:
            return  # covered by test_unsupported_methods_are_405
        tenant = make_tenant()
        for role in ALL_ROLES:
            obj = self.make_object(tenant)
            response = tenant.client(role).delete(self.detail_url(obj))
            if role in self.delete_roles:
                assert response.status_code == 204, (role, response.content[:500])
                assert not self._exists(obj), role
            else:
                assert_problem(response, 403)
                assert self._exists(obj), role
