"""Login, refresh rotation, logout, the customer claim and its re-verification on every request."""

from __future__ import annotations

from typing import Any

import pytest
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import RefreshToken

from upstream.audit.models import AuditAction, AuditEvent
from upstream.core.testing.api import assert_problem
from upstream.core.testing.clients import tokens_for
from upstream.core.testing.tenants import Tenant
from upstream.tenancy.authentication import CUSTOMER_CLAIM
from upstream.tenancy.models import Membership
from upstream.tenancy.roles import Role
from upstream.tenancy.tests.factories import TEST_PASSWORD, CustomerFactory, MembershipFactory, UserFactory

TOKEN_URL = "/api/v1/auth/token/"


def login(client: APIClient, email: str, password: str = TEST_PASSWORD, **extra: Any) -> Any:
    return client.post(TOKEN_URL, {"email": email, "password": password, **extra}, format="json")


def bearer(access: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {access}")
    return client


def test_login_with_single_membership(anon_client: APIClient, tenant: Tenant) -> None:
    user = tenant.users[Role.ANALYST]
    response = login(anon_client, user.email.upper())  # e-mail is case-insensitive
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["role"] == "analyst"
    assert body["customer"]["id"] == tenant.customer.pk
    assert RefreshToken(body["refresh"])[CUSTOMER_CLAIM] == tenant.customer.pk
    me = bearer(body["access"]).get("/api/v1/me/")
    assert me.json()["active_customer"]["id"] == tenant.customer.pk
    event = AuditEvent.objects_all_tenants.get(action=AuditAction.LOGIN_SUCCEEDED)
    assert (event.actor_id, event.customer_id, event.ip_address) == (user.pk, tenant.customer.pk, "127.0.0.1")


def test_wrong_password_is_401_and_audited(anon_client: APIClient, tenant: Tenant) -> None:
    user = tenant.users[Role.VIEWER]
    assert_problem(login(anon_client, user.email, "Wrong-Password-1!"), 401, "no_active_account")
    assert_problem(login(anon_client, "nobody@example.test"), 401, "no_active_account")
    failures = list(AuditEvent.objects_all_tenants.filter(action=AuditAction.LOGIN_FAILED).order_by("id"))
    assert [(e.actor_email, e.metadata["known_user"]) for e in failures] == [
        (user.email, True),
        ("nobody@example.test", False),
    ]


@pytest.mark.django_db
def test_several_memberships_require_customer(anon_client: APIClient) -> None:
    user = UserFactory.create()
    first, second = CustomerFactory.create(slug="alpha"), CustomerFactory.create(slug="beta")
    MembershipFactory.create(user=user, customer=first, role=Role.VIEWER)
    MembershipFactory.create(user=user, customer=second, role=Role.ADMIN)
    body = assert_problem(login(anon_client, user.email), 400, "customer_required")
    assert body["errors"][0]["attr"] == "customer"
    assert body["detail"].endswith("send `customer` with one of: alpha, beta.")
    by_slug = login(anon_client, user.email, customer="beta")
    assert (by_slug.json()["role"], by_slug.json()["customer"]["id"]) == ("admin", second.pk)
    by_id = login(anon_client, user.email, customer=str(first.pk))
    assert by_id.json()["role"] == "viewer"


def test_login_naming_foreign_customer_is_refused(
    anon_client: APIClient, tenant: Tenant, other_tenant: Tenant
) -> None:
    user = tenant.users[Role.OWNER]
    for reference in (other_tenant.customer.slug, "no-such-customer"):
        body = assert_problem(login(anon_client, user.email, customer=reference), 400, "not_member")
        assert body["detail"] == "You are not a member of that customer."


def test_token_with_foreign_customer_claim_is_refused(tenant: Tenant, other_tenant: Tenant) -> None:
    forged = tokens_for(tenant.users[Role.OWNER], other_tenant.customer)  # validly signed, wrong customer
    response = bearer(str(forged.access_token)).get("/api/v1/me/")
    assert_problem(response, 401, "membership_revoked")


def test_removed_membership_invalidates_access_on_next_request(tenant: Tenant) -> None:
    client = tenant.client(Role.ANALYST)
    assert client.get("/api/v1/me/").status_code == 200
    Membership.objects_all_tenants.filter(user=tenant.users[Role.ANALYST]).delete()
    assert_problem(client.get("/api/v1/me/"), 401, "membership_revoked")
    assert_problem(client.get("/api/v1/customers/"), 401, "membership_revoked")


def test_changed_role_applies_on_next_request(tenant: Tenant) -> None:
    client = tenant.client(Role.ADMIN)
    assert client.get("/api/v1/memberships/").status_code == 200
    Membership.objects_all_tenants.filter(user=tenant.users[Role.ADMIN]).update(role=Role.VIEWER)
    assert_problem(client.get("/api/v1/memberships/"), 403, "permission_denied")


def test_refresh_rotates_and_old_refresh_is_blacklisted(anon_client: APIClient, tenant: Tenant) -> None:
    tokens = login(anon_client, tenant.users[Role.VIEWER].email).json()
    rotated = anon_client.post("/api/v1/auth/token/refresh/", {"refresh": tokens["refresh"]}, format="json")
    assert rotated.status_code == 200, rotated.content
    assert set(rotated.json()) == {"access", "refresh"}
    assert RefreshToken(rotated.json()["refresh"])[CUSTOMER_CLAIM] == tenant.customer.pk
    reused = anon_client.post("/api/v1/auth/token/refresh/", {"refresh": tokens["refresh"]}, format="json")
    assert_problem(reused, 401, "token_not_valid")
    assert bearer(rotated.json()["access"]).get("/api/v1/me/").status_code == 200


def test_refresh_refused_after_membership_removed(anon_client: APIClient, tenant: Tenant) -> None:
    tokens = login(anon_client, tenant.users[Role.VIEWER].email).json()
    Membership.objects_all_tenants.filter(user=tenant.users[Role.VIEWER]).delete()
    response = anon_client.post("/api/v1/auth/token/refresh/", {"refresh": tokens["refresh"]}, format="json")
    assert_problem(response, 401, "membership_revoked")
    assert AuditEvent.objects_all_tenants.filter(action=AuditAction.TOKEN_REFRESH_REFUSED).count() == 1


def test_logout_blacklists_refresh_token(anon_client: APIClient, tenant: Tenant) -> None:
    tokens = login(anon_client, tenant.users[Role.ANALYST].email).json()
    client = bearer(tokens["access"])
    response = client.post("/api/v1/auth/logout/", {"refresh": tokens["refresh"]}, format="json")
    assert response.status_code == 204
    refused = anon_client.post("/api/v1/auth/token/refresh/", {"refresh": tokens["refresh"]}, format="json")
    assert_problem(refused, 401, "token_not_valid")
    assert (
        AuditEvent.objects_all_tenants.filter(
            action=AuditAction.LOGOUT, actor_id=tenant.users[Role.ANALYST].pk
        ).count()
        == 1
    )


def test_logout_refuses_someone_elses_refresh_token(anon_client: APIClient, tenant: Tenant) -> None:
    theirs = login(anon_client, tenant.users[Role.VIEWER].email).json()
    mine = login(anon_client, tenant.users[Role.ANALYST].email).json()
    response = bearer(mine["access"]).post(
        "/api/v1/auth/logout/", {"refresh": theirs["refresh"]}, format="json"
    )
    body = assert_problem(response, 400, "not_owner")
    assert body["errors"][0]["attr"] == "refresh"
    assert_problem(
        APIClient().post("/api/v1/auth/logout/", {"refresh": theirs["refresh"]}, format="json"), 401
    )


def test_verify_endpoint(anon_client: APIClient, tenant: Tenant) -> None:
    tokens = login(anon_client, tenant.users[Role.VIEWER].email).json()
    assert (
        anon_client.post("/api/v1/auth/token/verify/", {"token": tokens["access"]}, format="json").status_code
        == 200
    )
    assert_problem(
        anon_client.post("/api/v1/auth/token/verify/", {"token": "not-a-jwt"}, format="json"),
        401,
        "token_not_valid",
    )


def test_auth_endpoints_are_throttled_per_ip(anon_client: APIClient, tenant: Tenant, settings: Any) -> None:
    settings.THROTTLE_RATES = {**settings.THROTTLE_RATES, "auth": "3/min"}
    for _ in range(3):
        assert login(anon_client, tenant.users[Role.VIEWER].email, "Wrong-Password-1!").status_code == 401
    response = login(anon_client, tenant.users[Role.VIEWER].email)
    assert_problem(response, 429, "throttled")
    assert int(response["Retry-After"]) > 0


@pytest.mark.django_db
def test_superuser_without_membership_gets_all_tenant_token(anon_client: APIClient, superuser: Any) -> None:
    body = login(anon_client, superuser.email, "Sup3r-Secret-Pass!").json()
    assert (body["customer"], body["role"], body["is_superuser"]) == (None, None, True)
    assert CUSTOMER_CLAIM not in RefreshToken(body["refresh"])


@pytest.mark.django_db
def test_user_without_membership_cannot_log_in(anon_client: APIClient) -> None:
    user = UserFactory.create()
    assert_problem(login(anon_client, user.email), 401, "no_membership")
