"""Read-side queries of the tenancy app."""

from __future__ import annotations

from django.db.models import QuerySet

from upstream.tenancy.models import Customer, Membership, User
from upstream.tenancy.roles import Role


def memberships_of_user(*, user: User) -> QuerySet[Membership]:
    """All of a user's memberships across customers (the user's own data, so not tenant-scoped)."""
    return (
        Membership.objects_all_tenants.filter(user=user).select_related("customer").order_by("customer__name")
    )


def membership_get(*, user_id: int, customer_id: int) -> Membership | None:
    return (
        Membership.objects_all_tenants.select_related("customer", "user")
        .filter(user_id=user_id, customer_id=customer_id)
        .first()
    )


def customer_resolve(*, reference: str | int) -> Customer | None:
    """A customer by id or slug."""
    ref = str(reference).strip()
    if ref.isdigit():
        return Customer.objects.filter(pk=int(ref)).first()
    return Customer.objects.filter(slug=ref).first()


def owner_count(*, customer_id: int) -> int:
    return Membership.objects_all_tenants.filter(customer_id=customer_id, role=Role.OWNER).count()


def customer_admin_emails(*, customer_id: int) -> list[str]:
    """E-mail addresses of the customer's active owners and admins (who hear about alerts and endpoint
    trouble), sorted for a stable recipient list."""
    return sorted(
        Membership.objects_all_tenants.filter(
            customer_id=customer_id, role__in=(Role.OWNER, Role.ADMIN), user__is_active=True
        )
        .exclude(user__email="")
        .values_list("user__email", flat=True)
    )
