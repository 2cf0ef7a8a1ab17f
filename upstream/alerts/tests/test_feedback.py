"""Operator feedback (SPEC §8): upsert per (alert, operator) with 201 / 200, the status transitions, roles
and tenants, validation, audit, alert.updated, and concurrent submissions by one operator."""

from __future__ import annotations

import datetime
from collections.abc import Callable
from typing import Any

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from upstream.alerts.models import AlertEvent, AlertStatus, OperatorFeedback, SuppressionReason
from upstream.alerts.services import alert_feedback_submit
from upstream.alerts.tests.factories import AlertEventFactory, endpoint
from upstream.alerts.tests.helpers import deliveries, payload_data
from upstream.audit.models import AuditAction, AuditEvent
from upstream.core.testing.api import assert_problem
from upstream.core.testing.concurrency import run_together
from upstream.core.testing.tenants import Tenant, make_tenant
from upstream.tenancy.roles import Role
from upstream.tenancy.scoping import tenant_scope
from upstream.webhooks.models import EventType

pytestmark = pytest.mark.django_db


def _alert(tenant: Tenant, **fields: Any) -> AlertEvent:
    alert: AlertEvent = AlertEventFactory.create(drift_event__report_run__customer=tenant.customer, **fields)
    return alert


def _url(alert: AlertEvent) -> str:
    return f"/api/v1/alerts/{alert.pk}/feedback/"


def _status(alert: AlertEvent) -> str:
    return AlertEvent.objects_all_tenants.get(pk=alert.pk).status


REAL = {
    "verdict": "real",
    "reason_codes": ["payer_policy_change", "prior_auth"],
    "recovered_amount": "1250.50",
    "recovered_date": "2026-11-20",
    "notes": "Appeals filed for Zebulon's claims.",
}


def test_first_post_creates_then_the_same_operator_updates(tenant: Tenant) -> None:
    alert = _alert(tenant)
    analyst = tenant.client(Role.ANALYST)

    created = analyst.post(_url(alert), REAL, format="json")
    assert created.status_code == 201, created.content
    body = created.json()
    user = tenant.users[Role.ANALYST]
    assert {k: v for k, v in body.items() if k not in ("id", "created_at", "updated_at")} == {
        "alert": alert.pk,
        "operator": user.pk,
        "operator_email": user.email,
        "verdict": "real",
        "reason_codes": ["payer_policy_change", "prior_auth"],
        "recovered_amount": "1250.50",
        "recovered_date": "2026-11-20",
        "notes": "Appeals filed for Zebulon's claims.",
    }
    assert _status(alert) == AlertStatus.ACKNOWLEDGED

    updated = analyst.post(_url(alert), {"verdict": "noise", "reason_codes": ["seasonal"]}, format="json")
    assert updated.status_code == 200, updated.content
    assert updated.json()["id"] == body["id"]
    assert (updated.json()["verdict"], updated.json()["reason_codes"], updated.json()["notes"]) == (
        "noise",
        ["seasonal"],
        "",
    )
    assert updated.json()["recovered_amount"] is None  # the verdict is replaced as a whole
    assert _status(alert) == AlertStatus.RESOLVED

    second_operator = tenant.client(Role.OWNER).post(_url(alert), {"verdict": "real"}, format="json")
    assert second_operator.status_code == 201
    assert OperatorFeedback.objects_all_tenants.filter(alert=alert).count() == 2
    assert _status(alert) == AlertStatus.ACKNOWLEDGED  # the latest verdict sets the status


@pytest.mark.parametrize(
    ("start", "verdict", "expected"),
    [
        (AlertStatus.OPEN, "real", AlertStatus.ACKNOWLEDGED),
        (AlertStatus.OPEN, "noise", AlertStatus.RESOLVED),
        (AlertStatus.ACKNOWLEDGED, "needs_followup", AlertStatus.OPEN),
        (AlertStatus.RESOLVED, "needs_followup", AlertStatus.OPEN),
        (AlertStatus.RESOLVED, "real", AlertStatus.ACKNOWLEDGED),
    ],
)
def test_status_transitions(tenant: Tenant, start: str, verdict: str, expected: str) -> None:
    alert = _alert(tenant, status=start)

    response = tenant.client(Role.ANALYST).post(_url(alert), {"verdict": verdict}, format="json")

    assert response.status_code == 201
    assert _status(alert) == expected


def test_a_suppressed_alert_keeps_its_status_and_emits_nothing(tenant: Tenant) -> None:
    endpoint(tenant.customer, "all")
    alert = _alert(tenant, status=AlertStatus.SUPPRESSED, suppression_reason=SuppressionReason.COOLDOWN)

    response = tenant.client(Role.ANALYST).post(_url(alert), {"verdict": "noise"}, format="json")

    assert response.status_code == 201
    assert _status(alert) == AlertStatus.SUPPRESSED
    assert deliveries(tenant.customer) == []  # never delivered, so no alert.updated either


@pytest.mark.parametrize(
    ("role", "status"), [(Role.OWNER, 201), (Role.ADMIN, 201), (Role.ANALYST, 201), (Role.VIEWER, 403)]
)
def test_feedback_by_role(tenant: Tenant, role: str, status: int) -> None:
    alert = _alert(tenant)

    response = tenant.client(role).post(_url(alert), {"verdict": "real"}, format="json")

    if status == 403:
        assert_problem(response, 403, "permission_denied")
        assert OperatorFeedback.objects_all_tenants.count() == 0
        assert _status(alert) == AlertStatus.OPEN
    else:
        assert response.status_code == status


def test_feedback_needs_authentication_and_hides_other_tenants(tenant: Tenant, other_tenant: Tenant) -> None:
    foreign = _alert(other_tenant)

    assert_problem(
        APIClient().post(_url(foreign), {"verdict": "real"}, format="json"), 401, "not_authenticated"
    )
    assert_problem(
        tenant.client(Role.OWNER).post(_url(foreign), {"verdict": "real"}, format="json"), 404, "not_found"
    )
    assert OperatorFeedback.objects_all_tenants.count() == 0
    assert _status(foreign) == AlertStatus.OPEN


@pytest.mark.parametrize(
    ("payload", "attr", "code"),
    [
        ({"verdict": "maybe"}, "verdict", "invalid_choice"),
        ({}, "verdict", "required"),
        ({"verdict": "real", "recovered_amount": "-1.00"}, "recovered_amount", "min_value"),
        ({"verdict": "real", "recovered_amount": "12.345"}, "recovered_amount", "max_decimal_places"),
        ({"verdict": "real", "recovered_date": "20/11/2026"}, "recovered_date", "invalid"),
        ({"verdict": "real", "reason_codes": ["has space"]}, "reason_codes.0", "invalid"),
        ({"verdict": "real", "reason_codes": "prior_auth"}, "reason_codes", "not_a_list"),
    ],
)
def test_feedback_validation(tenant: Tenant, payload: dict[str, Any], attr: str, code: str) -> None:
    alert = _alert(tenant)

    body = assert_problem(tenant.client(Role.ANALYST).post(_url(alert), payload, format="json"), 400, code)

    assert body["errors"][0]["attr"] == attr
    assert OperatorFeedback.objects_all_tenants.count() == 0


def test_a_future_recovered_date_is_refused(tenant: Tenant) -> None:
    alert = _alert(tenant)
    future = (timezone.now() + datetime.timedelta(days=3)).date().isoformat()

    response = tenant.client(Role.ANALYST).post(
        _url(alert), {"verdict": "real", "recovered_date": future}, format="json"
    )

    body = assert_problem(response, 400, "recovered_date_in_future")
    assert body["errors"][0] == {
        "code": "recovered_date_in_future",
        "detail": "recovered_date cannot be in the future.",
        "attr": "recovered_date",
    }


def test_feedback_is_audited(tenant: Tenant) -> None:
    alert = _alert(tenant)
    client = tenant.client(Role.ANALYST)
    client.post(_url(alert), REAL, format="json")
    client.post(_url(alert), {"verdict": "noise"}, format="json")

    events = list(
        AuditEvent.objects_all_tenants.filter(action=AuditAction.ALERT_FEEDBACK_GIVEN).order_by("id")
    )
    feedback = OperatorFeedback.objects_all_tenants.get(alert=alert)
    assert [(e.customer_id, e.actor_id, e.target_type, e.target_id) for e in events] == [
        (tenant.customer.pk, tenant.users[Role.ANALYST].pk, "alerts.alertevent", str(alert.pk))
    ] * 2
    assert [e.metadata for e in events] == [
        {
            "feedback_id": feedback.pk,
            "verdict": "real",
            "reason_codes": ["payer_policy_change", "prior_auth"],
            "created": True,
            "previous_status": "open",
            "status": "acknowledged",
        },
        {
            "feedback_id": feedback.pk,
            "verdict": "noise",
            "reason_codes": [],
            "created": False,
            "previous_status": "acknowledged",
            "status": "resolved",
        },
    ]
    assert "Zebulon" not in str([e.metadata for e in events])


def test_feedback_emits_alert_updated_without_the_notes(tenant: Tenant) -> None:
    everything = endpoint(tenant.customer, "a-all")
    endpoint(tenant.customer, "b-created-only", [EventType.ALERT_CREATED])
    alert = _alert(tenant)
    tenant.client(Role.OWNER).post(_url(alert), {"verdict": "noise"}, format="json")

    tenant.client(Role.ANALYST).post(_url(alert), REAL, format="json")

    updates = deliveries(tenant.customer, EventType.ALERT_UPDATED)
    assert [d.endpoint_id for d in updates] == [everything.pk, everything.pk]
    assert payload_data(updates[-1]) == {
        "alert_id": alert.pk,
        "rule_id": alert.rule_id,
        "drift_event_id": alert.drift_event_id,
        "payer": alert.payer,
        "cpt_group": "E&M",
        "drift_type": "DENIAL_RATE",
        "status": "acknowledged",
        "previous_status": "resolved",
        "verdict": "real",
        "feedback_counts": {"real": 1, "noise": 1, "needs_followup": 0},
    }
    assert "Zebulon" not in str([d.payload for d in updates])


def test_no_alert_updated_when_the_rule_has_webhooks_off(tenant: Tenant) -> None:
    endpoint(tenant.customer, "all")
    alert = _alert(tenant, rule__webhook_enabled=False)

    tenant.client(Role.ANALYST).post(_url(alert), {"verdict": "real"}, format="json")

    assert deliveries(tenant.customer) == []


@pytest.mark.django_db(transaction=True)
def test_concurrent_feedback_of_one_operator_is_one_row() -> None:
    tenant = make_tenant()
    alert = _alert(tenant)
    operator = tenant.users[Role.ANALYST]

    def submit(verdict: str) -> Any:
        with tenant_scope(tenant.customer.pk):
            return alert_feedback_submit(alert_id=alert.pk, operator=operator, verdict=verdict)

    def submitter(verdict: str) -> Callable[[], Any]:
        return lambda: submit(verdict)

    results = run_together([submitter(v) for v in ("real", "noise", "needs_followup", "real") * 2])

    assert all(isinstance(r, tuple) for r in results), results
    assert sorted(created for _feedback, created in results) == [False] * 7 + [True]  # type: ignore[misc]
    [row] = OperatorFeedback.objects_all_tenants.filter(alert=alert)
    assert {feedback.pk for feedback, _created in results} == {row.pk}  # type: ignore[misc]
    expected = {"real": "acknowledged", "noise": "resolved", "needs_followup": "open"}[row.verdict]
    assert _status(alert) == expected  # the status of whichever verdict was applied last
