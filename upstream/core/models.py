"""Base models shared by every domain app."""

from __future__ import annotations

from django.db import models

from upstream.tenancy.scoping import TenantManager


class TenantModel(models.Model):
    """A row owned by one customer. Queries through ``objects`` need an active tenant scope.

    ``objects_all_tenants`` bypasses the scope; it is for the tenancy app, migrations and operator commands,
    and its name is meant to stand out in review.
    """

    # No single-column index: every tenant model's own indexes and unique keys start with customer_id, and a
    # redundant index costs every bulk insert.
    customer = models.ForeignKey(
        "tenancy.Customer", on_delete=models.CASCADE, related_name="+", db_index=False
    )

    objects = TenantManager()
    objects_all_tenants = models.Manager()

    class Meta:
        abstract = True
