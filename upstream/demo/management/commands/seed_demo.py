"""``python manage.py seed_demo``: the demo customer and its users, with their credentials printed."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from upstream.demo.services import demo_seed


class Command(BaseCommand):
    help = "Seed the demo customer 'Demo Clinic' with an owner, an analyst and a viewer (idempotent)."

    def handle(self, *args: Any, **opts: Any) -> None:
        customer, credentials = demo_seed()
        self.stdout.write(self.style.SUCCESS(f"Demo customer: {customer.name} (slug {customer.slug})"))
        self.stdout.write('Log in with POST /api/v1/auth/token/ {"email": ..., "password": ...}:')
        for cred in credentials:
            self.stdout.write(f"  {cred.role:<8} {cred.email:<32} {cred.password}")
