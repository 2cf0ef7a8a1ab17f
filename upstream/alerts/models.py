"""Alert rules, the alerts they raise from drift events, and operators' feedback on them (SPEC §3, §8)."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Lower

from upstream.core.models import TenantModel
from upstream.drift.models import DriftType


class AlertStatus(models.TextChoices):
    OPEN = "open", "Open"
    ACKNOWLEDGED = "acknowledged", "Acknowledged"
    RESOLVED = "resolved", "Resolved"
    SUPPRESSED = "suppressed", "Suppressed (recorded, not delivered)"


class SuppressionReason(models.TextChoices):
    NONE = "", "Not suppressed"
    COOLDOWN = "cooldown", "A delivered alert for the same signal within the cooldown"
    NOISE = "noise", "Alerts for the same signal were judged noise recently"


class EmailStatus(models.TextChoices):
    NOT_REQUIRED = "not_required", "No email (suppressed, or the rule has no recipients)"
    PENDING = "pending", "Queued"
    SENT = "sent", "Sent"
    FAILED = "failed", "Failed after retries"


class Verdict(models.TextChoices):
    REAL = "real", "Real: acknowledged"
    NOISE = "noise", "Noise: resolved"
    NEEDS_FOLLOWUP = "needs_followup", "Needs follow-up: open"


class AlertSettings(TenantModel):
    """A customer's suppression windows (SPEC §8 defaults); one row per customer, created on demand."""

    cooldown_minutes = models.PositiveIntegerField(default=240)
    noise_window_days = models.PositiveSmallIntegerField(default=30)
    noise_threshold = models.PositiveSmallIntegerField(
        default=2, help_text="Alerts judged noise within the window that suppress the signal."
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["customer"], name="alert_settings_one_per_customer"),
            models.CheckConstraint(condition=Q(noise_threshold__gte=1), name="alert_settings_noise_min"),
        ]

    def __str__(self) -> str:
        return f"alert settings of customer {self.customer_id}"


class AlertRule(TenantModel):
    name = models.CharField(max_length=100)
    enabled = models.BooleanField(default=True)
    drift_types = ArrayField(
        models.CharField(max_length=16, choices=DriftType.choices),
        default=list,
        blank=True,
        help_text="Drift types that match; empty = all.",
    )
    payer = models.CharField(max_length=255, blank=True, default="", help_text="Empty = every payer.")
    cpt_group = models.CharField(max_length=64, blank=True, default="", help_text="Empty = every group.")
    min_severity = models.FloatField(default=0.25)
    worsening_only = models.BooleanField(default=True)
    email_recipients = ArrayField(models.EmailField(), default=list, blank=True)
    email_admins = models.BooleanField(default=True, help_text="Also email the customer's owners and admins.")
    webhook_enabled = models.BooleanField(default=True, help_text="Deliver alert.created to webhooks.")
    is_default = models.BooleanField(default=False, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name", "id"]
        constraints = [
            # Case-insensitive, like the API's check ("Denials" and "denials" are the same rule name).
            models.UniqueConstraint(F("customer"), Lower("name"), name="alert_rule_name_uniq"),
            models.CheckConstraint(
                condition=Q(min_severity__gte=0, min_severity__lte=1), name="alert_rule_min_severity_range"
            ),
        ]

    def __str__(self) -> str:
        return self.name


class AlertEvent(TenantModel):
    # SET_NULL: deleting a rule keeps the alerts it raised (and their feedback) as history.
    rule = models.ForeignKey(
        AlertRule, null=True, blank=True, on_delete=models.SET_NULL, related_name="alerts"
    )
    drift_event = models.ForeignKey("drift.DriftEvent", on_delete=models.CASCADE, related_name="alerts")
    fingerprint = models.CharField(
        max_length=64, help_text="sha256(rule, payer, cpt_group, type, window end)"
    )
    # The signal, copied from the drift event so suppression and the list filters need no join.
    payer = models.CharField(max_length=255)
    cpt_group = models.CharField(max_length=64)
    drift_type = models.CharField(max_length=16, choices=DriftType.choices)
    severity = models.FloatField()
    current_end = models.DateField()
    status = models.CharField(max_length=16, choices=AlertStatus.choices, default=AlertStatus.OPEN)
    suppression_reason = models.CharField(
        max_length=16, choices=SuppressionReason.choices, blank=True, default=SuppressionReason.NONE
    )
    email_status = models.CharField(
        max_length=16, choices=EmailStatus.choices, default=EmailStatus.NOT_REQUIRED
    )
    email_attempts = models.PositiveSmallIntegerField(default=0)
    email_sent_at = models.DateTimeField(null=True, blank=True)
    email_error = models.CharField(max_length=500, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            # Suppression looks back at the same signal's recent alerts.
            models.Index(
                fields=["customer", "payer", "cpt_group", "drift_type", "-created_at"],
                name="alert_event_signal_recent",
            ),
            models.Index(fields=["customer", "status", "-created_at"], name="alert_event_cust_status"),
            # The e-mail sweeper's scan: the few alerts whose e-mail is still pending, of every tenant.
            models.Index(
                fields=["updated_at"], name="alert_event_email_pending", condition=Q(email_status="pending")
            ),
        ]
        constraints = [
            models.UniqueConstraint(fields=["customer", "fingerprint"], name="alert_event_fingerprint_uniq"),
            models.CheckConstraint(
                condition=Q(status__in=AlertStatus.values), name="alert_event_status_valid"
            ),
            models.CheckConstraint(
                condition=Q(suppression_reason__in=SuppressionReason.values),
                name="alert_event_suppression_valid",
            ),
            # Suppressed exactly when a reason is recorded.
            models.CheckConstraint(
                condition=(Q(status=AlertStatus.SUPPRESSED) & ~Q(suppression_reason=""))
                | (~Q(status=AlertStatus.SUPPRESSED) & Q(suppression_reason="")),
                name="alert_event_suppressed_has_reason",
            ),
            models.CheckConstraint(
                condition=Q(email_status__in=EmailStatus.values), name="alert_event_email_status_valid"
            ),
            models.CheckConstraint(
                condition=Q(severity__gte=0, severity__lte=1), name="alert_event_severity_range"
            ),
        ]

    def __str__(self) -> str:
        return f"alert {self.pk} {self.drift_type} {self.payer}/{self.cpt_group} ({self.status})"


class OperatorFeedback(TenantModel):
    alert = models.ForeignKey(AlertEvent, on_delete=models.CASCADE, related_name="feedback")
    operator = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    verdict = models.CharField(max_length=16, choices=Verdict.choices)
    reason_codes = ArrayField(models.CharField(max_length=64), default=list, blank=True)
    recovered_amount = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)
    recovered_date = models.DateField(null=True, blank=True)
    notes = models.TextField(blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["customer", "alert", "operator"], name="alert_feedback_one_per_operator"
            ),
            models.CheckConstraint(
                condition=Q(verdict__in=Verdict.values), name="alert_feedback_verdict_valid"
            ),
            models.CheckConstraint(
                condition=Q(recovered_amount__isnull=True) | Q(recovered_amount__gte=Decimal("0")),
                name="alert_feedback_recovered_nonneg",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.verdict} on alert {self.alert_id} by {self.operator_id}"
