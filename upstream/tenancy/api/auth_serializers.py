"""Serializers for JWT login, refresh and logout with the active-customer claim (SPEC §2, §9)."""

from __future__ import annotations

from typing import Any

from rest_framework import exceptions, serializers
from rest_framework_simplejwt.exceptions import AuthenticationFailed, TokenError
from rest_framework_simplejwt.serializers import TokenObtainPairSerializer
from rest_framework_simplejwt.serializers import TokenRefreshSerializer as _Refresh
from rest_framework_simplejwt.tokens import RefreshToken, UntypedToken

from upstream.audit.models import AuditAction
from upstream.audit.services import audit_record
from upstream.tenancy.authentication import CUSTOMER_CLAIM, resolve_tenant_context
from upstream.tenancy.models import Customer, Membership, User
from upstream.tenancy.selectors import customer_resolve, memberships_of_user


class CustomerBriefSerializer(serializers.ModelSerializer[Customer]):
    class Meta:
        model = Customer
        fields = ("id", "slug", "name")


class TokenObtainSerializer(TokenObtainPairSerializer):
    """E-mail + password, plus ``customer`` (id or slug) when the user belongs to several customers."""

    customer = serializers.CharField(
        required=False,
        allow_blank=False,
        write_only=True,
        help_text="Customer id or slug; required when the user has more than one membership.",
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        request = self.context.get("request")
        email = str(attrs.get(self.username_field, ""))
        try:
            super().validate(attrs)  # authenticates; sets self.user
        except exceptions.AuthenticationFailed:
            known = User.objects.filter(email__iexact=email.strip()).first()
            audit_record(
                action=AuditAction.LOGIN_FAILED,
                actor_email=email[:254],
                request=request,
                metadata={"reason": "bad_credentials", "known_user": known is not None},
            )
            raise
        user = self.user
        assert isinstance(user, User)
        customer, membership = self._choose_customer(user, attrs.get("customer"))
        refresh = RefreshToken.for_user(user)
        if customer is not None:
            refresh[CUSTOMER_CLAIM] = customer.pk
        audit_record(
            action=AuditAction.LOGIN_SUCCEEDED,
            customer_id=customer.pk if customer else None,
            actor=user,
            request=request,
            metadata={"role": membership.role if membership else None},
        )
        return {
            "refresh": str(refresh),
            "access": str(refresh.access_token),
            "customer": CustomerBriefSerializer(customer).data if customer else None,
            "role": membership.role if membership else None,
            "is_superuser": user.is_superuser,
        }

    def _choose_customer(
        self, user: User, reference: str | None
    ) -> tuple[Customer | None, Membership | None]:
        memberships = list(memberships_of_user(user=user))
        if reference:
            customer = customer_resolve(reference=reference)
            membership = next((m for m in memberships if customer and m.customer_id == customer.pk), None)
            if membership is not None:
                return membership.customer, membership
            if customer is not None and user.is_superuser:
                return customer, None
            self._refuse(user, "not_member", "You are not a member of that customer.", "customer")
        if len(memberships) == 1:
            return memberships[0].customer, memberships[0]
        if not memberships:
            if user.is_superuser:
                return None, None
            self._refuse(user, "no_membership", "This account belongs to no customer.", None)
        slugs = ", ".join(m.customer.slug for m in memberships)
        self._refuse(
            user,
            "customer_required",
            f"This account belongs to several customers; send `customer` with one of: {slugs}.",
            "customer",
        )
        raise AssertionError("unreachable")

    def _refuse(self, user: User, code: str, message: str, attr: str | None) -> None:
        audit_record(
            action=AuditAction.LOGIN_FAILED,
            actor=user,
            request=self.context.get("request"),
            metadata={"reason": code},
        )
        if attr:
            raise serializers.ValidationError({attr: [serializers.ErrorDetail(message, code=code)]})
        raise AuthenticationFailed(message, code=code)


class TokenPairResponseSerializer(serializers.Serializer[Any]):
    access = serializers.CharField()
    refresh = serializers.CharField()
    customer = CustomerBriefSerializer(allow_null=True)
    role = serializers.CharField(allow_null=True)
    is_superuser = serializers.BooleanField()


class TokenRefreshSerializer(_Refresh):
    """Refresh with rotation; the membership named by the token must still exist."""

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        try:
            token = UntypedToken(attrs["refresh"])
        except TokenError:
            return super().validate(attrs)  # raises the library's precise token error
        user = User.objects.filter(pk=token.get("user_id"), is_active=True).first()
        if user is None:
            raise AuthenticationFailed("The account of this token is inactive or gone.", code="user_inactive")
        try:
            resolve_tenant_context(user=user, claims=token)
        except AuthenticationFailed:
            audit_record(
                action=AuditAction.TOKEN_REFRESH_REFUSED,
                customer_id=token.get(CUSTOMER_CLAIM),
                actor=user,
                request=self.context.get("request"),
                metadata={"reason": "membership_revoked"},
            )
            raise
        return super().validate(attrs)


class LogoutSerializer(serializers.Serializer[Any]):
    refresh = serializers.CharField(help_text="The refresh token to revoke.")

    def validate_refresh(self, value: str) -> RefreshToken:
        try:
            token = RefreshToken(value)  # type: ignore[arg-type]
        except TokenError as exc:
            raise serializers.ValidationError(str(exc), code="token_not_valid") from exc
        request = self.context["request"]
        if str(token.get("user_id")) != str(request.user.pk):
            raise serializers.ValidationError(
                "This refresh token belongs to another account.", code="not_owner"
            )
        return token
