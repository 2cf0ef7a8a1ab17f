"""Alert evaluation (SPEC §8): each rule filter, disabled rules, fingerprints deduplicating across runs, the
default rule, the wiring into drift runs (alert.created, report_run.completed) and eight concurrent runs."""

from __future__ import annotations

import datetime
import hashlib
import json
from collections.abc import Callable
from decimal import Decimal
from typing import Any
from unittest import mock

import pytest
from django.apps import apps as django_apps

from upstream.alerts.evaluation import alert_fingerprint, rule_matches
from upstream.alerts.models import AlertEvent, AlertRule, AlertStatus, EmailStatus
from upstream.alerts.services import DEFAULT_RULE_NAME, alert_rule_create_default
from upstream.alerts.tests.factories import AlertRuleFactory, endpoint
from upstream.alerts.tests.helpers import alerts_of, deliveries, drifting_claims, evaluate, payload_data
from upstream.core.testing.concurrency import run_together
from upstream.drift import detectors, services
from upstream.drift.models import ReportRun, RunStatus, RunTrigger
from upstream.drift.tests.api_factories import DriftEventFactory, ReportRunFactory
from upstream.drift.tests.factories import AS_OF
from upstream.drift.tests.factories import ReportRunFactory as QueuedRunFactory
from upstream.tenancy.models import Customer
from upstream.tenancy.services import customer_create
from upstream.tenancy.tests.factories import CustomerFactory
from upstream.webhooks.models import EventType

# --- rule filters -------------------------------------------------------------------------------------------

BASE_EVENT: dict[str, Any] = {
    "payer": "Aetna",
    "cpt_group": "E&M",
    "drift_type": "DENIAL_RATE",
    "severity": 0.6,
    "direction": "worsening",
}


@pytest.mark.parametrize(
    ("rule_fields", "event_fields", "matches"),
    [
        ({"drift_types": []}, {}, True),
        ({"drift_types": ["DENIAL_RATE", "PAYMENT_DELAY"]}, {}, True),
        ({"drift_types": ["DECISION_TIME"]}, {}, False),
        ({"payer": "aetna"}, {}, True),  # case-insensitive
        ({"payer": "Cigna"}, {}, False),
        ({"cpt_group": "E&M"}, {}, True),
        ({"cpt_group": "LAB"}, {}, False),
        ({"cpt_group": "ALL"}, {}, False),  # "ALL" on a rule = the payer-wide roll-ups only
        ({"cpt_group": "ALL"}, {"cpt_group": "ALL"}, True),
        ({"cpt_group": ""}, {"cpt_group": "ALL"}, True),
        ({"min_severity": 0.6}, {}, True),  # inclusive
        ({"min_severity": 0.61}, {}, False),
        ({"worsening_only": True}, {"direction": "improving"}, False),
        ({"worsening_only": False}, {"direction": "improving"}, True),
    ],
)
def test_each_rule_filter(
    tenant: Any, rule_fields: dict[str, Any], event_fields: dict[str, Any], matches: bool
) -> None:
    rule = AlertRuleFactory.create(customer=tenant.customer, **rule_fields)
    event = DriftEventFactory.create(report_run__customer=tenant.customer, **{**BASE_EVENT, **event_fields})

    assert rule_matches(rule, event) is matches
    evaluation = evaluate(event)

    assert len(evaluation.created) == (1 if matches else 0)
    assert [(a.rule_id, a.drift_event_id) for a in alerts_of(tenant.customer)] == (
        [(rule.pk, event.pk)] if matches else []
    )


def test_disabled_rules_raise_nothing_and_enabled_ones_do(tenant: Any) -> None:
    AlertRuleFactory.create(customer=tenant.customer, enabled=False)
    event = DriftEventFactory.create(report_run__customer=tenant.customer)

    assert evaluate(event).created == []
    assert alerts_of(tenant.customer) == []

    enabled = AlertRuleFactory.create(customer=tenant.customer)
    assert [a.rule_id for a in evaluate(event).created] == [enabled.pk]


def test_rules_of_another_customer_do_not_match(tenant: Any, other_tenant: Any) -> None:
    AlertRuleFactory.create(customer=other_tenant.customer)
    event = DriftEventFactory.create(report_run__customer=tenant.customer)

    assert evaluate(event).created == []
    assert AlertEvent.objects_all_tenants.count() == 0


def test_an_alert_copies_the_signal_and_its_fingerprint(tenant: Any) -> None:
    rule = AlertRuleFactory.create(customer=tenant.customer)
    event = DriftEventFactory.create(report_run__customer=tenant.customer, **BASE_EVENT)

    [alert] = evaluate(event).created

    stored = AlertEvent.objects_all_tenants.get(pk=alert.pk)
    key = json.dumps([rule.pk, "Aetna", "E&M", "DENIAL_RATE", event.current_end.isoformat()])
    assert stored.fingerprint == hashlib.sha256(key.encode()).hexdigest()
    assert (stored.payer, stored.cpt_group, stored.drift_type, stored.severity, stored.current_end) == (
        "Aetna",
        "E&M",
        "DENIAL_RATE",
        0.6,
        event.current_end,
    )
    assert (stored.status, stored.suppression_reason, stored.email_status) == ("open", "", "not_required")


def test_fingerprint_dedupes_across_runs_with_the_same_window_end(tenant: Any) -> None:
    rule = AlertRuleFactory.create(customer=tenant.customer)
    first = DriftEventFactory.create(report_run__customer=tenant.customer, payer="Aetna")
    same_window = DriftEventFactory.create(report_run__customer=tenant.customer, payer="Aetna")
    later_window = DriftEventFactory.create(
        report_run=ReportRunFactory.create(
            customer=tenant.customer, as_of=AS_OF + datetime.timedelta(days=7)
        ),
        payer="Aetna",
    )

    assert len(evaluate(first).created) == 1
    assert evaluate(same_window).created == []  # the same signal and window end: skipped by the insert
    assert evaluate(first).created == []  # re-evaluating the same event: skipped too
    later = evaluate(later_window).created

    assert len(later) == 1  # a new window end is a new alert (suppressed by the cooldown, but recorded)
    assert [a.drift_event_id for a in alerts_of(tenant.customer)] == [first.pk, later_window.pk]
    assert later[0].fingerprint == alert_fingerprint(
        rule_id=rule.pk,
        payer="Aetna",
        cpt_group="E&M",
        drift_type="DENIAL_RATE",
        current_end=AS_OF + datetime.timedelta(days=7),
    )


def test_each_rule_gets_its_own_alert_for_one_event(tenant: Any) -> None:
    first = AlertRuleFactory.create(customer=tenant.customer, name="A")
    second = AlertRuleFactory.create(customer=tenant.customer, name="B")
    event = DriftEventFactory.create(report_run__customer=tenant.customer)

    created = evaluate(event).created

    assert [(a.rule_id, a.status, a.suppression_reason) for a in created] == [
        (first.pk, "open", ""),
        (second.pk, "suppressed", "cooldown"),  # the same signal was just delivered by the first rule
    ]


# --- the default rule ---------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_new_customer_gets_the_default_rule() -> None:
    customer = customer_create(name="Riverside Clinic")

    [rule] = AlertRule.objects_all_tenants.filter(customer=customer)
    assert {
        "name": rule.name,
        "enabled": rule.enabled,
        "drift_types": rule.drift_types,
        "payer": rule.payer,
        "cpt_group": rule.cpt_group,
        "min_severity": rule.min_severity,
        "worsening_only": rule.worsening_only,
        "email_recipients": rule.email_recipients,
        "email_admins": rule.email_admins,
        "webhook_enabled": rule.webhook_enabled,
        "is_default": rule.is_default,
    } == {
        "name": "Worsening, severity ≥ 0.25",
        "enabled": True,
        "drift_types": [],
        "payer": "",
        "cpt_group": "",
        "min_severity": 0.25,
        "worsening_only": True,
        "email_recipients": [],
        "email_admins": True,
        "webhook_enabled": True,
        "is_default": True,
    }
    assert alert_rule_create_default(customer_id=customer.pk).pk == rule.pk  # idempotent
    assert AlertRule.objects_all_tenants.filter(customer=customer).count() == 1


@pytest.mark.django_db
def test_data_migration_gives_existing_customers_the_default_rule() -> None:
    module = __import__(
        "upstream.alerts.migrations.0002_default_rule_for_existing_customers",
        fromlist=["create_default_rules"],
    )
    without = CustomerFactory.create()
    with_it = customer_create(name="Has one already")

    module.create_default_rules(django_apps, None)
    module.create_default_rules(django_apps, None)  # twice: still one each

    for customer in (without, with_it):
        rules = list(
            AlertRule.objects_all_tenants.filter(customer=customer).values_list("name", "is_default")
        )
        assert rules == [(DEFAULT_RULE_NAME, True)]


# --- wired into drift runs ----------------------------------------------------------------------------------


def _drifting_customer() -> Customer:
    customer = CustomerFactory.create()
    drifting_claims(customer)
    alert_rule_create_default(customer_id=customer.pk)
    return customer


@pytest.mark.django_db
def test_a_drift_run_raises_alerts_and_emits_alert_created_and_run_completed() -> None:
    customer = _drifting_customer()
    everything = endpoint(customer, "a-everything")
    endpoint(customer, "b-uploads", [EventType.UPLOAD_COMPLETED])  # subscribed to neither
    run = QueuedRunFactory.create(customer=customer)

    run = services.drift_run_execute(report_run_id=run.pk)

    assert run.status == RunStatus.SUCCEEDED
    alerts = alerts_of(customer)
    assert [
        (a.payer, a.cpt_group, a.drift_type, a.status) for a in sorted(alerts, key=lambda a: a.cpt_group)
    ] == [
        ("Aetna", "ALL", "DENIAL_RATE", "open"),
        ("Aetna", "E&M", "DENIAL_RATE", "open"),
    ]
    created = deliveries(customer, EventType.ALERT_CREATED)
    assert [d.endpoint_id for d in created] == [everything.pk, everything.pk]
    by_group = {payload_data(d)["cpt_group"]: payload_data(d) for d in created}
    alert = next(a for a in alerts if a.cpt_group == "E&M")
    event = alert.drift_event
    assert by_group["E&M"] == {
        "alert_id": alert.pk,
        "rule_id": alert.rule_id,
        "drift_event_id": event.pk,
        "report_run_id": run.pk,
        "status": "open",
        "payer": "Aetna",
        "cpt_group": "E&M",
        "drift_type": "DENIAL_RATE",
        "direction": "worsening",
        "severity": 1.0,
        "severity_label": "critical",
        "confidence": event.confidence,
        "baseline_value": 0.1,
        "current_value": 0.4,
        "delta": event.delta,
        "baseline_n": 400,
        "current_n": 100,
        "p_value": event.p_value,
        "adjusted_p_value": event.adjusted_p_value,
        "revenue_impact": "300.00",
        "baseline_start": (AS_OF - datetime.timedelta(days=103)).isoformat(),
        "baseline_end": (AS_OF - datetime.timedelta(days=14)).isoformat(),
        "current_start": (AS_OF - datetime.timedelta(days=13)).isoformat(),
        "current_end": AS_OF.isoformat(),
        "created_at": alert.created_at.isoformat(),
    }
    [completed] = deliveries(customer, EventType.REPORT_RUN_COMPLETED)
    assert completed.endpoint_id == everything.pk
    assert payload_data(completed) == {
        "report_run_id": run.pk,
        "status": "succeeded",
        "trigger": "manual",
        "as_of": AS_OF.isoformat(),
        "baseline_start": (AS_OF - datetime.timedelta(days=103)).isoformat(),
        "baseline_end": (AS_OF - datetime.timedelta(days=14)).isoformat(),
        "current_start": (AS_OF - datetime.timedelta(days=13)).isoformat(),
        "current_end": AS_OF.isoformat(),
        "groups_tested": 4,
        "tests_run": 16,
        "claims_considered": 1000,
        "events_count": 2,
        "alerts_created": 2,
        "alerts_suppressed": 0,
        "error_code": None,
    }


@pytest.mark.django_db
def test_a_failed_run_emits_run_completed_with_the_error_type_only() -> None:
    customer = _drifting_customer()
    endpoint(customer, "all")
    run = QueuedRunFactory.create(customer=customer)

    with mock.patch.object(detectors, "detect", side_effect=ValueError("boom\nDETAIL: Zebulon")):
        run = services.drift_run_execute(report_run_id=run.pk)

    assert (run.status, run.error) == (RunStatus.FAILED, "ValueError: boom")
    assert alerts_of(customer) == []
    [completed] = deliveries(customer)
    assert completed.event_type == EventType.REPORT_RUN_COMPLETED
    data = payload_data(completed)
    assert (data["status"], data["error_code"], data["alerts_created"], data["events_count"]) == (
        "failed",
        "ValueError",
        0,
        0,
    )
    assert "boom" not in json.dumps(completed.payload)


@pytest.mark.django_db
def test_a_finished_run_executed_again_emits_nothing() -> None:
    customer = _drifting_customer()
    endpoint(customer, "all")
    run = QueuedRunFactory.create(customer=customer)
    services.drift_run_execute(report_run_id=run.pk)
    before = len(deliveries(customer))

    services.drift_run_execute(report_run_id=run.pk)

    assert len(deliveries(customer)) == before == 3  # two alert.created, one report_run.completed
    assert len(alerts_of(customer)) == 2


@pytest.mark.django_db(transaction=True)
def test_eight_concurrent_runs_raise_each_alert_once() -> None:
    """Eight runs of one customer over the same data, each executed by its own thread and connection (one
    queued, seven already `running`): one alert per signal, one alert.created per subscribed endpoint and
    signal, every run succeeded, no deadlock."""
    customer = CustomerFactory.create()
    drifting_claims(customer)
    rule = AlertRuleFactory.create(customer=customer, email_recipients=["rcm@clinic.example"])
    everything = endpoint(customer, "a-everything")
    runs_only = endpoint(customer, "b-runs-only", [EventType.REPORT_RUN_COMPLETED])
    runs = [QueuedRunFactory.create(customer=customer, trigger=RunTrigger.UPLOAD)]
    runs += [
        QueuedRunFactory.create(customer=customer, status=RunStatus.RUNNING, trigger=RunTrigger.MANUAL)
        for _ in range(7)
    ]

    def executor(run_id: int) -> Callable[[], ReportRun]:
        return lambda: services.drift_run_execute(report_run_id=run_id)

    results = run_together([executor(run.pk) for run in runs])

    assert [type(r).__name__ for r in results] == ["ReportRun"] * 8
    assert (
        sorted(ReportRun.objects_all_tenants.filter(customer=customer).values_list("status", flat=True))
        == [RunStatus.SUCCEEDED] * 8
    )
    alerts = alerts_of(customer)
    assert sorted((a.payer, a.cpt_group, a.drift_type, a.rule_id) for a in alerts) == [
        ("Aetna", "ALL", "DENIAL_RATE", rule.pk),
        ("Aetna", "E&M", "DENIAL_RATE", rule.pk),
    ]
    assert {a.status for a in alerts} == {AlertStatus.OPEN}
    created = deliveries(customer, EventType.ALERT_CREATED)
    assert sorted((d.endpoint_id, payload_data(d)["alert_id"]) for d in created) == sorted(
        (everything.pk, a.pk) for a in alerts
    )
    completed = deliveries(customer, EventType.REPORT_RUN_COMPLETED)
    assert sorted(d.endpoint_id for d in completed) == [everything.pk] * 8 + [runs_only.pk] * 8
    assert sum(payload_data(d)["alerts_created"] for d in completed) == 2 * 2  # 2 alerts, seen by 2 endpoints
    # Both alerts e-mailed exactly once (the e-mail task ran eagerly after its run's commit).
    assert sorted(a.email_status for a in alerts) == [EmailStatus.SENT] * 2
    assert sorted(a.email_attempts for a in alerts) == [1, 1]


@pytest.mark.django_db
def test_revenue_impact_is_a_string_in_payloads(tenant: Any) -> None:
    AlertRuleFactory.create(customer=tenant.customer)
    endpoint(tenant.customer, "all")
    event = DriftEventFactory.create(report_run__customer=tenant.customer, revenue_impact=Decimal("1234.50"))

    evaluate(event)

    [delivery] = deliveries(tenant.customer, EventType.ALERT_CREATED)
    assert payload_data(delivery)["revenue_impact"] == "1234.50"
