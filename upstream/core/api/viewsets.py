"""The one base viewset every tenant-facing API view inherits (SPEC §2, CONVENTIONS "Tenancy").

It authenticates, checks the role capability declared per action, enters the tenant scope for the whole
request and builds the queryset itself. Subclasses narrow it in ``safely_get_queryset``; defining
``get_queryset`` or a class-level ``queryset`` is refused at import time, so the tenant filter cannot be
bypassed by accident.
"""

from __future__ import annotations

from contextlib import ExitStack
from typing import Any, ClassVar

from django.core.exceptions import ImproperlyConfigured
from django.db import models
from rest_framework import viewsets
from rest_framework.exceptions import ValidationError
from rest_framework.permissions import SAFE_METHODS, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response

from upstream.tenancy.context import TenantContext
from upstream.tenancy.models import Customer
from upstream.tenancy.permissions import HasCapability
from upstream.tenancy.roles import Capability
from upstream.tenancy.scoping import all_tenants_scope, tenant_scope


class TenantScopedViewSet(viewsets.GenericViewSet):
    model: ClassVar[type[models.Model]]
    # Field that ties a row to its customer; "pk" for the Customer model itself.
    tenant_lookup: ClassVar[str] = "customer_id"
    # Capability required per action; safe methods default to READ, anything else must be declared.
    action_capabilities: ClassVar[dict[str, str]] = {}
    permission_classes = (IsAuthenticated, HasCapability)

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "get_queryset" in cls.__dict__:
            raise TypeError(f"{cls.__name__} must implement safely_get_queryset(), not get_queryset()")
        if cls.__dict__.get("queryset") is not None:
            raise TypeError(f"{cls.__name__} must set `model`, not `queryset`")

    # --- tenant context and scope -------------------------------------------------------------------------
    @property
    def tenant(self) -> TenantContext:
        tenant: TenantContext | None = getattr(self.request, "tenant", None)
        if tenant is None:
            raise ImproperlyConfigured("TenantScopedViewSet used without TenantJWTAuthentication")
        return tenant

    def customer_required(self, doing: str) -> Customer:
        """The active customer; a superuser logged in without one gets a 400 saying what needs it."""
        customer = self.tenant.customer
        if customer is None:
            raise ValidationError(f"Log in with a `customer` to {doing}.", code="customer_required")
        return customer

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)
        stack = ExitStack()
        tenant = self.tenant
        if tenant.customer is not None:
            stack.enter_context(tenant_scope(tenant.customer.pk))
        elif tenant.all_tenants:
            stack.enter_context(all_tenants_scope())
        self._tenant_scope: ExitStack | None = stack

    def finalize_response(self, request: Request, response: Response, *args: Any, **kwargs: Any) -> Response:
        try:
            return super().finalize_response(request, response, *args, **kwargs)
        finally:
            scope_stack = getattr(self, "_tenant_scope", None)
            if scope_stack is not None:
                scope_stack.close()
                self._tenant_scope = None

    def capability_for(self, request: Request) -> str:
        if self.action is None:  # a method no action maps: let the view answer 405
            return Capability.READ
        capability = self.action_capabilities.get(self.action or "")
        if capability is not None:
            return capability
        if request.method in SAFE_METHODS:
            return Capability.READ
        raise ImproperlyConfigured(f"{type(self).__name__} declares no capability for action {self.action!r}")

    # --- queryset -----------------------------------------------------------------------------------------
    def get_queryset(self) -> models.QuerySet[Any]:
        if getattr(self, "swagger_fake_view", False):  # schema generation: no request, no tenant
            return self.model._default_manager.none()
        queryset = self.model._default_manager.all()
        tenant = self.tenant
        if tenant.customer is not None:
            queryset = queryset.filter(**{self.tenant_lookup: tenant.customer.pk})
        elif not tenant.all_tenants:
            queryset = queryset.none()
        return self.safely_get_queryset(queryset)

    def safely_get_queryset(self, queryset: models.QuerySet[Any]) -> models.QuerySet[Any]:
        return queryset

    def get_serializer_context(self) -> dict[str, Any]:
        context = dict(super().get_serializer_context())
        context["tenant"] = getattr(self.request, "tenant", None)
        return context
