"""List endpoints issue a constant number of queries whatever the page size (baseline checked in).

Regenerate the baseline after an intended change with ``UPDATE_QUERY_BASELINES=1 make test``.
"""

from __future__ import annotations

import datetime
import json
import os
from collections.abc import Callable
from pathlib import Path

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from upstream.alerts.tests.factories import AlertEventFactory, AlertRuleFactory, OperatorFeedbackFactory
from upstream.audit.models import AuditAction, AuditEvent
from upstream.claims.tests.factories import (
    ClaimRecordFactory,
    CptGroupMappingFactory,
    PayerMappingFactory,
    UploadFactory,
    UploadIssueFactory,
)
from upstream.core.testing.tenants import Tenant
from upstream.drift.tests.api_factories import DriftEventFactory, ReportRunFactory
from upstream.tenancy.roles import Role
from upstream.tenancy.tests.factories import MembershipFactory
from upstream.webhooks.tests.factories import (
    WebhookDeliveryAttemptFactory,
    WebhookDeliveryFactory,
    WebhookEndpointFactory,
)

BASELINE = Path(__file__).with_name("query_baselines.json")
ROWS = 25


def _populate(tenant: Tenant) -> dict[str, str]:
    customer = tenant.customer
    upload = UploadFactory.create(customer=customer)
    for _ in range(ROWS):
        MembershipFactory.create(customer=customer, role=Role.VIEWER)
        AuditEvent.objects_all_tenants.create(action=AuditAction.LOGOUT, customer_id=customer.pk)
        UploadFactory.create(customer=customer)
        UploadIssueFactory.create(upload=upload)
        PayerMappingFactory.create(customer=customer)
        CptGroupMappingFactory.create(customer=customer)
    for i in range(ROWS):
        ClaimRecordFactory.create(customer=customer, payer=f"Payer {i}")
    latest_run = ReportRunFactory.create(customer=customer)
    for _ in range(ROWS):
        older = ReportRunFactory.create(
            customer=customer, finished_at=timezone.now() - datetime.timedelta(days=1)
        )
        DriftEventFactory.create(report_run=older)
        event = DriftEventFactory.create(report_run=latest_run)
        alert = AlertEventFactory.create(drift_event=event, rule=AlertRuleFactory.create(customer=customer))
        OperatorFeedbackFactory.create(alert=alert, operator=tenant.users[Role.ANALYST])
    endpoint = WebhookEndpointFactory.create(customer=customer)
    for _ in range(ROWS):
        WebhookEndpointFactory.create(customer=customer)
        delivery = WebhookDeliveryFactory.create(endpoint=endpoint)
        WebhookDeliveryAttemptFactory.create(delivery=delivery, number=1)
        WebhookDeliveryAttemptFactory.create(delivery=delivery, number=2)
    return {"upload_id": str(upload.pk)}


ENDPOINTS: dict[str, tuple[str, str]] = {
    "customers": (Role.VIEWER, "/api/v1/customers/"),
    "memberships": (Role.OWNER, "/api/v1/memberships/"),
    "audit-events": (Role.OWNER, "/api/v1/audit-events/"),
    "uploads": (Role.VIEWER, "/api/v1/uploads/"),
    "upload-issues": (Role.VIEWER, "/api/v1/uploads/{upload_id}/issues/"),
    "claims (with PHI)": (Role.ANALYST, "/api/v1/claims/"),
    "claims (viewer)": (Role.VIEWER, "/api/v1/claims/"),
    "claims-payer-summary": (Role.VIEWER, "/api/v1/claims/payer-summary/"),
    "payer-mappings": (Role.VIEWER, "/api/v1/payer-mappings/"),
    "cpt-group-mappings": (Role.VIEWER, "/api/v1/cpt-group-mappings/"),
    "validation-rules": (Role.VIEWER, "/api/v1/validation-rules/"),
    "report-runs": (Role.VIEWER, "/api/v1/report-runs/"),
    "drift-events": (Role.VIEWER, "/api/v1/drift-events/"),
    "drift-events-active": (Role.VIEWER, "/api/v1/drift-events/active/"),
    "alerts (with notes)": (Role.ANALYST, "/api/v1/alerts/"),
    "alerts (viewer)": (Role.VIEWER, "/api/v1/alerts/"),
    "alert-rules": (Role.VIEWER, "/api/v1/alert-rules/"),
    "webhook-endpoints": (Role.OWNER, "/api/v1/webhook-endpoints/"),
    "webhook-deliveries": (Role.OWNER, "/api/v1/webhook-deliveries/"),
}


def test_list_query_counts_are_constant_and_match_baseline(make_tenant: Callable[..., Tenant]) -> None:
    tenant = make_tenant()
    params = _populate(tenant)
    measured: dict[str, int] = {}
    for name, (role, url) in ENDPOINTS.items():
        client = tenant.client(role)
        counts = []
        for page_size in (1, 20):
            with CaptureQueriesContext(connection) as queries:
                response = client.get(url.format(**params), {"page_size": page_size})
            assert response.status_code == 200, (name, response.content[:300])
            assert len(response.json()["results"]) == min(page_size, response.json()["count"]), name
            counts.append(len(queries))
        assert counts[0] == counts[1], f"{name}: {counts[0]} queries at page_size=1, {counts[1]} at 20"
        measured[name] = counts[0]
    if os.environ.get("UPDATE_QUERY_BASELINES"):
        BASELINE.write_text(json.dumps(measured, indent=2, sort_keys=True) + "\n")
    assert measured == json.loads(BASELINE.read_text())
