"""Test tenants: a customer with one member per role, and API clients logged in as each."""

from __future__ import annotations

from dataclasses import dataclass

from rest_framework.test import APIClient

from upstream.core.testing.clients import client_for
from upstream.tenancy.models import Customer, User
from upstream.tenancy.roles import Role
from upstream.tenancy.tests.factories import CustomerFactory, MembershipFactory, UserFactory


@dataclass
class Tenant:
    customer: Customer
    users: dict[str, User]

    def client(self, role: str) -> APIClient:
        return client_for(self.users[role], self.customer)


def make_tenant(name: str | None = None) -> Tenant:
    kwargs = {"name": name, "slug": name.lower().replace(" ", "-")} if name else {}
    customer = CustomerFactory.create(**kwargs)
    users = {}
    for role in Role.values:
        user = UserFactory.create(email=f"{role}.{customer.slug}@example.test")
        MembershipFactory.create(customer=customer, role=role, user=user)
        users[role] = user
    return Tenant(customer=customer, users=users)
