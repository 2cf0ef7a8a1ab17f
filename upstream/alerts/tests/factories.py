"""Test data of alerts: rules, alerts and feedback written directly (unscoped manager), and webhook endpoints
that point at a closed local port."""

from __future__ import annotations

import base64
import hashlib

import factory

from upstream.alerts.evaluation import alert_fingerprint
from upstream.alerts.models import AlertEvent, AlertRule, AlertStatus, OperatorFeedback, Verdict
from upstream.drift.tests.api_factories import DriftEventFactory
from upstream.tenancy.models import Customer
from upstream.tenancy.tests.factories import CustomerFactory, TenantModelFactory, UserFactory
from upstream.webhooks.models import WebhookEndpoint

SECRET = "whsec_" + base64.b64encode(b"k" * 32).decode()  # 44 base64 characters


class AlertRuleFactory(TenantModelFactory):
    """A rule matching everything worsening (severity ≥ 0), with no e-mail and webhooks on."""

    class Meta:
        model = AlertRule

    customer = factory.SubFactory(CustomerFactory)
    name = factory.Sequence(lambda n: f"Rule {n}")
    min_severity = 0.0
    worsening_only = True
    email_admins = False
    webhook_enabled = True


class AlertEventFactory(TenantModelFactory):
    """An open alert of a drift event, with the signal copied from it."""

    class Meta:
        model = AlertEvent

    drift_event = factory.SubFactory(DriftEventFactory)
    customer = factory.SelfAttribute("drift_event.customer")
    rule = factory.SubFactory(AlertRuleFactory, customer=factory.SelfAttribute("..customer"))
    payer = factory.SelfAttribute("drift_event.payer")
    cpt_group = factory.SelfAttribute("drift_event.cpt_group")
    drift_type = factory.SelfAttribute("drift_event.drift_type")
    severity = factory.SelfAttribute("drift_event.severity")
    current_end = factory.SelfAttribute("drift_event.current_end")
    status = AlertStatus.OPEN
    fingerprint = factory.LazyAttributeSequence(
        lambda a, n: (
            alert_fingerprint(
                rule_id=a.rule.pk,
                payer=a.payer,
                cpt_group=a.cpt_group,
                drift_type=a.drift_type,
                current_end=a.current_end,
            )
            if a.rule is not None
            else hashlib.sha256(f"alert of a deleted rule {n}".encode()).hexdigest()
        )
    )


class OperatorFeedbackFactory(TenantModelFactory):
    class Meta:
        model = OperatorFeedback

    alert = factory.SubFactory(AlertEventFactory)
    customer = factory.SelfAttribute("alert.customer")
    operator = factory.SubFactory(UserFactory)
    verdict = Verdict.NOISE


def endpoint(customer: Customer, name: str, event_types: list[str] | None = None) -> WebhookEndpoint:
    """An active endpoint on a closed local port (nothing listens on 9: any send fails fast)."""
    return WebhookEndpoint.objects_all_tenants.create(
        customer=customer,
        name=name,
        url=f"http://127.0.0.1:9/{name}",
        secret=SECRET,
        event_types=event_types or [],
    )
