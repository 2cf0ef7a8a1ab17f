"""``upload.completed`` goes into the webhook outbox with the terminal status, counts only (SPEC §8)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from upstream.claims.models import PayerMapping
from upstream.claims.tests.helpers import claim_row, csv_bytes, ingest
from upstream.core.testing.tenants import Tenant
from upstream.webhooks.models import EventType, WebhookDelivery, WebhookEndpoint

SECRET = "whsec_" + "A" * 43 + "="


@pytest.fixture(autouse=True)
def _private_media(settings: Any, tmp_path: Path) -> None:
    settings.MEDIA_ROOT = tmp_path / "media"


def _endpoint(tenant: Tenant, name: str, event_types: list[str]) -> WebhookEndpoint:
    return WebhookEndpoint.objects_all_tenants.create(
        customer=tenant.customer,
        name=name,
        url=f"https://hooks.example.com/{name}",
        secret=SECRET,
        event_types=event_types,
    )


def _deliveries(tenant: Tenant) -> list[WebhookDelivery]:
    deliveries = WebhookDelivery.objects_all_tenants.filter(customer=tenant.customer)
    return list(deliveries.order_by("endpoint__name"))


def test_a_processed_upload_emits_one_delivery_per_subscribed_endpoint(
    tenant: Tenant, other_tenant: Tenant
) -> None:
    PayerMapping.objects_all_tenants.create(
        customer=tenant.customer, raw_name="Aetna", normalized_name="Aetna"
    )
    everything = _endpoint(tenant, "all", [])
    uploads_only = _endpoint(tenant, "uploads", [EventType.UPLOAD_COMPLETED])
    _endpoint(tenant, "alerts", [EventType.ALERT_CREATED])  # not subscribed
    _endpoint(other_tenant, "theirs", [])  # another tenant's endpoint hears nothing
    rows = [
        claim_row("C-1", patient_name="Jane Q Patient", member_id="MBR-98765"),
        claim_row("C-2"),
        claim_row("C-3", outcome="maybe"),  # R07: rejected
    ]

    upload = ingest(tenant, csv_bytes(rows), name="jane_q_patient_claims.csv")

    deliveries = _deliveries(tenant)
    assert [d.endpoint_id for d in deliveries] == [everything.pk, uploads_only.pk]
    assert WebhookDelivery.objects_all_tenants.filter(customer=other_tenant.customer).count() == 0
    payload = deliveries[0].payload
    assert deliveries[1].payload == payload
    assert payload["type"] == "upload.completed"
    assert payload["data"] == {
        "upload_id": upload.pk,
        "status": "partial",
        "total_rows": 3,
        "accepted_rows": 2,
        "rejected_rows": 1,
        "warned_rows": 0,
        "inserted_rows": 2,
        "updated_rows": 0,
        "unchanged_rows": 0,
        "rule_counts": {"R07": 1},
        "date_min": "2025-01-20",
        "date_max": "2025-01-20",
        "error_code": None,
    }
    text = str(payload)
    for phi in ("Jane", "Patient", "MBR-98765", "jane_q_patient"):
        assert phi not in text


def test_a_failed_upload_emits_its_error_code(tenant: Tenant) -> None:
    _endpoint(tenant, "all", [])
    upload = ingest(tenant, b"claim_number,payer\nC-1,Aetna\n")  # required columns missing: F04

    assert upload.status == "failed"
    [delivery] = _deliveries(tenant)
    assert delivery.payload["data"]["status"] == "failed"
    assert delivery.payload["data"]["error_code"] == "F04"
    assert delivery.payload["data"]["total_rows"] == 0


def test_a_disabled_endpoint_gets_nothing(tenant: Tenant) -> None:
    endpoint = _endpoint(tenant, "all", [])
    endpoint.active = False
    endpoint.save()
    ingest(tenant, b"claim_number,payer\nC-1,Aetna\n")
    assert _deliveries(tenant) == []
