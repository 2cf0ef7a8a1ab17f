"""The generic API contract on the alert endpoints, plus their behaviour: the alert body (drift-event
summary, feedback), every filter, search and ordering, a constant number of queries, alert-rule validation
and audit, and the alert settings singleton."""

from __future__ import annotations

import datetime
import itertools
from typing import Any

import pytest
from django.db import IntegrityError, connection, models, transaction
from django.test.utils import CaptureQueriesContext

from upstream.alerts import services
from upstream.alerts.models import AlertEvent, AlertRule, AlertSettings, AlertStatus, Verdict
from upstream.alerts.tests.factories import AlertEventFactory, AlertRuleFactory, OperatorFeedbackFactory
from upstream.audit.models import AuditAction, AuditEvent
from upstream.core.testing.api import ALL_ROLES, MANAGERS, APIContract, assert_problem
from upstream.core.testing.tenants import Tenant, make_tenant
from upstream.tenancy.roles import Role

ALERTS = "/api/v1/alerts/"
RULES = "/api/v1/alert-rules/"
SETTINGS = "/api/v1/alert-settings/"
_names = itertools.count(1)


def _alert(tenant: Tenant, **fields: Any) -> AlertEvent:
    alert: AlertEvent = AlertEventFactory.create(drift_event__report_run__customer=tenant.customer, **fields)
    return alert


class TestAlertsContract(APIContract):
    base_url = ALERTS
    read_roles = ALL_ROLES

    def make_object(self, tenant: Tenant) -> models.Model:
        return _alert(tenant)


class TestAlertRulesContract(APIContract):
    base_url = RULES
    read_roles = ALL_ROLES
    create_roles = MANAGERS
    update_roles = MANAGERS
    delete_roles = MANAGERS

    def make_object(self, tenant: Tenant) -> models.Model:
        return AlertRuleFactory.create(customer=tenant.customer)

    def create_payload(self, tenant: Tenant) -> dict[str, Any]:
        return {"name": f"Contract rule {next(_names)}", "drift_types": ["DENIAL_RATE"], "min_severity": 0.5}

    def update_payload(self, tenant: Tenant, obj: models.Model) -> dict[str, Any]:
        return {"name": f"Renamed rule {next(_names)}", "enabled": False}


class TestAlertSettingsContract(APIContract):
    base_url = SETTINGS
    read_roles = ALL_ROLES
    has_detail = False


# --- alerts -------------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_alert_body_embeds_the_drift_event_summary_and_all_feedback(tenant: Tenant) -> None:
    alert = _alert(tenant, drift_event__payer="Aetna", drift_event__evidence={"claim_ids": [4242]})
    first = OperatorFeedbackFactory.create(
        alert=alert,
        operator=tenant.users[Role.ANALYST],
        verdict=Verdict.REAL,
        reason_codes=["prior_auth"],
        recovered_amount="10.00",
        notes="checked",
    )
    second = OperatorFeedbackFactory.create(
        alert=alert, operator=tenant.users[Role.OWNER], verdict=Verdict.NOISE
    )

    body = tenant.client(Role.ANALYST).get(f"{ALERTS}{alert.pk}/").json()

    event = alert.drift_event
    assert alert.rule is not None
    assert body["rule"] == {"id": alert.rule_id, "name": alert.rule.name}
    assert body["drift_event"] == {
        "id": event.pk,
        "report_run": event.report_run_id,
        "direction": "worsening",
        "baseline_value": 0.2,
        "current_value": 0.3,
        "delta": 0.1,
        "baseline_n": 400,
        "current_n": 80,
        "p_value": 0.01,
        "adjusted_p_value": 0.02,
        "severity_label": "high",
        "confidence": 0.98,
        "revenue_impact": "1000.00",
        "baseline_start": event.baseline_start.isoformat(),
        "baseline_end": event.baseline_end.isoformat(),
        "current_start": event.current_start.isoformat(),
        "current_end": event.current_end.isoformat(),
    }
    assert "evidence" not in str(body)
    assert [
        (
            f["id"],
            f["operator"],
            f["operator_email"],
            f["verdict"],
            f["reason_codes"],
            f["recovered_amount"],
            f["notes"],
        )
        for f in body["feedback"]
    ] == [
        (first.pk, first.operator_id, first.operator.email, "real", ["prior_auth"], "10.00", "checked"),
        (second.pk, second.operator_id, second.operator.email, "noise", [], None, ""),
    ]
    # Notes are free text that may name a patient: a viewer (no PHI rights) gets null.
    as_viewer = tenant.client(Role.VIEWER).get(f"{ALERTS}{alert.pk}/").json()
    assert [f["notes"] for f in as_viewer["feedback"]] == [None, None]
    assert {k: v for k, v in as_viewer.items() if k != "feedback"} == {
        k: v for k, v in body.items() if k != "feedback"
    }
    assert {
        k: body[k] for k in ("payer", "cpt_group", "drift_type", "severity", "status", "email_status")
    } == {
        "payer": "Aetna",
        "cpt_group": "E&M",
        "drift_type": "DENIAL_RATE",
        "severity": 0.5,
        "status": "open",
        "email_status": "not_required",
    }


@pytest.mark.django_db
def test_alert_list_query_count_is_constant(tenant: Tenant) -> None:
    client = tenant.client(Role.VIEWER)

    def queries_for(count: int) -> int:
        for _ in range(count):
            alert = _alert(tenant)
            for role in (Role.ANALYST, Role.OWNER):
                OperatorFeedbackFactory.create(alert=alert, operator=tenant.users[role])
        with CaptureQueriesContext(connection) as queries:
            response = client.get(ALERTS)
        assert response.status_code == 200
        return len(queries)

    assert queries_for(1) == queries_for(6)


@pytest.mark.django_db
def test_alert_filters_search_and_ordering(tenant: Tenant, other_tenant: Tenant) -> None:
    rule = AlertRuleFactory.create(customer=tenant.customer, name="Cigna watch")
    aetna = _alert(tenant, drift_event__payer="Aetna", drift_event__severity=0.9)
    cigna = _alert(
        tenant,
        rule=rule,
        drift_event__payer="Cigna",
        drift_event__cpt_group="LAB",
        drift_event__drift_type="DECISION_TIME",
        drift_event__severity=0.3,
        status=AlertStatus.ACKNOWLEDGED,
    )
    humana = _alert(
        tenant,
        drift_event__payer="Humana",
        drift_event__severity=0.6,
        status=AlertStatus.SUPPRESSED,
        suppression_reason="cooldown",
    )
    _alert(other_tenant, drift_event__payer="Aetna")
    for alert, day in ((aetna, 1), (cigna, 5), (humana, 9)):
        AlertEvent.objects_all_tenants.filter(pk=alert.pk).update(
            created_at=datetime.datetime(2026, 11, day, 12, tzinfo=datetime.UTC)
        )
    client = tenant.client(Role.VIEWER)

    def ids(query: str) -> list[int]:
        response = client.get(f"{ALERTS}?{query}")
        assert response.status_code == 200, response.content
        return [row["id"] for row in response.json()["results"]]

    assert ids("") == [humana.pk, cigna.pk, aetna.pk]
    assert ids("status=open") == [aetna.pk]
    assert ids("status=acknowledged&status=suppressed") == [humana.pk, cigna.pk]
    assert ids("suppression_reason=cooldown") == [humana.pk]
    assert ids("severity_min=0.5") == [humana.pk, aetna.pk]
    assert ids("severity_max=0.6") == [humana.pk, cigna.pk]
    assert ids("severity_min=0.5&severity_max=0.6") == [humana.pk]
    assert ids("payer=aetna") == [aetna.pk]
    assert ids("cpt_group=lab") == [cigna.pk]
    assert ids("drift_type=DECISION_TIME") == [cigna.pk]
    assert ids("drift_type=DENIAL_RATE&drift_type=DECISION_TIME") == [humana.pk, cigna.pk, aetna.pk]
    assert ids(f"rule_id={rule.pk}") == [cigna.pk]
    assert ids(f"drift_event_id={aetna.drift_event_id}") == [aetna.pk]
    assert ids("created_after=2026-11-05") == [humana.pk, cigna.pk]
    assert ids("created_before=2026-11-05") == [cigna.pk, aetna.pk]
    assert ids("created_after=2026-11-02&created_before=2026-11-08") == [cigna.pk]
    assert ids("search=cigna") == [cigna.pk]  # payer and rule name
    assert ids("search=watch") == [cigna.pk]
    assert ids("ordering=severity") == [cigna.pk, humana.pk, aetna.pk]
    assert ids("ordering=-severity") == [aetna.pk, humana.pk, cigna.pk]
    assert ids("ordering=payer") == [aetna.pk, cigna.pk, humana.pk]
    body = assert_problem(client.get(f"{ALERTS}?status=closed"), 400, "invalid_choice")
    assert body["errors"][0]["attr"] == "status"
    assert_problem(client.get(f"{ALERTS}?created_after=yesterday"), 400, "invalid")


@pytest.mark.django_db
def test_alerts_are_read_only(tenant: Tenant) -> None:
    alert = _alert(tenant)
    client = tenant.client(Role.OWNER)

    assert_problem(client.put(f"{ALERTS}{alert.pk}/", {"status": "resolved"}, format="json"), 405)
    assert AlertEvent.objects_all_tenants.get(pk=alert.pk).status == AlertStatus.OPEN


# --- alert rules --------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_create_rule_normalizes_and_audits(tenant: Tenant) -> None:
    payload = {
        "name": "  Aetna denials ",
        "drift_types": ["DENIAL_DOLLARS", "DENIAL_RATE", "DENIAL_RATE"],
        "payer": " Aetna ",
        "cpt_group": "e&m",
        "min_severity": 0.5,
        "email_recipients": ["RCM@clinic.example", "rcm@clinic.example", "cfo@clinic.example"],
        "email_admins": False,
    }

    response = tenant.client(Role.ADMIN).post(RULES, payload, format="json")

    assert response.status_code == 201, response.content
    body = response.json()
    assert {k: v for k, v in body.items() if k not in ("id", "created_at", "updated_at")} == {
        "name": "Aetna denials",
        "enabled": True,
        "drift_types": ["DENIAL_RATE", "DENIAL_DOLLARS"],
        "payer": "Aetna",
        "cpt_group": "E&M",
        "min_severity": 0.5,
        "worsening_only": True,
        "email_recipients": ["RCM@clinic.example", "cfo@clinic.example"],
        "email_admins": False,
        "webhook_enabled": True,
        "is_default": False,
        "created_by": tenant.users[Role.ADMIN].pk,
    }
    [event] = AuditEvent.objects_all_tenants.filter(action=AuditAction.ALERT_RULE_CHANGED)
    assert (event.customer_id, event.actor_id, event.target_type, event.target_id) == (
        tenant.customer.pk,
        tenant.users[Role.ADMIN].pk,
        "alerts.alertrule",
        str(body["id"]),
    )
    assert event.metadata["operation"] == "created"
    assert event.metadata["after"]["drift_types"] == ["DENIAL_RATE", "DENIAL_DOLLARS"]


@pytest.mark.parametrize(
    ("payload", "attr", "code"),
    [
        ({"name": "x", "drift_types": ["DENIAL_SPEED"]}, "drift_types.0", "invalid_choice"),
        ({"name": "x", "min_severity": 1.5}, "min_severity", "max_value"),
        ({"name": "x", "min_severity": -0.1}, "min_severity", "min_value"),
        ({"name": "x", "email_recipients": ["not-an-email"]}, "email_recipients.0", "invalid"),
        ({"name": "   "}, "name", "blank"),
        ({}, "name", "required"),
        ({"name": "Taken"}, "name", "unique"),
        ({"name": "taken"}, "name", "unique"),  # case-insensitively
    ],
)
@pytest.mark.django_db
def test_rule_validation(tenant: Tenant, payload: dict[str, Any], attr: str, code: str) -> None:
    AlertRuleFactory.create(customer=tenant.customer, name="Taken")

    body = assert_problem(tenant.client(Role.OWNER).post(RULES, payload, format="json"), 400, code)

    assert body["errors"][0]["attr"] == attr
    assert AlertRule.objects_all_tenants.filter(customer=tenant.customer).count() == 1
    assert not AuditEvent.objects_all_tenants.filter(action=AuditAction.ALERT_RULE_CHANGED).exists()


@pytest.mark.django_db
def test_a_name_used_by_another_tenant_is_free(tenant: Tenant, other_tenant: Tenant) -> None:
    AlertRuleFactory.create(customer=other_tenant.customer, name="Shared name")

    assert tenant.client(Role.OWNER).post(RULES, {"name": "Shared name"}, format="json").status_code == 201


@pytest.mark.django_db
def test_update_keeps_its_own_name_and_audits_before_and_after(tenant: Tenant) -> None:
    rule = AlertRuleFactory.create(customer=tenant.customer, name="Mine", min_severity=0.2)
    AlertRuleFactory.create(customer=tenant.customer, name="Other")
    client = tenant.client(Role.OWNER)

    response = client.patch(f"{RULES}{rule.pk}/", {"name": "Mine", "min_severity": 0.7}, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["min_severity"] == 0.7
    assert_problem(client.patch(f"{RULES}{rule.pk}/", {"name": "other"}, format="json"), 400, "unique")
    assert_problem(
        client.patch(f"{RULES}{rule.pk}/", {"is_default": True, "min_severity": 2}, format="json"), 400
    )

    [event] = AuditEvent.objects_all_tenants.filter(action=AuditAction.ALERT_RULE_CHANGED)
    assert event.metadata["operation"] == "updated"
    assert (event.metadata["before"]["min_severity"], event.metadata["after"]["min_severity"]) == (0.2, 0.7)


@pytest.mark.django_db
def test_delete_keeps_the_rules_alerts_and_audits(tenant: Tenant) -> None:
    alert = _alert(tenant)
    rule_id = alert.rule_id
    assert rule_id is not None

    response = tenant.client(Role.ADMIN).delete(f"{RULES}{rule_id}/")

    assert response.status_code == 204
    assert not AlertRule.objects_all_tenants.filter(pk=rule_id).exists()
    assert AlertEvent.objects_all_tenants.get(pk=alert.pk).rule_id is None
    [event] = AuditEvent.objects_all_tenants.filter(action=AuditAction.ALERT_RULE_CHANGED)
    assert (event.target_id, event.metadata["operation"]) == (str(rule_id), "deleted")
    detail = tenant.client(Role.VIEWER).get(f"{ALERTS}{alert.pk}/").json()
    assert detail["rule"] is None


@pytest.mark.django_db
def test_rule_filters(tenant: Tenant) -> None:
    on = AlertRuleFactory.create(customer=tenant.customer, name="A", payer="Aetna")
    off = AlertRuleFactory.create(customer=tenant.customer, name="B", enabled=False)
    client = tenant.client(Role.VIEWER)

    assert [r["id"] for r in client.get(f"{RULES}?enabled=true").json()["results"]] == [on.pk]
    assert [r["id"] for r in client.get(f"{RULES}?enabled=false").json()["results"]] == [off.pk]
    assert [r["id"] for r in client.get(f"{RULES}?payer=aetna").json()["results"]] == [on.pk]
    assert [r["id"] for r in client.get(f"{RULES}?search=B").json()["results"]] == [off.pk]


@pytest.mark.django_db
def test_rules_need_an_active_customer_to_create(superuser_client: Any) -> None:
    assert_problem(superuser_client.post(RULES, {"name": "x"}, format="json"), 400, "customer_required")


# --- alert settings -----------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_settings_default_then_patch_with_audit(tenant: Tenant) -> None:
    assert tenant.client(Role.VIEWER).get(SETTINGS).json() | {"updated_at": None} == {
        "cooldown_minutes": 240,
        "noise_window_days": 30,
        "noise_threshold": 2,
        "updated_at": None,
    }

    response = tenant.client(Role.ADMIN).patch(
        SETTINGS, {"cooldown_minutes": 60, "noise_threshold": 3}, format="json"
    )

    assert response.status_code == 200, response.content
    assert (response.json()["cooldown_minutes"], response.json()["noise_threshold"]) == (60, 3)
    stored = AlertSettings.objects_all_tenants.get(customer=tenant.customer)
    assert (stored.cooldown_minutes, stored.noise_window_days, stored.noise_threshold) == (60, 30, 3)
    [event] = AuditEvent.objects_all_tenants.filter(action=AuditAction.ALERT_SETTINGS_CHANGED)
    assert (event.customer_id, event.actor_id) == (tenant.customer.pk, tenant.users[Role.ADMIN].pk)
    assert event.metadata == {
        "before": {"cooldown_minutes": 240, "noise_window_days": 30, "noise_threshold": 2},
        "after": {"cooldown_minutes": 60, "noise_window_days": 30, "noise_threshold": 3},
    }


@pytest.mark.parametrize(
    ("role", "status"), [(Role.OWNER, 200), (Role.ADMIN, 200), (Role.ANALYST, 403), (Role.VIEWER, 403)]
)
@pytest.mark.django_db
def test_settings_patch_by_role(tenant: Tenant, role: str, status: int) -> None:
    response = tenant.client(role).patch(SETTINGS, {"cooldown_minutes": 5}, format="json")

    if status == 403:
        assert_problem(response, 403, "permission_denied")
        assert not AlertSettings.objects_all_tenants.filter(
            customer=tenant.customer, cooldown_minutes=5
        ).exists()
    else:
        assert response.status_code == 200


@pytest.mark.parametrize(
    ("payload", "attr", "code"),
    [
        ({"noise_threshold": 0}, "noise_threshold", "min_value"),
        ({"noise_window_days": 0}, "noise_window_days", "min_value"),
        ({"cooldown_minutes": -1}, "cooldown_minutes", "min_value"),
        ({"cooldown_minutes": "soon"}, "cooldown_minutes", "invalid"),
    ],
)
@pytest.mark.django_db
def test_settings_validation(tenant: Tenant, payload: dict[str, Any], attr: str, code: str) -> None:
    body = assert_problem(tenant.client(Role.OWNER).patch(SETTINGS, payload, format="json"), 400, code)

    assert body["errors"][0]["attr"] == attr
    assert not AuditEvent.objects_all_tenants.filter(action=AuditAction.ALERT_SETTINGS_CHANGED).exists()


@pytest.mark.django_db
def test_settings_are_per_tenant(tenant: Tenant, other_tenant: Tenant) -> None:
    tenant.client(Role.OWNER).patch(SETTINGS, {"cooldown_minutes": 15}, format="json")

    assert other_tenant.client(Role.OWNER).get(SETTINGS).json()["cooldown_minutes"] == 240
    assert tenant.client(Role.VIEWER).get(SETTINGS).json()["cooldown_minutes"] == 15


@pytest.mark.django_db
def test_settings_need_an_active_customer(superuser_client: Any) -> None:
    assert_problem(superuser_client.get(SETTINGS), 400, "customer_required")


@pytest.mark.django_db
def test_rule_names_are_unique_case_insensitively_in_the_database(tenant: Tenant) -> None:
    AlertRuleFactory.create(customer=tenant.customer, name="Denials")
    with pytest.raises(IntegrityError, match="alert_rule_name_uniq"), transaction.atomic():
        AlertRuleFactory.create(customer=tenant.customer, name="DENIALS")
    AlertRuleFactory.create(customer=make_tenant().customer, name="denials")  # another tenant may


@pytest.mark.django_db
def test_a_rule_name_clash_the_validator_missed_is_caught_by_the_database(tenant: Tenant) -> None:
    services.alert_rule_create(customer_id=tenant.customer.pk, data={"name": "Denials"})
    with pytest.raises(services.AlertRuleNameTaken):
        services.alert_rule_create(customer_id=tenant.customer.pk, data={"name": "denials"})
    with pytest.raises(IntegrityError, match="alert_rule_min_severity_range"):
        services.alert_rule_create(customer_id=tenant.customer.pk, data={"name": "Other", "min_severity": 2})
    assert list(AlertRule.objects_all_tenants.values_list("name", flat=True)) == ["Denials"]
