from __future__ import annotations

from typing import Any

import pytest


@pytest.fixture(autouse=True)
def _alert_settings(settings: Any) -> None:
    # Test endpoints live on 127.0.0.1:9 (closed): allowed, and any send attempt fails fast.
    settings.WEBHOOK_ALLOWED_NETWORKS = ["127.0.0.0/8"]
    settings.PUBLIC_BASE_URL = "https://upstream.example"
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.ALERT_EMAIL_MAX_RETRIES = 3
