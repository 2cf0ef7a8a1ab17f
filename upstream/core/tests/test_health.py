"""Liveness (``/healthz``), readiness (``/api/v1/health/``) and the ``X-Request-ID`` on every response."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.db import connections
from django.test import Client
from pytest_django import Settings
from rest_framework.test import APIClient

HEALTH_URL = "/api/v1/health/"
DEAD_REDIS_URL = "redis://127.0.0.1:1/0"
GENERATED_REQUEST_ID = re.compile(r"[0-9a-f]{32}")


def _checks_without_latency(body: dict[str, Any]) -> dict[str, Any]:
    """The checks with ``latency_ms`` removed, after asserting it is a non-negative number where present."""
    checks: dict[str, Any] = {}
    for name, check in body["checks"].items():
        check = dict(check)
        if "latency_ms" in check:
            latency = check.pop("latency_ms")
            assert isinstance(latency, int | float)
            assert latency >= 0
        checks[name] = check
    return checks


@pytest.fixture
def local_mode(settings: Settings) -> Settings:
    """The local default: no Redis, tasks run eagerly."""
    settings.REDIS_URL = ""
    settings.CELERY_BROKER_URL = "memory://"
    settings.CELERY_TASK_ALWAYS_EAGER = True
    return settings


def test_healthz_answers_ok_without_the_database(client: Client) -> None:
    # No `db` fixture: pytest-django raises on any database access, so a 200 proves none happened.
    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert GENERATED_REQUEST_ID.fullmatch(response["X-Request-ID"])


def test_healthz_rejects_other_methods(client: Client) -> None:
    assert client.post("/healthz").status_code == 405


def test_health_reports_each_check_when_everything_is_up(
    db: None, local_mode: Settings, anon_client: APIClient
) -> None:
    response = anon_client.get(HEALTH_URL)

    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"status", "version", "checks"}
    assert body["status"] == "ok"
    assert body["version"] == local_mode.VERSION
    assert _checks_without_latency(body) == {
        "database": {"status": "ok"},
        "redis": {"status": "not_configured"},
        "celery": {"status": "eager"},
    }
    assert "latency_ms" in body["checks"]["database"]
    assert GENERATED_REQUEST_ID.fullmatch(response["X-Request-ID"])


def test_health_answers_503_when_the_database_is_down(
    transactional_db: None, local_mode: Settings, anon_client: APIClient
) -> None:
    # A real outage: the default connection points at a closed port. `transactional_db` rather than `db`,
    # because closing the connection inside the per-test transaction would break its rollback.
    connection = connections["default"]
    original = connection.settings_dict
    connection.close()
    connection.settings_dict = {**original, "HOST": "127.0.0.1", "PORT": "1"}
    try:
        response = anon_client.get(HEALTH_URL)
    finally:
        connection.close()
        connection.settings_dict = original
        connection.close()

    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "down"
    assert body["checks"]["database"]["status"] == "down"
    assert _checks_without_latency(body) == {
        "database": {"status": "down", "error": "OperationalError"},
        "redis": {"status": "not_configured"},
        "celery": {"status": "eager"},
    }
    # The connection is usable again for the tests that follow.
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        assert cursor.fetchone() == (1,)


def test_health_is_degraded_when_redis_is_unreachable(
    db: None, settings: Settings, anon_client: APIClient
) -> None:
    settings.REDIS_URL = DEAD_REDIS_URL
    settings.CELERY_BROKER_URL = DEAD_REDIS_URL
    settings.CELERY_TASK_ALWAYS_EAGER = False

    response = anon_client.get(HEALTH_URL)

    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "degraded"
    assert body["checks"]["redis"]["status"] == "down"
    # The broker is that same Redis, so the workers are not pinged through it (a ping would wait on retries).
    assert _checks_without_latency(body) == {
        "database": {"status": "ok"},
        "redis": {"status": "down", "error": "ConnectionError"},
        "celery": {"status": "down", "error": "BrokerUnreachable"},
    }


def test_health_celery_check_reports_a_dead_broker(
    db: None, settings: Settings, anon_client: APIClient
) -> None:
    # Reached only when the Redis check passed but the broker connection fails: the ping uses its own
    # connection with one retry (see upstream/core/health.py), so it reports instead of hanging.
    settings.REDIS_URL = ""
    settings.CELERY_BROKER_URL = DEAD_REDIS_URL
    settings.CELERY_TASK_ALWAYS_EAGER = False

    response = anon_client.get(HEALTH_URL)

    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "degraded"
    assert _checks_without_latency(body)["celery"] == {"status": "down", "error": "OperationalError"}


def test_valid_incoming_request_id_is_echoed(client: Client) -> None:
    response = client.get("/healthz", headers={"X-Request-ID": "req-1234567890"})

    assert response["X-Request-ID"] == "req-1234567890"


def test_request_id_is_echoed_on_api_responses(
    db: None, local_mode: Settings, anon_client: APIClient
) -> None:
    response = anon_client.get(HEALTH_URL, headers={"X-Request-ID": "lb.probe_42-abc"})

    assert response.status_code == 200
    assert response["X-Request-ID"] == "lb.probe_42-abc"


@pytest.mark.parametrize(
    "incoming",
    ["has spaces in it", "x" * 129, "short", "semi;colon-1234", ""],
    ids=["spaces", "too-long", "too-short", "forbidden-char", "empty"],
)
def test_invalid_incoming_request_id_is_replaced(client: Client, incoming: str) -> None:
    response = client.get("/healthz", headers={"X-Request-ID": incoming})

    assert response["X-Request-ID"] != incoming
    assert GENERATED_REQUEST_ID.fullmatch(response["X-Request-ID"])


def test_each_response_gets_its_own_generated_request_id(client: Client) -> None:
    first, second = client.get("/healthz"), client.get("/healthz")

    assert first["X-Request-ID"] != second["X-Request-ID"]
