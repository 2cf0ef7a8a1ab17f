"""Serializers of the alert endpoints: alerts (with their drift-event summary and feedback), feedback
input, alert rules and the per-customer alert settings."""

from __future__ import annotations

import datetime
import zoneinfo
from decimal import Decimal
from typing import Any

from django.utils import timezone
from rest_framework import serializers

from upstream.alerts.models import AlertEvent, AlertRule, AlertSettings, OperatorFeedback, Verdict
from upstream.alerts.services import RULE_FIELDS
from upstream.drift.models import DriftEvent, DriftType

MAX_RECIPIENTS = 50
MAX_REASON_CODES = 20


class DriftEventSummarySerializer(serializers.ModelSerializer[DriftEvent]):
    report_run = serializers.IntegerField(source="report_run_id", read_only=True)

    class Meta:
        model = DriftEvent
        fields = (
            "id",
            "report_run",
            "direction",
            "baseline_value",
            "current_value",
            "delta",
            "baseline_n",
            "current_n",
            "p_value",
            "adjusted_p_value",
            "severity_label",
            "confidence",
            "revenue_impact",
            "baseline_start",
            "baseline_end",
            "current_start",
            "current_end",
        )
        read_only_fields = fields


class RuleSummarySerializer(serializers.ModelSerializer[AlertRule]):
    class Meta:
        model = AlertRule
        fields = ("id", "name")
        read_only_fields = fields


class FeedbackSerializer(serializers.ModelSerializer[OperatorFeedback]):
    alert = serializers.IntegerField(source="alert_id", read_only=True)
    operator = serializers.IntegerField(source="operator_id", read_only=True)
    operator_email = serializers.EmailField(source="operator.email", read_only=True)
    notes = serializers.CharField(
        read_only=True,
        allow_null=True,
        help_text="Free text, which may name a patient: null for roles that may not see PHI (viewers).",
    )

    def to_representation(self, instance: OperatorFeedback) -> dict[str, Any]:
        data: dict[str, Any] = super().to_representation(instance)
        if not self.context.get("sees_phi", False):
            data["notes"] = None
        return data

    class Meta:
        model = OperatorFeedback
        fields = (
            "id",
            "alert",
            "operator",
            "operator_email",
            "verdict",
            "reason_codes",
            "recovered_amount",
            "recovered_date",
            "notes",
            "created_at",
            "updated_at",
        )
        read_only_fields = fields


class AlertSerializer(serializers.ModelSerializer[AlertEvent]):
    rule = RuleSummarySerializer(read_only=True, allow_null=True, help_text="Null when the rule was deleted.")
    drift_event = DriftEventSummarySerializer(read_only=True)
    feedback = FeedbackSerializer(many=True, read_only=True)

    class Meta:
        model = AlertEvent
        fields = (
            "id",
            "rule",
            "drift_event",
            "fingerprint",
            "payer",
            "cpt_group",
            "drift_type",
            "severity",
            "current_end",
            "status",
            "suppression_reason",
            "email_status",
            "email_attempts",
            "email_sent_at",
            "email_error",
            "feedback",
            "created_at",
            "updated_at",
        )
        read_only_fields = fields


class FeedbackInputSerializer(serializers.Serializer[Any]):
    verdict = serializers.ChoiceField(choices=Verdict.choices)
    reason_codes = serializers.ListField(
        child=serializers.RegexField(
            r"^[A-Za-z0-9_.\-]{1,64}$",
            error_messages={"invalid": "Reason codes are 1–64 letters, digits, '_', '-' or '.'."},
        ),
        required=False,
        default=list,
        max_length=MAX_REASON_CODES,
    )
    recovered_amount = serializers.DecimalField(
        max_digits=14, decimal_places=2, required=False, allow_null=True, min_value=Decimal("0")
    )
    recovered_date = serializers.DateField(required=False, allow_null=True)
    notes = serializers.CharField(required=False, allow_blank=True, default="", max_length=5000)

    def validate_reason_codes(self, value: list[str]) -> list[str]:
        return list(dict.fromkeys(value))  # each code once, in the order given

    def validate_recovered_date(self, value: datetime.date | None) -> datetime.date | None:
        tenant = self.context.get("tenant")
        customer = getattr(tenant, "customer", None)
        if value is not None:
            zone = zoneinfo.ZoneInfo(customer.timezone) if customer is not None else datetime.UTC
            if value > timezone.now().astimezone(zone).date():
                raise serializers.ValidationError(
                    "recovered_date cannot be in the future.", code="recovered_date_in_future"
                )
        return value


class AlertRuleSerializer(serializers.ModelSerializer[AlertRule]):
    drift_types = serializers.ListField(
        child=serializers.ChoiceField(choices=DriftType.choices),
        required=False,
        help_text="Drift types that match; empty = all.",
    )
    email_recipients = serializers.ListField(
        child=serializers.EmailField(), required=False, max_length=MAX_RECIPIENTS
    )
    min_severity = serializers.FloatField(min_value=0.0, max_value=1.0, required=False)
    created_by = serializers.IntegerField(source="created_by_id", read_only=True, allow_null=True)

    class Meta:
        model = AlertRule
        fields = (
            "id",
            *RULE_FIELDS,
            "is_default",
            "created_by",
            "created_at",
            "updated_at",
        )
        read_only_fields = ("id", "is_default", "created_by", "created_at", "updated_at")
        # Uniqueness of the name is checked in validate_name (with a clear code) and by the database.
        validators: list[Any] = []

    def validate_name(self, value: str) -> str:
        value = value.strip()
        if not value:
            raise serializers.ValidationError("This field may not be blank.", code="blank")
        clash = AlertRule.objects.filter(name__iexact=value)
        if self.instance is not None:
            clash = clash.exclude(pk=self.instance.pk)
        if clash.exists():
            raise serializers.ValidationError(f"A rule named {value!r} already exists.", code="unique")
        return value

    def validate_drift_types(self, value: list[str]) -> list[str]:
        return sorted(set(value), key=DriftType.values.index)

    def validate_payer(self, value: str) -> str:
        return value.strip()

    def validate_cpt_group(self, value: str) -> str:
        return value.strip().upper()

    def validate_email_recipients(self, value: list[str]) -> list[str]:
        seen: dict[str, str] = {}
        for address in value:
            seen.setdefault(address.strip().lower(), address.strip())
        return list(seen.values())


class AlertSettingsSerializer(serializers.ModelSerializer[AlertSettings]):
    cooldown_minutes = serializers.IntegerField(
        min_value=0, max_value=60 * 24 * 30, required=False, help_text="0 disables the cooldown."
    )
    noise_window_days = serializers.IntegerField(min_value=1, max_value=365, required=False)
    noise_threshold = serializers.IntegerField(min_value=1, max_value=100, required=False)

    class Meta:
        model = AlertSettings
        fields = ("cooldown_minutes", "noise_window_days", "noise_threshold", "updated_at")
        read_only_fields = ("updated_at",)
