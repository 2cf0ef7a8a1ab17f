"""The alert e-mail (SPEC §8, §10): content (HTML + text, numbers, link), recipients, no PHI anywhere an
alert goes (mail and webhook payloads), retries with backoff ending ``failed``, and ``sent``."""

from __future__ import annotations

import datetime
import json
import smtplib
from typing import Any, ClassVar

import pytest
from django.core import mail
from django.core.mail.backends.base import BaseEmailBackend
from django.utils import timezone

from upstream.alerts.models import AlertEvent, EmailStatus
from upstream.alerts.services import alert_rule_create_default
from upstream.alerts.tasks import retry_countdown, send_email, sweep_emails
from upstream.alerts.tests.factories import AlertEventFactory, AlertRuleFactory, endpoint
from upstream.alerts.tests.helpers import FAKE_ACCOUNT, FAKE_MEMBER_ID, FAKE_PATIENT, drifting_claims
from upstream.claims.models import ClaimRecord
from upstream.core.testing.tenants import Tenant
from upstream.drift import services as drift_services
from upstream.drift.tests.factories import ReportRunFactory as QueuedRunFactory
from upstream.tenancy.models import Membership
from upstream.tenancy.roles import Role
from upstream.webhooks.models import WebhookDelivery

pytestmark = pytest.mark.django_db


class FailingBackend(BaseEmailBackend):
    """Every send raises, like an SMTP server refusing; counts the attempts."""

    calls: ClassVar[int] = 0

    def send_messages(self, email_messages: Any) -> int:
        type(self).calls += 1
        raise smtplib.SMTPServerDisconnected("Connection unexpectedly closed\nserver said: goodbye")


class FlakyBackend(BaseEmailBackend):
    """The first send fails, the next ones go to the locmem outbox."""

    calls: ClassVar[int] = 0

    def send_messages(self, email_messages: Any) -> int:
        type(self).calls += 1
        if type(self).calls == 1:
            raise ConnectionRefusedError("[Errno 111] Connection refused")
        mail.outbox.extend(email_messages)
        return len(email_messages)


def _pending_alert(tenant: Tenant, **rule_fields: Any) -> AlertEvent:
    rule = {
        "name": "Aetna watch",
        "email_recipients": ["rcm@clinic.example", f"Owner.{tenant.customer.slug}@example.test"],
        "email_admins": True,
        **rule_fields,
    }
    alert: AlertEvent = AlertEventFactory.create(
        drift_event__report_run__customer=tenant.customer,
        drift_event__payer="Aetna",
        drift_event__severity=0.8,
        drift_event__baseline_value=0.081,
        drift_event__current_value=0.224,
        drift_event__revenue_impact="31877.42",
        email_status=EmailStatus.PENDING,
        **{f"rule__{k}": v for k, v in rule.items()},
    )
    return alert


@pytest.fixture
def eager_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    """Let an eagerly applied task run its retries in place: with eager propagation (the suite's setting)
    Celery raises ``Retry`` to the caller instead of applying the retry."""
    monkeypatch.setitem(send_email.app.conf, "task_eager_propagates", False)


def _stored(alert: AlertEvent) -> AlertEvent:
    return AlertEvent.objects_all_tenants.get(pk=alert.pk)


def _send(alert: AlertEvent) -> Any:
    return send_email.delay(alert_id=alert.pk, customer_id=alert.customer_id)


def test_email_content_text_and_html(tenant: Tenant, mailoutbox: list[Any]) -> None:
    alert = _pending_alert(tenant)

    assert _send(alert).get() == "sent"

    [message] = mailoutbox
    assert message.subject == "[Upstream] Critical denial-rate drift: Aetna / E&M"
    assert message.from_email == "Upstream <alerts@upstream.local>"
    slug = tenant.customer.slug
    # The rule's recipients plus the owner and admin, each address once (case-insensitively).
    assert message.to == [f"admin.{slug}@example.test", f"Owner.{slug}@example.test", "rcm@clinic.example"]
    link = f"https://upstream.example/api/v1/alerts/{alert.pk}/"
    for needle in (
        link,
        "8.1%",
        "22.4%",
        "+14.3 points",
        "$31,877.42",
        "Aetna watch",
        "400 claims",
        "80 claims",
    ):
        assert needle in message.body, needle
    [(html, mimetype)] = message.alternatives
    assert mimetype == "text/html"
    for needle in (f'href="{link}"', "8.1%", "22.4%", "+14.3 points", "$31,877.42", "E&amp;M"):
        assert needle in html, needle
    stored = _stored(alert)
    assert (stored.email_status, stored.email_attempts, stored.email_error) == (EmailStatus.SENT, 1, "")
    assert stored.email_sent_at is not None


def test_sending_again_does_not_send_twice(tenant: Tenant, mailoutbox: list[Any]) -> None:
    alert = _pending_alert(tenant)

    assert [_send(alert).get(), _send(alert).get()] == ["sent", "skipped"]

    assert len(mailoutbox) == 1
    assert _stored(alert).email_attempts == 1


def test_no_recipients_left_is_not_required(tenant: Tenant, mailoutbox: list[Any]) -> None:
    alert = _pending_alert(tenant, email_recipients=[], email_admins=False)

    assert _send(alert).get() == "not_required"

    assert mailoutbox == []
    assert (_stored(alert).email_status, _stored(alert).email_attempts) == (EmailStatus.NOT_REQUIRED, 0)


def test_inactive_or_lower_roles_are_not_emailed(tenant: Tenant, mailoutbox: list[Any]) -> None:
    alert = _pending_alert(tenant, email_recipients=[])
    Membership.objects_all_tenants.filter(customer=tenant.customer, role=Role.ADMIN).update(role=Role.ANALYST)

    _send(alert)

    assert mailoutbox[0].to == [f"owner.{tenant.customer.slug}@example.test"]


@pytest.mark.usefixtures("eager_retries")
def test_a_failing_backend_is_retried_then_failed(
    tenant: Tenant, settings: Any, mailoutbox: list[Any]
) -> None:
    settings.EMAIL_BACKEND = f"{__name__}.FailingBackend"
    FailingBackend.calls = 0
    alert = _pending_alert(tenant)

    assert _send(alert).get() == "failed"  # eager: the retries run in place (countdowns are not waited for)

    assert FailingBackend.calls == settings.ALERT_EMAIL_MAX_RETRIES + 1 == 4
    stored = _stored(alert)
    assert (stored.email_status, stored.email_attempts, stored.email_sent_at) == (EmailStatus.FAILED, 4, None)
    assert stored.email_error == "SMTPServerDisconnected: Connection unexpectedly closed"  # first line only
    assert mailoutbox == []


@pytest.mark.usefixtures("eager_retries")
def test_a_transient_failure_is_retried_and_sent(
    tenant: Tenant, settings: Any, mailoutbox: list[Any]
) -> None:
    settings.EMAIL_BACKEND = f"{__name__}.FlakyBackend"
    FlakyBackend.calls = 0
    alert = _pending_alert(tenant)

    _send(alert)

    stored = _stored(alert)
    assert (stored.email_status, stored.email_attempts, stored.email_error) == (EmailStatus.SENT, 2, "")
    assert len(mailoutbox) == 1


def test_backoff_is_exponential_and_capped() -> None:
    assert [retry_countdown(n) for n in range(8)] == [60, 120, 240, 480, 960, 1920, 3600, 3600]


def test_nothing_of_the_claims_reaches_mail_or_webhooks(
    tenant: Tenant, django_capture_on_commit_callbacks: Any, mailoutbox: list[Any]
) -> None:
    """A real run over claims with recognisable fake PHI: the e-mails and every webhook payload carry
    aggregate numbers only — no patient data, no claim numbers, no claim ids, nothing of the evidence."""
    customer = tenant.customer
    claim_numbers = drifting_claims(customer)
    alert_rule_create_default(customer_id=customer.pk)
    AlertRuleFactory.create(
        customer=customer, name="Roll-ups", cpt_group="ALL", email_recipients=["x@y.example"]
    )
    endpoint(customer, "all")
    run = QueuedRunFactory.create(customer=customer)

    with django_capture_on_commit_callbacks(execute=True):
        drift_services.drift_run_execute(report_run_id=run.pk)

    assert sorted(
        AlertEvent.objects_all_tenants.filter(customer=customer).values_list("email_status", flat=True)
    ) == [
        EmailStatus.NOT_REQUIRED,  # the roll-up rule's alert: cooled down by the default rule's
        EmailStatus.SENT,
        EmailStatus.SENT,
    ]
    assert len(mailoutbox) == 2
    texts = [m.subject + m.body + m.alternatives[0][0] for m in mailoutbox]
    payloads = [json.dumps(d.payload) for d in WebhookDelivery.objects_all_tenants.filter(customer=customer)]
    assert len(payloads) == 3  # two alert.created, one report_run.completed
    claim_ids = [
        str(pk)
        for pk in ClaimRecord.objects_all_tenants.filter(customer=customer).values_list("pk", flat=True)
    ]
    for text in texts + payloads:
        for phi in (FAKE_PATIENT, "Zebulon", FAKE_MEMBER_ID, FAKE_ACCOUNT, "evidence", "claim_ids", "CO-50"):
            assert phi not in text
        for number in claim_numbers:
            assert number not in text
    for payload in payloads:
        data = json.loads(payload)["data"]
        assert not {k for k, v in data.items() if isinstance(v, int | str) and str(v) in claim_ids} - {
            "alert_id",
            "rule_id",
            "drift_event_id",
            "report_run_id",
            "groups_tested",
            "tests_run",
            "claims_considered",
            "events_count",
            "alerts_created",
            "alerts_suppressed",
            "baseline_n",
            "current_n",
        }


def test_the_sweeper_sends_emails_whose_queue_message_was_lost(
    tenant: Tenant, other_tenant: Tenant, mailoutbox: list[Any], settings: Any
) -> None:
    """A pending e-mail untouched for longer than ALERT_EMAIL_SWEEP_AFTER_MINUTES lost its queue message:
    the beat sweeper sends it (every tenant's); a recently touched one may still be in its retry backoff
    and is left alone, as are e-mails that are no longer pending."""
    settings.ALERT_EMAIL_SWEEP_AFTER_MINUTES = 120
    lost_here = _pending_alert(tenant, name="lost")
    lost_there = _pending_alert(other_tenant, name="lost")
    in_backoff = _pending_alert(tenant, name="in backoff")
    already_sent = _pending_alert(tenant, name="sent")
    AlertEvent.objects_all_tenants.filter(pk=already_sent.pk).update(email_status=EmailStatus.SENT)
    long_ago = timezone.now() - datetime.timedelta(minutes=121)
    AlertEvent.objects_all_tenants.filter(pk__in=[lost_here.pk, lost_there.pk, already_sent.pk]).update(
        updated_at=long_ago
    )

    assert sweep_emails.delay().get() == 2

    assert sorted(message.to[-1] for message in mailoutbox) == ["rcm@clinic.example"] * 2
    assert {pk: _stored(AlertEvent(pk=pk)).email_status for pk in (lost_here.pk, lost_there.pk)} == {
        lost_here.pk: EmailStatus.SENT,
        lost_there.pk: EmailStatus.SENT,
    }
    assert _stored(in_backoff).email_status == EmailStatus.PENDING
    assert _stored(already_sent).email_attempts == 0
    assert sweep_emails.delay().get() == 0  # nothing left to pick up
