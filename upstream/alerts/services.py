"""State changes of alerts: per-customer settings, alert rules (with the default rule) and operators'
feedback. Evaluation of drift events lives in ``evaluation.py``, e-mail in ``email.py``."""

from __future__ import annotations

import datetime
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, connection, transaction

from upstream.alerts.models import (
    AlertEvent,
    AlertRule,
    AlertSettings,
    AlertStatus,
    OperatorFeedback,
    Verdict,
)
from upstream.alerts.payloads import alert_updated_data
from upstream.audit.models import AuditAction
from upstream.audit.services import audit_record
from upstream.core.db import constraint_violated
from upstream.webhooks.models import EventType
from upstream.webhooks.services import webhook_event_emit

DEFAULT_RULE_NAME = "Worsening, severity ≥ 0.25"
RULE_FIELDS = (
    "name",
    "enabled",
    "drift_types",
    "payer",
    "cpt_group",
    "min_severity",
    "worsening_only",
    "email_recipients",
    "email_admins",
    "webhook_enabled",
)
SETTINGS_FIELDS = ("cooldown_minutes", "noise_window_days", "noise_threshold")
# SPEC §8: the status an alert takes after a verdict.
VERDICT_STATUS = {
    Verdict.REAL: AlertStatus.ACKNOWLEDGED,
    Verdict.NOISE: AlertStatus.RESOLVED,
    Verdict.NEEDS_FOLLOWUP: AlertStatus.OPEN,
}


class AlertRuleNameTaken(Exception):
    """Another rule of the customer has this name (unique per customer)."""

    code = "unique"


# --- settings ---------------------------------------------------------------------------------------------


def alert_settings_get(*, customer_id: int) -> AlertSettings:
    """The customer's suppression settings, created with the SPEC §8 defaults on first use (race-safe:
    ``INSERT … ON CONFLICT DO NOTHING``, then read)."""
    found = AlertSettings.objects_all_tenants.filter(customer_id=customer_id).first()
    if found is not None:
        return found
    AlertSettings.objects_all_tenants.bulk_create(
        [AlertSettings(customer_id=customer_id)], ignore_conflicts=True
    )
    return AlertSettings.objects_all_tenants.get(customer_id=customer_id)


def alert_settings_update(
    *, customer_id: int, changes: dict[str, int], actor: Any = None, request: Any = None
) -> AlertSettings:
    with transaction.atomic():
        alert_settings_get(customer_id=customer_id)
        current = AlertSettings.objects_all_tenants.select_for_update().get(customer_id=customer_id)
        before = {name: getattr(current, name) for name in SETTINGS_FIELDS}
        for name, value in changes.items():
            if name in SETTINGS_FIELDS:
                setattr(current, name, value)
        current.save()
        after = {name: getattr(current, name) for name in SETTINGS_FIELDS}
        audit_record(
            action=AuditAction.ALERT_SETTINGS_CHANGED,
            customer_id=customer_id,
            actor=actor,
            target=current,
            request=request,
            metadata={"before": before, "after": after},
        )
    return current


# --- rules ------------------------------------------------------------------------------------------------


def alert_rule_create_default(*, customer_id: int) -> AlertRule:
    """The default rule of SPEC §8 ("worsening, severity ≥ 0.25", every type, payer and group; e-mails the
    owners and admins; delivers webhooks). Idempotent (``ON CONFLICT DO NOTHING`` on the name): returns the
    customer's rule of that name."""
    AlertRule.objects_all_tenants.bulk_create(
        [
            AlertRule(
                customer_id=customer_id,
                name=DEFAULT_RULE_NAME,
                drift_types=[],
                min_severity=0.25,
                worsening_only=True,
                email_admins=True,
                webhook_enabled=True,
                is_default=True,
            )
        ],
        ignore_conflicts=True,
    )
    return AlertRule.objects_all_tenants.get(customer_id=customer_id, name__iexact=DEFAULT_RULE_NAME)


def _rule_snapshot(rule: AlertRule) -> dict[str, Any]:
    return {name: getattr(rule, name) for name in RULE_FIELDS}


def _save_rule(rule: AlertRule) -> None:
    """Save in a savepoint; a concurrent rule with the same name becomes ``AlertRuleNameTaken``."""
    try:
        with transaction.atomic():
            rule.save()
    except IntegrityError as exc:
        if constraint_violated(exc, "alert_rule_name_uniq"):
            raise AlertRuleNameTaken(f"A rule named {rule.name!r} already exists.") from exc
        raise


def alert_rule_create(
    *, customer_id: int, data: dict[str, Any], actor: Any = None, request: Any = None
) -> AlertRule:
    with transaction.atomic():
        rule = AlertRule(customer_id=customer_id, created_by=actor if getattr(actor, "pk", None) else None)
        for name in RULE_FIELDS:
            if name in data:
                setattr(rule, name, data[name])
        _save_rule(rule)
        audit_record(
            action=AuditAction.ALERT_RULE_CHANGED,
            customer_id=customer_id,
            actor=actor,
            target=rule,
            request=request,
            metadata={"operation": "created", "after": _rule_snapshot(rule)},
        )
    return rule


def alert_rule_update(
    *, rule: AlertRule, data: dict[str, Any], actor: Any = None, request: Any = None
) -> AlertRule:
    with transaction.atomic():
        locked = AlertRule.objects_all_tenants.select_for_update().get(pk=rule.pk)
        before = _rule_snapshot(locked)
        for name in RULE_FIELDS:
            if name in data:
                setattr(locked, name, data[name])
        _save_rule(locked)
        audit_record(
            action=AuditAction.ALERT_RULE_CHANGED,
            customer_id=locked.customer_id,
            actor=actor,
            target=locked,
            request=request,
            metadata={"operation": "updated", "before": before, "after": _rule_snapshot(locked)},
        )
    return locked


def alert_rule_delete(*, rule: AlertRule, actor: Any = None, request: Any = None) -> None:
    """Delete a rule; its alerts stay (``rule`` becomes null). The rule row is locked first, then its alerts
    are detached (lock order AlertRule → AlertEvent)."""
    with transaction.atomic():
        locked = AlertRule.objects_all_tenants.select_for_update().get(pk=rule.pk)
        snapshot = _rule_snapshot(locked)
        pk = locked.pk
        locked.delete()
        audit_record(
            action=AuditAction.ALERT_RULE_CHANGED,
            customer_id=rule.customer_id,
            actor=actor,
            target_type=AlertRule._meta.label_lower,
            target_id=pk,
            request=request,
            metadata={"operation": "deleted", "before": snapshot},
        )


# --- feedback ---------------------------------------------------------------------------------------------


_FEEDBACK_INSERT = """
INSERT INTO {table} (customer_id, alert_id, operator_id, verdict, reason_codes, recovered_amount,
                     recovered_date, notes, created_at, updated_at)
VALUES (%s, %s, %s, %s, %s, %s, %s, %s, now(), now())
ON CONFLICT (customer_id, alert_id, operator_id) DO NOTHING
RETURNING id
"""


def alert_feedback_submit(
    *,
    alert_id: int,
    operator: Any,
    verdict: str,
    reason_codes: list[str] | None = None,
    recovered_amount: Decimal | None = None,
    recovered_date: datetime.date | None = None,
    notes: str = "",
    request: Any = None,
) -> tuple[OperatorFeedback, bool]:
    """Record (or replace) ``operator``'s verdict on an alert of the active tenant; (feedback, created).

    The alert row is locked first, so concurrent feedback on one alert is applied one at a time; the
    insert is ``ON CONFLICT DO NOTHING`` on (customer, alert, operator) and, when a row was already there,
    that row is updated. The alert then takes the status of the verdict (real → acknowledged, noise →
    resolved, needs_followup → open) unless it was suppressed (a record of what was not delivered stays
    so). Audited; ``alert.updated`` goes to the webhook outbox when the alert was delivered and its rule
    delivers webhooks.
    """
    with transaction.atomic():
        alert = AlertEvent.objects.select_for_update(of=("self",)).select_related("rule").get(pk=alert_id)
        values = {
            "verdict": verdict,
            "reason_codes": list(reason_codes or []),
            "recovered_amount": recovered_amount,
            "recovered_date": recovered_date,
            "notes": notes,
        }
        with connection.cursor() as cursor:
            cursor.execute(
                _FEEDBACK_INSERT.format(table=OperatorFeedback._meta.db_table),
                [alert.customer_id, alert.pk, operator.pk, *values.values()],
            )
            row = cursor.fetchone()
        created = row is not None
        if created:
            feedback = OperatorFeedback.objects.get(pk=row[0])
        else:
            feedback = OperatorFeedback.objects.get(alert=alert, operator=operator)
            for name, value in values.items():
                setattr(feedback, name, value)
            feedback.save()
        previous_status = alert.status
        if alert.status != AlertStatus.SUPPRESSED:
            alert.status = VERDICT_STATUS[Verdict(verdict)]
            alert.save(update_fields=["status", "updated_at"])
        audit_record(
            action=AuditAction.ALERT_FEEDBACK_GIVEN,
            customer_id=alert.customer_id,
            actor=operator,
            target=alert,
            request=request,
            metadata={
                "feedback_id": feedback.pk,
                "verdict": verdict,
                "reason_codes": feedback.reason_codes,
                "created": created,
                "previous_status": previous_status,
                "status": alert.status,
            },
        )
        delivered = previous_status != AlertStatus.SUPPRESSED
        if delivered and alert.rule is not None and alert.rule.webhook_enabled:
            verdicts = list(OperatorFeedback.objects.filter(alert=alert).values_list("verdict", flat=True))
            webhook_event_emit(
                customer_id=alert.customer_id,
                event_type=EventType.ALERT_UPDATED,
                data=alert_updated_data(
                    alert=alert, previous_status=previous_status, verdict=verdict, verdicts=verdicts
                ),
            )
    return feedback, created
