"""Everything under /api/v1/: each app contributes its own api/urls.py."""

from django.urls import include, path

from upstream.core.api.health import HealthView

urlpatterns = [
    path("health/", HealthView.as_view(), name="health"),
    path("", include("upstream.tenancy.api.urls")),
    path("", include("upstream.audit.api.urls")),
    path("", include("upstream.claims.api.urls")),
    path("", include("upstream.drift.api.urls")),
    path("", include("upstream.alerts.api.urls")),
    path("", include("upstream.webhooks.api.urls")),
]
