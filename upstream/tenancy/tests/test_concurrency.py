"""Membership changes lock the customer row: concurrent demotions cannot leave a customer without an owner."""

from __future__ import annotations

import threading

import pytest
from django.db import connection

from upstream.tenancy import services
from upstream.tenancy.models import Membership
from upstream.tenancy.roles import Role
from upstream.tenancy.tests.factories import CustomerFactory, MembershipFactory


@pytest.mark.django_db(transaction=True)
def test_two_owners_demoting_each_other_concurrently_leave_one_owner() -> None:
    customer = CustomerFactory.create()
    owners = [MembershipFactory.create(customer=customer, role=Role.OWNER) for _ in range(2)]
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def demote(membership: Membership) -> None:
        try:
            barrier.wait(timeout=10)
            services.membership_change_role(membership=membership, role=Role.VIEWER)
            outcomes.append("demoted")
        except services.TenancyError as exc:
            outcomes.append(exc.code)
        finally:
            connection.close()  # each thread has its own real connection

    threads = [threading.Thread(target=demote, args=(m,)) for m in owners]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert sorted(outcomes) == ["demoted", "last_owner"]
    assert Membership.objects_all_tenants.filter(customer=customer, role=Role.OWNER).count() == 1
