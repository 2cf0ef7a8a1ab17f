"""Page-number pagination used by every list, custom actions included (SPEC §9)."""

from __future__ import annotations

from django.conf import settings
from rest_framework.pagination import PageNumberPagination


class StandardPagination(PageNumberPagination):
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = settings.PAGE_SIZE_MAX
