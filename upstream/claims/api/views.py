"""Uploads, claims, payer summary, mappings and the validation-rule catalog."""

from __future__ import annotations

from typing import Any

from django.db.models import Count, DecimalField, Max, Q, Sum, Value
from django.db.models.functions import Coalesce
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import mixins, status
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.serializers import BaseSerializer
from rest_framework.views import APIView

from upstream.audit.models import AuditAction
from upstream.audit.services import audit_record
from upstream.claims import services
from upstream.claims.api import examples as ex
from upstream.claims.api.serializers import (
    PHI_FIELDS,
    ClaimSerializer,
    ClaimWithoutPHISerializer,
    CptGroupMappingSerializer,
    PayerMappingSerializer,
    PayerSummarySerializer,
    UploadCreateSerializer,
    UploadIssueSerializer,
    UploadSerializer,
    UploadStatsSerializer,
    ValidationRuleSerializer,
)
from upstream.claims.filtersets import (
    ClaimFilterSet,
    CptGroupMappingFilterSet,
    PayerMappingFilterSet,
    UploadFilterSet,
    UploadIssueFilterSet,
)
from upstream.claims.ingest.rules import RULES
from upstream.claims.models import ClaimRecord, CptGroupMapping, Outcome, PayerMapping, Upload, UploadIssue
from upstream.core.api.exceptions import Conflict
from upstream.core.api.pagination import StandardPagination
from upstream.core.api.throttles import UploadRateThrottle
from upstream.core.api.viewsets import TenantScopedViewSet
from upstream.core.crypto import blind_index
from upstream.tenancy.roles import Capability


class ValidationRuleListView(APIView):
    permission_classes = (IsAuthenticated,)

    @extend_schema(
        tags=["claims"],
        summary="The 23 validation rules (SPEC §5)",
        responses=ValidationRuleSerializer(many=True),
        examples=[OpenApiExample("Rules", response_only=True, value=[ex.RULE])],
    )
    def get(self, request: Request) -> Response:
        paginator = StandardPagination()
        rules = [
            {"code": r.code, "name": r.name, "severity": r.severity, "description": r.description}
            for r in RULES
        ]
        page = paginator.paginate_queryset(rules, request, view=self)
        return paginator.get_paginated_response(ValidationRuleSerializer(page, many=True).data)


class DuplicateFile(Conflict):
    default_code = "F06"


@extend_schema_view(
    list=extend_schema(
        summary="Uploads, newest first",
        examples=[OpenApiExample("Uploads", response_only=True, value=[ex.UPLOAD])],
    ),
    retrieve=extend_schema(
        summary="One upload with its counts (poll it while it is processing)",
        examples=[OpenApiExample("Partial", value=ex.UPLOAD)],
    ),
)
class UploadViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, TenantScopedViewSet):
    model = Upload
    serializer_class = UploadSerializer
    filterset_class = UploadFilterSet
    action_capabilities = {"create": Capability.WRITE_DATA}
    search_fields = ("filename",)
    ordering_fields = ("created_at", "finished_at", "total_rows")
    ordering = ("-created_at", "-id")

    def get_throttles(self) -> list[Any]:
        throttles = list(super().get_throttles())
        if self.action == "create":
            throttles.append(UploadRateThrottle())
        return throttles

    @extend_schema(
        summary="Upload a claims CSV (multipart); processing runs in the background",
        request={"multipart/form-data": UploadCreateSerializer},
        responses={202: UploadSerializer},
        examples=[
            OpenApiExample(
                "A claims file",
                request_only=True,
                value={"file": "claims-2026-11.csv.gz"},
                media_type="multipart/form-data",
            ),
            OpenApiExample("Queued", response_only=True, status_codes=["202"], value=ex.UPLOAD_QUEUED),
        ],
    )
    def create(self, request: Request) -> Response:
        serializer = UploadCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        customer = self.customer_required("upload claims")
        try:
            upload = services.upload_create(
                customer=customer,
                user=self.tenant.user,
                file=serializer.validated_data["file"],
                request=request,
            )
        except services.DuplicateUpload as exc:
            raise DuplicateFile(str(exc), extra={"existing_upload_id": exc.earlier.pk}) from exc
        upload.refresh_from_db()
        headers = {"Location": f"/api/v1/uploads/{upload.pk}/"}
        return Response(UploadSerializer(upload).data, status=status.HTTP_202_ACCEPTED, headers=headers)

    @extend_schema(
        summary="An upload's issues, filterable by rule and severity",
        parameters=[
            OpenApiParameter("rule", str, description="Rule code, e.g. R04"),
            OpenApiParameter("severity", str, enum=["error", "warning"]),
        ],
        responses=UploadIssueSerializer(many=True),
        examples=[OpenApiExample("Issues", response_only=True, value=[ex.ISSUE])],
    )
    @action(detail=True, methods=["get"])
    def issues(self, request: Request, pk: str | None = None) -> Response:
        upload = self.get_object()
        issues = UploadIssue.objects.filter(upload_id=upload.pk).order_by("row_number", "id")
        issues = UploadIssueFilterSet(request.query_params, queryset=issues, request=request).qs
        page = self.paginate_queryset(issues)
        return self.get_paginated_response(UploadIssueSerializer(page, many=True).data)

    @extend_schema(
        summary="Totals over the customer's uploads",
        responses=UploadStatsSerializer,
        examples=[OpenApiExample("Stats", value=ex.UPLOAD_STATS)],
    )
    @action(detail=False, methods=["get"], filterset_class=None, pagination_class=None)
    def stats(self, request: Request) -> Response:
        uploads = self.get_queryset()
        totals = uploads.aggregate(
            uploads=Count("id"),
            rows_total=Coalesce(Sum("total_rows"), 0),
            rows_accepted=Coalesce(Sum("accepted_rows"), 0),
            rows_rejected=Coalesce(Sum("rejected_rows"), 0),
            rows_inserted=Coalesce(Sum("inserted_rows"), 0),
            rows_updated=Coalesce(Sum("updated_rows"), 0),
            last_upload_at=Max("created_at"),
        )
        totals["by_status"] = dict(uploads.order_by().values_list("status").annotate(n=Count("id")))
        totals["claims_stored"] = ClaimRecord.objects.count()
        return Response(UploadStatsSerializer(totals).data)


@extend_schema_view(
    list=extend_schema(
        summary="Claims (PHI decrypted for roles that may see it; every such response is audited)",
        parameters=[
            OpenApiParameter("member_id", str, description="Exact member id (blind-index lookup; PHI roles)"),
            OpenApiParameter(
                "patient_account_number",
                str,
                description="Exact patient account number (blind-index lookup; PHI roles)",
            ),
        ],
        examples=[OpenApiExample("Claims", response_only=True, value=[ex.CLAIM])],
    ),
    retrieve=extend_schema(summary="One claim", examples=[OpenApiExample("Claim", value=ex.CLAIM)]),
)
class ClaimViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, TenantScopedViewSet):
    model = ClaimRecord
    serializer_class = ClaimSerializer
    filterset_class = ClaimFilterSet
    search_fields = ("claim_number", "payer", "cpt")
    ordering_fields = ("decided_date", "submitted_date", "paid_date", "billed_amount", "claim_number", "id")
    ordering = ("-decided_date", "-id")
    PHI_LOOKUPS = {"member_id": "member_id_bidx", "patient_account_number": "patient_account_number_bidx"}

    def _sees_phi(self) -> bool:
        return self.tenant.can(Capability.VIEW_PHI)

    def get_serializer_class(self) -> type[BaseSerializer[Any]]:
        if getattr(self, "swagger_fake_view", False):  # schema generation: document the full shape
            return ClaimSerializer
        if self.action in ("list", "retrieve") and not self._sees_phi():
            return ClaimWithoutPHISerializer
        return super().get_serializer_class()

    def safely_get_queryset(self, queryset: Any) -> Any:
        lookups = {param: self.request.query_params.get(param) for param in self.PHI_LOOKUPS}
        if any(lookups.values()) and not self._sees_phi():
            raise PermissionDenied(
                "Looking claims up by patient identifiers needs a role that may see PHI.",
                code="phi_not_allowed",
            )
        for param, value in lookups.items():
            if value:
                queryset = queryset.filter(**{self.PHI_LOOKUPS[param]: blind_index(value)})
        if not self._sees_phi():
            queryset = queryset.defer(*PHI_FIELDS)
        return queryset

    def _audit_phi(self, rows: list[dict[str, Any]]) -> None:
        disclosed = [row for row in rows if any(row.get(f) is not None for f in PHI_FIELDS)]
        if not disclosed:
            return
        fields = sorted({f for row in disclosed for f in PHI_FIELDS if row.get(f) is not None})
        audit_record(
            action=AuditAction.PHI_ACCESSED,
            customer_id=self.tenant.customer.pk if self.tenant.customer else None,
            actor=self.tenant.user,
            request=self.request,
            target_type="claims.claimrecord",
            metadata={
                "claim_ids": [row["id"] for row in disclosed],
                "fields": fields,
                "endpoint": self.request.path,
            },
        )

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        response = super().list(request, *args, **kwargs)
        if self._sees_phi():
            self._audit_phi(response.data["results"])
        return response

    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        response = super().retrieve(request, *args, **kwargs)
        if self._sees_phi():
            self._audit_phi([response.data])
        return response

    @extend_schema(
        summary="Per-payer totals over a decided-date range",
        parameters=[
            OpenApiParameter("decided_from", str, description="YYYY-MM-DD (inclusive)"),
            OpenApiParameter("decided_to", str, description="YYYY-MM-DD (inclusive)"),
        ],
        responses=PayerSummarySerializer(many=True),
        examples=[OpenApiExample("Summary", response_only=True, value=[ex.PAYER_SUMMARY])],
    )
    @action(detail=False, methods=["get"], url_path="payer-summary")
    def payer_summary(self, request: Request) -> Response:
        claims = ClaimFilterSet(request.query_params, queryset=self.get_queryset(), request=request).qs
        money = DecimalField(max_digits=16, decimal_places=2)
        zero = Value(0, output_field=money)
        rows = (
            claims.order_by()
            .values("payer")
            .annotate(
                claims=Count("id"),
                paid=Count("id", filter=Q(outcome=Outcome.PAID)),
                denied=Count("id", filter=Q(outcome=Outcome.DENIED)),
                other=Count("id", filter=Q(outcome=Outcome.OTHER)),
                billed_total=Coalesce(Sum("billed_amount"), zero, output_field=money),
                paid_total=Coalesce(Sum("paid_amount"), zero, output_field=money),
                denied_billed_total=Coalesce(
                    Sum("billed_amount", filter=Q(outcome=Outcome.DENIED)), zero, output_field=money
                ),
            )
            .order_by("-claims", "payer")
        )
        page = self.paginate_queryset(rows)
        for row in page or []:
            decided = row["paid"] + row["denied"]
            row["denial_rate"] = round(row["denied"] / decided, 4) if decided else None
        return self.get_paginated_response(PayerSummarySerializer(page, many=True).data)


class _MappingViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
    TenantScopedViewSet,
):
    action_capabilities = {
        "create": Capability.WRITE_DATA,
        "update": Capability.WRITE_DATA,
        "partial_update": Capability.WRITE_DATA,
        "destroy": Capability.WRITE_DATA,
    }

    def perform_create(self, serializer: BaseSerializer[Any]) -> None:
        customer = self.customer_required("edit its mappings")
        instance = serializer.save(customer=customer)
        services.mapping_saved(instance=instance, actor=self.tenant.user, created=True, request=self.request)

    def perform_update(self, serializer: BaseSerializer[Any]) -> None:
        instance = serializer.save()
        services.mapping_saved(instance=instance, actor=self.tenant.user, created=False, request=self.request)

    def perform_destroy(self, instance: Any) -> None:
        services.mapping_deleted(instance=instance, actor=self.tenant.user, request=self.request)


@extend_schema_view(
    list=extend_schema(
        summary="Payer mappings (raw name → normalized name)",
        examples=[OpenApiExample("Mappings", response_only=True, value=[ex.PAYER_MAPPING])],
    ),
    retrieve=extend_schema(
        summary="One payer mapping", examples=[OpenApiExample("Mapping", value=ex.PAYER_MAPPING)]
    ),
    create=extend_schema(
        summary="Map a raw payer name; stored claims are re-normalized in the background",
        examples=[OpenApiExample("Map", value=ex.PAYER_MAPPING)],
    ),
    update=extend_schema(
        summary="Change a payer mapping", examples=[OpenApiExample("Map", value=ex.PAYER_MAPPING)]
    ),
    partial_update=extend_schema(
        summary="Change a payer mapping", examples=[OpenApiExample("Map", value=ex.PAYER_MAPPING)]
    ),
    destroy=extend_schema(summary="Remove a payer mapping (claims fall back to the raw name)"),
)
class PayerMappingViewSet(_MappingViewSet):
    model = PayerMapping
    serializer_class = PayerMappingSerializer
    filterset_class = PayerMappingFilterSet
    search_fields = ("raw_name", "normalized_name")
    ordering_fields = ("raw_name", "normalized_name", "created_at")
    ordering = ("raw_name", "id")


@extend_schema_view(
    list=extend_schema(
        summary="CPT-group mappings (override the built-in table)",
        examples=[OpenApiExample("Mappings", response_only=True, value=[ex.CPT_MAPPING])],
    ),
    retrieve=extend_schema(
        summary="One CPT-group mapping", examples=[OpenApiExample("Mapping", value=ex.CPT_MAPPING)]
    ),
    create=extend_schema(
        summary="Map a CPT code to a group; stored claims are re-normalized in the background",
        examples=[OpenApiExample("Map", value=ex.CPT_MAPPING)],
    ),
    update=extend_schema(
        summary="Change a CPT-group mapping", examples=[OpenApiExample("Map", value=ex.CPT_MAPPING)]
    ),
    partial_update=extend_schema(
        summary="Change a CPT-group mapping", examples=[OpenApiExample("Map", value=ex.CPT_MAPPING)]
    ),
    destroy=extend_schema(summary="Remove a CPT-group mapping (claims fall back to the built-in table)"),
)
class CptGroupMappingViewSet(_MappingViewSet):
    model = CptGroupMapping
    serializer_class = CptGroupMappingSerializer
    filterset_class = CptGroupMappingFilterSet
    search_fields = ("cpt", "group")
    ordering_fields = ("cpt", "group", "created_at")
    ordering = ("cpt", "id")
