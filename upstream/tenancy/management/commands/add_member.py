"""``python manage.py add_member --customer SLUG --email E --role R [--password P]``."""

from __future__ import annotations

import secrets
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from upstream.tenancy import services
from upstream.tenancy.roles import Role
from upstream.tenancy.selectors import customer_resolve


class Command(BaseCommand):
    help = "Add a user to a customer with a role; the user is created when the e-mail is unknown."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--customer", required=True, help="Customer slug or id.")
        parser.add_argument("--email", required=True)
        parser.add_argument("--role", required=True, choices=Role.values)
        parser.add_argument(
            "--password",
            default=None,
            help="Password for a new user; a random one is generated and printed when omitted.",
        )
        parser.add_argument("--first-name", default="")
        parser.add_argument("--last-name", default="")

    def handle(self, *args: Any, **opts: Any) -> None:
        customer = customer_resolve(reference=opts["customer"])
        if customer is None:
            raise CommandError(f"No customer with slug or id {opts['customer']!r}.")
        password = opts["password"]
        generated = password is None
        password = password or secrets.token_urlsafe(18) + "-Aa1"
        with transaction.atomic():
            try:
                user, created = services.user_get_or_create(
                    email=opts["email"],
                    password=password,
                    first_name=opts["first_name"],
                    last_name=opts["last_name"],
                )
                services.membership_create(customer=customer, user=user, role=opts["role"])
            except ValidationError as exc:
                raise CommandError("; ".join(exc.messages)) from exc
            except services.TenancyError as exc:
                raise CommandError(str(exc)) from exc
        self.stdout.write(f"{user.email} is now {opts['role']} of {customer.name}.")
        if created and generated:
            self.stdout.write(f"New user's password: {password}")
