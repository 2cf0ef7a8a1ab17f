"""Operational Celery tasks: ``core.celery_roundtrip`` proves a worker consumes, runs and reaches Redis."""

from __future__ import annotations

import redis
from celery import shared_task
from django.conf import settings

ROUNDTRIP_KEY_PREFIX = "upstream:celery-roundtrip:"
ROUNDTRIP_TTL_SECONDS = 300


def roundtrip_key(token: str) -> str:
    """The Redis key under which ``celery_roundtrip`` leaves ``token``."""
    return f"{ROUNDTRIP_KEY_PREFIX}{token}"


@shared_task(name="core.celery_roundtrip")
def celery_roundtrip(token: str) -> str:
    """Write ``token`` to Redis under :func:`roundtrip_key` for a few minutes and return it.

    Without ``REDIS_URL`` (eager local mode) there is nothing to write to and the token is only returned.
    """
    if not settings.REDIS_URL:
        return token
    client = redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=2, socket_timeout=2)
    try:
        client.set(roundtrip_key(token), token, ex=ROUNDTRIP_TTL_SECONDS)
    finally:
        client.close()
    return token
