"""Celery tasks of alerts: a thin wrapper around the e-mail service, retried with exponential backoff."""

from __future__ import annotations

import datetime
from typing import Any

from celery import shared_task
from django.conf import settings

from upstream.alerts.email import EmailOutcome, alert_email_send, alert_emails_stuck
from upstream.tenancy.scoping import runs_in_tenant_scope

BACKOFF_BASE_SECONDS = 60
BACKOFF_MAX_SECONDS = 3600


def retry_countdown(retries: int) -> int:
    """60 s, 2 min, 4 min, 8 min, … capped at an hour."""
    return int(min(BACKOFF_MAX_SECONDS, BACKOFF_BASE_SECONDS * 2**retries))


@shared_task(bind=True, name="alerts.send_email", acks_late=True, max_retries=None)
@runs_in_tenant_scope
def send_email(self: Any, *, alert_id: int, customer_id: int) -> str:
    """Send an alert's e-mail; the attempts are counted on the alert (which also bounds the retries, so a
    redelivered message cannot retry forever)."""
    outcome = alert_email_send(alert_id=alert_id, max_retries=settings.ALERT_EMAIL_MAX_RETRIES)
    if outcome == EmailOutcome.RETRY:
        raise self.retry(countdown=retry_countdown(self.request.retries))
    return outcome


@shared_task(name="alerts.sweep_emails", acks_late=True)
def sweep_emails() -> int:
    """Beat job: re-enqueue alert e-mails whose queue message was lost, so a broker hiccup loses no e-mail.
    Safe to overlap with a live task: the attempt locks the alert and skips it once no longer pending."""
    quiet_for = datetime.timedelta(minutes=settings.ALERT_EMAIL_SWEEP_AFTER_MINUTES)
    stuck = alert_emails_stuck(older_than=quiet_for)
    for alert_id, customer_id in stuck:
        send_email.delay(alert_id=alert_id, customer_id=customer_id)
    return len(stuck)
