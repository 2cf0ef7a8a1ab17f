"""drf-spectacular extensions for Upstream's own classes."""

from __future__ import annotations

from drf_spectacular.contrib.rest_framework_simplejwt import SimpleJWTScheme


class TenantJWTScheme(SimpleJWTScheme):
    target_class = "upstream.tenancy.authentication.TenantJWTAuthentication"
    name = "jwtAuth"
