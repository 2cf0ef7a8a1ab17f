"""Webhook endpoints (CRUD, test event, secret rotation) and deliveries (with attempts, redeliver).

Owners and admins only, reads included: endpoint URLs can embed tokens and deliveries carry payloads.
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import OpenApiExample, extend_schema, extend_schema_view
from rest_framework import mixins, status
from rest_framework.decorators import action
from rest_framework.filters import OrderingFilter, SearchFilter
from rest_framework.request import Request
from rest_framework.response import Response

from upstream.core.api.exceptions import Conflict
from upstream.core.api.viewsets import TenantScopedViewSet
from upstream.tenancy.roles import Capability
from upstream.webhooks import selectors, services
from upstream.webhooks.api import examples as ex
from upstream.webhooks.api.serializers import (
    WebhookDeliverySerializer,
    WebhookEndpointCreateSerializer,
    WebhookEndpointSerializer,
    WebhookEndpointWithSecretSerializer,
    WebhookSecretSerializer,
)
from upstream.webhooks.filtersets import WebhookDeliveryFilterSet, WebhookEndpointFilterSet
from upstream.webhooks.models import WebhookDelivery, WebhookEndpoint

MANAGE = Capability.MANAGE_CONFIG


class NameTaken(Conflict):
    default_code = "unique"


class EndpointInactive(Conflict):
    default_code = "endpoint_inactive"
    default_detail = "The endpoint is disabled; re-enable it first (PATCH active=true)."


class DeliveryInProgress(Conflict):
    default_code = "delivery_in_progress"
    default_detail = "The delivery is still pending or being sent; redeliver it once it has finished."


@extend_schema_view(
    list=extend_schema(
        summary="Webhook endpoints (never with their secrets)",
        examples=[OpenApiExample("Endpoints", response_only=True, value=[ex.ENDPOINT])],
    ),
    retrieve=extend_schema(
        summary="One webhook endpoint (never with its secret)",
        examples=[
            OpenApiExample("Active", value=ex.ENDPOINT),
            OpenApiExample("Disabled after 410", value=ex.ENDPOINT_DISABLED),
        ],
    ),
    destroy=extend_schema(summary="Delete an endpoint with its deliveries and their attempts"),
)
class WebhookEndpointViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.DestroyModelMixin, TenantScopedViewSet
):
    model = WebhookEndpoint
    serializer_class = WebhookEndpointSerializer
    filterset_class = WebhookEndpointFilterSet
    filter_backends = (DjangoFilterBackend, SearchFilter, OrderingFilter)
    search_fields = ("name",)
    ordering_fields = ("name", "created_at", "updated_at")
    ordering = ("name", "id")
    action_capabilities = dict.fromkeys(
        ("list", "retrieve", "create", "update", "partial_update", "destroy", "test", "rotate_secret"), MANAGE
    )

    def safely_get_queryset(self, queryset: QuerySet[Any]) -> QuerySet[Any]:
        return selectors.webhook_endpoints(queryset)

    @extend_schema(
        summary="Create an endpoint; the response shows its secret once",
        description=(
            "The URL must be https and resolve to public addresses (private, loopback and link-local "
            "receivers, and plain http, only inside `WEBHOOK_ALLOWED_NETWORKS`): otherwise **400** with "
            "code `url_not_allowed` (or `url_unresolvable`). Names are unique per customer (`unique`)."
        ),
        request=WebhookEndpointCreateSerializer,
        responses={201: WebhookEndpointWithSecretSerializer},
        examples=[
            OpenApiExample("Alerts only", request_only=True, value=ex.ENDPOINT_CREATE_REQUEST),
            OpenApiExample("Created", response_only=True, status_codes=["201"], value=ex.ENDPOINT_CREATED),
        ],
    )
    def create(self, request: Request) -> Response:
        customer = self.customer_required("manage its webhook endpoints")
        serializer = WebhookEndpointCreateSerializer(data=request.data, context=self.get_serializer_context())
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        try:
            endpoint = services.webhook_endpoint_create(
                customer_id=customer.pk,
                name=data["name"],
                url=data["url"],
                event_types=data.get("event_types", []),
                max_attempts=data.get("max_attempts"),
                actor=self.tenant.user,
                request=request,
            )
        except services.EndpointNameTaken as exc:
            raise NameTaken("An endpoint with this name exists already.") from exc
        headers = {"Location": f"/api/v1/webhook-endpoints/{endpoint.pk}/"}
        return Response(
            WebhookEndpointWithSecretSerializer(endpoint).data,
            status=status.HTTP_201_CREATED,
            headers=headers,
        )

    def _update(self, request: Request, *, partial: bool) -> Response:
        endpoint = self.get_object()
        serializer = self.get_serializer(endpoint, data=request.data, partial=partial)
        serializer.is_valid(raise_exception=True)
        try:
            endpoint = services.webhook_endpoint_update(
                endpoint=endpoint,
                changes=dict(serializer.validated_data),
                actor=self.tenant.user,
                request=request,
            )
        except services.EndpointNameTaken as exc:
            raise NameTaken("An endpoint with this name exists already.") from exc
        return Response(WebhookEndpointSerializer(endpoint).data)

    @extend_schema(
        summary="Replace an endpoint's settings",
        request=WebhookEndpointSerializer,
        responses=WebhookEndpointSerializer,
        examples=[
            OpenApiExample("Settings", request_only=True, value=ex.ENDPOINT_CREATE_REQUEST),
            OpenApiExample("Endpoint", response_only=True, value=ex.ENDPOINT),
        ],
    )
    def update(self, request: Request, pk: str | None = None) -> Response:
        return self._update(request, partial=False)

    @extend_schema(
        summary="Change an endpoint; `active: true` re-enables it and clears the reason and failure streak",
        request=WebhookEndpointSerializer,
        responses=WebhookEndpointSerializer,
        examples=[
            OpenApiExample("Re-enable", request_only=True, value=ex.ENDPOINT_REENABLE_REQUEST),
            OpenApiExample("All events, 8 attempts", request_only=True, value=ex.ENDPOINT_UPDATE_REQUEST),
            OpenApiExample("Endpoint", response_only=True, value=ex.ENDPOINT),
        ],
    )
    def partial_update(self, request: Request, pk: str | None = None) -> Response:
        return self._update(request, partial=True)

    def perform_destroy(self, instance: WebhookEndpoint) -> None:
        services.webhook_endpoint_delete(endpoint=instance, actor=self.tenant.user, request=self.request)

    @extend_schema(
        summary="Send a `webhook.test` event to this endpoint (whatever its event types)",
        description="Answers **202** with the queued delivery; follow it at `GET /webhook-deliveries/{id}/`.",
        request=None,
        responses={202: WebhookDeliverySerializer},
        examples=[
            OpenApiExample("Queued", response_only=True, status_codes=["202"], value=ex.TEST_DELIVERY),
        ],
    )
    @action(detail=True, methods=["post"], filterset_class=None, pagination_class=None)
    def test(self, request: Request, pk: str | None = None) -> Response:
        endpoint = self.get_object()
        try:
            delivery = services.webhook_endpoint_test(endpoint=endpoint, actor=self.tenant.user)
        except services.EndpointInactive as exc:
            raise EndpointInactive() from exc
        delivery = selectors.webhook_deliveries_with_attempts(
            WebhookDelivery.objects.filter(pk=delivery.pk)
        ).get()
        headers = {"Location": f"/api/v1/webhook-deliveries/{delivery.pk}/"}
        return Response(
            WebhookDeliverySerializer(delivery).data, status=status.HTTP_202_ACCEPTED, headers=headers
        )

    @extend_schema(
        summary="Rotate the signing secret; the new one is shown once",
        description=(
            "Every request is signed with the new secret and, for `WEBHOOK_SECRET_ROTATION_GRACE_HOURS` "
            "(24 h), also with the previous one: the `webhook-signature` header then carries two signatures."
        ),
        request=None,
        responses={200: WebhookSecretSerializer},
        examples=[OpenApiExample("Rotated", response_only=True, value=ex.ROTATED)],
    )
    @action(
        detail=True, methods=["post"], url_path="rotate-secret", filterset_class=None, pagination_class=None
    )
    def rotate_secret(self, request: Request, pk: str | None = None) -> Response:
        endpoint = services.webhook_endpoint_secret_rotate(
            endpoint=self.get_object(), actor=self.tenant.user, request=request
        )
        return Response(WebhookSecretSerializer(endpoint).data)


@extend_schema_view(
    list=extend_schema(
        summary="Webhook deliveries, newest first, each with its attempts",
        examples=[OpenApiExample("Deliveries", response_only=True, value=[ex.DELIVERY])],
    ),
    retrieve=extend_schema(
        summary="One delivery with every attempt (status code, duration, first 2 KB of the response, error)",
        examples=[OpenApiExample("Succeeded on the second attempt", value=ex.DELIVERY)],
    ),
)
class WebhookDeliveryViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, TenantScopedViewSet):
    model = WebhookDelivery
    serializer_class = WebhookDeliverySerializer
    filterset_class = WebhookDeliveryFilterSet
    filter_backends = (DjangoFilterBackend, OrderingFilter)
    ordering_fields = ("created_at", "next_attempt_at", "finished_at", "attempts_count")
    ordering = ("-created_at", "-id")
    action_capabilities = {"list": MANAGE, "retrieve": MANAGE, "redeliver": MANAGE}

    def safely_get_queryset(self, queryset: QuerySet[Any]) -> QuerySet[Any]:
        return selectors.webhook_deliveries_with_attempts(queryset)

    @extend_schema(
        summary="Send a finished delivery again, with the same webhook-id",
        description=(
            "Allows another round of the endpoint's `max_attempts` (attempt numbers keep counting) and "
            "answers **202**. **409** `delivery_in_progress` while the delivery is pending or sending, "
            "`endpoint_inactive` while its endpoint is disabled."
        ),
        request=None,
        responses={202: WebhookDeliverySerializer},
        examples=[
            OpenApiExample("Queued again", response_only=True, status_codes=["202"], value=ex.REDELIVERED)
        ],
    )
    @action(detail=True, methods=["post"], filterset_class=None, pagination_class=None)
    def redeliver(self, request: Request, pk: str | None = None) -> Response:
        delivery = self.get_object()
        try:
            services.webhook_delivery_redeliver(delivery=delivery)
        except services.DeliveryInProgress as exc:
            raise DeliveryInProgress() from exc
        except services.EndpointInactive as exc:
            raise EndpointInactive() from exc
        delivery = self.get_queryset().get(pk=delivery.pk)
        return Response(WebhookDeliverySerializer(delivery).data, status=status.HTTP_202_ACCEPTED)
