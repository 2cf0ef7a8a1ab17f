"""The webhook API: the generic contract (owners/admins only, reads included; 404 across tenants), secrets
shown only at creation and rotation, validation (address policy, names, event types, attempts), re-enabling,
audit, the test event, deliveries with attempts and their filters, and redelivery."""

from __future__ import annotations

import datetime
import itertools
from typing import Any

import pytest
from django.db import IntegrityError, connection, models, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from upstream.audit.models import AuditAction, AuditEvent
from upstream.core.testing.api import MANAGERS, APIContract, assert_problem
from upstream.core.testing.tenants import Tenant
from upstream.tenancy.roles import Role
from upstream.webhooks import services
from upstream.webhooks.models import DeliveryStatus, EventType, WebhookDelivery, WebhookEndpoint
from upstream.webhooks.tests.factories import (
    WebhookDeliveryAttemptFactory,
    WebhookDeliveryFactory,
    WebhookEndpointFactory,
)
from upstream.webhooks.tests.receiver import Receiver, Reply

ENDPOINTS = "/api/v1/webhook-endpoints/"
DELIVERIES = "/api/v1/webhook-deliveries/"
LOCAL_URL = "http://127.0.0.1:9/hooks"  # allowed by the test settings (127.0.0.0/8)
_names = itertools.count(1)


class TestWebhookEndpointsContract(APIContract):
    base_url = ENDPOINTS
    read_roles = MANAGERS
    create_roles = MANAGERS
    update_roles = MANAGERS
    delete_roles = MANAGERS

    def make_object(self, tenant: Tenant) -> models.Model:
        return WebhookEndpointFactory.create(customer=tenant.customer)

    def create_payload(self, tenant: Tenant) -> dict[str, Any]:
        return {"name": f"Receiver {next(_names)}", "url": LOCAL_URL}

    def update_payload(self, tenant: Tenant, obj: models.Model) -> dict[str, Any]:
        return {"max_attempts": 7}


class TestWebhookDeliveriesContract(APIContract):
    base_url = DELIVERIES
    read_roles = MANAGERS

    def make_object(self, tenant: Tenant) -> models.Model:
        return WebhookDeliveryFactory.create(endpoint__customer=tenant.customer)


def _create(tenant: Tenant, **payload: Any) -> Any:
    body = {"name": "Billing", "url": LOCAL_URL, **payload}
    return tenant.client(Role.ADMIN).post(ENDPOINTS, body, format="json")


# --- endpoints ----------------------------------------------------------------------------------------------


def test_create_shows_the_secret_once(tenant: Tenant, settings: Any) -> None:
    settings.WEBHOOK_DEFAULT_MAX_ATTEMPTS = 4
    response = _create(tenant, event_types=["alert.updated", "alert.created", "alert.created"])
    assert response.status_code == 201, response.content
    body = response.json()
    endpoint = WebhookEndpoint.objects_all_tenants.get(pk=body["id"])
    assert body["secret"] == endpoint.secret
    assert body["secret"].startswith("whsec_")
    assert response["Location"] == f"/api/v1/webhook-endpoints/{endpoint.pk}/"
    assert {k: body[k] for k in ("name", "url", "event_types", "active", "max_attempts", "created_by")} == {
        "name": "Billing",
        "url": LOCAL_URL,
        "event_types": ["alert.created", "alert.updated"],
        "active": True,
        "max_attempts": 4,
        "created_by": tenant.users[Role.ADMIN].pk,
    }
    client = tenant.client(Role.OWNER)
    for response in (client.get(ENDPOINTS), client.get(f"{ENDPOINTS}{endpoint.pk}/")):
        assert response.status_code == 200
        assert endpoint.secret not in response.content.decode()
        assert b'"secret"' not in response.content
    (audit,) = AuditEvent.objects_all_tenants.filter(action=AuditAction.WEBHOOK_ENDPOINT_CHANGED)
    assert audit.metadata == {"change": "created", "name": "Billing"}
    assert audit.target_id == str(endpoint.pk)
    # At rest the secret is a PHI-key ciphertext, never the whsec_ value.
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT secret FROM {WebhookEndpoint._meta.db_table} WHERE id = %s",  # noqa: S608
            [endpoint.pk],
        )
        (stored,) = cursor.fetchone()
    assert stored.startswith("v1:")
    assert endpoint.secret not in stored
    assert endpoint.secret.removeprefix("whsec_") not in stored


def test_rotate_secret_returns_the_new_secret_once(tenant: Tenant, settings: Any) -> None:
    settings.WEBHOOK_SECRET_ROTATION_GRACE_HOURS = 24
    created = _create(tenant).json()
    client = tenant.client(Role.OWNER)
    before = timezone.now()
    response = client.post(f"{ENDPOINTS}{created['id']}/rotate-secret/")
    assert response.status_code == 200, response.content
    body = response.json()
    endpoint = WebhookEndpoint.objects_all_tenants.get(pk=created["id"])
    assert body["secret"] == endpoint.secret != created["secret"]
    assert endpoint.previous_secret == created["secret"]
    expires = datetime.datetime.fromisoformat(body["previous_secret_expires_at"])
    assert before + datetime.timedelta(hours=24) <= expires <= timezone.now() + datetime.timedelta(hours=24)
    detail = client.get(f"{ENDPOINTS}{endpoint.pk}/")
    assert detail.json()["secret_rotation_expires_at"] == body["previous_secret_expires_at"]
    assert endpoint.secret not in detail.content.decode()
    assert created["secret"] not in detail.content.decode()
    assert (
        AuditEvent.objects_all_tenants.filter(
            action=AuditAction.WEBHOOK_SECRET_ROTATED, target_id=str(endpoint.pk)
        ).count()
        == 1
    )
    assert_problem(tenant.client(Role.ANALYST).post(f"{ENDPOINTS}{endpoint.pk}/rotate-secret/"), 403)


def test_private_address_refused_at_save(tenant: Tenant, settings: Any) -> None:
    settings.WEBHOOK_ALLOWED_NETWORKS = []
    body = assert_problem(_create(tenant), 400, "url_not_allowed")
    assert body["errors"][0]["attr"] == "url"
    assert "loopback address (127.0.0.1)" in body["errors"][0]["detail"]
    body = assert_problem(_create(tenant, url="https://10.1.2.3/hook"), 400, "url_not_allowed")
    assert "private address" in body["detail"]
    assert WebhookEndpoint.objects_all_tenants.count() == 0


def test_plain_http_refused_outside_allowed_networks(tenant: Tenant, settings: Any) -> None:
    settings.WEBHOOK_ALLOWED_NETWORKS = ["10.0.0.0/8"]
    assert_problem(_create(tenant, url="http://127.0.0.1:8080/x"), 400, "url_not_allowed")


def test_url_change_is_checked_too(tenant: Tenant, settings: Any) -> None:
    endpoint_id = _create(tenant).json()["id"]
    settings.WEBHOOK_ALLOWED_NETWORKS = []
    response = tenant.client(Role.OWNER).patch(
        f"{ENDPOINTS}{endpoint_id}/", {"url": "http://127.0.0.2/x"}, format="json"
    )
    assert_problem(response, 400, "url_not_allowed")


def test_names_are_unique_per_customer(tenant: Tenant, other_tenant: Tenant) -> None:
    assert _create(tenant).status_code == 201
    body = assert_problem(_create(tenant), 400, "unique")
    assert body["errors"][0]["attr"] == "name"
    assert_problem(_create(tenant, name="BILLING"), 400, "unique")  # names compare case-insensitively
    with pytest.raises(IntegrityError, match="webhook_endpoint_name_uniq"), transaction.atomic():
        WebhookEndpointFactory.create(customer=tenant.customer, name="billing")  # and so does the database
    assert _create(other_tenant).status_code == 201  # another customer may use the name
    second = _create(tenant, name="Other").json()
    response = tenant.client(Role.OWNER).patch(
        f"{ENDPOINTS}{second['id']}/", {"name": "Billing"}, format="json"
    )
    assert_problem(response, 400, "unique")


@pytest.mark.parametrize(
    ("payload", "attr", "code"),
    [
        ({"event_types": ["alert.deleted"]}, "event_types.0", "invalid_choice"),
        ({"max_attempts": 0}, "max_attempts", "min_value"),
        ({"max_attempts": 11}, "max_attempts", "max_value"),
        ({"url": "not a url"}, "url", "invalid"),
        ({"name": ""}, "name", "blank"),
    ],
)
def test_create_validation(tenant: Tenant, payload: dict[str, Any], attr: str, code: str) -> None:
    body = assert_problem(_create(tenant, **payload), 400, code)
    assert body["errors"][0]["attr"] == attr


def test_patch_active_true_re_enables_and_clears_the_streak(tenant: Tenant) -> None:
    endpoint = WebhookEndpointFactory.create(
        customer=tenant.customer,
        active=False,
        disabled_reason="The receiver answered 410 Gone.",
        disabled_at=timezone.now(),
        consecutive_failures=20,
        failing_since=timezone.now(),
    )
    response = tenant.client(Role.OWNER).patch(f"{ENDPOINTS}{endpoint.pk}/", {"active": True}, format="json")
    assert response.status_code == 200, response.content
    body = response.json()
    assert {
        k: body[k]
        for k in ("active", "disabled_reason", "disabled_at", "consecutive_failures", "failing_since")
    } == {
        "active": True,
        "disabled_reason": "",
        "disabled_at": None,
        "consecutive_failures": 0,
        "failing_since": None,
    }
    audit = AuditEvent.objects_all_tenants.get(action=AuditAction.WEBHOOK_ENDPOINT_CHANGED)
    assert audit.metadata == {"change": "updated", "name": endpoint.name, "fields": ["active"]}


def test_delete_is_audited(tenant: Tenant) -> None:
    endpoint = WebhookEndpointFactory.create(customer=tenant.customer)
    WebhookDeliveryFactory.create(endpoint=endpoint)
    assert tenant.client(Role.ADMIN).delete(f"{ENDPOINTS}{endpoint.pk}/").status_code == 204
    assert WebhookDelivery.objects_all_tenants.count() == 0
    audit = AuditEvent.objects_all_tenants.get(action=AuditAction.WEBHOOK_ENDPOINT_CHANGED)
    assert (audit.target_id, audit.metadata["change"]) == (str(endpoint.pk), "deleted")


def test_superuser_sees_every_tenant_but_creates_only_with_a_customer(
    tenant: Tenant, other_tenant: Tenant, superuser_client: Any
) -> None:
    mine = WebhookEndpointFactory.create(customer=tenant.customer)
    theirs = WebhookEndpointFactory.create(customer=other_tenant.customer)
    listed = superuser_client.get(ENDPOINTS).json()
    assert {row["id"] for row in listed["results"]} == {mine.pk, theirs.pk}
    response = superuser_client.post(ENDPOINTS, {"name": "X", "url": LOCAL_URL}, format="json")
    assert_problem(response, 400, "customer_required")


def test_test_event_is_sent_whatever_the_event_filter(
    tenant: Tenant, django_capture_on_commit_callbacks: Any
) -> None:
    with Receiver() as receiver:
        created = _create(tenant, url=receiver.url, event_types=["upload.completed"]).json()
        receiver.secrets = [created["secret"]]
        with django_capture_on_commit_callbacks(execute=True):
            response = tenant.client(Role.OWNER).post(f"{ENDPOINTS}{created['id']}/test/")
        assert response.status_code == 202, response.content
        body = response.json()
        assert response["Location"] == f"/api/v1/webhook-deliveries/{body['id']}/"
        assert (body["event_type"], body["endpoint"], body["webhook_id"]) == (
            "webhook.test",
            created["id"],
            str(body["id"]),
        )
        (received,) = receiver.requests
        assert received.webhook_id == str(body["id"])
        assert received.verified_by == [created["secret"]]
        assert received.json()["type"] == "webhook.test"
        assert received.json()["data"]["endpoint_id"] == created["id"]
    detail = tenant.client(Role.OWNER).get(f"{DELIVERIES}{body['id']}/").json()
    assert detail["status"] == "succeeded"
    assert [a["status_code"] for a in detail["attempts"]] == [200]


def test_test_event_refused_while_disabled(tenant: Tenant) -> None:
    endpoint = WebhookEndpointFactory.create(customer=tenant.customer, active=False)
    response = tenant.client(Role.ADMIN).post(f"{ENDPOINTS}{endpoint.pk}/test/")
    assert_problem(response, 409, "endpoint_inactive")
    assert_problem(tenant.client(Role.ANALYST).post(f"{ENDPOINTS}{endpoint.pk}/test/"), 403)


# --- deliveries ---------------------------------------------------------------------------------------------


def test_deliveries_embed_their_attempts(tenant: Tenant) -> None:
    delivery = WebhookDeliveryFactory.create(
        endpoint__customer=tenant.customer,
        status=DeliveryStatus.SUCCEEDED,
        attempts_count=2,
        next_attempt_at=None,
    )
    WebhookDeliveryAttemptFactory.create(delivery=delivery, number=2, status_code=200, outcome="succeeded")
    WebhookDeliveryAttemptFactory.create(
        delivery=delivery, number=1, status_code=503, outcome="retry", error="HTTP 503", response_body="down"
    )
    body = tenant.client(Role.OWNER).get(f"{DELIVERIES}{delivery.pk}/").json()
    assert body["webhook_id"] == str(delivery.pk)
    assert body["endpoint"] == delivery.endpoint_id
    assert [
        (a["number"], a["status_code"], a["outcome"], a["error"], a["response_body"])
        for a in body["attempts"]
    ] == [
        (1, 503, "retry", "HTTP 503", "down"),
        (2, 200, "succeeded", "", ""),
    ]


def test_delivery_list_query_count_is_constant(tenant: Tenant) -> None:
    client = tenant.client(Role.OWNER)

    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert client.get(DELIVERIES).status_code == 200
        return len(queries)

    endpoint = WebhookEndpointFactory.create(customer=tenant.customer)
    for _ in range(2):
        WebhookDeliveryAttemptFactory.create(
            delivery=WebhookDeliveryFactory.create(endpoint=endpoint), number=1
        )
    few = count()
    for _ in range(8):
        delivery = WebhookDeliveryFactory.create(endpoint=endpoint)
        WebhookDeliveryAttemptFactory.create(delivery=delivery, number=1)
        WebhookDeliveryAttemptFactory.create(delivery=delivery, number=2)
    assert count() == few


def test_delivery_filters_and_ordering(tenant: Tenant) -> None:
    first = WebhookEndpointFactory.create(customer=tenant.customer)
    second = WebhookEndpointFactory.create(customer=tenant.customer)
    old = WebhookDeliveryFactory.create(endpoint=first, event_type=EventType.ALERT_CREATED)
    WebhookDelivery.objects_all_tenants.filter(pk=old.pk).update(
        created_at=timezone.now() - datetime.timedelta(days=3)
    )
    failed = WebhookDeliveryFactory.create(
        endpoint=second,
        event_type=EventType.UPLOAD_COMPLETED,
        status=DeliveryStatus.FAILED,
        next_attempt_at=None,
    )
    test = WebhookDeliveryFactory.create(endpoint=first, event_type=EventType.WEBHOOK_TEST)
    client = tenant.client(Role.ADMIN)

    def ids(query: dict[str, Any]) -> list[int]:
        response = client.get(DELIVERIES, query)
        assert response.status_code == 200, response.content
        return [row["id"] for row in response.json()["results"]]

    assert ids({}) == [test.pk, failed.pk, old.pk]
    assert ids({"endpoint_id": first.pk}) == [test.pk, old.pk]
    assert ids({"status": "failed"}) == [failed.pk]
    assert ids({"status": ["pending", "failed"]}) == [test.pk, failed.pk, old.pk]
    assert ids({"event_type": "webhook.test"}) == [test.pk]
    since = (timezone.now() - datetime.timedelta(days=1)).isoformat()
    assert ids({"created_after": since}) == [test.pk, failed.pk]
    assert ids({"created_before": since}) == [old.pk]
    assert ids({"ordering": "created_at"}) == [old.pk, failed.pk, test.pk]
    assert_problem(client.get(DELIVERIES, {"status": "lost"}), 400, "invalid_choice")


def test_redeliver_queues_the_same_delivery_again(
    tenant: Tenant, django_capture_on_commit_callbacks: Any
) -> None:
    with Receiver(default=Reply(200)) as receiver:
        endpoint = WebhookEndpointFactory.create(customer=tenant.customer, url=receiver.url, max_attempts=3)
        delivery = WebhookDeliveryFactory.create(
            endpoint=endpoint,
            status=DeliveryStatus.FAILED,
            attempts_count=1,
            attempts_allowed=3,
            next_attempt_at=None,
            finished_at=timezone.now(),
        )
        with django_capture_on_commit_callbacks(execute=False) as queued:
            response = tenant.client(Role.OWNER).post(f"{DELIVERIES}{delivery.pk}/redeliver/")
        assert response.status_code == 202, response.content
        body = response.json()
        assert (body["id"], body["status"], body["attempts_allowed"], body["finished_at"]) == (
            delivery.pk,
            "pending",
            4,
            None,
        )
        # While it is pending, another redelivery is refused.
        assert_problem(
            tenant.client(Role.OWNER).post(f"{DELIVERIES}{delivery.pk}/redeliver/"),
            409,
            "delivery_in_progress",
        )
        for callback in queued:
            callback()
        assert [r.webhook_id for r in receiver.requests] == [str(delivery.pk)]
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts_count) == (DeliveryStatus.SUCCEEDED, 2)


def test_redeliver_refused_while_sending_or_disabled(tenant: Tenant) -> None:
    sending = WebhookDeliveryFactory.create(
        endpoint__customer=tenant.customer, status=DeliveryStatus.SENDING, attempts_count=1
    )
    assert_problem(
        tenant.client(Role.OWNER).post(f"{DELIVERIES}{sending.pk}/redeliver/"), 409, "delivery_in_progress"
    )
    disabled = WebhookDeliveryFactory.create(
        endpoint__customer=tenant.customer,
        endpoint__active=False,
        status=DeliveryStatus.FAILED,
        next_attempt_at=None,
    )
    assert_problem(
        tenant.client(Role.OWNER).post(f"{DELIVERIES}{disabled.pk}/redeliver/"), 409, "endpoint_inactive"
    )
    assert_problem(tenant.client(Role.ANALYST).post(f"{DELIVERIES}{disabled.pk}/redeliver/"), 403)


def test_redeliver_of_another_tenants_delivery_is_not_found(tenant: Tenant, other_tenant: Tenant) -> None:
    theirs = WebhookDeliveryFactory.create(
        endpoint__customer=other_tenant.customer, status=DeliveryStatus.FAILED, next_attempt_at=None
    )
    assert_problem(tenant.client(Role.OWNER).post(f"{DELIVERIES}{theirs.pk}/redeliver/"), 404, "not_found")
    assert_problem(tenant.client(Role.OWNER).post(f"{ENDPOINTS}{theirs.endpoint_id}/test/"), 404, "not_found")
    assert_problem(
        tenant.client(Role.OWNER).post(f"{ENDPOINTS}{theirs.endpoint_id}/rotate-secret/"), 404, "not_found"
    )


def test_a_name_clash_the_validator_missed_is_caught_by_the_database(tenant: Tenant) -> None:
    """Two requests racing past the validator: the unique index decides, the service names the clash, and
    any other integrity error is not mistaken for it."""
    services.webhook_endpoint_create(
        customer_id=tenant.customer.pk, name="Billing", url=LOCAL_URL, event_types=[]
    )
    with pytest.raises(services.EndpointNameTaken):
        services.webhook_endpoint_create(
            customer_id=tenant.customer.pk, name="BILLING", url=LOCAL_URL, event_types=[]
        )
    with pytest.raises(IntegrityError, match="webhook_endpoint_max_attempts_range"):
        services.webhook_endpoint_create(
            customer_id=tenant.customer.pk, name="Other", url=LOCAL_URL, event_types=[], max_attempts=11
        )
    assert sorted(WebhookEndpoint.objects_all_tenants.values_list("name", flat=True)) == ["Billing"]
