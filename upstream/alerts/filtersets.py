"""Filters of the alert endpoints (SPEC §9): alerts and alert rules."""

from __future__ import annotations

import django_filters

from upstream.alerts.models import AlertEvent, AlertRule, AlertStatus, EmailStatus, SuppressionReason
from upstream.drift.models import DriftType


class AlertEventFilterSet(django_filters.FilterSet):
    status = django_filters.MultipleChoiceFilter(choices=AlertStatus.choices)
    suppression_reason = django_filters.MultipleChoiceFilter(
        choices=[c for c in SuppressionReason.choices if c[0]]
    )
    email_status = django_filters.MultipleChoiceFilter(choices=EmailStatus.choices)
    severity_min = django_filters.NumberFilter(
        field_name="severity", lookup_expr="gte", help_text="Severity ≥ this value (0–1)."
    )
    severity_max = django_filters.NumberFilter(
        field_name="severity", lookup_expr="lte", help_text="Severity ≤ this value (0–1)."
    )
    payer = django_filters.CharFilter(lookup_expr="iexact")
    cpt_group = django_filters.CharFilter(
        lookup_expr="iexact", help_text='CPT group; "ALL" for the payer-wide roll-up.'
    )
    drift_type = django_filters.MultipleChoiceFilter(choices=DriftType.choices)
    rule_id = django_filters.NumberFilter(field_name="rule_id", help_text="Alert rule id.")
    drift_event_id = django_filters.NumberFilter(field_name="drift_event_id", help_text="Drift event id.")
    created_after = django_filters.DateFilter(
        field_name="created_at", lookup_expr="date__gte", help_text="YYYY-MM-DD (UTC, inclusive)."
    )
    created_before = django_filters.DateFilter(
        field_name="created_at", lookup_expr="date__lte", help_text="YYYY-MM-DD (UTC, inclusive)."
    )

    class Meta:
        model = AlertEvent
        fields = (
            "status",
            "suppression_reason",
            "email_status",
            "severity_min",
            "severity_max",
            "payer",
            "cpt_group",
            "drift_type",
            "rule_id",
            "drift_event_id",
            "created_after",
            "created_before",
        )


class AlertRuleFilterSet(django_filters.FilterSet):
    enabled = django_filters.BooleanFilter()
    is_default = django_filters.BooleanFilter()
    payer = django_filters.CharFilter(lookup_expr="iexact")
    cpt_group = django_filters.CharFilter(lookup_expr="iexact")

    class Meta:
        model = AlertRule
        fields = ("enabled", "is_default", "payer", "cpt_group")
