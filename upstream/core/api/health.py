"""``health/``: readiness of the database, Redis and Celery (public, for load balancers)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiExample, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from upstream.core.health import readiness

_check = inline_serializer(
    "HealthCheck",
    fields={
        "status": serializers.CharField(),
        "latency_ms": serializers.FloatField(required=False),
        "error": serializers.CharField(required=False),
        "workers": serializers.IntegerField(required=False),
    },
)
_health = inline_serializer(
    "Health",
    fields={
        "status": serializers.ChoiceField(choices=["ok", "degraded", "down"]),
        "version": serializers.CharField(),
        "checks": inline_serializer(
            "HealthChecks", fields={"database": _check, "redis": _check, "celery": _check}
        ),
    },
)
_EXAMPLE: dict[str, Any] = {
    "status": "ok",
    "version": "0.1.0",
    "checks": {
        "database": {"status": "ok", "latency_ms": 0.8},
        "redis": {"status": "ok", "latency_ms": 0.4},
        "celery": {"status": "ok", "workers": 1, "latency_ms": 12.3},
    },
}


class HealthView(APIView):
    authentication_classes = ()
    permission_classes = (AllowAny,)
    throttle_classes = ()

    @extend_schema(
        tags=["health"],
        summary="Readiness: database, Redis, Celery",
        auth=[],
        responses={200: _health, 503: _health},
        examples=[
            OpenApiExample("Healthy", value=_EXAMPLE, status_codes=["200"]),
            OpenApiExample(
                "Database down",
                status_codes=["503"],
                value={
                    "status": "down",
                    "version": "0.1.0",
                    "checks": {
                        "database": {"status": "down", "error": "OperationalError", "latency_ms": 5001.2},
                        "redis": {"status": "ok"},
                        "celery": {"status": "ok", "workers": 1},
                    },
                },
            ),
        ],
    )
    def get(self, request: Request) -> Response:
        status, body = readiness()
        return Response(body, status=status)
