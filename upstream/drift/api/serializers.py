"""Serializers of the drift endpoints: report runs, drift events and the dashboard."""

from __future__ import annotations

import datetime
import zoneinfo
from typing import Any

from django.utils import timezone
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from upstream.drift import selectors
from upstream.drift.models import DriftEvent, ReportRun


class DriftTypeCountsSerializer(serializers.Serializer[Any]):
    DENIAL_RATE = serializers.IntegerField()
    DECISION_TIME = serializers.IntegerField()
    PAYMENT_DELAY = serializers.IntegerField()
    DENIAL_DOLLARS = serializers.IntegerField()


class SeverityLabelCountsSerializer(serializers.Serializer[Any]):
    critical = serializers.IntegerField()
    high = serializers.IntegerField()
    medium = serializers.IntegerField()
    low = serializers.IntegerField()


class EventCountsSerializer(serializers.Serializer[Any]):
    total = serializers.IntegerField()
    worsening = serializers.IntegerField()
    improving = serializers.IntegerField()
    by_drift_type = DriftTypeCountsSerializer()
    by_severity_label = SeverityLabelCountsSerializer()


class ReportRunSerializer(serializers.ModelSerializer[ReportRun]):
    requested_by = serializers.IntegerField(source="requested_by_id", allow_null=True, read_only=True)
    event_counts = serializers.SerializerMethodField(
        help_text="The run's drift events counted by direction, drift type and severity label."
    )

    class Meta:
        model = ReportRun
        fields = (
            "id",
            "trigger",
            "status",
            "requested_by",
            "requested_as_of",
            "as_of",
            "baseline_start",
            "baseline_end",
            "current_start",
            "current_end",
            "parameters",
            "groups_tested",
            "tests_run",
            "events_count",
            "claims_considered",
            "event_counts",
            "error",
            "created_at",
            "started_at",
            "finished_at",
        )
        read_only_fields = fields

    @extend_schema_field(EventCountsSerializer)
    def get_event_counts(self, run: ReportRun) -> dict[str, Any]:
        return selectors.report_run_event_counts(run)


class ReportRunRequestSerializer(serializers.Serializer[Any]):
    as_of = serializers.DateField(
        required=False,
        allow_null=True,
        help_text="Analyse as of this date (YYYY-MM-DD); default: the latest decided_date of your claims.",
    )

    def validate_as_of(self, value: datetime.date | None) -> datetime.date | None:
        tenant = self.context.get("tenant")
        customer = getattr(tenant, "customer", None)
        if value is not None and customer is not None:
            today = timezone.now().astimezone(zoneinfo.ZoneInfo(customer.timezone)).date()
            if value > today:
                raise serializers.ValidationError("as_of cannot be in the future.", code="as_of_in_future")
        return value


class DriftEventSerializer(serializers.ModelSerializer[DriftEvent]):
    report_run = serializers.IntegerField(source="report_run_id", read_only=True)

    class Meta:
        model = DriftEvent
        fields = (
            "id",
            "report_run",
            "payer",
            "cpt_group",
            "drift_type",
            "direction",
            "baseline_value",
            "current_value",
            "delta",
            "baseline_n",
            "current_n",
            "test",
            "statistic",
            "p_value",
            "adjusted_p_value",
            "interval_low",
            "interval_high",
            "severity",
            "severity_label",
            "confidence",
            "revenue_impact",
            "baseline_start",
            "baseline_end",
            "current_start",
            "current_end",
            "evidence",
            "created_at",
        )
        read_only_fields = fields


# --- dashboard --------------------------------------------------------------------------------------------


class DashboardTotalsSerializer(serializers.Serializer[Any]):
    claims = serializers.IntegerField()
    claims_last_30_days = serializers.IntegerField(
        help_text="Claims decided in the 30 days up to today (customer's time zone)."
    )
    paid = serializers.IntegerField()
    denied = serializers.IntegerField()
    denial_rate = serializers.FloatField(allow_null=True, help_text="denied / (paid + denied), all claims")
    billed_total = serializers.DecimalField(max_digits=16, decimal_places=2)
    paid_total = serializers.DecimalField(max_digits=16, decimal_places=2)
    latest_decided_date = serializers.DateField(allow_null=True)


class DashboardRunSerializer(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    as_of = serializers.DateField(allow_null=True)
    finished_at = serializers.DateTimeField(allow_null=True)


class TrendMonthSerializer(serializers.Serializer[Any]):
    month = serializers.DateField(help_text="First day of the month of decided_date.")
    claims = serializers.IntegerField()
    denied = serializers.IntegerField()
    paid = serializers.IntegerField()
    denial_rate = serializers.FloatField(allow_null=True, help_text="denied / (paid + denied)")


class DriftingPayerSerializer(serializers.Serializer[Any]):
    payer = serializers.CharField()
    events = serializers.IntegerField(help_text="Worsening events of the latest succeeded run.")
    max_severity = serializers.FloatField()
    revenue_impact = serializers.DecimalField(
        max_digits=16, decimal_places=2, help_text="Sum of the events' estimated revenue impact."
    )


class DashboardSerializer(serializers.Serializer[Any]):
    generated_at = serializers.DateTimeField(help_text="When these numbers were computed (they are cached).")
    as_of = serializers.DateField(help_text="Today in the customer's time zone.")
    totals = DashboardTotalsSerializer()
    latest_run = DashboardRunSerializer(
        allow_null=True, help_text="The latest succeeded drift run; null before the first one."
    )
    active_drift_count = serializers.IntegerField(
        help_text="Worsening drift events of the latest succeeded run."
    )
    denial_rate_trend = TrendMonthSerializer(many=True)
    top_drifting_payers = DriftingPayerSerializer(many=True)
