"""``audit-events/``: read-only; owners and admins see their tenant, superusers every tenant."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiExample, extend_schema, extend_schema_view
from rest_framework import mixins

from upstream.audit.api.serializers import AuditEventSerializer
from upstream.audit.filtersets import AuditEventFilterSet
from upstream.audit.models import AuditEvent
from upstream.core.api.viewsets import TenantScopedViewSet
from upstream.tenancy.roles import Capability

AUDIT_EXAMPLE = {
    "id": 301,
    "occurred_at": "2026-11-23T09:12:44Z",
    "customer_id": 1,
    "actor_id": 7,
    "actor_email": "admin@demo.example",
    "action": "membership.role_changed",
    "target_type": "tenancy.membership",
    "target_id": "12",
    "ip_address": "203.0.113.10",
    "request_id": "5f0c2b7e9d2a4c1b8e3f6a7d9c0b1a2e",
    "metadata": {"user_id": 9, "from": "viewer", "to": "analyst"},
}


@extend_schema_view(
    list=extend_schema(
        summary="The audit log, newest first",
        examples=[OpenApiExample("Role change", value=[AUDIT_EXAMPLE], response_only=True)],
    ),
    retrieve=extend_schema(
        summary="One audit event", examples=[OpenApiExample("Role change", value=AUDIT_EXAMPLE)]
    ),
)
class AuditEventViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, TenantScopedViewSet):
    model = AuditEvent
    serializer_class = AuditEventSerializer
    action_capabilities = {"list": Capability.READ_AUDIT, "retrieve": Capability.READ_AUDIT}
    filterset_class = AuditEventFilterSet
    search_fields = ("actor_email", "action", "target_type")
    ordering_fields = ("occurred_at", "id")
    ordering = ("-occurred_at", "-id")
