"""Serializers for customers, memberships and ``me/``."""

from __future__ import annotations

import zoneinfo
from typing import Any

from rest_framework import serializers

from upstream.tenancy.api.auth_serializers import CustomerBriefSerializer
from upstream.tenancy.models import Customer, Membership, User
from upstream.tenancy.roles import Capability, Role


class CustomerSerializer(serializers.ModelSerializer[Customer]):
    slug = serializers.SlugField(
        max_length=64, required=False, help_text="Derived from the name when omitted."
    )

    class Meta:
        model = Customer
        fields = ("id", "name", "slug", "timezone", "created_at")
        read_only_fields = ("id", "created_at")

    def validate_timezone(self, value: str) -> str:
        if value not in zoneinfo.available_timezones():
            raise serializers.ValidationError(
                f"Unknown time zone {value!r}; use an IANA name such as 'America/New_York'.",
                code="invalid_timezone",
            )
        return value


class UserBriefSerializer(serializers.ModelSerializer[User]):
    class Meta:
        model = User
        fields = ("id", "email", "first_name", "last_name")


class MembershipSerializer(serializers.ModelSerializer[Membership]):
    user = UserBriefSerializer(read_only=True)
    customer = CustomerBriefSerializer(read_only=True)
    role = serializers.ChoiceField(choices=Role.choices)

    class Meta:
        model = Membership
        fields = ("id", "user", "customer", "role", "created_at")
        read_only_fields = ("id", "user", "customer", "created_at")


class MembershipCreateSerializer(serializers.Serializer[Any]):
    email = serializers.EmailField(help_text="The member's e-mail; the user is created when unknown.")
    role = serializers.ChoiceField(choices=Role.choices)
    password = serializers.CharField(
        write_only=True,
        required=False,
        allow_blank=False,
        style={"input_type": "password"},
        help_text="Initial password for a new user (validated for strength). Ignored for existing users.",
    )
    first_name = serializers.CharField(required=False, allow_blank=True, max_length=150)
    last_name = serializers.CharField(required=False, allow_blank=True, max_length=150)


class MembershipUpdateSerializer(serializers.Serializer[Any]):
    role = serializers.ChoiceField(choices=Role.choices)


class MeMembershipSerializer(serializers.ModelSerializer[Membership]):
    customer = CustomerBriefSerializer(read_only=True)

    class Meta:
        model = Membership
        fields = ("customer", "role")


class MeSerializer(serializers.Serializer[Any]):
    user = UserBriefSerializer()
    is_superuser = serializers.BooleanField()
    memberships = MeMembershipSerializer(many=True)
    active_customer = CustomerBriefSerializer(allow_null=True)
    role = serializers.ChoiceField(choices=Role.choices, allow_null=True)
    permissions = serializers.ListField(child=serializers.ChoiceField(choices=Capability.choices))
