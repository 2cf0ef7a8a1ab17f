"""A real Celery worker subprocess, against the machine's Redis, runs ``core.celery_roundtrip``."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
import redis
from kombu.exceptions import EncodeError
from pytest_django import Settings
from rest_framework.test import APIClient

from config.celery import app
from upstream.core.tasks import ROUNDTRIP_TTL_SECONDS, celery_roundtrip, roundtrip_key
from upstream.core.testing.celery import Worker, forget_queue


def _wait_for_key(worker: Worker, client: redis.Redis, key: str) -> str:
    value = worker.wait_for(f"{key!r} in Redis", lambda: client.get(key))
    return str(value)


@pytest.mark.integration
def test_worker_runs_the_roundtrip_task_and_health_sees_it(
    db: None, real_broker: str, celery_worker: Worker, redis_client: redis.Redis, anon_client: APIClient
) -> None:
    token = uuid.uuid4().hex
    key = roundtrip_key(token)
    try:
        # An explicit connection built from the current settings: the app's connection pool may already exist
        # in this process (created for the eager/memory broker) and would not follow the switch to Redis.
        with app.connection_for_write() as connection:
            celery_roundtrip.apply_async(
                args=(token,), producer=connection.Producer(), queue=celery_worker.queue
            )

        assert _wait_for_key(celery_worker, redis_client, key) == token
        assert 0 < redis_client.ttl(key) <= ROUNDTRIP_TTL_SECONDS

        pong: list[dict[str, Any]] | None = []
        for _ in range(6):  # a loaded CI machine may answer the first broadcast late; bounded retries
            with app.connection_for_write() as connection:
                pong = app.control.ping(
                    destination=[celery_worker.nodename], timeout=3.0, connection=connection
                )
            if pong:
                break
        if pong != [{celery_worker.nodename: {"ok": "pong"}}]:
            celery_worker.fail(f"the worker did not answer a remote-control ping by name: {pong!r}")

        response = anon_client.get("/api/v1/health/")
        body = response.json()
        if response.status_code != 200 or body["checks"]["celery"]["status"] != "ok":
            celery_worker.fail(f"health did not report the running worker: {response.status_code} {body!r}")
        assert body["status"] == "ok"
        assert body["checks"]["database"]["status"] == "ok"
        assert body["checks"]["redis"]["status"] == "ok"
        # Other workers on the same Redis may answer the broadcast too, hence at least one.
        assert body["checks"]["celery"]["workers"] >= 1
    finally:
        redis_client.delete(key)


@pytest.mark.integration
def test_producer_refuses_what_json_cannot_carry(real_broker: str, redis_client: redis.Redis) -> None:
    # With pickle allowed this object would be sent; JSON-only makes the producer refuse it before publishing.
    queue = f"upstream-test-{uuid.uuid4().hex}"
    try:
        with app.connection_for_write() as connection, pytest.raises(EncodeError):
            celery_roundtrip.apply_async(args=(object(),), producer=connection.Producer(), queue=queue)
        assert redis_client.llen(queue) == 0
    finally:
        forget_queue(redis_client, queue)


def test_celery_app_is_json_only_with_late_acks() -> None:
    assert app.conf.accept_content == ["json"]
    assert app.conf.task_serializer == "json"
    assert app.conf.result_serializer == "json"
    assert app.conf.task_acks_late is True
    assert app.conf.task_reject_on_worker_lost is True
    assert app.conf.worker_prefetch_multiplier == 1


def test_roundtrip_without_redis_only_returns_the_token(settings: Settings) -> None:
    settings.REDIS_URL = ""
    settings.CELERY_TASK_ALWAYS_EAGER = True

    assert celery_roundtrip.delay("tok-123").get() == "tok-123"


def test_every_beat_entry_names_a_registered_task() -> None:
    """A typo in a task name would only show as a beat error in production: every entry must resolve."""
    app.loader.import_default_modules()
    schedule = app.conf.beat_schedule
    assert {name: entry["task"] for name, entry in schedule.items()} == {
        "drift-weekly-runs": "drift.request_scheduled_runs",
        "alerts-email-sweep": "alerts.sweep_emails",
        "webhooks-sweep": "webhooks.sweep",
    }
    assert [entry["task"] for entry in schedule.values() if entry["task"] not in app.tasks] == []
    assert schedule["webhooks-sweep"]["schedule"] == 15.0
