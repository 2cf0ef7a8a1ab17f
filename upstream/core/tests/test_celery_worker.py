"""A real Celery worker subprocess, against the machine's Redis, runs ``core.celery_roundtrip``."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import redis
from celery.utils.nodenames import host_format
from kombu.exceptions import EncodeError
from pytest_django import Settings
from rest_framework.test import APIClient

from config.celery import app
from upstream.core.tasks import ROUNDTRIP_TTL_SECONDS, celery_roundtrip, roundtrip_key

REDIS_URL = os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/0"
WORKER_DEADLINE_S = 60.0
WORKER_STOP_TIMEOUT_S = 20.0
STDERR_TAIL_CHARS = 6000


@dataclass
class Worker:
    process: subprocess.Popen[bytes]
    queue: str
    nodename: str
    stderr_path: Path

    def stderr_tail(self) -> str:
        text = self.stderr_path.read_text(errors="replace") if self.stderr_path.exists() else ""
        return text[-STDERR_TAIL_CHARS:] or "(empty)"

    def fail(self, reason: str) -> None:
        pytest.fail(f"{reason}\n--- worker stderr (tail) ---\n{self.stderr_tail()}", pytrace=False)


@pytest.fixture
def redis_client() -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(
        REDIS_URL, socket_connect_timeout=2, socket_timeout=2, decode_responses=True
    )
    try:
        client.ping()
    except redis.RedisError as exc:
        # CI guarantees Redis: its absence is a broken environment, not a reason to skip.
        pytest.fail(
            f"Redis at {REDIS_URL} is unreachable ({exc!r}); the Celery integration tests need it "
            "(set REDIS_URL or run Redis on 127.0.0.1:6379).",
            pytrace=False,
        )
    yield client
    client.close()


def _drop_cached_broker_pools() -> None:
    # The app caches its connection and producer pools for the broker URL it first saw; an earlier test in
    # this process (the health checks point at dead brokers) may have created them for another URL.
    app._pool = None  # type: ignore[attr-defined]
    app.amqp._producer_pool = None  # type: ignore[attr-defined]


@pytest.fixture
def real_broker(settings: Settings, redis_client: redis.Redis) -> Iterator[str]:
    """Point this process's Celery app at Redis with eager mode off, as ``REDIS_URL`` does in production."""
    settings.REDIS_URL = REDIS_URL
    settings.CELERY_BROKER_URL = REDIS_URL
    settings.CELERY_TASK_ALWAYS_EAGER = False
    # The app reads the Django settings live, so the `settings` fixture switches it and restores it.
    assert app.conf.broker_url == REDIS_URL
    assert app.conf.task_always_eager is False
    _drop_cached_broker_pools()
    yield REDIS_URL
    _drop_cached_broker_pools()


@pytest.fixture
def celery_worker(settings: Settings, redis_client: redis.Redis, tmp_path: Path) -> Iterator[Worker]:
    """A worker subprocess consuming only a queue unique to this run, so concurrent runs cannot interfere."""
    suffix = uuid.uuid4().hex
    queue = f"upstream-test-{suffix}"
    name = f"roundtrip-{suffix}"
    stderr_path = tmp_path / "worker.stderr"
    env = {
        **os.environ,
        "REDIS_URL": REDIS_URL,
        # The resolved URL, so that the worker does not start an embedded PostgreSQL of its own.
        "DATABASE_URL": settings.DATABASE_URL,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "PYTHONUNBUFFERED": "1",
    }
    command = [
        sys.executable, "-m", "celery", "-A", "config", "worker",
        "--pool=solo", "--concurrency=1", "-Q", queue, "-n", f"{name}@%h",
        "--without-gossip", "--without-mingle", "--without-heartbeat", "--loglevel=INFO",
    ]  # fmt: skip
    with stderr_path.open("wb") as stderr, (tmp_path / "worker.stdout").open("wb") as stdout:
        process = subprocess.Popen(command, cwd=settings.BASE_DIR, env=env, stdout=stdout, stderr=stderr)
    try:
        yield Worker(
            process=process, queue=queue, nodename=host_format(f"{name}@%h"), stderr_path=stderr_path
        )
    finally:
        process.terminate()
        try:
            process.wait(timeout=WORKER_STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        _forget_queue(redis_client, queue)


def _forget_queue(client: redis.Redis, queue: str) -> None:
    """Remove the list and the binding keys kombu leaves in Redis for a queue."""
    client.delete(queue, f"_kombu.binding.{queue}", f"_kombu.binding_permanent.{queue}")


def _wait_for_key(worker: Worker, client: redis.Redis, key: str) -> str:
    deadline = time.monotonic() + WORKER_DEADLINE_S
    while True:
        value = client.get(key)
        if value is not None:
            return str(value)
        exit_code = worker.process.poll()
        if exit_code is not None:
            worker.fail(f"the Celery worker exited with code {exit_code} before writing {key!r}")
        if time.monotonic() > deadline:
            worker.fail(f"{key!r} did not appear in Redis within {WORKER_DEADLINE_S:.0f} s")
        time.sleep(0.2)


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
        _forget_queue(redis_client, queue)


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
