"""DRF permission: the request's tenant context must hold the capability the view declares for the action."""

from __future__ import annotations

from typing import Any

from rest_framework.permissions import BasePermission
from rest_framework.request import Request


class HasCapability(BasePermission):
    message = "Your role does not allow this action."

    def has_permission(self, request: Request, view: Any) -> bool:
        tenant = getattr(request, "tenant", None)
        if tenant is None:
            return False
        capability = view.capability_for(request)
        return bool(tenant.can(capability))
