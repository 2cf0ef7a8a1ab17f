"""Report runs (request one, list, detail with event counts), drift events (incl. the active ones) and the
dashboard."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import OpenApiExample, extend_schema, extend_schema_view
from rest_framework import mixins, status
from rest_framework.decorators import action
from rest_framework.filters import OrderingFilter
from rest_framework.request import Request
from rest_framework.response import Response

from upstream.claims.models import ClaimRecord
from upstream.core.api.throttles import ReportRunRateThrottle
from upstream.core.api.viewsets import TenantScopedViewSet
from upstream.drift import selectors, services
from upstream.drift.api import examples as ex
from upstream.drift.api.serializers import (
    DashboardSerializer,
    DriftEventSerializer,
    ReportRunRequestSerializer,
    ReportRunSerializer,
)
from upstream.drift.dashboard import dashboard_get
from upstream.drift.filtersets import DriftEventFilterSet, ReportRunFilterSet
from upstream.drift.models import DriftEvent, ReportRun, RunTrigger
from upstream.tenancy.roles import Capability


@extend_schema_view(
    list=extend_schema(
        summary="Drift runs, newest first, with their event counts",
        examples=[OpenApiExample("Runs", response_only=True, value=[ex.REPORT_RUN])],
    ),
    retrieve=extend_schema(
        summary="One drift run with its event counts by direction, drift type and severity label",
        examples=[
            OpenApiExample("Succeeded", value=ex.REPORT_RUN),
            OpenApiExample("Queued", value=ex.REPORT_RUN_QUEUED),
        ],
    ),
)
class ReportRunViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, TenantScopedViewSet):
    model = ReportRun
    serializer_class = ReportRunSerializer
    filterset_class = ReportRunFilterSet
    filter_backends = (DjangoFilterBackend, OrderingFilter)  # nothing to search in a run
    action_capabilities = {"create": Capability.WRITE_DATA}
    ordering_fields = ("created_at", "finished_at", "as_of", "events_count")
    ordering = ("-created_at", "-id")

    def safely_get_queryset(self, queryset: QuerySet[Any]) -> QuerySet[Any]:
        return selectors.report_runs_with_event_counts(queryset)

    def get_throttles(self) -> list[Any]:
        throttles = list(super().get_throttles())
        if self.action == "create":
            throttles.append(ReportRunRateThrottle())
        return throttles

    @extend_schema(
        summary="Request a drift run; it executes in the background (debounced)",
        description=(
            "Queues a drift run of the active customer and answers **202** with it. Debounced: while a run "
            "of the customer is still `queued` (requested by anyone, or after an upload), that run is "
            "returned instead — also with 202 and with its own `as_of` — so repeated requests never pile up "
            "work. "
            "Poll `GET /report-runs/{id}/` until `status` is `succeeded` or `failed`. "
            "Throttled per customer (`THROTTLE_REPORT_RUNS`, default 30/hour)."
        ),
        request=ReportRunRequestSerializer,
        responses={202: ReportRunSerializer},
        examples=[
            OpenApiExample("As of a date", request_only=True, value=ex.REPORT_RUN_REQUEST),
            OpenApiExample("Latest data", request_only=True, value={}),
            OpenApiExample("Queued", response_only=True, status_codes=["202"], value=ex.REPORT_RUN_QUEUED),
        ],
    )
    def create(self, request: Request) -> Response:
        customer = self.customer_required("request a drift run")
        serializer = ReportRunRequestSerializer(data=request.data, context=self.get_serializer_context())
        serializer.is_valid(raise_exception=True)
        run, _created = services.report_run_request(
            customer=customer,
            trigger=RunTrigger.MANUAL,
            requested_by=self.tenant.user,
            as_of=serializer.validated_data.get("as_of"),
        )
        run = self.get_queryset().get(pk=run.pk)  # with its event counts
        headers = {"Location": f"/api/v1/report-runs/{run.pk}/"}
        return Response(ReportRunSerializer(run).data, status=status.HTTP_202_ACCEPTED, headers=headers)


@extend_schema_view(
    list=extend_schema(
        summary="Drift events of every run, most severe first",
        examples=[OpenApiExample("Events", response_only=True, value=[ex.DRIFT_EVENT])],
    ),
    retrieve=extend_schema(
        summary="One drift event with its statistics and evidence",
        examples=[OpenApiExample("Denial rate up", value=ex.DRIFT_EVENT)],
    ),
)
class DriftEventViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, TenantScopedViewSet):
    model = DriftEvent
    serializer_class = DriftEventSerializer
    filterset_class = DriftEventFilterSet
    search_fields = ("payer", "cpt_group")
    ordering_fields = ("severity", "delta", "revenue_impact", "created_at", "p_value")
    ordering = ("-severity", "id")

    @extend_schema(
        summary="The active drift: events of the latest succeeded run (same filters, ordering and search)",
        responses=DriftEventSerializer(many=True),
        examples=[OpenApiExample("Active events", response_only=True, value=[ex.DRIFT_EVENT])],
    )
    @action(detail=False, methods=["get"])
    def active(self, request: Request) -> Response:
        events = selectors.drift_events_active(self.filter_queryset(self.get_queryset()))
        page = self.paginate_queryset(events)
        return self.get_paginated_response(DriftEventSerializer(page, many=True).data)


class DashboardViewSet(TenantScopedViewSet):
    """GET only (routed as ``retrieve`` without a lookup): the dashboard is one object per customer."""

    model = ClaimRecord
    filter_backends: tuple[Any, ...] = ()
    pagination_class = None

    @extend_schema(
        summary="Totals, active drift, six-month denial-rate trend and top drifting payers",
        description=(
            "Cached per customer; recomputed after an upload completes or a drift run finishes. "
            "`active_drift_count` and `top_drifting_payers` come from the worsening events of the latest "
            "succeeded run; the trend covers the six months up to the latest decided_date."
        ),
        responses=DashboardSerializer,
        examples=[OpenApiExample("Dashboard", value=ex.DASHBOARD)],
    )
    def retrieve(self, request: Request) -> Response:
        customer = self.customer_required("see a dashboard")
        return Response(DashboardSerializer(dashboard_get(customer=customer)).data)
