"""Filters of the drift endpoints (SPEC §9): report runs and drift events."""

from __future__ import annotations

import django_filters

from upstream.drift.models import (
    Direction,
    DriftEvent,
    DriftType,
    ReportRun,
    RunStatus,
    RunTrigger,
    SeverityLabel,
)


class ReportRunFilterSet(django_filters.FilterSet):
    status = django_filters.MultipleChoiceFilter(choices=RunStatus.choices)
    trigger = django_filters.MultipleChoiceFilter(choices=RunTrigger.choices)
    created_from = django_filters.DateFilter(
        field_name="created_at", lookup_expr="date__gte", help_text="YYYY-MM-DD (UTC, inclusive)."
    )
    created_to = django_filters.DateFilter(
        field_name="created_at", lookup_expr="date__lte", help_text="YYYY-MM-DD (UTC, inclusive)."
    )

    class Meta:
        model = ReportRun
        fields = ("status", "trigger", "created_from", "created_to")


class DriftEventFilterSet(django_filters.FilterSet):
    run = django_filters.NumberFilter(field_name="report_run_id", help_text="Report run id.")
    payer = django_filters.CharFilter(lookup_expr="iexact")
    cpt_group = django_filters.CharFilter(
        lookup_expr="iexact", help_text='CPT group; "ALL" for the payer-wide roll-up.'
    )
    drift_type = django_filters.MultipleChoiceFilter(choices=DriftType.choices)
    direction = django_filters.ChoiceFilter(choices=Direction.choices)
    severity_min = django_filters.NumberFilter(
        field_name="severity", lookup_expr="gte", help_text="Severity ≥ this value (0–1)."
    )
    severity_max = django_filters.NumberFilter(
        field_name="severity", lookup_expr="lte", help_text="Severity ≤ this value (0–1)."
    )
    severity_label = django_filters.MultipleChoiceFilter(choices=SeverityLabel.choices)
    current_end_from = django_filters.DateFilter(
        field_name="current_end", lookup_expr="gte", help_text="Current window ends on or after (YYYY-MM-DD)."
    )
    current_end_to = django_filters.DateFilter(
        field_name="current_end",
        lookup_expr="lte",
        help_text="Current window ends on or before (YYYY-MM-DD).",
    )
    created_from = django_filters.DateFilter(
        field_name="created_at", lookup_expr="date__gte", help_text="YYYY-MM-DD (UTC, inclusive)."
    )
    created_to = django_filters.DateFilter(
        field_name="created_at", lookup_expr="date__lte", help_text="YYYY-MM-DD (UTC, inclusive)."
    )

    class Meta:
        model = DriftEvent
        fields = (
            "run",
            "payer",
            "cpt_group",
            "drift_type",
            "direction",
            "severity_min",
            "severity_max",
            "severity_label",
            "current_end_from",
            "current_end_to",
            "created_from",
            "created_to",
        )
