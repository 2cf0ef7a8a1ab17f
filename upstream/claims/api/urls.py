from django.urls import path
from rest_framework.routers import SimpleRouter

from upstream.claims.api import views

router = SimpleRouter()
router.register("uploads", views.UploadViewSet, basename="upload")
router.register("claims", views.ClaimViewSet, basename="claim")
router.register("payer-mappings", views.PayerMappingViewSet, basename="payer-mapping")
router.register("cpt-group-mappings", views.CptGroupMappingViewSet, basename="cpt-group-mapping")

urlpatterns = [
    path("validation-rules/", views.ValidationRuleListView.as_view(), name="validation-rules"),
    *router.urls,
]
