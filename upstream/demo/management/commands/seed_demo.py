"""``python manage.py seed_demo``: the demo customer and its users, with their credentials printed."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from upstream.demo.services import DEMO_CLAIM_ROWS, demo_claims_seed, demo_drift_seed, demo_seed


class Command(BaseCommand):
    help = "Seed the demo customer 'Demo Clinic' with an owner, an analyst and a viewer (idempotent)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument(
            "--claims",
            type=int,
            default=DEMO_CLAIM_ROWS,
            help="Synthetic claims to ingest for the demo customer (0: none).",
        )

    def handle(self, *args: Any, **opts: Any) -> None:
        customer, credentials = demo_seed()
        if opts["claims"]:
            upload = demo_claims_seed(customer=customer, rows=opts["claims"])
            if upload is None:
                self.stdout.write("Demo claims already loaded.")
            else:
                self.stdout.write(
                    f"Demo claims: upload {upload.pk} {upload.status}, {upload.accepted_rows:,} "
                    f"accepted, {upload.rejected_rows:,} rejected."
                )
            run = demo_drift_seed(customer=customer)
            self.stdout.write(
                f"Demo drift: run {run.pk} {run.status}, {run.events_count} events "
                "(GET /api/v1/drift-events/active/, /api/v1/dashboard/)."
            )
        self.stdout.write(self.style.SUCCESS(f"Demo customer: {customer.name} (slug {customer.slug})"))
        self.stdout.write('Log in with POST /api/v1/auth/token/ {"email": ..., "password": ...}:')
        for cred in credentials:
            self.stdout.write(f"  {cred.role:<8} {cred.email:<32} {cred.password}")
