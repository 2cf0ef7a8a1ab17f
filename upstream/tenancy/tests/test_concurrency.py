"""Membership changes lock the customer row: concurrent demotions cannot leave a customer without an owner."""

from __future__ import annotations

import pytest

from upstream.core.testing.concurrency import run_together
from upstream.tenancy import services
from upstream.tenancy.models import Membership
from upstream.tenancy.roles import Role
from upstream.tenancy.tests.factories import CustomerFactory, MembershipFactory


@pytest.mark.django_db(transaction=True)
def test_two_owners_demoting_each_other_concurrently_leave_one_owner() -> None:
    customer = CustomerFactory.create()
    owners = [MembershipFactory.create(customer=customer, role=Role.OWNER) for _ in range(2)]

    def demote(membership: Membership) -> str:
        try:
            services.membership_change_role(membership=membership, role=Role.VIEWER)
        except services.TenancyError as exc:
            return exc.code
        return "demoted"

    outcomes = run_together([lambda m=m: demote(m) for m in owners])  # type: ignore[misc]
    assert sorted(map(str, outcomes)) == ["demoted", "last_owner"]
    assert Membership.objects_all_tenants.filter(customer=customer, role=Role.OWNER).count() == 1
