from __future__ import annotations

from typing import Any

import factory
from factory.django import DjangoModelFactory

from upstream.tenancy.models import Customer, Membership, User
from upstream.tenancy.roles import Role

TEST_PASSWORD = "Tr0ub4dor-&-Horse!"


class UserFactory(DjangoModelFactory[User]):
    class Meta:
        model = User

    email = factory.Sequence(lambda n: f"user{n}@example.test")
    first_name = "Test"
    last_name = factory.Sequence(lambda n: f"User{n}")
    password = factory.django.Password(TEST_PASSWORD)


class CustomerFactory(DjangoModelFactory[Customer]):
    class Meta:
        model = Customer

    name = factory.Sequence(lambda n: f"Clinic {n}")
    slug = factory.Sequence(lambda n: f"clinic-{n}")


class TenantModelFactory(DjangoModelFactory[Any]):
    """Base of every tenant-owned model's factory: ``Model.objects`` needs a tenant scope, so factories
    write through the unscoped manager."""

    class Meta:
        abstract = True

    @classmethod
    def _create(cls, model_class: Any, *args: Any, **kwargs: Any) -> Any:
        return model_class.objects_all_tenants.create(*args, **kwargs)


class MembershipFactory(TenantModelFactory):
    class Meta:
        model = Membership

    user = factory.SubFactory(UserFactory)
    customer = factory.SubFactory(CustomerFactory)
    role = Role.ANALYST
