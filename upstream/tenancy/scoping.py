"""Fail-closed tenant scoping (django-scopes).

Tenant-owned models use ``TenantManager``: a query with no active scope raises ``ScopeError`` instead of
returning rows. Code enters a scope with ``tenant_scope(customer_id)``; platform staff and operator commands
that must see every tenant use ``all_tenants_scope()``, which is deliberately easy to grep for.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from django.db import models
from django_scopes import ScopeError, get_scope, scope, scopes_disabled
from django_scopes.manager import DisabledQuerySet

from upstream.core.context import customer_id_var

__all__ = ["ScopeError", "TenantManager", "all_tenants_scope", "runs_in_tenant_scope", "tenant_scope"]

T = TypeVar("T")


class ScopeRequiredQuerySet(DisabledQuerySet):
    """What a tenant-owned manager returns outside any scope: building it is allowed (``.all()``, ``.none()``,
    ``.query`` — django-filter and DRF build querysets at import time), running it raises ``ScopeError``."""

    def all(self) -> ScopeRequiredQuerySet:
        return self._chain()


class TenantManager(models.Manager[Any]):
    """Filters by the active customer (``tenant_scope``) and refuses to run without one."""

    def get_queryset(self) -> models.QuerySet[Any]:
        current = get_scope()
        if not current.get("_enabled", True):  # all_tenants_scope()
            return super().get_queryset()
        if "customer" not in current:
            return ScopeRequiredQuerySet(self.model, using=self._db, missing_scopes={"customer"})
        return super().get_queryset().filter(customer_id=current["customer"])


@contextmanager
def tenant_scope(customer_id: int) -> Iterator[None]:
    """Run the block inside one customer's scope; every tenant-owned query is filtered to it."""
    if not isinstance(customer_id, int) or isinstance(customer_id, bool):
        # django-scopes treats None as "no filter"; refuse anything but a real id so a bug cannot widen scope.
        raise ScopeError(f"tenant_scope needs an integer customer id, got {customer_id!r}")
    token = customer_id_var.set(customer_id)
    try:
        with scope(customer=customer_id):
            yield
    finally:
        customer_id_var.reset(token)


@contextmanager
def all_tenants_scope() -> Iterator[None]:
    """Disable tenant filtering for the block: platform staff, migrations and operator commands only."""
    with scopes_disabled():
        yield


def runs_in_tenant_scope(func: Callable[..., T]) -> Callable[..., T]:
    """Decorate a Celery task body (or any function) that takes a keyword ``customer_id``: it runs inside
    that customer's scope, so tenant-owned queries in it are filtered and nothing else is reachable."""

    @functools.wraps(func)
    def wrapper(*args: Any, customer_id: int, **kwargs: Any) -> T:
        with tenant_scope(customer_id):
            return func(*args, customer_id=customer_id, **kwargs)

    return wrapper
