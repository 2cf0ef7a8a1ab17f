"""Celery tasks of alerts: a thin wrapper around the e-mail service, retried with exponential backoff."""

from __future__ import annotations

from typing import Any

from celery import shared_task
from django.conf import settings

from upstream.alerts.email import EmailOutcome, alert_email_send
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
