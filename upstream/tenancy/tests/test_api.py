"""The generic API contract applied to the tenancy and audit endpoints, plus their specific rules."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from django.db import models

from upstream.audit.models import AuditAction, AuditEvent
from upstream.core.testing.api import ALL_ROLES, MANAGERS, APIContract, assert_problem
from upstream.core.testing.clients import client_for
from upstream.core.testing.tenants import Tenant
from upstream.tenancy.models import Customer, Membership
from upstream.tenancy.roles import Role
from upstream.tenancy.tests.factories import CustomerFactory, MembershipFactory, UserFactory


class TestCustomersContract(APIContract):
    base_url = "/api/v1/customers/"
    read_roles = ALL_ROLES
    create_roles = ()  # superuser only; checked below

    def make_object(self, tenant: Tenant) -> models.Model:
        return tenant.customer

    def create_payload(self, tenant: Tenant) -> dict[str, Any]:
        return {"name": f"Clinic {uuid.uuid4().hex[:8]}"}


class TestMembershipsContract(APIContract):
    base_url = "/api/v1/memberships/"
    read_roles = MANAGERS
    create_roles = MANAGERS
    update_roles = MANAGERS
    delete_roles = MANAGERS

    def make_object(self, tenant: Tenant) -> models.Model:
        return MembershipFactory.create(customer=tenant.customer, role=Role.VIEWER)

    def create_payload(self, tenant: Tenant) -> dict[str, Any]:
        return {
            "email": f"new-{uuid.uuid4().hex[:8]}@example.test",
            "role": Role.VIEWER,
            "password": "Correct-Horse-9-Battery",
        }

    def update_payload(self, tenant: Tenant, obj: models.Model) -> dict[str, Any]:
        return {"role": Role.ANALYST}


class TestAuditEventsContract(APIContract):
    base_url = "/api/v1/audit-events/"
    read_roles = MANAGERS

    def make_object(self, tenant: Tenant) -> models.Model:
        return AuditEvent.objects_all_tenants.create(
            action=AuditAction.LOGOUT, customer_id=tenant.customer.pk
        )


class TestMeContract(APIContract):
    base_url = "/api/v1/me/"
    has_detail = False


# --- customers --------------------------------------------------------------------------------------------


def test_member_sees_only_active_customer(tenant: Tenant, other_tenant: Tenant) -> None:
    response = tenant.client(Role.VIEWER).get("/api/v1/customers/")
    assert response.status_code == 200
    assert [c["slug"] for c in response.json()["results"]] == [tenant.customer.slug]


def test_superuser_lists_all_and_creates_customers(
    superuser_client: Any, tenant: Tenant, other_tenant: Tenant
) -> None:
    listed = superuser_client.get("/api/v1/customers/")
    assert {c["id"] for c in listed.json()["results"]} == {tenant.customer.pk, other_tenant.customer.pk}
    created = superuser_client.post(
        "/api/v1/customers/", {"name": "Riverside Pediatrics", "timezone": "America/Chicago"}, format="json"
    )
    assert created.status_code == 201, created.content
    assert created.json()["slug"] == "riverside-pediatrics"
    assert (
        AuditEvent.objects_all_tenants.filter(
            action=AuditAction.CUSTOMER_CREATED, customer_id=created.json()["id"]
        ).count()
        == 1
    )
    duplicate = superuser_client.post("/api/v1/customers/", {"name": "Riverside Pediatrics"}, format="json")
    assert_problem(duplicate, 400)
    bad_tz = superuser_client.post(
        "/api/v1/customers/", {"name": "X Clinic", "timezone": "Mars/Base"}, format="json"
    )
    body = assert_problem(bad_tz, 400, "invalid_timezone")
    assert body["errors"][0]["attr"] == "timezone"


# --- memberships ------------------------------------------------------------------------------------------


def test_admin_manages_only_analysts_and_viewers(tenant: Tenant) -> None:
    admin = tenant.client(Role.ADMIN)
    owner_membership = Membership.objects_all_tenants.get(user=tenant.users[Role.OWNER])
    analyst_membership = Membership.objects_all_tenants.get(user=tenant.users[Role.ANALYST])

    create_admin = admin.post(
        "/api/v1/memberships/",
        {"email": "x@example.test", "role": Role.ADMIN, "password": "Correct-Horse-9-Battery"},
        format="json",
    )
    assert_problem(create_admin, 403, "role_not_manageable")
    promote = admin.patch(
        f"/api/v1/memberships/{analyst_membership.pk}/", {"role": Role.OWNER}, format="json"
    )
    assert_problem(promote, 403, "role_not_manageable")
    demote_owner = admin.patch(
        f"/api/v1/memberships/{owner_membership.pk}/", {"role": Role.VIEWER}, format="json"
    )
    assert_problem(demote_owner, 403, "role_not_manageable")
    assert_problem(admin.delete(f"/api/v1/memberships/{owner_membership.pk}/"), 403, "role_not_manageable")
    ok = admin.patch(f"/api/v1/memberships/{analyst_membership.pk}/", {"role": Role.VIEWER}, format="json")
    assert ok.status_code == 200
    assert ok.json()["role"] == Role.VIEWER
    event = AuditEvent.objects_all_tenants.get(action=AuditAction.MEMBERSHIP_ROLE_CHANGED)
    assert event.metadata == {"user_id": tenant.users[Role.ANALYST].pk, "from": "analyst", "to": "viewer"}
    assert event.actor_id == tenant.users[Role.ADMIN].pk
    assert event.customer_id == tenant.customer.pk


def test_last_owner_cannot_be_removed_or_demoted(tenant: Tenant) -> None:
    owner = tenant.client(Role.OWNER)
    only_owner = Membership.objects_all_tenants.get(user=tenant.users[Role.OWNER])
    demote = owner.patch(f"/api/v1/memberships/{only_owner.pk}/", {"role": Role.ADMIN}, format="json")
    assert_problem(demote, 409, "last_owner")
    assert_problem(owner.delete(f"/api/v1/memberships/{only_owner.pk}/"), 409, "last_owner")
    assert Membership.objects_all_tenants.get(pk=only_owner.pk).role == Role.OWNER

    second = MembershipFactory.create(customer=tenant.customer, role=Role.OWNER)
    assert (
        owner.patch(f"/api/v1/memberships/{only_owner.pk}/", {"role": Role.ADMIN}, format="json").status_code
        == 200
    )
    second_owner = client_for(second.user, tenant.customer)
    assert_problem(second_owner.delete(f"/api/v1/memberships/{second.pk}/"), 409, "last_owner")


def test_membership_create_existing_user_and_duplicates(tenant: Tenant, other_tenant: Tenant) -> None:
    owner = tenant.client(Role.OWNER)
    foreign_user = other_tenant.users[Role.VIEWER]
    response = owner.post(
        "/api/v1/memberships/", {"email": foreign_user.email.upper(), "role": Role.ANALYST}, format="json"
    )
    assert response.status_code == 201, response.content
    assert response.json()["user"]["id"] == foreign_user.pk
    again = owner.post(
        "/api/v1/memberships/", {"email": foreign_user.email, "role": Role.VIEWER}, format="json"
    )
    assert_problem(again, 409, "already_member")
    weak = owner.post(
        "/api/v1/memberships/",
        {"email": "weak@example.test", "role": Role.VIEWER, "password": "password"},
        format="json",
    )
    body = assert_problem(weak, 400)
    assert {e["attr"] for e in body["errors"]} == {"password"}


def test_membership_list_is_tenant_scoped(tenant: Tenant, other_tenant: Tenant) -> None:
    response = tenant.client(Role.OWNER).get("/api/v1/memberships/?page_size=100")
    emails = {m["user"]["email"] for m in response.json()["results"]}
    assert emails == {u.email for u in tenant.users.values()}


# --- me ---------------------------------------------------------------------------------------------------


def test_me_reports_role_and_permissions(tenant: Tenant) -> None:
    body = tenant.client(Role.VIEWER).get("/api/v1/me/").json()
    assert body["role"] == "viewer"
    assert body["permissions"] == ["read"]
    assert body["active_customer"] == {
        "id": tenant.customer.pk,
        "slug": tenant.customer.slug,
        "name": tenant.customer.name,
    }
    assert body["memberships"] == [{"customer": body["active_customer"], "role": "viewer"}]
    admin = tenant.client(Role.ADMIN).get("/api/v1/me/").json()
    assert admin["permissions"] == sorted(
        ["read", "view_phi", "write_data", "give_feedback", "manage_config", "manage_members", "read_audit"]
    )


# --- audit-events -----------------------------------------------------------------------------------------


def test_superuser_reads_audit_of_all_tenants(
    superuser_client: Any, tenant: Tenant, other_tenant: Tenant
) -> None:
    for t in (tenant, other_tenant):
        AuditEvent.objects_all_tenants.create(action=AuditAction.LOGOUT, customer_id=t.customer.pk)
    response = superuser_client.get("/api/v1/audit-events/?action=auth.logout")
    assert {e["customer_id"] for e in response.json()["results"]} == {
        tenant.customer.pk,
        other_tenant.customer.pk,
    }
    mine = tenant.client(Role.OWNER).get("/api/v1/audit-events/?action=auth.logout")
    assert {e["customer_id"] for e in mine.json()["results"]} == {tenant.customer.pk}


@pytest.mark.django_db
def test_superuser_acting_in_one_customer_sees_only_it(superuser: Any) -> None:
    first, second = CustomerFactory.create(), CustomerFactory.create()
    MembershipFactory.create(customer=second, user=UserFactory.create())
    client = client_for(superuser, first)
    assert [c["id"] for c in client.get("/api/v1/customers/").json()["results"]] == [first.pk]
    assert client.get(f"/api/v1/customers/{second.pk}/").status_code == 404
    assert Customer.objects.count() == 2
