"""JWT authentication that re-verifies the token's customer claim against the membership on every request."""

from __future__ import annotations

from typing import Any

from rest_framework.request import Request
from rest_framework_simplejwt.authentication import JWTAuthentication
from rest_framework_simplejwt.exceptions import AuthenticationFailed
from rest_framework_simplejwt.tokens import Token

from upstream.tenancy.context import TenantContext
from upstream.tenancy.models import Customer, User
from upstream.tenancy.selectors import membership_get

CUSTOMER_CLAIM = "customer_id"


def resolve_tenant_context(*, user: User, claims: dict[str, Any] | Token) -> TenantContext:
    """The tenant context a token grants, or ``AuthenticationFailed`` when the membership no longer holds."""
    customer_id = claims.get(CUSTOMER_CLAIM)
    if customer_id is None:
        if user.is_superuser:
            return TenantContext.build(user=user, customer=None, membership=None)
        raise AuthenticationFailed("The token names no customer.", code="customer_missing")
    membership = membership_get(user_id=user.pk, customer_id=int(customer_id))
    if membership is not None:
        return TenantContext.build(user=user, customer=membership.customer, membership=membership)
    if user.is_superuser:
        customer = Customer.objects.filter(pk=int(customer_id)).first()
        if customer is not None:
            return TenantContext.build(user=user, customer=customer, membership=None)
    raise AuthenticationFailed(
        "You are no longer a member of the customer this token was issued for.", code="membership_revoked"
    )


class TenantJWTAuthentication(JWTAuthentication):
    def authenticate(self, request: Request) -> tuple[User, Token] | None:  # type: ignore[override]
        result = super().authenticate(request)
        if result is None:
            return None
        user, token = result
        assert isinstance(user, User)
        request.tenant = resolve_tenant_context(user=user, claims=token)  # type: ignore[attr-defined]
        return user, token
