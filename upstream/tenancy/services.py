"""State changes of the tenancy app: customers and memberships.

Membership changes lock the Customer row first (the documented lock order starts with Customer), so two
concurrent requests cannot both remove "the other" owner and leave a customer without one.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.password_validation import validate_password
from django.db import transaction
from django.utils.text import slugify

from upstream.audit.models import AuditAction
from upstream.audit.services import audit_record
from upstream.tenancy.models import Customer, Membership, User
from upstream.tenancy.roles import Role


class TenancyError(Exception):
    """A rule of the tenancy domain refused the change; ``code`` is stable for clients."""

    def __init__(self, message: str, *, code: str) -> None:
        super().__init__(message)
        self.code = code


@transaction.atomic
def customer_create(
    *,
    name: str,
    slug: str | None = None,
    timezone: str = "UTC",
    actor: User | None = None,
    request: Any = None,
) -> Customer:
    from upstream.alerts.services import alert_rule_create_default  # alerts depends on tenancy, not back

    customer = Customer.objects.create(name=name.strip(), slug=slug or slugify(name)[:64], timezone=timezone)
    alert_rule_create_default(customer_id=customer.pk)  # SPEC §8: every customer starts with the default rule
    audit_record(
        action=AuditAction.CUSTOMER_CREATED,
        customer_id=customer.pk,
        actor=actor,
        target=customer,
        request=request,
        metadata={"slug": customer.slug},
    )
    return customer


def user_get_or_create(
    *, email: str, password: str | None = None, first_name: str = "", last_name: str = ""
) -> tuple[User, bool]:
    """The user with this e-mail (case-insensitive), created when missing. A new user's password is
    validated; without one the account gets an unusable password until it is set."""
    existing = User.objects.filter(email__iexact=email.strip()).first()
    if existing is not None:
        return existing, False
    user = User(email=email, first_name=first_name, last_name=last_name)
    if password:
        validate_password(password, user)
    user = User.objects.create_user(
        email=email, password=password or None, first_name=first_name, last_name=last_name
    )
    if not password:
        user.set_unusable_password()
        user.save(update_fields=["password"])
    return user, True


def _lock_customer(customer_id: int) -> Customer:
    return Customer.objects.select_for_update().get(pk=customer_id)


def _other_owners(*, customer_id: int, excluding: int) -> int:
    return (
        Membership.objects_all_tenants.filter(customer_id=customer_id, role=Role.OWNER)
        .exclude(pk=excluding)
        .count()
    )


@transaction.atomic
def membership_create(
    *, customer: Customer, user: User, role: str, actor: User | None = None, request: Any = None
) -> Membership:
    _lock_customer(customer.pk)
    if Membership.objects_all_tenants.filter(customer=customer, user=user).exists():
        raise TenancyError(f"{user.email} is already a member of this customer.", code="already_member")
    membership = Membership.objects_all_tenants.create(customer=customer, user=user, role=role)
    audit_record(
        action=AuditAction.MEMBERSHIP_CREATED,
        customer_id=customer.pk,
        actor=actor,
        target=membership,
        request=request,
        metadata={"user_id": user.pk, "role": role},
    )
    return membership


@transaction.atomic
def membership_change_role(
    *, membership: Membership, role: str, actor: User | None = None, request: Any = None
) -> Membership:
    _lock_customer(membership.customer_id)
    current = Membership.objects_all_tenants.select_for_update().get(pk=membership.pk)
    if current.role == role:
        return current
    if (
        current.role == Role.OWNER
        and _other_owners(customer_id=current.customer_id, excluding=current.pk) == 0
    ):
        raise TenancyError("The last owner of a customer cannot be demoted.", code="last_owner")
    previous = current.role
    current.role = role
    current.save(update_fields=["role"])
    audit_record(
        action=AuditAction.MEMBERSHIP_ROLE_CHANGED,
        customer_id=current.customer_id,
        actor=actor,
        target=current,
        request=request,
        metadata={"user_id": current.user_id, "from": previous, "to": role},
    )
    return current


@transaction.atomic
def membership_delete(*, membership: Membership, actor: User | None = None, request: Any = None) -> None:
    _lock_customer(membership.customer_id)
    current = Membership.objects_all_tenants.select_for_update().get(pk=membership.pk)
    if (
        current.role == Role.OWNER
        and _other_owners(customer_id=current.customer_id, excluding=current.pk) == 0
    ):
        raise TenancyError("The last owner of a customer cannot be removed.", code="last_owner")
    audit_record(
        action=AuditAction.MEMBERSHIP_DELETED,
        customer_id=current.customer_id,
        actor=actor,
        target=current,
        request=request,
        metadata={"user_id": current.user_id, "role": current.role},
    )
    current.delete()
