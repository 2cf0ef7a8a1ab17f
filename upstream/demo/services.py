"""The demo tenant that ``make run`` seeds: "Demo Clinic" with an owner, an analyst and a viewer."""

from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction

from upstream.tenancy import services as tenancy
from upstream.tenancy.models import Customer, Membership, User
from upstream.tenancy.roles import Role

DEMO_CUSTOMER_NAME = "Demo Clinic"
DEMO_CUSTOMER_SLUG = "demo-clinic"
# Demo-only credentials, printed by `make run`; they exist only in the local demo database.
DEMO_USERS: dict[str, tuple[str, str]] = {
    Role.OWNER: ("owner@demo.upstream.local", "Demo-Owner-2026!"),
    Role.ANALYST: ("analyst@demo.upstream.local", "Demo-Analyst-2026!"),
    Role.VIEWER: ("viewer@demo.upstream.local", "Demo-Viewer-2026!"),
}


@dataclass(frozen=True)
class DemoCredentials:
    role: str
    email: str
    password: str


@transaction.atomic
def demo_seed() -> tuple[Customer, list[DemoCredentials]]:
    """Create the demo customer and users, or bring them back to the documented state. Idempotent."""
    customer = Customer.objects.filter(slug=DEMO_CUSTOMER_SLUG).first()
    if customer is None:
        customer = tenancy.customer_create(
            name=DEMO_CUSTOMER_NAME, slug=DEMO_CUSTOMER_SLUG, timezone="America/New_York"
        )
    credentials = []
    for role, (email, password) in DEMO_USERS.items():
        user, _ = tenancy.user_get_or_create(
            email=email, password=password, first_name=role.title(), last_name="Demo"
        )
        user.set_password(password)
        user.save(update_fields=["password"])
        membership = Membership.objects_all_tenants.filter(customer=customer, user=user).first()
        if membership is None:
            tenancy.membership_create(customer=customer, user=user, role=role)
        elif membership.role != role:
            tenancy.membership_change_role(membership=membership, role=role)
        credentials.append(DemoCredentials(role=role, email=email, password=password))
    return customer, credentials


def demo_user(role: str) -> User:
    return User.objects.get(email=DEMO_USERS[role][0])
