from django.urls import path
from rest_framework.routers import SimpleRouter

from upstream.alerts.api import views

router = SimpleRouter()
router.register("alerts", views.AlertViewSet, basename="alert")
router.register("alert-rules", views.AlertRuleViewSet, basename="alert-rule")

urlpatterns = [
    path(
        "alert-settings/",
        views.AlertSettingsViewSet.as_view({"get": "retrieve", "patch": "partial_update"}),
        name="alert-settings",
    ),
    *router.urls,
]
