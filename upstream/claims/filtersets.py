"""Filters of the claims endpoints (SPEC §9)."""

from __future__ import annotations

import django_filters

from upstream.claims.models import (
    ClaimRecord,
    CptGroupMapping,
    IssueSeverity,
    Outcome,
    PayerMapping,
    Upload,
    UploadIssue,
    UploadStatus,
)


class UploadFilterSet(django_filters.FilterSet):
    status = django_filters.MultipleChoiceFilter(choices=UploadStatus.choices)
    created_after = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="gte")
    created_before = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="lt")

    class Meta:
        model = Upload
        fields = ("status", "uploaded_by_id")


class UploadIssueFilterSet(django_filters.FilterSet):
    rule = django_filters.CharFilter(
        field_name="rule_code", lookup_expr="iexact", help_text="Rule code, e.g. R04."
    )
    severity = django_filters.ChoiceFilter(choices=IssueSeverity.choices)
    column = django_filters.CharFilter()
    row_number = django_filters.NumberFilter()

    class Meta:
        model = UploadIssue
        fields = ("rule", "severity", "column", "row_number")


class ClaimFilterSet(django_filters.FilterSet):
    payer = django_filters.CharFilter(lookup_expr="iexact")
    cpt = django_filters.CharFilter(lookup_expr="iexact")
    cpt_group = django_filters.CharFilter(lookup_expr="iexact")
    outcome = django_filters.MultipleChoiceFilter(choices=Outcome.choices)
    claim_number = django_filters.CharFilter()
    denial_reason_code = django_filters.CharFilter(lookup_expr="iexact")
    upload = django_filters.NumberFilter(field_name="upload_id")
    submitted_from = django_filters.DateFilter(field_name="submitted_date", lookup_expr="gte")
    submitted_to = django_filters.DateFilter(field_name="submitted_date", lookup_expr="lte")
    decided_from = django_filters.DateFilter(field_name="decided_date", lookup_expr="gte")
    decided_to = django_filters.DateFilter(field_name="decided_date", lookup_expr="lte")
    paid_from = django_filters.DateFilter(field_name="paid_date", lookup_expr="gte")
    paid_to = django_filters.DateFilter(field_name="paid_date", lookup_expr="lte")

    class Meta:
        model = ClaimRecord
        fields = ("payer", "cpt", "cpt_group", "outcome", "claim_number", "denial_reason_code", "upload")


class PayerMappingFilterSet(django_filters.FilterSet):
    raw_name = django_filters.CharFilter(lookup_expr="iexact")
    normalized_name = django_filters.CharFilter(lookup_expr="iexact")

    class Meta:
        model = PayerMapping
        fields = ("raw_name", "normalized_name")


class CptGroupMappingFilterSet(django_filters.FilterSet):
    cpt = django_filters.CharFilter(lookup_expr="iexact")
    group = django_filters.CharFilter(lookup_expr="iexact")

    class Meta:
        model = CptGroupMapping
        fields = ("cpt", "group")
