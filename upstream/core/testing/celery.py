"""A real Celery worker for integration tests: a subprocess against the machine's Redis, consuming a queue of
its own, so concurrent test runs (and xdist workers) cannot take each other's tasks.

Registered as a pytest plugin by the root conftest: fixtures ``redis_client``, ``real_broker`` and
``celery_worker``; ``start_worker`` for tests that need a worker with extra settings (environment).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar
from urllib.parse import urlsplit, urlunsplit

import pytest
import redis
from celery.utils.nodenames import host_format
from django.db import connection
from pytest_django import Settings

from config.celery import app

REDIS_URL = os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/0"
WORKER_DEADLINE_S = 60.0
WORKER_STOP_TIMEOUT_S = 20.0
STDERR_TAIL_CHARS = 6000
T = TypeVar("T")


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

    def wait_for(self, what: str, probe: Callable[[], T | None], deadline_s: float = WORKER_DEADLINE_S) -> T:
        """Poll ``probe`` until it returns something other than None; fail with the worker's log otherwise."""
        deadline = time.monotonic() + deadline_s
        while True:
            value = probe()
            if value is not None:
                return value
            exit_code = self.process.poll()
            if exit_code is not None:
                self.fail(f"the Celery worker exited with code {exit_code} while waiting for {what}")
            if time.monotonic() > deadline:
                self.fail(f"{what} did not happen within {deadline_s:.0f} s")
            time.sleep(0.2)


def forget_queue(client: redis.Redis, queue: str) -> None:
    """Remove the list and the binding keys kombu leaves in Redis for a queue."""
    client.delete(queue, f"_kombu.binding.{queue}", f"_kombu.binding_permanent.{queue}")


def current_database_url(settings: Settings) -> str:
    """The URL of the database this test process uses (pytest-django's ``test_…`` database), so that a
    worker subprocess sees the same rows and never starts an embedded PostgreSQL of its own."""
    parts = urlsplit(settings.DATABASE_URL)
    return urlunsplit(parts._replace(path="/" + connection.settings_dict["NAME"]))


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


@contextmanager
def start_worker(
    settings: Settings, redis_client: redis.Redis, tmp_path: Path, extra_env: dict[str, str] | None = None
) -> Iterator[Worker]:
    """A worker subprocess consuming only a fresh queue, which is also the queue tasks it sends go to."""
    suffix = uuid.uuid4().hex
    queue = f"upstream-test-{suffix}"
    name = f"worker-{suffix}"
    stderr_path = tmp_path / "worker.stderr"
    env = {
        **os.environ,
        "REDIS_URL": REDIS_URL,
        "DATABASE_URL": current_database_url(settings),
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "CELERY_TASK_DEFAULT_QUEUE": queue,
        "PYTHONUNBUFFERED": "1",
        **(extra_env or {}),
    }
    command = [
        sys.executable, "-m", "celery", "-A", "config", "worker",
        "--pool=solo", "--concurrency=1", "-Q", queue, "-n", f"{name}@%h",
        "--without-gossip", "--without-mingle", "--without-heartbeat", "--loglevel=INFO",
    ]  # fmt: skip
    with stderr_path.open("wb") as stderr, (tmp_path / "worker.stdout").open("wb") as stdout:
        process = subprocess.Popen(command, cwd=settings.BASE_DIR, env=env, stdout=stdout, stderr=stderr)
    try:
        nodename = host_format(f"{name}@%h")
        yield Worker(process=process, queue=queue, nodename=nodename, stderr_path=stderr_path)
    finally:
        process.terminate()
        try:
            process.wait(timeout=WORKER_STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        forget_queue(redis_client, queue)


@pytest.fixture
def celery_worker(settings: Settings, redis_client: redis.Redis, tmp_path: Path) -> Iterator[Worker]:
    with start_worker(settings, redis_client, tmp_path) as worker:
        yield worker
