"""Readiness checks of the service's dependencies: PostgreSQL, Redis and Celery workers."""

from __future__ import annotations

import time
from typing import Any

from django.conf import settings
from django.db import connections

# Seconds each Redis/Celery step may take, so that a dead dependency answers within about two seconds.
_TIMEOUT_S = 1


def _timed(check: Any) -> dict[str, Any]:
    started = time.perf_counter()
    try:
        result: dict[str, Any] = check()
    except Exception as exc:  # any failure of a dependency is a reported state, never a 500
        result = {"status": "down", "error": type(exc).__name__}
    result["latency_ms"] = round((time.perf_counter() - started) * 1000, 1)
    return result


def check_database() -> dict[str, Any]:
    def run() -> dict[str, Any]:
        with connections["default"].cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
        return {"status": "ok"}

    return _timed(run)


def check_redis() -> dict[str, Any]:
    if not settings.REDIS_URL:
        return {"status": "not_configured"}

    def run() -> dict[str, Any]:
        import redis

        client = redis.Redis.from_url(
            settings.REDIS_URL, socket_connect_timeout=_TIMEOUT_S, socket_timeout=_TIMEOUT_S
        )
        try:
            client.ping()
        finally:
            client.close()
        return {"status": "ok"}

    return _timed(run)


def check_celery(*, broker_reachable: bool = True) -> dict[str, Any]:
    """Ping the workers over a dedicated broker connection that fails fast.

    The broker is Redis (``CELERY_BROKER_URL = REDIS_URL``), so when the Redis check already found it down the
    ping is not attempted. The app's pooled connection is not used: its retry policy keeps a ping against a
    dead broker waiting for several seconds, longer than a load balancer waits for an answer.
    """
    if settings.CELERY_TASK_ALWAYS_EAGER:
        return {"status": "eager"}
    if not broker_reachable:
        return {"status": "down", "error": "BrokerUnreachable"}

    def run() -> dict[str, Any]:
        from config.celery import app

        with app.connection_for_write(connect_timeout=_TIMEOUT_S) as connection:
            connection.ensure_connection(max_retries=1, interval_start=0, timeout=_TIMEOUT_S)
            replies = app.control.ping(timeout=_TIMEOUT_S, connection=connection) or []
        return {"status": "ok" if replies else "no_workers", "workers": len(replies)}

    return _timed(run)


def readiness() -> tuple[int, dict[str, Any]]:
    """(HTTP status, body): 503 when the database is down, ``degraded`` when Redis or Celery are."""
    database, redis = check_database(), check_redis()
    checks = {
        "database": database,
        "redis": redis,
        "celery": check_celery(broker_reachable=redis["status"] != "down"),
    }
    if checks["database"]["status"] != "ok":
        overall, status = "down", 503
    elif checks["redis"]["status"] == "down" or checks["celery"]["status"] in ("down", "no_workers"):
        overall, status = "degraded", 200
    else:
        overall, status = "ok", 200
    return status, {"status": overall, "version": settings.VERSION, "checks": checks}
