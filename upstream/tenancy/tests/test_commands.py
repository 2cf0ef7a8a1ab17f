"""Operator commands: create_customer, add_member, seed_demo."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from upstream.audit.models import AuditAction, AuditEvent
from upstream.demo.services import DEMO_USERS
from upstream.tenancy.models import Customer, Membership, User
from upstream.tenancy.roles import Role

pytestmark = pytest.mark.django_db


def run(*args: str) -> str:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def test_create_customer_with_owner() -> None:
    output = run(
        "create_customer",
        "Lakeside Ortho",
        "--timezone",
        "America/Denver",
        "--owner-email",
        "Boss@Lakeside.test",
        "--owner-password",
        "Lakeside-Owner-99!",
    )
    customer = Customer.objects.get(slug="lakeside-ortho")
    assert customer.timezone == "America/Denver"
    owner = Membership.objects_all_tenants.get(customer=customer)
    assert (owner.user.email, owner.role) == ("boss@lakeside.test", Role.OWNER)
    assert owner.user.check_password("Lakeside-Owner-99!")
    assert "Created customer Lakeside Ortho" in output
    assert "Lakeside-Owner-99!" not in output
    with pytest.raises(CommandError, match="already exists"):
        run("create_customer", "Lakeside Ortho")
    with pytest.raises(CommandError, match="Unknown time zone"):
        run("create_customer", "Other", "--timezone", "Nowhere/City")


def test_create_customer_generates_and_prints_password_for_new_owner() -> None:
    output = run("create_customer", "Hillside", "--owner-email", "o@hillside.test")
    password = output.strip().rsplit(": ", 1)[1]
    assert User.objects.get(email="o@hillside.test").check_password(password)


def test_add_member_creates_user_and_refuses_duplicates_and_weak_passwords() -> None:
    run("create_customer", "Bayview")
    run(
        "add_member",
        "--customer",
        "bayview",
        "--email",
        "ana@bayview.test",
        "--role",
        "analyst",
        "--password",
        "Quartz-Lantern-61!",
    )
    membership = Membership.objects_all_tenants.get(user__email="ana@bayview.test")
    assert membership.role == Role.ANALYST
    assert (
        AuditEvent.objects_all_tenants.filter(
            action=AuditAction.MEMBERSHIP_CREATED, customer_id=membership.customer_id
        ).count()
        == 1
    )
    with pytest.raises(CommandError, match="already a member"):
        run("add_member", "--customer", "bayview", "--email", "ANA@bayview.test", "--role", "viewer")
    with pytest.raises(CommandError, match="too short"):
        run(
            "add_member",
            "--customer",
            "bayview",
            "--email",
            "weak@bayview.test",
            "--role",
            "viewer",
            "--password",
            "short",
        )
    assert not User.objects.filter(email="weak@bayview.test").exists()
    with pytest.raises(CommandError, match="No customer"):
        run("add_member", "--customer", "nope", "--email", "x@y.test", "--role", "viewer")


def test_seed_demo_is_idempotent_and_prints_working_credentials() -> None:
    first = run("seed_demo", "--claims", "0")
    second = run("seed_demo", "--claims", "0")
    assert first == second
    customer = Customer.objects.get(slug="demo-clinic")
    assert customer.name == "Demo Clinic"
    roles = dict(Membership.objects_all_tenants.filter(customer=customer).values_list("user__email", "role"))
    assert roles == {email: role for role, (email, _) in DEMO_USERS.items()}
    for email, password in DEMO_USERS.values():
        assert f"{email:<32} {password}" in first
        assert User.objects.get(email=email).check_password(password)


def test_seed_demo_ingests_claims_through_the_pipeline_once() -> None:
    output = run("seed_demo", "--claims", "3000")
    assert "Demo claims: upload" in output
    assert "succeeded, 3,000 accepted, 0 rejected." in output
    assert "Demo claims already loaded." in run("seed_demo", "--claims", "3000")
    from upstream.claims.models import ClaimRecord, Upload

    customer = Customer.objects.get(slug="demo-clinic")
    assert ClaimRecord.objects_all_tenants.filter(customer=customer).count() == 3000
    assert Upload.objects_all_tenants.filter(customer=customer).count() == 1
