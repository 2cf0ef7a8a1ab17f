"""Webhook endpoints, the delivery outbox and every delivery attempt (SPEC §8, Standard Webhooks v1).

A WebhookDelivery row is the outbox entry: it is written in the transaction that creates the event, and its
id is the ``webhook-id`` header on every attempt (also ``X-Idempotency-Key``), so a receiver can deduplicate.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Lower

from upstream.core.fields import EncryptedTextField
from upstream.core.models import TenantModel


class EventType(models.TextChoices):
    ALERT_CREATED = "alert.created", "An alert was raised"
    ALERT_UPDATED = "alert.updated", "An alert's status or feedback changed"
    REPORT_RUN_COMPLETED = "report_run.completed", "A drift run finished"
    UPLOAD_COMPLETED = "upload.completed", "A claims upload finished processing"
    WEBHOOK_TEST = "webhook.test", "A test event sent on request"


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", "Pending (due at next_attempt_at)"
    SENDING = "sending", "Claimed by a worker"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"


class AttemptOutcome(models.TextChoices):
    SUCCEEDED = "succeeded", "2xx"
    RETRY = "retry", "Retryable failure; another attempt is scheduled"
    FAILED = "failed", "Final failure"


MAX_ATTEMPTS_CEILING = 10


class WebhookEndpoint(TenantModel):
    name = models.CharField(max_length=100)
    url = models.URLField(max_length=2000)
    # `whsec_` + base64 of 32 random bytes, encrypted at rest; shown once, at creation and at rotation.
    secret = EncryptedTextField()
    # During rotation the previous secret keeps signing (a second signature) until it expires (24 h).
    previous_secret = EncryptedTextField(null=True, blank=True)
    previous_secret_expires_at = models.DateTimeField(null=True, blank=True)
    event_types = ArrayField(
        models.CharField(max_length=32, choices=EventType.choices),
        default=list,
        blank=True,
        help_text="Event types delivered to this endpoint; empty = all.",
    )
    active = models.BooleanField(default=True)
    disabled_reason = models.CharField(max_length=200, blank=True, default="")
    disabled_at = models.DateTimeField(null=True, blank=True)
    max_attempts = models.PositiveSmallIntegerField(default=5)
    # Failure streak for auto-disable: reset by any successful attempt.
    consecutive_failures = models.PositiveIntegerField(default=0)
    failing_since = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name", "id"]
        constraints = [
            # Case-insensitive, like alert rule names ("Billing" and "billing" are the same endpoint name).
            models.UniqueConstraint(F("customer"), Lower("name"), name="webhook_endpoint_name_uniq"),
            models.CheckConstraint(
                condition=Q(max_attempts__gte=1, max_attempts__lte=MAX_ATTEMPTS_CEILING),
                name="webhook_endpoint_max_attempts_range",
            ),
            models.CheckConstraint(
                condition=Q(previous_secret__isnull=True) | Q(previous_secret_expires_at__isnull=False),
                name="webhook_endpoint_previous_secret_expires",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class WebhookDelivery(TenantModel):
    endpoint = models.ForeignKey(WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries")
    event_type = models.CharField(max_length=32, choices=EventType.choices)
    # The exact envelope {"type", "timestamp", "data"}; serialized once so every attempt sends the same bytes.
    payload = models.JSONField()
    status = models.CharField(max_length=16, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING)
    attempts_count = models.PositiveIntegerField(default=0)
    # Cumulative cap on attempts_count: the endpoint's max_attempts at creation; a redelivery raises it by
    # another round of max_attempts (the attempt numbers keep counting up, the webhook-id stays the same).
    attempts_allowed = models.PositiveIntegerField(default=5)
    # When the row is due: the next attempt of a `pending` row, or the end of the lease of a `sending` one
    # (whose worker is presumed lost after it, so the sweeper picks the row up again).
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            # The sweeper's scan: due rows of every tenant, oldest first.
            models.Index(
                fields=["next_attempt_at"],
                name="webhook_delivery_due",
                condition=Q(status__in=[DeliveryStatus.PENDING, DeliveryStatus.SENDING]),
            ),
            models.Index(fields=["customer", "endpoint", "-created_at"], name="webhook_delivery_endpoint"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=DeliveryStatus.values), name="webhook_delivery_status_valid"
            ),
            models.CheckConstraint(
                condition=Q(event_type__in=EventType.values), name="webhook_delivery_type_valid"
            ),
            models.CheckConstraint(
                condition=Q(attempts_count__lte=F("attempts_allowed")),
                name="webhook_delivery_attempts_within_allowed",
            ),
            models.CheckConstraint(
                condition=~Q(status__in=[DeliveryStatus.PENDING]) | Q(next_attempt_at__isnull=False),
                name="webhook_delivery_pending_has_due_time",
            ),
        ]

    def __str__(self) -> str:
        return f"delivery {self.pk} {self.event_type} ({self.status})"


class WebhookDeliveryAttempt(TenantModel):
    delivery = models.ForeignKey(WebhookDelivery, on_delete=models.CASCADE, related_name="attempts")
    number = models.PositiveIntegerField(help_text="1 for the first attempt, across redeliveries.")
    started_at = models.DateTimeField()
    duration_ms = models.PositiveIntegerField(default=0)
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    response_body = models.TextField(blank=True, default="", help_text="First 2 KB of the response.")
    error = models.CharField(max_length=500, blank=True, default="")
    outcome = models.CharField(max_length=16, choices=AttemptOutcome.choices)

    class Meta:
        ordering = ["delivery_id", "number"]
        constraints = [
            models.UniqueConstraint(
                fields=["customer", "delivery", "number"], name="webhook_attempt_number_uniq"
            ),
            models.CheckConstraint(
                condition=Q(outcome__in=AttemptOutcome.values), name="webhook_attempt_outcome_valid"
            ),
            models.CheckConstraint(condition=Q(number__gte=1), name="webhook_attempt_number_positive"),
        ]

    def __str__(self) -> str:
        return f"attempt {self.number} of delivery {self.delivery_id}"
