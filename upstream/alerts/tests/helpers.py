"""Shared helpers of the alert tests: drifting claims (with recognisable fake PHI), evaluation of drift
events, and reading what went into the webhook outbox."""

from __future__ import annotations

from typing import Any

from upstream.alerts.evaluation import Evaluation, alerts_evaluate
from upstream.alerts.models import AlertEvent
from upstream.drift.models import DriftEvent
from upstream.drift.tests.factories import save_claims, window_claims
from upstream.tenancy.models import Customer
from upstream.webhooks.models import WebhookDelivery

FAKE_PATIENT = "Zebulon Quixote-Marchetti"
FAKE_MEMBER_ID = "MBRZQ4242XY"
FAKE_ACCOUNT = "PAN-77319-ZQ"


def drifting_claims(customer: Customer) -> list[str]:
    """Aetna's E&M denial rate goes 10 % → 40 % (two worsening DENIAL_RATE signals: Aetna/E&M and the
    Aetna/ALL roll-up, severity 1.0); Cigna's stays at 10 %. Every claim carries the same fake PHI. Returns
    the claim numbers."""
    claims = []
    for payer, current_denied in (("Aetna", 40), ("Cigna", 10)):
        claims += window_claims(customer, "baseline", 400, denied=40, payer=payer, billed="10")
        claims += window_claims(customer, "current", 100, denied=current_denied, payer=payer, billed="10")
    for claim in claims:
        claim.patient_name = FAKE_PATIENT
        claim.member_id = FAKE_MEMBER_ID
        claim.patient_account_number = FAKE_ACCOUNT
    save_claims(claims)
    return [claim.claim_number for claim in claims]


def evaluate(*events: DriftEvent) -> Evaluation:
    return alerts_evaluate(customer_id=events[0].customer_id, drift_events=list(events))


def alerts_of(customer: Customer) -> list[AlertEvent]:
    return list(AlertEvent.objects_all_tenants.filter(customer=customer).order_by("id"))


def deliveries(customer: Customer, event_type: str | None = None) -> list[WebhookDelivery]:
    rows = WebhookDelivery.objects_all_tenants.filter(customer=customer).order_by("endpoint__name", "id")
    if event_type is not None:
        rows = rows.filter(event_type=event_type)
    return list(rows)


def payload_data(delivery: WebhookDelivery) -> dict[str, Any]:
    data: dict[str, Any] = delivery.payload["data"]
    return data
