"""URLconf for error-shape tests: the real URLs plus views that fail on purpose."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.urls import path
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from config.urls import handler404, handler500
from config.urls import urlpatterns as real_urlpatterns


class BoomAPIView(APIView):
    authentication_classes = ()
    permission_classes = ()

    def get(self, request: Request) -> Response:
        raise RuntimeError("patient SSN 123-45-6789 leaked into an exception")


def django_boom(request: HttpRequest) -> HttpResponse:
    raise RuntimeError("plain Django view failure")


urlpatterns = [
    path("api/v1/test-boom/", BoomAPIView.as_view()),
    path("api/v1/test-django-boom/", django_boom),
    path("outside/boom/", django_boom),
    *real_urlpatterns,
]
__all__ = ["handler404", "handler500", "urlpatterns"]
