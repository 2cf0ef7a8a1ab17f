"""Turning a run's drift events into alerts (SPEC §8): rule matching, fingerprints, insert-or-skip with
``ON CONFLICT DO NOTHING``, suppression (cooldown, noise), and what a delivered alert sets in motion (e-mail
on commit, ``alert.created`` into the webhook outbox).

``alerts_evaluate`` runs inside the drift run's write transaction, after its events are inserted and while
it holds the Customer row lock (lock order Customer → ReportRun → DriftEvent → AlertRule → AlertEvent →
WebhookDelivery), so the evaluations of one customer never interleave.
"""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from django.db import connection, transaction
from django.db.models import Count, Q
from django.utils import timezone

from upstream.alerts.models import (
    AlertEvent,
    AlertRule,
    AlertSettings,
    AlertStatus,
    EmailStatus,
    SuppressionReason,
    Verdict,
)
from upstream.alerts.payloads import alert_created_data
from upstream.drift.models import Direction, DriftEvent
from upstream.tenancy.selectors import customer_admin_emails
from upstream.webhooks.models import EventType
from upstream.webhooks.services import webhook_event_emit

Signal = tuple[str, str, str]  # (payer, cpt_group, drift_type)


@dataclass
class Evaluation:
    """The alerts one evaluation created (delivered and suppressed); matches already alerted are skipped."""

    created: list[AlertEvent] = field(default_factory=list)

    @property
    def delivered(self) -> list[AlertEvent]:
        return [a for a in self.created if a.status != AlertStatus.SUPPRESSED]

    @property
    def suppressed(self) -> list[AlertEvent]:
        return [a for a in self.created if a.status == AlertStatus.SUPPRESSED]


def rule_matches(rule: AlertRule, event: DriftEvent) -> bool:
    """Does ``event`` match ``rule``? Empty drift types / payer / CPT group match everything; payer and
    group compare case-insensitively (a rule's ``cpt_group`` "ALL" matches the payer-wide roll-ups only)."""
    if rule.drift_types and event.drift_type not in rule.drift_types:
        return False
    if rule.payer and rule.payer.casefold() != event.payer.casefold():
        return False
    if rule.cpt_group and rule.cpt_group.casefold() != event.cpt_group.casefold():
        return False
    if event.severity < rule.min_severity:
        return False
    return not (rule.worsening_only and event.direction != Direction.WORSENING)


def alert_fingerprint(*, rule_id: int, payer: str, cpt_group: str, drift_type: str, current_end: Any) -> str:
    """sha256 of (rule, payer, cpt_group, drift_type, current window end): the same signal of the same
    window raises one alert per rule, however many runs see it."""
    key = json.dumps([rule_id, payer, cpt_group, drift_type, current_end.isoformat()], ensure_ascii=False)
    return hashlib.sha256(key.encode()).hexdigest()


def alerts_evaluate(*, customer_id: int, drift_events: Sequence[DriftEvent]) -> Evaluation:
    """Raise the alerts of ``drift_events`` (one run's events) for the customer's enabled rules.

    Must be called inside the transaction that holds the customer's row lock. Matches whose fingerprint
    already has an alert are skipped by the insert itself; each truly new alert is then suppressed or
    delivered (e-mail enqueued on commit, ``alert.created`` written to the webhook outbox).
    """
    if not drift_events:
        return Evaluation()
    # FOR NO KEY UPDATE, in id order: a rule cannot be deleted (or edited) between matching and the insert
    # that references it.
    rules = list(
        AlertRule.objects_all_tenants.select_for_update(no_key=True)
        .filter(customer_id=customer_id, enabled=True)
        .order_by("id")
    )
    matches = [(rule, event) for rule in rules for event in drift_events if rule_matches(rule, event)]
    if not matches:
        return Evaluation()
    created = _insert_new(customer_id=customer_id, matches=matches)
    if not created:
        return Evaluation()
    settings = alert_settings_for(customer_id=customer_id)
    _decide(customer_id=customer_id, alerts=created, settings=settings)
    for alert in created:
        if alert.status == AlertStatus.SUPPRESSED:
            continue
        if alert.email_status == EmailStatus.PENDING:
            transaction.on_commit(functools.partial(_enqueue_email, alert.pk, customer_id), robust=True)
        if alert.rule is not None and alert.rule.webhook_enabled:
            webhook_event_emit(
                customer_id=customer_id,
                event_type=EventType.ALERT_CREATED,
                data=alert_created_data(alert=alert, event=alert.drift_event),
            )
    return Evaluation(created=created)


def alert_settings_for(*, customer_id: int) -> AlertSettings:
    from upstream.alerts.services import alert_settings_get

    return alert_settings_get(customer_id=customer_id)


# AlertEvent attribute names, which are also the column names (``*_id`` for the foreign keys).
_INSERT_COLUMNS = (
    "customer_id",
    "rule_id",
    "drift_event_id",
    "fingerprint",
    "payer",
    "cpt_group",
    "drift_type",
    "severity",
    "current_end",
    "status",
    "suppression_reason",
    "email_status",
    "email_attempts",
    "email_error",
    "created_at",
    "updated_at",
)


def _insert_new(*, customer_id: int, matches: list[tuple[AlertRule, DriftEvent]]) -> list[AlertEvent]:
    """One ``INSERT … ON CONFLICT (customer_id, fingerprint) DO NOTHING RETURNING id, fingerprint``: only
    the rows that were really inserted come back, so an alert another run already raised (committed, or
    committing while we waited on its lock) is skipped without an error."""
    now = timezone.now()
    by_fingerprint: dict[str, AlertEvent] = {}
    for rule, event in matches:
        fingerprint = alert_fingerprint(
            rule_id=rule.pk,
            payer=event.payer,
            cpt_group=event.cpt_group,
            drift_type=event.drift_type,
            current_end=event.current_end,
        )
        alert = AlertEvent(
            customer_id=customer_id,
            rule=rule,
            drift_event=event,
            fingerprint=fingerprint,
            payer=event.payer,
            cpt_group=event.cpt_group,
            drift_type=event.drift_type,
            severity=event.severity,
            current_end=event.current_end,
            status=AlertStatus.OPEN,
            suppression_reason=SuppressionReason.NONE,
            email_status=EmailStatus.NOT_REQUIRED,
            email_attempts=0,
            email_error="",
            created_at=now,
            updated_at=now,
        )
        by_fingerprint.setdefault(fingerprint, alert)
    rows = list(by_fingerprint.values())
    values = [[getattr(alert, column) for column in _INSERT_COLUMNS] for alert in rows]
    placeholders = ", ".join("(" + ", ".join(["%s"] * len(_INSERT_COLUMNS)) + ")" for _ in values)
    # Identifiers are our own constants; every value is a query parameter.
    sql = (
        f"INSERT INTO {AlertEvent._meta.db_table} ({', '.join(_INSERT_COLUMNS)}) VALUES {placeholders} "  # noqa: S608
        "ON CONFLICT (customer_id, fingerprint) DO NOTHING RETURNING id, fingerprint"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [value for row in values for value in row])
        inserted = {fingerprint: pk for pk, fingerprint in cursor.fetchall()}
    created = []
    for alert in rows:  # in match order: rule id, then the run's event order
        pk = inserted.get(alert.fingerprint)
        if pk is None:
            continue
        alert.pk = pk
        alert._state.adding = False
        created.append(alert)
    return created


def _signal(alert: AlertEvent) -> Signal:
    return (alert.payer, alert.cpt_group, alert.drift_type)


def _signals_q(signals: set[Signal]) -> Q:
    query = Q()
    for payer, cpt_group, drift_type in sorted(signals):
        query |= Q(payer=payer, cpt_group=cpt_group, drift_type=drift_type)
    return query


def _decide(*, customer_id: int, alerts: list[AlertEvent], settings: AlertSettings) -> None:
    """Suppress or deliver each new alert and save the decisions in one bulk update.

    noise: at least ``noise_threshold`` earlier alerts of the signal, created within ``noise_window_days``,
    were judged ``noise`` by some operator. cooldown: a delivered (non-suppressed) alert of the signal was
    created within ``cooldown_minutes`` — earlier, or earlier in this very evaluation (another rule matching
    the same event). Noise is checked first. A delivered alert e-mails when it has recipients.
    """
    now = timezone.now()
    new_ids = [a.pk for a in alerts]
    signals = {_signal(a) for a in alerts}
    earlier = AlertEvent.objects_all_tenants.filter(customer_id=customer_id).filter(_signals_q(signals))
    earlier = earlier.exclude(pk__in=new_ids)
    cooling: set[Signal] = set()
    if settings.cooldown_minutes > 0:
        cooling = set(
            earlier.filter(created_at__gte=now - timedelta(minutes=settings.cooldown_minutes))
            .exclude(status=AlertStatus.SUPPRESSED)
            .values_list("payer", "cpt_group", "drift_type")
            .distinct()
        )
    noisy = {
        (row["payer"], row["cpt_group"], row["drift_type"]): row["judged"]
        for row in earlier.filter(
            created_at__gte=now - timedelta(days=settings.noise_window_days),
            feedback__verdict=Verdict.NOISE,
        )
        .values("payer", "cpt_group", "drift_type")
        .annotate(judged=Count("id", distinct=True))
    }
    admin_emails: list[str] | None = None
    delivered: set[Signal] = set()
    for alert in alerts:
        signal = _signal(alert)
        if noisy.get(signal, 0) >= settings.noise_threshold:
            alert.status, alert.suppression_reason = AlertStatus.SUPPRESSED, SuppressionReason.NOISE
        elif settings.cooldown_minutes > 0 and (signal in cooling or signal in delivered):
            alert.status, alert.suppression_reason = AlertStatus.SUPPRESSED, SuppressionReason.COOLDOWN
        else:
            delivered.add(signal)
            rule = alert.rule
            if rule is not None and rule.email_admins and admin_emails is None:
                admin_emails = customer_admin_emails(customer_id=customer_id)
            if rule is not None and alert_recipients(rule=rule, admin_emails=admin_emails or []):
                alert.email_status = EmailStatus.PENDING
    AlertEvent.objects_all_tenants.bulk_update(alerts, ["status", "suppression_reason", "email_status"])


def alert_recipients(*, rule: AlertRule, admin_emails: list[str]) -> list[str]:
    """The rule's own recipients, plus the customer's owners and admins when ``email_admins``; each address
    once (case-insensitively), in a stable order."""
    seen: dict[str, str] = {}
    for address in [*rule.email_recipients, *(admin_emails if rule.email_admins else [])]:
        seen.setdefault(address.strip().lower(), address.strip())
    return sorted(seen.values(), key=str.lower)


def _enqueue_email(alert_id: int, customer_id: int) -> None:
    from upstream.alerts.tasks import send_email

    send_email.delay(alert_id=alert_id, customer_id=customer_id)
