"""``python manage.py create_customer NAME [--slug S] [--timezone TZ] [--owner-email E]``."""

from __future__ import annotations

import secrets
import zoneinfo
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction
from django.utils.text import slugify

from upstream.tenancy import services
from upstream.tenancy.models import Customer
from upstream.tenancy.roles import Role


class Command(BaseCommand):
    help = "Create a customer (tenant), optionally with its first owner."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("name")
        parser.add_argument("--slug", default=None)
        parser.add_argument("--timezone", default="UTC")
        parser.add_argument("--owner-email", default=None, help="Creates (or reuses) this user as owner.")
        parser.add_argument(
            "--owner-password",
            default=None,
            help="Password for a new owner; a random one is generated and printed when omitted.",
        )

    def handle(self, *args: Any, **opts: Any) -> None:
        name: str = opts["name"].strip()
        slug: str = opts["slug"] or slugify(name)[:64]
        if not slug:
            raise CommandError("The name gives an empty slug; pass --slug.")
        if opts["timezone"] not in zoneinfo.available_timezones():
            raise CommandError(f"Unknown time zone {opts['timezone']!r}.")
        if Customer.objects.filter(name=name).exists() or Customer.objects.filter(slug=slug).exists():
            raise CommandError(f"A customer named {name!r} or with slug {slug!r} already exists.")
        with transaction.atomic():
            customer = services.customer_create(name=name, slug=slug, timezone=opts["timezone"])
            self.stdout.write(f"Created customer {customer.name} (id {customer.pk}, slug {customer.slug}).")
            if opts["owner_email"]:
                password = opts["owner_password"]
                generated = password is None
                password = password or secrets.token_urlsafe(18) + "-Aa1"
                try:
                    user, created = services.user_get_or_create(email=opts["owner_email"], password=password)
                except ValidationError as exc:
                    raise CommandError("; ".join(exc.messages)) from exc
                services.membership_create(customer=customer, user=user, role=Role.OWNER)
                if created and generated:
                    self.stdout.write(f"Owner {user.email} created with password: {password}")
                else:
                    self.stdout.write(f"Owner {user.email} added.")
