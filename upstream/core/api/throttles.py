"""Throttles with rates read from ``settings.THROTTLE_RATES`` at request time (SPEC §9)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.conf import settings
from rest_framework.request import Request
from rest_framework.throttling import SimpleRateThrottle

if TYPE_CHECKING:
    from rest_framework.views import APIView

SAFE_METHODS = ("GET", "HEAD", "OPTIONS")


class ConfiguredRateThrottle(SimpleRateThrottle):
    def get_rate(self) -> str | None:
        rate: str | None = settings.THROTTLE_RATES.get(self.scope)  # type: ignore[arg-type]
        return rate


class AuthRateThrottle(ConfiguredRateThrottle):
    """Login, refresh, verify and logout: per client IP, whoever is asking."""

    scope = "auth"

    def get_cache_key(self, request: Request, view: APIView) -> str | None:
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}


class ReadRateThrottle(ConfiguredRateThrottle):
    """Reads per user (per IP when anonymous)."""

    scope = "reads"

    def get_cache_key(self, request: Request, view: APIView) -> str | None:
        if request.method not in SAFE_METHODS:
            return None
        user = request.user
        ident: Any = user.pk if user and user.is_authenticated else self.get_ident(request)
        return self.cache_format % {"scope": self.scope, "ident": ident}


class UploadRateThrottle(ConfiguredRateThrottle):
    """Uploads per user."""

    scope = "uploads"

    def get_cache_key(self, request: Request, view: APIView) -> str | None:
        if request.method in SAFE_METHODS or not request.user.is_authenticated:
            return None
        return self.cache_format % {"scope": self.scope, "ident": request.user.pk}


class ReportRunRateThrottle(ConfiguredRateThrottle):
    """Drift runs per customer."""

    scope = "report_runs"

    def get_cache_key(self, request: Request, view: APIView) -> str | None:
        tenant = getattr(request, "tenant", None)
        if request.method in SAFE_METHODS or tenant is None or tenant.customer is None:
            return None
        return self.cache_format % {"scope": self.scope, "ident": tenant.customer.pk}
