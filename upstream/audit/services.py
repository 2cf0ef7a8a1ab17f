"""Writing audit events. Callers pass ids and non-PHI metadata only."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from rest_framework.request import Request

from upstream.audit.models import AuditEvent
from upstream.core.context import request_id_var


def client_ip(request: HttpRequest | Request | None) -> str | None:
    if request is None:
        return None
    meta = request.META
    ip: str | None = meta.get("REMOTE_ADDR")
    return ip


def audit_record(
    *,
    action: str,
    customer_id: int | None = None,
    actor: Any = None,
    actor_email: str = "",
    target: Any = None,
    target_type: str = "",
    target_id: str | int = "",
    request: HttpRequest | Request | None = None,
    metadata: dict[str, Any] | None = None,
) -> AuditEvent:
    """Append one audit event. ``actor`` is a user (or None); ``target`` a model instance (or None)."""
    if target is not None:
        target_type = target_type or target._meta.label_lower
        target_id = target_id or target.pk
    actor_id = actor.pk if actor is not None and getattr(actor, "is_authenticated", False) else None
    if actor_id is not None and not actor_email:
        actor_email = actor.email
    return AuditEvent.objects_all_tenants.create(
        action=action,
        customer_id=customer_id,
        actor_id=actor_id,
        actor_email=actor_email,
        target_type=target_type,
        target_id=str(target_id),
        ip_address=client_ip(request),
        request_id=request_id_var.get() or "",
        metadata=metadata or {},
    )
