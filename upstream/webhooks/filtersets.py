"""Filters of the webhook endpoints and deliveries (SPEC §9)."""

from __future__ import annotations

from typing import Any

import django_filters
from django.db.models import Q, QuerySet

from upstream.webhooks.models import DeliveryStatus, EventType, WebhookDelivery, WebhookEndpoint


class WebhookEndpointFilterSet(django_filters.FilterSet):
    active = django_filters.BooleanFilter()
    event_type = django_filters.ChoiceFilter(
        choices=EventType.choices,
        method="filter_event_type",
        help_text="Endpoints that receive this event type (including those subscribed to all).",
    )

    class Meta:
        model = WebhookEndpoint
        fields = ("active", "event_type")

    def filter_event_type(self, queryset: QuerySet[Any], name: str, value: str) -> QuerySet[Any]:
        return queryset.filter(Q(event_types=[]) | Q(event_types__contains=[value]))


class WebhookDeliveryFilterSet(django_filters.FilterSet):
    endpoint_id = django_filters.NumberFilter(field_name="endpoint_id", help_text="Webhook endpoint id.")
    event_type = django_filters.MultipleChoiceFilter(choices=EventType.choices)
    status = django_filters.MultipleChoiceFilter(choices=DeliveryStatus.choices)
    created_after = django_filters.IsoDateTimeFilter(
        field_name="created_at", lookup_expr="gte", help_text="ISO 8601 date-time (inclusive)."
    )
    created_before = django_filters.IsoDateTimeFilter(
        field_name="created_at", lookup_expr="lt", help_text="ISO 8601 date-time (exclusive)."
    )

    class Meta:
        model = WebhookDelivery
        fields = ("endpoint_id", "event_type", "status", "created_after", "created_before")
