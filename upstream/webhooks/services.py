"""State changes of webhooks: emitting events into the outbox (and, below, endpoint management and delivery).

``webhook_event_emit`` is the one entry point other apps use: call it inside the transaction that creates
the event (an alert, a finished run or upload); it writes one WebhookDelivery per subscribed active endpoint
and enqueues each after commit. If the broker loses the message, the beat sweeper still sends the row.
"""

from __future__ import annotations

import datetime
import functools
import json
import logging
from typing import Any

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.core.serializers.json import DjangoJSONEncoder
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.template.loader import render_to_string
from django.utils import timezone

from upstream.audit.models import AuditAction
from upstream.audit.services import audit_record
from upstream.core.db import constraint_violated
from upstream.tenancy.models import Customer
from upstream.tenancy.selectors import customer_admin_emails
from upstream.webhooks import addresses, signing
from upstream.webhooks.models import DeliveryStatus, EventType, WebhookDelivery, WebhookEndpoint

logger = logging.getLogger(__name__)


def webhook_envelope(*, event_type: str, data: dict[str, Any]) -> dict[str, Any]:
    """The Standard Webhooks envelope. ``data`` must hold ids and aggregate numbers only, never PHI; dates
    and decimals in it become ISO dates and strings here, once for every event type."""
    plain = json.loads(json.dumps(data, cls=DjangoJSONEncoder))
    return {"type": event_type, "timestamp": timezone.now().isoformat(), "data": plain}


def webhook_event_emit(
    *, customer_id: int, event_type: str, data: dict[str, Any], endpoint: WebhookEndpoint | None = None
) -> list[WebhookDelivery]:
    """Write the event's deliveries (one per active endpoint subscribed to ``event_type``, or just
    ``endpoint``) in the caller's transaction and enqueue them on commit; returns the deliveries."""
    if event_type not in EventType.values:
        raise ValueError(f"unknown webhook event type {event_type!r}")
    if endpoint is not None:
        endpoints = [endpoint]
    else:
        endpoints = list(
            WebhookEndpoint.objects_all_tenants.filter(customer_id=customer_id, active=True)
            .filter(Q(event_types=[]) | Q(event_types__contains=[event_type]))
            .order_by("id")
        )
    if not endpoints:
        return []
    payload = webhook_envelope(event_type=event_type, data=data)
    now = timezone.now()
    deliveries = WebhookDelivery.objects_all_tenants.bulk_create(
        [
            WebhookDelivery(
                customer_id=customer_id,
                endpoint=target,
                event_type=event_type,
                payload=payload,
                status=DeliveryStatus.PENDING,
                attempts_allowed=target.max_attempts,
                next_attempt_at=now,
            )
            for target in endpoints
        ]
    )
    for delivery in deliveries:
        # Robust: the event is committed already; a broker hiccup only delays delivery to the next sweep.
        transaction.on_commit(functools.partial(_enqueue, delivery.pk, customer_id), robust=True)
    return deliveries


def _enqueue(delivery_id: int, customer_id: int) -> None:
    from upstream.webhooks.tasks import deliver

    deliver.delay(delivery_id=delivery_id, customer_id=customer_id)


# --- endpoint management ------------------------------------------------------------------------------------


class EndpointNameTaken(Exception):
    pass


class EndpointInactive(Exception):
    pass


class DeliveryInProgress(Exception):
    pass


_EDITABLE_FIELDS = ("name", "url", "event_types", "max_attempts", "active")


def webhook_url_check(*, url: str) -> None:
    """Raise ``addresses.AddressNotAllowed`` unless ``url`` may receive webhooks (SPEC §8)."""
    addresses.url_check(url, allowed_networks=settings.WEBHOOK_ALLOWED_NETWORKS)


def _audit_endpoint(
    *, endpoint: WebhookEndpoint, actor: Any, request: Any, change: str, fields: list[str] | None = None
) -> None:
    # Names of changed fields only: the URL may embed a token and never goes to the audit log.
    metadata: dict[str, Any] = {"change": change, "name": endpoint.name}
    if fields is not None:
        metadata["fields"] = sorted(fields)
    audit_record(
        action=AuditAction.WEBHOOK_ENDPOINT_CHANGED,
        customer_id=endpoint.customer_id,
        actor=actor,
        target=endpoint,
        request=request,
        metadata=metadata,
    )


def webhook_endpoint_create(
    *,
    customer_id: int,
    name: str,
    url: str,
    event_types: list[str],
    max_attempts: int | None = None,
    actor: Any = None,
    request: Any = None,
) -> WebhookEndpoint:
    """Create an endpoint with a fresh secret (returned once, on the instance). Raises EndpointNameTaken."""
    endpoint = WebhookEndpoint(
        customer_id=customer_id,
        name=name,
        url=url,
        event_types=sorted(set(event_types)),
        max_attempts=max_attempts or settings.WEBHOOK_DEFAULT_MAX_ATTEMPTS,
        secret=signing.secret_generate(),
        created_by=actor if getattr(actor, "is_authenticated", False) else None,
    )
    _save_endpoint(endpoint, actor=actor, request=request, change="created")
    return endpoint


def webhook_endpoint_update(
    *, endpoint: WebhookEndpoint, changes: dict[str, Any], actor: Any = None, request: Any = None
) -> WebhookEndpoint:
    """Apply ``changes`` (name, url, event_types, max_attempts, active). ``active: true`` re-enables the
    endpoint and clears its disabled reason and failure streak; ``active: false`` disables it by hand."""
    changed = []
    for field, value in changes.items():
        if field not in _EDITABLE_FIELDS:
            raise ValueError(f"{field} cannot be changed")
        if field == "event_types":
            value = sorted(set(value))
        if getattr(endpoint, field) != value:
            setattr(endpoint, field, value)
            changed.append(field)
    if "active" in changed:
        if endpoint.active:
            endpoint.disabled_reason = ""
            endpoint.disabled_at = None
            endpoint.consecutive_failures = 0
            endpoint.failing_since = None
        else:
            endpoint.disabled_reason = "Disabled by a user."
            endpoint.disabled_at = timezone.now()
    if changed:
        _save_endpoint(endpoint, actor=actor, request=request, change="updated", fields=changed)
    return endpoint


def _save_endpoint(
    endpoint: WebhookEndpoint, *, actor: Any, request: Any, change: str, fields: list[str] | None = None
) -> None:
    """Save and audit in a savepoint; a concurrent endpoint with the same name becomes EndpointNameTaken."""
    try:
        with transaction.atomic():
            endpoint.save()
            _audit_endpoint(endpoint=endpoint, actor=actor, request=request, change=change, fields=fields)
    except IntegrityError as exc:
        if constraint_violated(exc, "webhook_endpoint_name_uniq"):
            raise EndpointNameTaken(endpoint.name) from exc
        raise


def webhook_endpoint_delete(*, endpoint: WebhookEndpoint, actor: Any = None, request: Any = None) -> None:
    """Delete an endpoint with its deliveries and attempts (audited)."""
    with transaction.atomic():
        _audit_endpoint(endpoint=endpoint, actor=actor, request=request, change="deleted")
        endpoint.delete()


def webhook_endpoint_secret_rotate(
    *, endpoint: WebhookEndpoint, actor: Any = None, request: Any = None
) -> WebhookEndpoint:
    """New secret; the current one keeps signing (second signature) for the grace period."""
    now = timezone.now()
    with transaction.atomic():
        locked = WebhookEndpoint.objects.select_for_update().get(pk=endpoint.pk)
        locked.previous_secret = locked.secret
        locked.previous_secret_expires_at = now + datetime.timedelta(
            hours=settings.WEBHOOK_SECRET_ROTATION_GRACE_HOURS
        )
        locked.secret = signing.secret_generate()
        locked.save(update_fields=["secret", "previous_secret", "previous_secret_expires_at", "updated_at"])
        audit_record(
            action=AuditAction.WEBHOOK_SECRET_ROTATED,
            customer_id=locked.customer_id,
            actor=actor,
            target=locked,
            request=request,
            metadata={"previous_secret_expires_at": locked.previous_secret_expires_at.isoformat()},
        )
    return locked


def webhook_endpoint_test(*, endpoint: WebhookEndpoint, actor: Any = None) -> WebhookDelivery:
    """Queue a ``webhook.test`` event to this endpoint (whatever its event filter)."""
    if not endpoint.active:
        raise EndpointInactive(endpoint.pk)
    data = {
        "endpoint_id": endpoint.pk,
        "message": "A test event from Upstream.",
        "requested_by": actor.pk if getattr(actor, "is_authenticated", False) else None,
    }
    with transaction.atomic():
        (delivery,) = webhook_event_emit(
            customer_id=endpoint.customer_id, event_type=EventType.WEBHOOK_TEST, data=data, endpoint=endpoint
        )
    return delivery


def webhook_delivery_redeliver(*, delivery: WebhookDelivery) -> WebhookDelivery:
    """Send a finished delivery again with the same ``webhook-id``: another round of the endpoint's
    ``max_attempts`` (attempt numbers keep counting), due now. Refused while it is pending or sending."""
    with transaction.atomic():
        locked = (
            WebhookDelivery.objects.select_for_update(of=("self",))
            .select_related("endpoint")
            .get(pk=delivery.pk)
        )
        if locked.status in (DeliveryStatus.PENDING, DeliveryStatus.SENDING):
            raise DeliveryInProgress(locked.pk)
        if not locked.endpoint.active:
            raise EndpointInactive(locked.endpoint_id)
        locked.attempts_allowed = locked.attempts_count + locked.endpoint.max_attempts
        locked.status = DeliveryStatus.PENDING
        locked.next_attempt_at = timezone.now()
        locked.finished_at = None
        locked.save(update_fields=["attempts_allowed", "status", "next_attempt_at", "finished_at"])
        transaction.on_commit(functools.partial(_enqueue, locked.pk, locked.customer_id), robust=True)
    return locked


def webhook_endpoint_disable(*, endpoint_id: int, code: str, reason: str) -> bool:
    """Disable an endpoint automatically (410, or failing too long): its pending deliveries fail, the event is
    audited and the customer's owners and admins are e-mailed. Returns False when it was inactive already."""
    now = timezone.now()
    with transaction.atomic():
        endpoint = WebhookEndpoint.objects.select_for_update().filter(pk=endpoint_id, active=True).first()
        if endpoint is None:
            return False
        endpoint.active = False
        endpoint.disabled_reason = reason[:200]
        endpoint.disabled_at = now
        endpoint.save(update_fields=["active", "disabled_reason", "disabled_at", "updated_at"])
        failed = WebhookDelivery.objects.filter(
            endpoint_id=endpoint_id, status=DeliveryStatus.PENDING
        ).update(
            status=DeliveryStatus.FAILED,
            next_attempt_at=None,
            finished_at=now,
            last_error=f"Not sent: the endpoint was disabled. {reason}"[:500],
        )
        audit_record(
            action=AuditAction.WEBHOOK_ENDPOINT_DISABLED,
            customer_id=endpoint.customer_id,
            target=endpoint,
            metadata={
                "code": code,
                "reason": reason,
                "consecutive_failures": endpoint.consecutive_failures,
                "pending_deliveries_failed": failed,
            },
        )
    logger.warning("webhook endpoint disabled", extra={"endpoint_id": endpoint_id, "code": code})
    try:
        endpoint_disabled_email_send(endpoint=endpoint)
    except Exception:  # the endpoint is disabled either way; the audit log and the API show why
        logger.exception("webhook endpoint disabled e-mail failed", extra={"endpoint_id": endpoint_id})
    return True


def endpoint_disabled_email_send(*, endpoint: WebhookEndpoint) -> int:
    """Tell the customer's owners and admins (no PHI, no URL: it may embed a token)."""
    recipients = customer_admin_emails(customer_id=endpoint.customer_id)
    if not recipients:
        return 0
    customer = Customer.objects.get(pk=endpoint.customer_id)
    context = {
        "customer_name": customer.name,
        "endpoint_name": endpoint.name,
        "endpoint_id": endpoint.pk,
        "reason": endpoint.disabled_reason,
        "disabled_at": endpoint.disabled_at,
        "link": f"{settings.PUBLIC_BASE_URL.rstrip('/')}/api/v1/webhook-endpoints/{endpoint.pk}/",
    }
    message = EmailMultiAlternatives(
        subject=f"[Upstream] Webhook endpoint “{endpoint.name}” was disabled",
        body=render_to_string("webhooks/endpoint_disabled.txt", context),
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=recipients,
    )
    message.attach_alternative(render_to_string("webhooks/endpoint_disabled.html", context), "text/html")
    return message.send()
