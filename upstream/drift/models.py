"""Drift detection: per-customer settings, report runs and the drift events they find (SPEC §3, §7)."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import F, Q

from upstream.core.models import TenantModel


class DriftType(models.TextChoices):
    DENIAL_RATE = "DENIAL_RATE", "Denial rate"
    DECISION_TIME = "DECISION_TIME", "Decision time"
    PAYMENT_DELAY = "PAYMENT_DELAY", "Payment delay"
    DENIAL_DOLLARS = "DENIAL_DOLLARS", "Denied dollars"


class Direction(models.TextChoices):
    WORSENING = "worsening", "Worsening"
    IMPROVING = "improving", "Improving"


class SeverityLabel(models.TextChoices):
    CRITICAL = "critical", "Critical"
    HIGH = "high", "High"
    MEDIUM = "medium", "Medium"
    LOW = "low", "Low"


class RunTrigger(models.TextChoices):
    MANUAL = "manual", "Manual"
    SCHEDULE = "schedule", "Schedule"
    UPLOAD = "upload", "After an upload"


class RunStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"


ALL_GROUPS = "ALL"  # cpt_group of the payer-wide roll-up


class DriftSettings(TenantModel):
    """A customer's windows and thresholds (defaults of SPEC §7); one row per customer, created on demand."""

    baseline_days = models.PositiveSmallIntegerField(default=90)
    current_days = models.PositiveSmallIntegerField(default=14)
    min_volume = models.PositiveIntegerField(default=30)
    q = models.DecimalField(
        max_digits=4,
        decimal_places=3,
        default=Decimal("0.050"),
        help_text="False discovery rate for Benjamini–Hochberg.",
    )
    denial_rate_abs_threshold = models.DecimalField(max_digits=5, decimal_places=4, default=Decimal("0.0500"))
    denial_rate_rel_threshold = models.DecimalField(max_digits=5, decimal_places=4, default=Decimal("0.5000"))
    decision_time_days = models.DecimalField(max_digits=6, decimal_places=2, default=Decimal("3.00"))
    payment_delay_days = models.DecimalField(max_digits=6, decimal_places=2, default=Decimal("3.00"))
    denial_dollars_threshold = models.DecimalField(
        max_digits=12, decimal_places=2, default=Decimal("5000.00")
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["customer"], name="drift_settings_one_per_customer"),
            models.CheckConstraint(
                condition=Q(baseline_days__gte=1, current_days__gte=1, min_volume__gte=1),
                name="drift_settings_windows_positive",
            ),
            models.CheckConstraint(condition=Q(q__gt=0, q__lte=1), name="drift_settings_q_range"),
            models.CheckConstraint(
                condition=Q(
                    denial_rate_abs_threshold__gte=0,
                    denial_rate_rel_threshold__gte=0,
                    decision_time_days__gte=0,
                    payment_delay_days__gte=0,
                    denial_dollars_threshold__gte=0,
                ),
                name="drift_settings_thresholds_nonneg",
            ),
        ]

    def __str__(self) -> str:
        return f"drift settings of customer {self.customer_id}"


class ReportRun(TenantModel):
    trigger = models.CharField(max_length=16, choices=RunTrigger.choices)
    status = models.CharField(max_length=16, choices=RunStatus.choices, default=RunStatus.QUEUED)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    as_of = models.DateField(null=True, blank=True, help_text="Latest decided_date unless requested.")
    requested_as_of = models.DateField(null=True, blank=True)
    baseline_start = models.DateField(null=True, blank=True)
    baseline_end = models.DateField(null=True, blank=True)
    current_start = models.DateField(null=True, blank=True)
    current_end = models.DateField(null=True, blank=True)
    parameters = models.JSONField(default=dict, blank=True, help_text="The settings the run used.")
    groups_tested = models.IntegerField(default=0)
    tests_run = models.IntegerField(default=0)
    events_count = models.IntegerField(default=0)
    claims_considered = models.BigIntegerField(default=0)
    error = models.TextField(blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["customer", "status", "-finished_at"], name="drift_run_cust_status")]
        constraints = [
            models.CheckConstraint(condition=Q(status__in=RunStatus.values), name="drift_run_status_valid"),
            models.CheckConstraint(
                condition=Q(trigger__in=RunTrigger.values), name="drift_run_trigger_valid"
            ),
            models.CheckConstraint(
                condition=Q(
                    groups_tested__gte=0, tests_run__gte=0, events_count__gte=0, claims_considered__gte=0
                ),
                name="drift_run_counts_nonneg",
            ),
            models.CheckConstraint(
                condition=Q(baseline_start__isnull=True)
                | (
                    Q(baseline_start__lte=F("baseline_end"))
                    & Q(baseline_end__lte=F("current_start"))
                    & Q(current_start__lte=F("current_end"))
                ),
                name="drift_run_windows_ordered",
            ),
            # Debounce: at most one queued run per customer (uploads, schedule and POSTs reuse it).
            models.UniqueConstraint(
                fields=["customer"],
                condition=Q(status=RunStatus.QUEUED),
                name="drift_run_one_queued_per_customer",
            ),
        ]

    def __str__(self) -> str:
        return f"run {self.pk} ({self.status})"


class DriftEvent(TenantModel):
    report_run = models.ForeignKey(ReportRun, on_delete=models.CASCADE, related_name="events")
    payer = models.CharField(max_length=255)
    cpt_group = models.CharField(max_length=64, help_text='"ALL" for the payer-wide roll-up.')
    drift_type = models.CharField(max_length=16, choices=DriftType.choices)
    baseline_value = models.FloatField()
    current_value = models.FloatField()
    delta = models.FloatField()
    direction = models.CharField(max_length=10, choices=Direction.choices)
    baseline_n = models.IntegerField()
    current_n = models.IntegerField()
    statistic = models.FloatField(null=True, blank=True)
    test = models.CharField(max_length=24)
    p_value = models.FloatField()
    adjusted_p_value = models.FloatField()
    interval_low = models.FloatField(null=True, blank=True)
    interval_high = models.FloatField(null=True, blank=True)
    severity = models.FloatField()
    severity_label = models.CharField(max_length=8, choices=SeverityLabel.choices)
    confidence = models.FloatField()
    revenue_impact = models.DecimalField(max_digits=14, decimal_places=2, default=Decimal("0"))
    baseline_start = models.DateField()
    baseline_end = models.DateField()
    current_start = models.DateField()
    current_end = models.DateField()
    evidence = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-severity", "id"]
        indexes = [
            models.Index(fields=["customer", "payer", "drift_type"], name="drift_event_cust_payer_type"),
            models.Index(fields=["report_run", "-severity"], name="drift_event_run_severity"),
        ]
        # The unique key (customer, report_run, payer, cpt_group, drift_type) is added zero-downtime by
        # migrations 0002 (CREATE UNIQUE INDEX CONCURRENTLY) and 0003 (ADD CONSTRAINT … USING INDEX).
        constraints = [
            models.UniqueConstraint(
                fields=["customer", "report_run", "payer", "cpt_group", "drift_type"],
                name="drift_event_run_signal_uniq",
            ),
            models.CheckConstraint(
                condition=Q(drift_type__in=DriftType.values), name="drift_event_type_valid"
            ),
            models.CheckConstraint(
                condition=Q(direction__in=Direction.values), name="drift_event_direction_valid"
            ),
            models.CheckConstraint(
                condition=Q(severity_label__in=SeverityLabel.values), name="drift_event_label_valid"
            ),
            models.CheckConstraint(
                condition=Q(
                    p_value__gte=0,
                    p_value__lte=1,
                    adjusted_p_value__gte=0,
                    adjusted_p_value__lte=1,
                    severity__gte=0,
                    severity__lte=1,
                    confidence__gte=0,
                    confidence__lte=1,
                ),
                name="drift_event_unit_ranges",
            ),
            models.CheckConstraint(
                condition=Q(baseline_n__gte=0, current_n__gte=0), name="drift_event_n_nonneg"
            ),
            models.CheckConstraint(
                condition=Q(baseline_start__lte=F("baseline_end"))
                & Q(baseline_end__lte=F("current_start"))
                & Q(current_start__lte=F("current_end")),
                name="drift_event_windows_ordered",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.drift_type} {self.payer}/{self.cpt_group} ({self.direction})"
