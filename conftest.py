"""Suite-wide fixtures: isolated cache per test, fast password hashing, tenants with one member per role."""

from __future__ import annotations

import uuid
from collections.abc import Callable

import pytest
from rest_framework.test import APIClient

from upstream.core.testing.clients import client_for
from upstream.core.testing.tenants import Tenant
from upstream.core.testing.tenants import make_tenant as _make_tenant
from upstream.tenancy.models import User

pytest_plugins = ["upstream.core.testing.celery"]


@pytest.fixture(autouse=True)
def _isolated_test_settings(settings):
    # Throttle counters and cached values must not leak between tests (or between xdist workers).
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": f"test-{uuid.uuid4().hex}",
        }
    }
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    # Tasks run in-process unless a test starts a real worker (CI sets REDIS_URL for those tests).
    settings.CELERY_TASK_ALWAYS_EAGER = True


@pytest.fixture
def make_tenant(db) -> Callable[..., Tenant]:
    return _make_tenant


@pytest.fixture
def tenant(make_tenant: Callable[..., Tenant]) -> Tenant:
    return make_tenant()


@pytest.fixture
def other_tenant(make_tenant: Callable[..., Tenant]) -> Tenant:
    return make_tenant()


@pytest.fixture
def superuser(db) -> User:
    return User.objects.create_superuser(email="root@upstream.test", password="Sup3r-Secret-Pass!")


@pytest.fixture
def superuser_client(superuser: User) -> APIClient:
    """A superuser with no active customer: sees every tenant."""
    return client_for(superuser, None)


@pytest.fixture
def anon_client() -> APIClient:
    return APIClient()
