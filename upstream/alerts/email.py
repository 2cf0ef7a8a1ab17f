"""The alert e-mail (SPEC §8): HTML + plain text through Django's e-mail backend, no PHI, a link to the
alert; the sending service records every attempt and the task retries failures."""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone

from upstream.alerts.evaluation import alert_recipients
from upstream.alerts.models import AlertEvent, EmailStatus
from upstream.drift.models import DriftType
from upstream.tenancy.selectors import customer_admin_emails

ERROR_MAX_CHARS = 500
DRIFT_TYPE_PHRASE = {
    DriftType.DENIAL_RATE: "denial-rate",
    DriftType.DECISION_TIME: "decision-time",
    DriftType.PAYMENT_DELAY: "payment-delay",
    DriftType.DENIAL_DOLLARS: "denied-dollars",
}
METRIC = {
    DriftType.DENIAL_RATE: "Denial rate (denied / decided claims)",
    DriftType.DECISION_TIME: "Median days from submission to decision",
    DriftType.PAYMENT_DELAY: "Median days from decision to payment",
    DriftType.DENIAL_DOLLARS: "Mean denied dollars per claim",
}


class EmailOutcome:
    SENT = "sent"
    RETRY = "retry"
    FAILED = "failed"
    NOT_REQUIRED = "not_required"
    SKIPPED = "skipped"  # not pending any more (sent by an earlier attempt, or suppressed)


@dataclass(frozen=True)
class RenderedEmail:
    subject: str
    text: str
    html: str


def _one_line(value: str) -> str:
    return " ".join(value.split())


def _format(drift_type: str, value: float) -> str:
    if drift_type == DriftType.DENIAL_RATE:
        return f"{value * 100:.1f}%"
    if drift_type == DriftType.DENIAL_DOLLARS:
        return f"${value:,.2f}"
    return f"{value:.1f} days"


def _format_delta(drift_type: str, value: float) -> str:
    sign = "+" if value >= 0 else "−"
    if drift_type == DriftType.DENIAL_RATE:
        return f"{sign}{abs(value) * 100:.1f} points"
    if drift_type == DriftType.DENIAL_DOLLARS:
        return f"{sign}${abs(value):,.2f}"
    return f"{sign}{abs(value):.1f} days"


def alert_email_render(*, alert: AlertEvent) -> RenderedEmail:
    """Subject, plain text and HTML of an alert's e-mail: the signal's aggregate numbers and a link. Built
    from the alert and its drift event only — never the event's evidence (claim ids) or claim data."""
    event = alert.drift_event
    group = "all CPT groups" if event.cpt_group == "ALL" else event.cpt_group
    label = event.severity_label.capitalize()
    subject = _one_line(
        f"[Upstream] {label} {DRIFT_TYPE_PHRASE[DriftType(event.drift_type)]} drift: {event.payer} / {group}"
    )
    context: dict[str, Any] = {
        "alert": alert,
        "event": event,
        "group": group,
        "severity_label": label,
        "drift_type_label": DriftType(event.drift_type).label,
        "metric": METRIC[DriftType(event.drift_type)],
        "baseline": _format(event.drift_type, event.baseline_value),
        "current": _format(event.drift_type, event.current_value),
        "delta": _format_delta(event.drift_type, event.delta),
        "revenue_impact": f"${event.revenue_impact:,.2f}",
        "rule_name": alert.rule.name if alert.rule is not None else "(deleted rule)",
        "link": f"{settings.PUBLIC_BASE_URL.rstrip('/')}/api/v1/alerts/{alert.pk}/",
    }
    return RenderedEmail(
        subject=subject,
        text=render_to_string("alerts/email/alert.txt", context),
        html=render_to_string("alerts/email/alert.html", context),
    )


def _error_text(exc: BaseException) -> str:
    first_line = (str(exc).strip().splitlines() or [""])[0]
    return f"{type(exc).__name__}: {first_line}"[:ERROR_MAX_CHARS]


def alert_email_send(*, alert_id: int, max_retries: int) -> str:
    """One attempt at an alert's e-mail, inside the active tenant scope; returns an ``EmailOutcome``.

    The alert row is locked for the attempt, so two workers never send the same pending e-mail twice. The
    attempt is counted; a failure records the exception type and first message line and answers ``retry``
    until ``max_retries`` retries were spent (``max_retries + 1`` attempts), then ``failed``. Recipients are
    computed now (the rule's list, plus the current owners and admins when the rule says so); none left →
    ``not_required``.
    """
    with transaction.atomic():
        alert = (
            AlertEvent.objects.select_for_update(of=("self",))
            .select_related("rule", "drift_event")
            .get(pk=alert_id)
        )
        if alert.email_status != EmailStatus.PENDING:
            return EmailOutcome.SKIPPED
        rule = alert.rule
        admins = customer_admin_emails(customer_id=alert.customer_id) if rule and rule.email_admins else []
        recipients = alert_recipients(rule=rule, admin_emails=admins) if rule is not None else []
        if not recipients:
            alert.email_status = EmailStatus.NOT_REQUIRED
            alert.save(update_fields=["email_status", "updated_at"])
            return EmailOutcome.NOT_REQUIRED
        rendered = alert_email_render(alert=alert)
        message = EmailMultiAlternatives(
            subject=rendered.subject,
            body=rendered.text,
            from_email=settings.DEFAULT_FROM_EMAIL,
            to=recipients,
        )
        message.attach_alternative(rendered.html, "text/html")
        alert.email_attempts += 1
        try:
            message.send(fail_silently=False)
        except Exception as exc:
            alert.email_error = _error_text(exc)
            outcome = EmailOutcome.RETRY if alert.email_attempts <= max_retries else EmailOutcome.FAILED
            if outcome == EmailOutcome.FAILED:
                alert.email_status = EmailStatus.FAILED
            alert.save(update_fields=["email_attempts", "email_error", "email_status", "updated_at"])
            return outcome
        alert.email_status = EmailStatus.SENT
        alert.email_sent_at = timezone.now()
        alert.email_error = ""
        alert.save(
            update_fields=["email_attempts", "email_error", "email_status", "email_sent_at", "updated_at"]
        )
        return EmailOutcome.SENT


def alert_emails_stuck(*, older_than: datetime.timedelta) -> list[tuple[int, int]]:
    """``(alert id, customer id)`` of every tenant's alerts whose e-mail is still ``pending`` and untouched
    for ``older_than`` — longer than any retry backoff, so their queue message was lost (a broker restart, a
    worker killed before acknowledging). Cross-tenant: for the sweeper only."""
    cutoff = timezone.now() - older_than
    return list(
        AlertEvent.objects_all_tenants.filter(email_status=EmailStatus.PENDING, updated_at__lt=cutoff)
        .order_by("updated_at")
        .values_list("pk", "customer_id")
    )
