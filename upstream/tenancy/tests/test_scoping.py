"""Fail-closed tenant scoping and the base viewset that cannot be bypassed."""

from __future__ import annotations

import pytest

from upstream.core.api.viewsets import TenantScopedViewSet
from upstream.core.testing.tenants import Tenant
from upstream.tenancy.models import Membership
from upstream.tenancy.scoping import ScopeError, all_tenants_scope, runs_in_tenant_scope, tenant_scope


def test_query_without_scope_raises(tenant: Tenant) -> None:
    with pytest.raises(ScopeError):
        Membership.objects.count()
    with pytest.raises(ScopeError):
        list(Membership.objects.all())
    with pytest.raises(ScopeError):
        Membership.objects.filter(role="owner")


def test_scope_filters_to_one_customer(tenant: Tenant, other_tenant: Tenant) -> None:
    with tenant_scope(tenant.customer.pk):
        assert {m.customer_id for m in Membership.objects.all()} == {tenant.customer.pk}
        assert Membership.objects.count() == 4
        assert not Membership.objects.filter(customer=other_tenant.customer).exists()
    with all_tenants_scope():
        assert Membership.objects.count() == 8


def test_queryset_built_outside_scope_never_runs(tenant: Tenant) -> None:
    built_at_import_time = Membership.objects.all()
    with tenant_scope(tenant.customer.pk), pytest.raises(ScopeError):
        list(built_at_import_time)


@pytest.mark.parametrize("bad", [None, "1", 1.0, True])
def test_scope_refuses_anything_but_an_integer_id(bad: object) -> None:
    with pytest.raises(ScopeError), tenant_scope(bad):  # type: ignore[arg-type]
        pass


def test_base_viewset_refuses_get_queryset_override() -> None:
    with pytest.raises(TypeError, match="safely_get_queryset"):
        type("Leaky", (TenantScopedViewSet,), {"model": Membership, "get_queryset": lambda self: None})
    with pytest.raises(TypeError, match="must set `model`"):
        type("Leaky2", (TenantScopedViewSet,), {"queryset": Membership.objects_all_tenants.all()})


def test_task_bodies_run_inside_the_named_customers_scope(tenant: Tenant, other_tenant: Tenant) -> None:
    @runs_in_tenant_scope
    def count_members(*, customer_id: int) -> set[int]:
        return {m.customer_id for m in Membership.objects.all()}

    assert count_members(customer_id=tenant.customer.pk) == {tenant.customer.pk}
    assert count_members(customer_id=other_tenant.customer.pk) == {other_tenant.customer.pk}
    with pytest.raises(ScopeError):  # and the scope ends with the call
        Membership.objects.count()
