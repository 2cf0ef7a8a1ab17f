"""Alerts (list, detail, feedback), alert rules (CRUD) and the customer's alert settings (singleton)."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from drf_spectacular.utils import OpenApiExample, extend_schema, extend_schema_view
from rest_framework import mixins, status
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.serializers import BaseSerializer

from upstream.alerts import selectors, services
from upstream.alerts.api import examples as ex
from upstream.alerts.api.serializers import (
    AlertRuleSerializer,
    AlertSerializer,
    AlertSettingsSerializer,
    FeedbackInputSerializer,
    FeedbackSerializer,
)
from upstream.alerts.filtersets import AlertEventFilterSet, AlertRuleFilterSet
from upstream.alerts.models import AlertEvent, AlertRule, AlertSettings
from upstream.core.api.viewsets import TenantScopedViewSet
from upstream.tenancy.roles import Capability


@extend_schema_view(
    list=extend_schema(
        summary="Alerts, newest first, with their drift-event summary and every operator's feedback",
        examples=[OpenApiExample("Alerts", response_only=True, value=[ex.ALERT, ex.ALERT_SUPPRESSED])],
    ),
    retrieve=extend_schema(
        summary="One alert with its drift-event summary and feedback",
        examples=[
            OpenApiExample("Acknowledged", value=ex.ALERT),
            OpenApiExample("Suppressed", value=ex.ALERT_SUPPRESSED),
        ],
    ),
)
class AlertViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, TenantScopedViewSet):
    model = AlertEvent
    serializer_class = AlertSerializer
    filterset_class = AlertEventFilterSet
    action_capabilities = {"feedback": Capability.GIVE_FEEDBACK}
    search_fields = ("payer", "cpt_group", "rule__name")
    ordering_fields = ("created_at", "severity", "status", "payer", "current_end")
    ordering = ("-created_at", "-id")

    def safely_get_queryset(self, queryset: QuerySet[Any]) -> QuerySet[Any]:
        return selectors.alerts_with_details(queryset)

    def get_serializer_context(self) -> dict[str, Any]:
        # Feedback notes are free text that may name a patient: shown only to roles that may see PHI.
        return {**super().get_serializer_context(), "sees_phi": self.tenant.can(Capability.VIEW_PHI)}

    @extend_schema(
        summary="Give (or change) your verdict on an alert: 201 created, 200 updated",
        description=(
            "One feedback per operator and alert: posting again replaces your earlier verdict (**200**); "
            "the first post answers **201**. The alert takes the verdict's status: `real` → `acknowledged`, "
            "`noise` → `resolved`, `needs_followup` → `open` (a `suppressed` alert keeps its status). "
            "Verdicts of `noise` feed suppression of the same signal. Audited; emits `alert.updated` "
            "(status and verdict counts, never the notes)."
        ),
        request=FeedbackInputSerializer,
        responses={200: FeedbackSerializer, 201: FeedbackSerializer},
        examples=[
            OpenApiExample("Real", request_only=True, value=ex.FEEDBACK_REQUEST),
            OpenApiExample(
                "Noise", request_only=True, value={"verdict": "noise", "reason_codes": ["seasonal"]}
            ),
            OpenApiExample("Created", response_only=True, status_codes=["201"], value=ex.FEEDBACK),
            OpenApiExample("Updated", response_only=True, status_codes=["200"], value=ex.FEEDBACK),
        ],
    )
    @action(detail=True, methods=["post"], filter_backends=[], pagination_class=None)
    def feedback(self, request: Request, pk: str | None = None) -> Response:
        alert = self.get_object()  # another tenant's alert: 404
        serializer = FeedbackInputSerializer(data=request.data, context=self.get_serializer_context())
        serializer.is_valid(raise_exception=True)
        feedback, created = services.alert_feedback_submit(
            alert_id=alert.pk, operator=self.tenant.user, request=request, **serializer.validated_data
        )
        feedback = type(feedback).objects.select_related("operator").get(pk=feedback.pk)
        return Response(
            FeedbackSerializer(feedback, context=self.get_serializer_context()).data,
            status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
        )


@extend_schema_view(
    list=extend_schema(
        summary="Alert rules",
        examples=[OpenApiExample("Rules", response_only=True, value=[ex.ALERT_RULE])],
    ),
    retrieve=extend_schema(summary="One alert rule", examples=[OpenApiExample("Rule", value=ex.ALERT_RULE)]),
    create=extend_schema(
        summary="Create an alert rule (audited)",
        examples=[
            OpenApiExample("Rule", request_only=True, value=ex.ALERT_RULE_REQUEST),
            OpenApiExample("Created", response_only=True, status_codes=["201"], value=ex.ALERT_RULE),
        ],
    ),
    update=extend_schema(
        summary="Replace an alert rule (audited)",
        examples=[
            OpenApiExample("Rule", request_only=True, value=ex.ALERT_RULE_REQUEST),
            OpenApiExample("Updated", response_only=True, value=ex.ALERT_RULE),
        ],
    ),
    partial_update=extend_schema(
        summary="Change an alert rule (audited)",
        examples=[
            OpenApiExample("Disable", request_only=True, value={"enabled": False}),
            OpenApiExample("Updated", response_only=True, value={**ex.ALERT_RULE, "enabled": False}),
        ],
    ),
    destroy=extend_schema(summary="Delete an alert rule; its alerts stay, with `rule` null (audited)"),
)
class AlertRuleViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
    TenantScopedViewSet,
):
    model = AlertRule
    serializer_class = AlertRuleSerializer
    filterset_class = AlertRuleFilterSet
    action_capabilities = {
        "create": Capability.MANAGE_CONFIG,
        "update": Capability.MANAGE_CONFIG,
        "partial_update": Capability.MANAGE_CONFIG,
        "destroy": Capability.MANAGE_CONFIG,
    }
    search_fields = ("name", "payer", "cpt_group")
    ordering_fields = ("name", "min_severity", "created_at")
    ordering = ("name", "id")

    def _name_taken(self, exc: services.AlertRuleNameTaken) -> ValidationError:
        return ValidationError({"name": [str(exc)]}, code=exc.code)

    def perform_create(self, serializer: BaseSerializer[Any]) -> None:
        customer = self.customer_required("manage its alert rules")
        try:
            serializer.instance = services.alert_rule_create(
                customer_id=customer.pk,
                data=dict(serializer.validated_data),
                actor=self.tenant.user,
                request=self.request,
            )
        except services.AlertRuleNameTaken as exc:
            raise self._name_taken(exc) from exc

    def perform_update(self, serializer: BaseSerializer[Any]) -> None:
        assert isinstance(serializer.instance, AlertRule)
        try:
            serializer.instance = services.alert_rule_update(
                rule=serializer.instance,
                data=dict(serializer.validated_data),
                actor=self.tenant.user,
                request=self.request,
            )
        except services.AlertRuleNameTaken as exc:
            raise self._name_taken(exc) from exc

    def perform_destroy(self, instance: AlertRule) -> None:
        services.alert_rule_delete(rule=instance, actor=self.tenant.user, request=self.request)


class AlertSettingsViewSet(TenantScopedViewSet):
    """GET / PATCH without a lookup: one settings object per customer, created with the defaults."""

    model = AlertSettings
    filter_backends: tuple[Any, ...] = ()
    pagination_class = None
    serializer_class = AlertSettingsSerializer
    action_capabilities = {"partial_update": Capability.MANAGE_CONFIG}

    @extend_schema(
        summary="The customer's alert suppression settings",
        description=(
            "cooldown: a delivered alert of the same (payer, cpt_group, drift_type) within "
            "`cooldown_minutes` suppresses a new one; noise: `noise_threshold` or more alerts of the "
            "signal created within `noise_window_days` and judged `noise` suppress it. Suppressed alerts "
            "are recorded, not delivered (no e-mail, no webhook)."
        ),
        responses=AlertSettingsSerializer,
        examples=[OpenApiExample("Defaults", value=ex.ALERT_SETTINGS)],
    )
    def retrieve(self, request: Request) -> Response:
        customer = self.customer_required("see its alert settings")
        return Response(AlertSettingsSerializer(services.alert_settings_get(customer_id=customer.pk)).data)

    @extend_schema(
        summary="Change the customer's alert suppression settings (audited)",
        request=AlertSettingsSerializer,
        responses=AlertSettingsSerializer,
        examples=[
            OpenApiExample("Change", request_only=True, value=ex.ALERT_SETTINGS_REQUEST),
            OpenApiExample(
                "Changed", response_only=True, value={**ex.ALERT_SETTINGS, **ex.ALERT_SETTINGS_REQUEST}
            ),
        ],
    )
    def partial_update(self, request: Request) -> Response:
        customer = self.customer_required("change its alert settings")
        serializer = AlertSettingsSerializer(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        updated = services.alert_settings_update(
            customer_id=customer.pk,
            changes=dict(serializer.validated_data),
            actor=self.tenant.user,
            request=request,
        )
        return Response(AlertSettingsSerializer(updated).data)
