"""Test helpers: API clients authenticated as a user in a customer, without the login throttle."""

from __future__ import annotations

from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import RefreshToken

from upstream.tenancy.authentication import CUSTOMER_CLAIM
from upstream.tenancy.models import Customer, User


def tokens_for(user: User, customer: Customer | None) -> RefreshToken:
    refresh = RefreshToken.for_user(user)
    if customer is not None:
        refresh[CUSTOMER_CLAIM] = customer.pk
    return refresh


def client_for(user: User, customer: Customer | None) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens_for(user, customer).access_token}")
    return client
