from django.urls import path
from rest_framework.routers import SimpleRouter

from upstream.drift.api import views

router = SimpleRouter()
router.register("report-runs", views.ReportRunViewSet, basename="report-run")
router.register("drift-events", views.DriftEventViewSet, basename="drift-event")

urlpatterns = [
    path("dashboard/", views.DashboardViewSet.as_view({"get": "retrieve"}), name="dashboard"),
    *router.urls,
]
