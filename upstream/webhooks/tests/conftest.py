"""Webhook tests: loopback receivers allowed, a short retry schedule and short timeouts."""

from __future__ import annotations

from typing import Any

import pytest


@pytest.fixture(autouse=True)
def _webhook_settings(settings: Any) -> None:
    settings.WEBHOOK_ALLOWED_NETWORKS = ["127.0.0.0/8"]
    settings.WEBHOOK_RETRY_SCHEDULE = [60, 120]
    settings.WEBHOOK_CONNECT_TIMEOUT_SECONDS = 2.0
    settings.WEBHOOK_TOTAL_TIMEOUT_SECONDS = 5.0
    settings.WEBHOOK_DISABLE_AFTER_FAILURES = 20
    settings.WEBHOOK_DISABLE_AFTER_DAYS = 5
