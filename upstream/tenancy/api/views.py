"""Auth, ``me/``, customers and memberships endpoints."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, status
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.serializers import BaseSerializer
from rest_framework.views import APIView
from rest_framework_simplejwt.views import TokenObtainPairView, TokenRefreshView, TokenVerifyView

from upstream.audit.models import AuditAction
from upstream.audit.services import audit_record
from upstream.core.api.exceptions import Conflict
from upstream.core.api.throttles import AuthRateThrottle
from upstream.core.api.viewsets import TenantScopedViewSet
from upstream.tenancy import services
from upstream.tenancy.api.auth_serializers import LogoutSerializer, TokenPairResponseSerializer
from upstream.tenancy.api.serializers import (
    CustomerSerializer,
    MembershipCreateSerializer,
    MembershipSerializer,
    MembershipUpdateSerializer,
    MeSerializer,
)
from upstream.tenancy.context import TenantContext
from upstream.tenancy.models import Customer, Membership
from upstream.tenancy.roles import Capability, can_manage_role
from upstream.tenancy.selectors import memberships_of_user

EXAMPLE_CUSTOMER = {"id": 1, "slug": "demo-clinic", "name": "Demo Clinic"}
CUSTOMER_EXAMPLE = {
    "id": 1,
    "name": "Demo Clinic",
    "slug": "demo-clinic",
    "timezone": "America/New_York",
    "created_at": "2026-11-23T09:00:00Z",
}
EXAMPLE_USER = {"id": 7, "email": "analyst@demo.example", "first_name": "Ana", "last_name": "Lyst"}


@extend_schema(
    tags=["auth"],
    summary="Log in: obtain an access and a refresh token",
    responses={200: TokenPairResponseSerializer},
    examples=[
        OpenApiExample(
            "One membership",
            request_only=True,
            value={"email": "analyst@demo.example", "password": "S3cure-Passphrase!"},
        ),
        OpenApiExample(
            "Choose the customer",
            request_only=True,
            value={
                "email": "biller@example.com",
                "password": "S3cure-Passphrase!",
                "customer": "demo-clinic",
            },
        ),
        OpenApiExample(
            "Tokens",
            response_only=True,
            value={
                "access": "eyJhbGciOi...",
                "refresh": "eyJhbGciOi...",
                "customer": EXAMPLE_CUSTOMER,
                "role": "analyst",
                "is_superuser": False,
            },
        ),
    ],
)
class TokenObtainView(TokenObtainPairView):
    throttle_classes = (AuthRateThrottle,)


@extend_schema(
    tags=["auth"],
    summary="Rotate a refresh token (the old one is blacklisted)",
    examples=[
        OpenApiExample("Refresh", request_only=True, value={"refresh": "eyJhbGciOi..."}),
        OpenApiExample(
            "Rotated", response_only=True, value={"access": "eyJhbGciOi...", "refresh": "eyJhbGciOi..."}
        ),
    ],
)
class TokenRefreshRotateView(TokenRefreshView):
    throttle_classes = (AuthRateThrottle,)


@extend_schema(
    tags=["auth"],
    summary="Check that a token is valid",
    examples=[OpenApiExample("Verify", request_only=True, value={"token": "eyJhbGciOi..."})],
)
class TokenCheckView(TokenVerifyView):
    throttle_classes = (AuthRateThrottle,)


class LogoutView(APIView):
    permission_classes = (IsAuthenticated,)
    throttle_classes = (AuthRateThrottle,)

    @extend_schema(
        tags=["auth"],
        summary="Log out: blacklist the refresh token",
        request=LogoutSerializer,
        responses={204: OpenApiResponse(description="The refresh token can no longer be used.")},
        examples=[OpenApiExample("Logout", request_only=True, value={"refresh": "eyJhbGciOi..."})],
    )
    def post(self, request: Request) -> Response:
        serializer = LogoutSerializer(data=request.data, context={"request": request})
        serializer.is_valid(raise_exception=True)
        serializer.validated_data["refresh"].blacklist()
        tenant: TenantContext = request.tenant  # type: ignore[attr-defined]
        audit_record(
            action=AuditAction.LOGOUT,
            customer_id=tenant.customer.pk if tenant.customer else None,
            actor=tenant.user,
            request=request,
        )
        return Response(status=status.HTTP_204_NO_CONTENT)


class MeView(APIView):
    permission_classes = (IsAuthenticated,)

    @extend_schema(
        tags=["auth"],
        summary="The current user, memberships, active customer, role and permissions",
        responses=MeSerializer,
        examples=[
            OpenApiExample(
                "Analyst",
                value={
                    "user": EXAMPLE_USER,
                    "is_superuser": False,
                    "memberships": [{"customer": EXAMPLE_CUSTOMER, "role": "analyst"}],
                    "active_customer": EXAMPLE_CUSTOMER,
                    "role": "analyst",
                    "permissions": ["read", "view_phi", "write_data", "give_feedback"],
                },
            )
        ],
    )
    def get(self, request: Request) -> Response:
        tenant: TenantContext = request.tenant  # type: ignore[attr-defined]
        data = {
            "user": request.user,
            "is_superuser": tenant.is_superuser,
            "memberships": memberships_of_user(user=tenant.user),
            "active_customer": tenant.customer,
            "role": tenant.role,
            "permissions": sorted(tenant.capabilities),
        }
        return Response(MeSerializer(data).data)


@extend_schema_view(
    list=extend_schema(
        summary="Customers you can see (superuser: all, others: the active customer)",
        examples=[OpenApiExample("Customers", response_only=True, value=[CUSTOMER_EXAMPLE])],
    ),
    retrieve=extend_schema(
        summary="One customer", examples=[OpenApiExample("Customer", value=CUSTOMER_EXAMPLE)]
    ),
    create=extend_schema(
        summary="Create a customer (superuser only)",
        examples=[
            OpenApiExample(
                "New practice",
                request_only=True,
                value={"name": "Riverside Pediatrics", "timezone": "America/Chicago"},
            ),
            OpenApiExample(
                "Created",
                response_only=True,
                status_codes=["201"],
                value={
                    "id": 2,
                    "name": "Riverside Pediatrics",
                    "slug": "riverside-pediatrics",
                    "timezone": "America/Chicago",
                    "created_at": "2026-11-23T09:00:00Z",
                },
            ),
        ],
    ),
)
class CustomerViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin, TenantScopedViewSet
):
    model = Customer
    tenant_lookup = "pk"
    serializer_class = CustomerSerializer
    action_capabilities = {"create": Capability.CREATE_CUSTOMERS}
    search_fields = ("name", "slug")
    ordering_fields = ("name", "created_at")
    ordering = ("name",)

    def perform_create(self, serializer: BaseSerializer[Customer]) -> None:
        data = serializer.validated_data
        if Customer.objects.filter(slug=data.get("slug") or "").exists():
            raise ValidationError({"slug": ["A customer with this slug already exists."]}, code="unique")
        serializer.instance = services.customer_create(
            name=data["name"],
            slug=data.get("slug"),
            timezone=data.get("timezone", "UTC"),
            actor=self.tenant.user,
            request=self.request,
        )


MEMBERSHIP_EXAMPLE = {
    "id": 12,
    "user": EXAMPLE_USER,
    "customer": EXAMPLE_CUSTOMER,
    "role": "analyst",
    "created_at": "2026-11-23T09:00:00Z",
}


@extend_schema_view(
    list=extend_schema(
        summary="Members of the active customer",
        examples=[OpenApiExample("Members", value=[MEMBERSHIP_EXAMPLE], response_only=True)],
    ),
    retrieve=extend_schema(
        summary="One membership", examples=[OpenApiExample("Analyst", value=MEMBERSHIP_EXAMPLE)]
    ),
    create=extend_schema(
        summary="Add a member (the user is created when unknown)",
        request=MembershipCreateSerializer,
        responses={201: MembershipSerializer},
        examples=[
            OpenApiExample(
                "Invite an analyst",
                request_only=True,
                value={
                    "email": "new.analyst@demo.example",
                    "role": "analyst",
                    "password": "Correct-Horse-9-Battery",
                },
            ),
            OpenApiExample("Created", response_only=True, status_codes=["201"], value=MEMBERSHIP_EXAMPLE),
        ],
    ),
    update=extend_schema(
        summary="Change a member's role",
        request=MembershipUpdateSerializer,
        examples=[
            OpenApiExample("Promote", request_only=True, value={"role": "admin"}),
            OpenApiExample("Promoted", response_only=True, value={**MEMBERSHIP_EXAMPLE, "role": "admin"}),
        ],
    ),
    partial_update=extend_schema(
        summary="Change a member's role",
        request=MembershipUpdateSerializer,
        examples=[
            OpenApiExample("Demote", request_only=True, value={"role": "viewer"}),
            OpenApiExample("Demoted", response_only=True, value={**MEMBERSHIP_EXAMPLE, "role": "viewer"}),
        ],
    ),
    destroy=extend_schema(summary="Remove a member (the last owner cannot be removed)"),
)
class MembershipViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, TenantScopedViewSet):
    model = Membership
    serializer_class = MembershipSerializer
    action_capabilities = {
        "list": Capability.MANAGE_MEMBERS,
        "retrieve": Capability.MANAGE_MEMBERS,
        "create": Capability.MANAGE_MEMBERS,
        "update": Capability.MANAGE_MEMBERS,
        "partial_update": Capability.MANAGE_MEMBERS,
        "destroy": Capability.MANAGE_MEMBERS,
    }
    filterset_fields = ("role",)
    search_fields = ("user__email", "user__first_name", "user__last_name")
    ordering_fields = ("created_at", "role", "user__email")
    ordering = ("id",)

    def safely_get_queryset(self, queryset: Any) -> Any:
        return queryset.select_related("user", "customer")

    def _require_manageable(self, role: str) -> None:
        tenant = self.tenant
        if not can_manage_role(actor_role=tenant.role, is_superuser=tenant.is_superuser, target_role=role):
            raise PermissionDenied(f"Your role cannot manage {role} memberships.", code="role_not_manageable")

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = MembershipCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        self._require_manageable(data["role"])
        customer = self.customer_required("manage its members")
        try:
            user, _ = services.user_get_or_create(
                email=data["email"],
                password=data.get("password"),
                first_name=data.get("first_name", ""),
                last_name=data.get("last_name", ""),
            )
            membership = services.membership_create(
                customer=customer, user=user, role=data["role"], actor=self.tenant.user, request=request
            )
        except DjangoValidationError as exc:
            raise ValidationError({"password": exc.messages}, code="password_invalid") from exc
        except services.TenancyError as exc:
            raise Conflict(str(exc), code=exc.code) from exc
        return Response(MembershipSerializer(membership).data, status=status.HTTP_201_CREATED)

    def update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        membership = self.get_object()
        serializer = MembershipUpdateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        role = serializer.validated_data["role"]
        self._require_manageable(membership.role)
        self._require_manageable(role)
        try:
            membership = services.membership_change_role(
                membership=membership, role=role, actor=self.tenant.user, request=request
            )
        except services.TenancyError as exc:
            raise Conflict(str(exc), code=exc.code) from exc
        return Response(MembershipSerializer(membership).data)

    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return self.update(request, *args, **kwargs)

    def destroy(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        membership = self.get_object()
        self._require_manageable(membership.role)
        try:
            services.membership_delete(
                membership=membership,
                actor=self.tenant.user,
                request=request,
            )
        except services.TenancyError as exc:
            raise Conflict(str(exc), code=exc.code) from exc
        return Response(status=status.HTTP_204_NO_CONTENT)
