"""The demo tenant that ``make run`` seeds: "Demo Clinic" with an owner, an analyst and a viewer."""

from __future__ import annotations

import tempfile
import zoneinfo
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

from django.core.files import File
from django.db import transaction
from django.utils import timezone

from upstream.claims.models import Upload
from upstream.drift import selectors as drift_selectors
from upstream.drift import services as drift_services
from upstream.drift.dashboard import dashboard_invalidate
from upstream.drift.models import ReportRun, RunStatus, RunTrigger
from upstream.tenancy import services as tenancy
from upstream.tenancy.models import Customer, Membership, User
from upstream.tenancy.roles import Role
from upstream.tenancy.scoping import tenant_scope

DEMO_CUSTOMER_NAME = "Demo Clinic"
DEMO_CUSTOMER_SLUG = "demo-clinic"
# Demo-only credentials, printed by `make run`; they exist only in the local demo database.
DEMO_USERS: dict[str, tuple[str, str]] = {
    Role.OWNER: ("owner@demo.upstream.local", "Demo-Owner-2026!"),
    Role.ANALYST: ("analyst@demo.upstream.local", "Demo-Analyst-2026!"),
    Role.VIEWER: ("viewer@demo.upstream.local", "Demo-Viewer-2026!"),
}


@dataclass(frozen=True)
class DemoCredentials:
    role: str
    email: str
    password: str


@transaction.atomic
def demo_seed() -> tuple[Customer, list[DemoCredentials]]:
    """Create the demo customer and users, or bring them back to the documented state. Idempotent."""
    customer = Customer.objects.filter(slug=DEMO_CUSTOMER_SLUG).first()
    if customer is None:
        customer = tenancy.customer_create(
            name=DEMO_CUSTOMER_NAME, slug=DEMO_CUSTOMER_SLUG, timezone="America/New_York"
        )
    credentials = []
    for role, (email, password) in DEMO_USERS.items():
        user, _ = tenancy.user_get_or_create(
            email=email, password=password, first_name=role.title(), last_name="Demo"
        )
        user.set_password(password)
        user.save(update_fields=["password"])
        membership = Membership.objects_all_tenants.filter(customer=customer, user=user).first()
        if membership is None:
            tenancy.membership_create(customer=customer, user=user, role=role)
        elif membership.role != role:
            tenancy.membership_change_role(membership=membership, role=role)
        credentials.append(DemoCredentials(role=role, email=email, password=password))
    return customer, credentials


DEMO_CLAIM_ROWS = 200_000
DEMO_SEED = 2026
# Drifts the demo data carries so that drift detection has something real to find.
DEMO_DRIFTS = (
    "denial_rate:payer=Aetna,cpt_group=E&M,from=0.08,to=0.22",
    "decision_time:payer=Cigna,days=+9",
    "payment_delay:payer=Humana,days=+8",
)


def demo_claims_seed(
    *, customer: Customer, rows: int = DEMO_CLAIM_ROWS, today: date | None = None
) -> Upload | None:
    """Generate the demo claims file and ingest it through the real pipeline, once per customer.

    Returns the upload, or None when the customer already has claims. The data ends a week before today,
    and payments after today are left unpaid, as a real export would be.
    """
    from upstream.claims import services as claims
    from upstream.claims.models import ClaimRecord
    from upstream.demo.drift_scenarios import parse_drift_specs
    from upstream.demo.generator import generate

    # The pipeline judges "future" dates (R06) in the customer's time zone; generate up to that same day.
    today = today or timezone.now().astimezone(zoneinfo.ZoneInfo(customer.timezone)).date()
    with tenant_scope(customer.pk):
        if ClaimRecord.objects.exists():
            return None
        with tempfile.TemporaryDirectory(prefix="upstream-demo-") as tmp:
            path = Path(tmp) / "demo-claims.csv"
            generate(
                rows,
                DEMO_SEED,
                str(path),
                as_of=today - timedelta(days=7),
                paid_through=today,
                drifts=parse_drift_specs(DEMO_DRIFTS),
            )
            with path.open("rb") as fh:
                upload = claims.upload_store(
                    customer=customer, user=None, file=File(fh, name="demo-claims.csv")
                )
            return claims.upload_process(upload_id=upload.pk)


def demo_drift_seed(*, customer: Customer) -> ReportRun:
    """Make sure the demo customer's drift results are there right after ``make run`` starts.

    The demo upload already requested a run (debounced). With eager Celery it has executed by now; with a
    worker it may still be queued, so it is executed here, synchronously (the run service executes a run once,
    whoever gets to it first). A customer with results and no queued run keeps its latest run.
    """
    with tenant_scope(customer.pk):
        latest = drift_selectors.latest_succeeded_run()
        if latest is not None and not ReportRun.objects.filter(status=RunStatus.QUEUED).exists():
            return latest
        run, _ = drift_services.report_run_request(customer=customer, trigger=RunTrigger.MANUAL)
        run = drift_services.drift_run_execute(report_run_id=run.pk)
    dashboard_invalidate(customer_id=customer.pk)
    return run


def demo_user(role: str) -> User:
    return User.objects.get(email=DEMO_USERS[role][0])
