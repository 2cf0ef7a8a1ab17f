"""Base models shared by every domain app."""

from __future__ import annotations

from django.db import models

from upstream.tenancy.scoping import TenantManager


class TenantModel(models.Model):
    """A row owned by one customer. Queries through ``objects`` need an active tenant scope.

    ``objects_all_tenants`` bypasses the scope; it is for the tenancy app, migrations and operator commands,
    and its name is meant to stand out in review.
    """

    customer = models.ForeignKey("tenancy.Customer", on_delete=models.CASCADE, related_name="+")

    objects = TenantManager()
    objects_all_tenants = models.Manager()

    class Meta:
        abstract = True
