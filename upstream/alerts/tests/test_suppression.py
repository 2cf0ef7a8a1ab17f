"""Suppression (SPEC §8): cooldown and noise, their windows and scope (signal, tenant), the per-customer
settings, and that a suppressed alert is recorded but neither e-mailed nor sent to webhooks."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from django.utils import timezone

from upstream.alerts.models import AlertEvent, AlertSettings, AlertStatus, EmailStatus, Verdict
from upstream.alerts.services import alert_settings_get
from upstream.alerts.tests.factories import (
    AlertEventFactory,
    AlertRuleFactory,
    OperatorFeedbackFactory,
    endpoint,
)
from upstream.alerts.tests.helpers import deliveries, evaluate
from upstream.core.testing.tenants import Tenant
from upstream.drift.models import DriftEvent
from upstream.drift.tests.api_factories import DriftEventFactory, ReportRunFactory
from upstream.drift.tests.factories import AS_OF
from upstream.webhooks.models import EventType

pytestmark = pytest.mark.django_db


def _event(tenant: Tenant, *, week: int = 1, **fields: Any) -> DriftEvent:
    """A worsening Aetna/E&M DENIAL_RATE event of a run whose window ends ``week`` weeks after AS_OF."""
    run = ReportRunFactory.create(customer=tenant.customer, as_of=AS_OF + datetime.timedelta(weeks=week))
    return DriftEventFactory.create(report_run=run, **{"payer": "Aetna", **fields})


def _earlier_alert(tenant: Tenant, *, ago: datetime.timedelta, **fields: Any) -> AlertEvent:
    """A previous alert of the Aetna/E&M DENIAL_RATE signal created ``ago`` before now (of a deleted rule,
    so that only the test's rule matches new events)."""
    alert = AlertEventFactory.create(drift_event=_event(tenant, week=0), rule=None, **fields)
    AlertEvent.objects_all_tenants.filter(pk=alert.pk).update(created_at=timezone.now() - ago)
    return alert


def _judged_noise(tenant: Tenant, *, ago: datetime.timedelta, operator_role: str = "analyst") -> AlertEvent:
    alert = _earlier_alert(tenant, ago=ago, status=AlertStatus.RESOLVED)
    OperatorFeedbackFactory.create(alert=alert, operator=tenant.users[operator_role], verdict=Verdict.NOISE)
    return alert


@pytest.fixture
def rule(tenant: Tenant) -> Any:
    endpoint(tenant.customer, "all")
    return AlertRuleFactory.create(customer=tenant.customer, email_recipients=["rcm@clinic.example"])


def _decision(tenant: Tenant, **fields: Any) -> tuple[str, str, str]:
    [alert] = evaluate(_event(tenant, **fields)).created
    stored = AlertEvent.objects_all_tenants.get(pk=alert.pk)
    return stored.status, stored.suppression_reason, stored.email_status


# --- cooldown -----------------------------------------------------------------------------------------------


def test_a_delivered_alert_of_the_signal_within_the_cooldown_suppresses(tenant: Tenant, rule: Any) -> None:
    _earlier_alert(tenant, ago=datetime.timedelta(minutes=239))

    assert _decision(tenant) == (AlertStatus.SUPPRESSED, "cooldown", EmailStatus.NOT_REQUIRED)
    assert deliveries(tenant.customer, EventType.ALERT_CREATED) == []  # recorded, not delivered


def test_outside_the_cooldown_is_delivered(tenant: Tenant, rule: Any) -> None:
    _earlier_alert(tenant, ago=datetime.timedelta(minutes=241))

    assert _decision(tenant) == (AlertStatus.OPEN, "", EmailStatus.PENDING)
    assert len(deliveries(tenant.customer, EventType.ALERT_CREATED)) == 1


def test_a_suppressed_alert_does_not_start_a_cooldown(tenant: Tenant, rule: Any) -> None:
    _earlier_alert(
        tenant, ago=datetime.timedelta(minutes=5), status=AlertStatus.SUPPRESSED, suppression_reason="noise"
    )

    assert _decision(tenant) == (AlertStatus.OPEN, "", EmailStatus.PENDING)


@pytest.mark.parametrize(
    "other", [{"payer": "Cigna"}, {"cpt_group": "LAB"}, {"drift_type": "DECISION_TIME"}], ids=str
)
def test_cooldown_is_per_signal(tenant: Tenant, rule: Any, other: dict[str, str]) -> None:
    _earlier_alert(tenant, ago=datetime.timedelta(minutes=5))

    assert _decision(tenant, **other) == (AlertStatus.OPEN, "", EmailStatus.PENDING)


def test_another_tenants_alert_does_not_cool_down(tenant: Tenant, other_tenant: Tenant, rule: Any) -> None:
    _earlier_alert(other_tenant, ago=datetime.timedelta(minutes=5))

    assert _decision(tenant) == (AlertStatus.OPEN, "", EmailStatus.PENDING)


def test_cooldown_follows_the_customer_setting(tenant: Tenant, rule: Any) -> None:
    alert_settings_get(customer_id=tenant.customer.pk)
    AlertSettings.objects_all_tenants.filter(customer=tenant.customer).update(cooldown_minutes=10)
    _earlier_alert(tenant, ago=datetime.timedelta(minutes=11))
    assert _decision(tenant, week=1) == (AlertStatus.OPEN, "", EmailStatus.PENDING)

    AlertSettings.objects_all_tenants.filter(customer=tenant.customer).update(cooldown_minutes=0)  # off
    assert _decision(tenant, week=2) == (AlertStatus.OPEN, "", EmailStatus.PENDING)


# --- noise --------------------------------------------------------------------------------------------------


def test_two_alerts_judged_noise_within_the_window_suppress(tenant: Tenant, rule: Any) -> None:
    _judged_noise(tenant, ago=datetime.timedelta(days=3))
    _judged_noise(tenant, ago=datetime.timedelta(days=29), operator_role="owner")  # any operator counts

    assert _decision(tenant) == (AlertStatus.SUPPRESSED, "noise", EmailStatus.NOT_REQUIRED)
    assert deliveries(tenant.customer, EventType.ALERT_CREATED) == []


def test_one_noise_verdict_is_not_enough(tenant: Tenant, rule: Any) -> None:
    _judged_noise(tenant, ago=datetime.timedelta(days=3))
    real = _earlier_alert(tenant, ago=datetime.timedelta(days=4), status=AlertStatus.ACKNOWLEDGED)
    OperatorFeedbackFactory.create(alert=real, operator=tenant.users["analyst"], verdict=Verdict.REAL)

    assert _decision(tenant) == (AlertStatus.OPEN, "", EmailStatus.PENDING)


def test_noise_outside_the_window_does_not_suppress(tenant: Tenant, rule: Any) -> None:
    _judged_noise(tenant, ago=datetime.timedelta(days=3))
    _judged_noise(tenant, ago=datetime.timedelta(days=31))

    assert _decision(tenant) == (AlertStatus.OPEN, "", EmailStatus.PENDING)


def test_two_verdicts_on_one_alert_count_once(tenant: Tenant, rule: Any) -> None:
    alert = _judged_noise(tenant, ago=datetime.timedelta(days=3))
    OperatorFeedbackFactory.create(alert=alert, operator=tenant.users["owner"], verdict=Verdict.NOISE)

    assert _decision(tenant) == (AlertStatus.OPEN, "", EmailStatus.PENDING)


def test_noise_of_another_payer_or_tenant_does_not_suppress(
    tenant: Tenant, other_tenant: Tenant, rule: Any
) -> None:
    for _ in range(2):
        _judged_noise(other_tenant, ago=datetime.timedelta(days=3))
        alert = AlertEventFactory.create(drift_event=_event(tenant, week=0, payer="Cigna"), rule=None)
        AlertEvent.objects_all_tenants.filter(pk=alert.pk).update(
            created_at=timezone.now() - datetime.timedelta(days=2)
        )
        OperatorFeedbackFactory.create(alert=alert, operator=tenant.users["analyst"], verdict=Verdict.NOISE)

    assert _decision(tenant) == (AlertStatus.OPEN, "", EmailStatus.PENDING)


def test_noise_follows_the_customer_settings(tenant: Tenant, rule: Any) -> None:
    alert_settings_get(customer_id=tenant.customer.pk)
    AlertSettings.objects_all_tenants.filter(customer=tenant.customer).update(
        noise_threshold=1, noise_window_days=5
    )
    _judged_noise(tenant, ago=datetime.timedelta(days=6))
    assert _decision(tenant, week=1) == (AlertStatus.OPEN, "", EmailStatus.PENDING)

    _judged_noise(tenant, ago=datetime.timedelta(days=4))
    assert _decision(tenant, week=2, cpt_group="E&M")[:2] == (AlertStatus.SUPPRESSED, "noise")


def test_noise_wins_over_cooldown(tenant: Tenant, rule: Any) -> None:
    _judged_noise(tenant, ago=datetime.timedelta(minutes=10))
    _judged_noise(tenant, ago=datetime.timedelta(minutes=20))
    _earlier_alert(tenant, ago=datetime.timedelta(minutes=5))

    assert _decision(tenant)[:2] == (AlertStatus.SUPPRESSED, "noise")


def test_suppressed_alerts_send_no_email(
    tenant: Tenant, rule: Any, django_capture_on_commit_callbacks: Any, mailoutbox: list[Any]
) -> None:
    _earlier_alert(tenant, ago=datetime.timedelta(minutes=5))

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        [alert] = evaluate(_event(tenant)).created

    assert alert.status == AlertStatus.SUPPRESSED
    assert callbacks == []  # no e-mail task enqueued, no delivery enqueued
    assert mailoutbox == []
    assert deliveries(tenant.customer) == []
