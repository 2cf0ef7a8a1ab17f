"""The tenant context of an authenticated request: who, in which customer, with which role."""

from __future__ import annotations

from dataclasses import dataclass, field

from upstream.tenancy.models import Customer, Membership, User
from upstream.tenancy.roles import capabilities_for


@dataclass(frozen=True)
class TenantContext:
    user: User
    customer: Customer | None
    membership: Membership | None
    capabilities: frozenset[str] = field(default_factory=frozenset)

    @property
    def role(self) -> str | None:
        return self.membership.role if self.membership else None

    @property
    def is_superuser(self) -> bool:
        return bool(self.user.is_superuser)

    @property
    def all_tenants(self) -> bool:
        """A superuser with no active customer sees every tenant."""
        return self.is_superuser and self.customer is None

    def can(self, capability: str) -> bool:
        return capability in self.capabilities

    @classmethod
    def build(cls, *, user: User, customer: Customer | None, membership: Membership | None) -> TenantContext:
        caps = capabilities_for(role=membership.role if membership else None, is_superuser=user.is_superuser)
        return cls(user=user, customer=customer, membership=membership, capabilities=caps)
