"""Delivery against a real HTTP receiver on 127.0.0.1: retries with the same webhook-id, final failures, 410,
timeouts, the sweeper picking up lost queue messages and expired leases, rotation, redelivery, the address
policy at send time and auto-disable."""

from __future__ import annotations

import datetime
import json
import socket
from typing import Any

import pytest
from django.core import mail
from django.core.mail import EmailMultiAlternatives
from django.utils import timezone

from upstream.audit.models import AuditAction, AuditEvent
from upstream.core.testing.tenants import Tenant
from upstream.tenancy.roles import Role
from upstream.tenancy.scoping import tenant_scope
from upstream.webhooks import addresses, outbox, services, signing
from upstream.webhooks.models import AttemptOutcome, DeliveryStatus, WebhookDelivery, WebhookEndpoint
from upstream.webhooks.tests.helpers import (
    attempts,
    deliver,
    emit,
    endpoint_create,
    endpoint_reload,
    make_due,
    reload,
)
from upstream.webhooks.tests.receiver import Receiver, Reply

pytestmark = pytest.mark.django_db
SECRET = signing.secret_generate()


@pytest.fixture
def receiver() -> Any:
    with Receiver() as running:
        yield running


def _endpoint(tenant: Tenant, receiver: Receiver, **kwargs: Any) -> WebhookEndpoint:
    endpoint = endpoint_create(tenant.customer.pk, receiver.url, **kwargs)
    receiver.secrets = [endpoint.secret]
    return endpoint


def test_503_503_200_three_attempts_with_the_same_webhook_id(
    tenant: Tenant, receiver: Receiver, settings: Any
) -> None:
    receiver.script(Reply(503, body=b"down"), Reply(503, body=b"still down"), Reply(200, body=b"thanks"))
    endpoint = _endpoint(tenant, receiver)
    delivery = emit(endpoint, {"alert_id": 17, "severity": 0.6})
    assert deliver(delivery) == AttemptOutcome.RETRY
    make_due(delivery)
    assert deliver(delivery) == AttemptOutcome.RETRY
    make_due(delivery)
    assert deliver(delivery) == AttemptOutcome.SUCCEEDED

    delivery = reload(delivery)
    assert delivery.status == DeliveryStatus.SUCCEEDED
    assert delivery.attempts_count == 3
    assert delivery.delivered_at is not None
    assert [(a.number, a.status_code, a.outcome, a.response_body) for a in attempts(delivery)] == [
        (1, 503, AttemptOutcome.RETRY, "down"),
        (2, 503, AttemptOutcome.RETRY, "still down"),
        (3, 200, AttemptOutcome.SUCCEEDED, "thanks"),
    ]
    assert [r.webhook_id for r in receiver.requests] == [str(delivery.pk)] * 3
    assert all(r.headers["x-idempotency-key"] == str(delivery.pk) for r in receiver.requests)
    assert all(r.verified_by == [endpoint.secret] for r in receiver.requests)
    assert len({r.body for r in receiver.requests}) == 1  # the same bytes on every attempt
    first = receiver.requests[0]
    assert first.body == signing.body_serialize(delivery.payload)
    assert first.json()["data"] == {"alert_id": 17, "severity": 0.6}
    assert first.json()["type"] == "alert.created"
    assert first.headers["content-type"] == "application/json"
    assert first.headers["user-agent"] == f"Upstream-Webhooks/{settings.VERSION}"
    assert first.path == "/hooks"


def test_400_fails_after_one_attempt(tenant: Tenant, receiver: Receiver) -> None:
    receiver.script(Reply(400, body=b'{"error": "bad"}'))
    delivery = emit(_endpoint(tenant, receiver))
    assert deliver(delivery) == AttemptOutcome.FAILED
    delivery = reload(delivery)
    assert (delivery.status, delivery.attempts_count, delivery.last_status_code) == (
        DeliveryStatus.FAILED,
        1,
        400,
    )
    assert delivery.last_error == "HTTP 400"
    make_due(delivery)
    assert deliver(delivery) == "not_due"  # finished: never claimed again
    assert len(receiver.requests) == 1


def test_410_disables_the_endpoint_and_emails_the_admins(tenant: Tenant, receiver: Receiver) -> None:
    receiver.script(Reply(410))
    endpoint = _endpoint(tenant, receiver)
    delivery = emit(endpoint)
    waiting = emit(endpoint)  # another pending delivery of the same endpoint
    WebhookDelivery.objects_all_tenants.filter(pk=waiting.pk).update(
        next_attempt_at=timezone.now() + datetime.timedelta(minutes=5)
    )
    assert deliver(delivery) == AttemptOutcome.FAILED

    endpoint = endpoint_reload(endpoint)
    assert endpoint.active is False
    assert endpoint.disabled_reason == "The receiver answered 410 Gone."
    assert endpoint.disabled_at is not None
    assert reload(delivery).last_error == "HTTP 410 Gone: the endpoint is disabled"
    waiting = reload(waiting)
    assert waiting.status == DeliveryStatus.FAILED
    assert waiting.last_error == "Not sent: the endpoint was disabled. The receiver answered 410 Gone."

    (message,) = mail.outbox
    assert sorted(message.to) == sorted([tenant.users[Role.OWNER].email, tenant.users[Role.ADMIN].email])
    assert "Receiver" in message.subject
    assert "410 Gone" in message.body
    assert receiver.url not in message.body  # the URL may embed a token
    assert isinstance(message, EmailMultiAlternatives)
    html, mimetype = message.alternatives[0]
    assert mimetype == "text/html"
    assert "410 Gone" in str(html)
    (audit,) = AuditEvent.objects_all_tenants.filter(action=AuditAction.WEBHOOK_ENDPOINT_DISABLED)
    assert (audit.customer_id, audit.target_id, audit.metadata["code"]) == (
        tenant.customer.pk,
        str(endpoint.pk),
        "gone",
    )
    assert audit.metadata["pending_deliveries_failed"] == 1


def test_a_timeout_is_retried(tenant: Tenant, receiver: Receiver, settings: Any) -> None:
    settings.WEBHOOK_TOTAL_TIMEOUT_SECONDS = 0.3
    receiver.script(Reply(200, delay=1.5), Reply(200))
    delivery = emit(_endpoint(tenant, receiver))
    assert deliver(delivery) == AttemptOutcome.RETRY
    first = reload(delivery)
    assert first.status == DeliveryStatus.PENDING
    assert first.last_error == "timed out waiting for the response"
    make_due(delivery)
    assert deliver(delivery) == AttemptOutcome.SUCCEEDED
    assert [a.outcome for a in attempts(delivery)] == [AttemptOutcome.RETRY, AttemptOutcome.SUCCEEDED]
    assert [r.webhook_id for r in receiver.requests] == [str(delivery.pk)] * 2


def test_a_connection_error_is_retried(tenant: Tenant) -> None:
    with Receiver() as gone:
        url = gone.url  # a port nothing listens on once the receiver stopped
    delivery = emit(endpoint_create(tenant.customer.pk, url))
    assert deliver(delivery) == AttemptOutcome.RETRY
    assert reload(delivery).last_error.startswith("connection error (")


def test_the_sweeper_sends_a_delivery_whose_queue_message_was_lost(
    tenant: Tenant, other_tenant: Tenant, receiver: Receiver
) -> None:
    # emit() writes the rows; outside a committed transaction nothing is enqueued: the message is "lost".
    mine = emit(_endpoint(tenant, receiver))
    theirs = emit(endpoint_create(other_tenant.customer.pk, receiver.url))
    later = emit(endpoint_create(other_tenant.customer.pk, receiver.url, name="Later"))
    WebhookDelivery.objects_all_tenants.filter(pk=later.pk).update(
        next_attempt_at=timezone.now() + datetime.timedelta(minutes=5)
    )
    assert outbox.deliveries_sweep(threads=1) == {AttemptOutcome.SUCCEEDED: 2}
    assert sorted(r.webhook_id for r in receiver.requests) == sorted([str(mine.pk), str(theirs.pk)])
    assert reload(mine).status == reload(theirs).status == DeliveryStatus.SUCCEEDED
    assert reload(later).status == DeliveryStatus.PENDING
    assert outbox.deliveries_sweep(threads=1) == {}


def test_the_sweeper_reclaims_a_delivery_whose_worker_was_lost(tenant: Tenant, receiver: Receiver) -> None:
    delivery = emit(_endpoint(tenant, receiver))
    with tenant_scope(tenant.customer.pk):
        (claimed,) = outbox.deliveries_claim(limit=1, delivery_id=delivery.pk)
    assert claimed.number == 1
    assert outbox.deliveries_sweep(threads=1) == {}  # leased: nobody else sends attempt 1
    WebhookDelivery.objects_all_tenants.filter(pk=delivery.pk).update(
        next_attempt_at=timezone.now() - datetime.timedelta(seconds=1),
    )
    assert outbox.deliveries_sweep(threads=1) == {AttemptOutcome.SUCCEEDED: 1}
    assert [(a.number, a.outcome, a.error) for a in attempts(delivery)] == [
        (1, AttemptOutcome.RETRY, outbox.LOST_ATTEMPT_ERROR),
        (2, AttemptOutcome.SUCCEEDED, ""),
    ]
    # The lost worker comes back: its claim is gone, its outcome is dropped.
    with tenant_scope(tenant.customer.pk):
        assert outbox.delivery_attempt(claimed) == "lost_claim"
    assert len(attempts(delivery)) == 2
    assert reload(delivery).status == DeliveryStatus.SUCCEEDED


def test_a_lost_final_attempt_fails_the_delivery(tenant: Tenant, receiver: Receiver) -> None:
    delivery = emit(_endpoint(tenant, receiver, max_attempts=1))
    with tenant_scope(tenant.customer.pk):
        outbox.deliveries_claim(limit=1, delivery_id=delivery.pk)
    make_due(delivery)
    assert outbox.deliveries_sweep(threads=1) == {}
    delivery = reload(delivery)
    assert (delivery.status, delivery.last_error) == (DeliveryStatus.FAILED, outbox.LOST_ATTEMPT_ERROR)
    assert receiver.requests == []


def test_rotation_signs_with_both_secrets_until_the_grace_period_ends(
    tenant: Tenant, receiver: Receiver
) -> None:
    endpoint = _endpoint(tenant, receiver)
    old = endpoint.secret
    with tenant_scope(tenant.customer.pk):
        rotated = services.webhook_endpoint_secret_rotate(endpoint=endpoint)
    new = rotated.secret
    assert new != old
    receiver.secrets = [new, old]
    deliver(emit(endpoint))
    assert receiver.requests[-1].verified_by == [new, old]
    assert len(receiver.requests[-1].headers["webhook-signature"].split(" ")) == 2

    WebhookEndpoint.objects_all_tenants.filter(pk=endpoint.pk).update(
        previous_secret_expires_at=timezone.now() - datetime.timedelta(seconds=1)
    )
    deliver(emit(endpoint))
    assert receiver.requests[-1].verified_by == [new]
    assert len(receiver.requests[-1].headers["webhook-signature"].split(" ")) == 1


def test_redeliver_sends_again_with_the_same_id(tenant: Tenant, receiver: Receiver) -> None:
    receiver.script(Reply(400), Reply(200))
    endpoint = _endpoint(tenant, receiver, max_attempts=3)
    delivery = emit(endpoint)
    deliver(delivery)
    with tenant_scope(tenant.customer.pk):
        again = services.webhook_delivery_redeliver(delivery=reload(delivery))
    assert (again.status, again.attempts_allowed) == (DeliveryStatus.PENDING, 1 + 3)
    assert deliver(delivery) == AttemptOutcome.SUCCEEDED
    assert [r.webhook_id for r in receiver.requests] == [str(delivery.pk)] * 2
    assert [(a.number, a.status_code) for a in attempts(delivery)] == [(1, 400), (2, 200)]


def test_an_address_refused_at_send_time_is_not_contacted(
    tenant: Tenant, receiver: Receiver, settings: Any
) -> None:
    delivery = emit(_endpoint(tenant, receiver))
    settings.WEBHOOK_ALLOWED_NETWORKS = []  # e.g. the operator narrowed the list, or DNS now points inside
    assert deliver(delivery) == AttemptOutcome.FAILED
    delivery = reload(delivery)
    assert delivery.status == DeliveryStatus.FAILED
    assert delivery.last_error.startswith("Not sent: The host '127.0.0.1' resolves to a loopback address")
    assert receiver.requests == []


def test_an_inactive_endpoint_is_not_contacted(tenant: Tenant, receiver: Receiver) -> None:
    endpoint = _endpoint(tenant, receiver)
    delivery = emit(endpoint)
    WebhookEndpoint.objects_all_tenants.filter(pk=endpoint.pk).update(active=False)
    assert deliver(delivery) == AttemptOutcome.FAILED
    assert reload(delivery).last_error == "Not sent: the endpoint is disabled."
    assert endpoint_reload(endpoint).consecutive_failures == 0  # not the receiver's fault
    assert receiver.requests == []


def test_auto_disable_after_20_consecutive_failures(tenant: Tenant, receiver: Receiver) -> None:
    receiver.default = Reply(500)
    endpoint = _endpoint(tenant, receiver, max_attempts=1)
    for n in range(1, 20):
        deliver(emit(endpoint))
        assert endpoint_reload(endpoint).consecutive_failures == n
    assert endpoint_reload(endpoint).active is True
    assert mail.outbox == []
    deliver(emit(endpoint))
    endpoint = endpoint_reload(endpoint)
    assert (endpoint.active, endpoint.consecutive_failures) == (False, 20)
    assert endpoint.disabled_reason == "20 delivery attempts failed in a row."
    assert len(mail.outbox) == 1
    assert (
        AuditEvent.objects_all_tenants.filter(
            action=AuditAction.WEBHOOK_ENDPOINT_DISABLED, target_id=str(endpoint.pk)
        ).count()
        == 1
    )


def test_a_success_resets_the_failure_streak(tenant: Tenant, receiver: Receiver) -> None:
    receiver.script(*[Reply(500)] * 19, Reply(200))
    endpoint = _endpoint(tenant, receiver, max_attempts=1)
    for _ in range(19):
        deliver(emit(endpoint))
    assert endpoint_reload(endpoint).consecutive_failures == 19
    deliver(emit(endpoint))
    endpoint = endpoint_reload(endpoint)
    assert (endpoint.consecutive_failures, endpoint.failing_since, endpoint.active) == (0, None, True)


def test_auto_disable_after_failing_for_5_days(tenant: Tenant, receiver: Receiver) -> None:
    receiver.default = Reply(503)
    endpoint = _endpoint(tenant, receiver)
    WebhookEndpoint.objects_all_tenants.filter(pk=endpoint.pk).update(
        consecutive_failures=3, failing_since=timezone.now() - datetime.timedelta(days=5, minutes=1)
    )
    delivery = emit(endpoint)
    deliver(delivery)
    endpoint = endpoint_reload(endpoint)
    assert (endpoint.active, endpoint.disabled_reason) == (False, "Deliveries kept failing for 5 days.")
    # Its retry was scheduled by the attempt, then failed by the disabling.
    assert reload(delivery).status == DeliveryStatus.FAILED
    assert len(mail.outbox) == 1


def test_no_phi_or_url_in_logs(tenant: Tenant, receiver: Receiver, caplog: pytest.LogCaptureFixture) -> None:
    receiver.script(Reply(500, body=b"patient John Doe"))
    delivery = emit(_endpoint(tenant, receiver))
    with caplog.at_level("INFO", logger="upstream.webhooks"):
        deliver(delivery)
    logged = json.dumps([r.__dict__ for r in caplog.records], default=str)
    assert "John Doe" not in logged
    assert receiver.url not in logged


def test_dns_rebinding_to_a_private_address_is_refused_at_connect_time(
    tenant: Tenant, receiver: Receiver, settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The host passes the address check with a public answer, then resolves to the loopback receiver when
    the sender connects (DNS rebinding): the connected socket is checked too, so nothing is sent."""
    port = int(receiver.url.split(":")[2].split("/")[0])
    real_getaddrinfo = socket.getaddrinfo
    answers = iter(["93.184.216.34"])  # the first lookup (the policy check) sees a public address

    def rebinding_dns(host: Any, *args: Any, **kwargs: Any) -> Any:
        if host == "rebind.example":
            return real_getaddrinfo(next(answers, "127.0.0.1"), *args, **kwargs)
        return real_getaddrinfo(host, *args, **kwargs)

    endpoint = WebhookEndpoint.objects_all_tenants.create(
        customer=tenant.customer, name="rebind", url=f"https://rebind.example:{port}/hooks", secret=SECRET
    )
    delivery = emit(endpoint)
    settings.WEBHOOK_ALLOWED_NETWORKS = []
    monkeypatch.setattr(socket, "getaddrinfo", rebinding_dns)

    assert deliver(delivery) == AttemptOutcome.FAILED

    delivery = reload(delivery)
    assert delivery.status == DeliveryStatus.FAILED
    assert delivery.last_error == (
        "Not sent: The connection reached a loopback address (127.0.0.1), which is not in "
        "WEBHOOK_ALLOWED_NETWORKS."
    )
    assert [a.outcome for a in attempts(delivery)] == [AttemptOutcome.FAILED]
    assert receiver.requests == []
    assert next(answers, None) is None  # the policy check did run first


def test_peer_check_allows_public_and_allowed_network_peers_only() -> None:
    addresses.peer_check("93.184.216.34", allowed_networks=[])  # public: no exception
    addresses.peer_check("127.0.0.1", allowed_networks=["127.0.0.0/8"])  # inside an allowed network
    with pytest.raises(addresses.AddressNotAllowed) as refused:
        addresses.peer_check("10.1.2.3", allowed_networks=["127.0.0.0/8"])
    assert refused.value.code == "peer_not_allowed"
    assert str(refused.value) == (
        "The connection reached a private address (10.1.2.3), which is not in WEBHOOK_ALLOWED_NETWORKS."
    )
