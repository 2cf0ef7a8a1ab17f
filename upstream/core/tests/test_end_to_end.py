"""End to end with a real Celery worker and Redis (issue #5): a practice uploads a claims CSV through the API;
the worker ingests it, runs drift detection, raises an alert, e-mails the admins and delivers signed
webhooks to a real HTTP receiver, which verifies every request with the ``standardwebhooks`` reference
library. Neither the e-mail nor any webhook carries PHI from the file."""

from __future__ import annotations

import csv
import datetime
import io
from pathlib import Path

import pytest
import redis
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from pytest_django import Settings

from upstream.alerts.models import AlertEvent, AlertStatus, EmailStatus
from upstream.alerts.services import alert_rule_create_default
from upstream.claims.models import PayerMapping, Upload, UploadStatus
from upstream.core.testing.celery import start_worker
from upstream.core.testing.tenants import make_tenant
from upstream.demo.drift_scenarios import parse_drift_specs
from upstream.demo.generator import generate
from upstream.demo.reference_data import PAYERS
from upstream.drift.models import ReportRun, RunStatus
from upstream.tenancy.roles import Role
from upstream.webhooks.models import DeliveryStatus, WebhookDelivery
from upstream.webhooks.tests.receiver import Receiver

ROWS = 20_000
DRIFT = "denial_rate:payer=Aetna,cpt_group=E&M,from=0.08,to=0.40,min_volume=400"
PHI_COLUMNS = ("patient_account_number", "member_id", "patient_name", "patient_dob")
DEADLINE_S = 120.0


def _claims_file() -> tuple[bytes, set[str]]:
    """A generated CSV with one strong worsening drift, and the PHI values it holds."""
    buffer = io.BytesIO()
    as_of = timezone.now().date() - datetime.timedelta(days=70)  # no paid date lands in the future
    generate(ROWS, 5, buffer, as_of=as_of, drifts=parse_drift_specs([DRIFT]))
    data = buffer.getvalue()
    phi: set[str] = set()
    for row in csv.DictReader(io.StringIO(data.decode())):
        phi.update(row[column] for column in PHI_COLUMNS if len(row[column]) >= 6)
        phi.update(part for part in row["patient_name"].split() if len(part) >= 6)
    return data, phi


def _leaks(text: str, phi: set[str]) -> list[str]:
    return sorted(value for value in phi if value in text)[:5]


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_upload_to_alert_email_and_signed_webhooks(
    settings: Settings, real_broker: str, redis_client: redis.Redis, tmp_path: Path
) -> None:
    mail_dir = tmp_path / "mail"
    media = tmp_path / "media"
    settings.MEDIA_ROOT = media
    settings.WEBHOOK_ALLOWED_NETWORKS = ["127.0.0.0/8"]
    tenant = make_tenant()
    customer = tenant.customer
    alert_rule_create_default(customer_id=customer.pk)
    for payer in PAYERS:
        for raw in payer.variants:
            PayerMapping.objects_all_tenants.create(
                customer=customer, raw_name=raw, normalized_name=payer.name
            )
    data, phi = _claims_file()
    worker_env = {
        "MEDIA_ROOT": str(media),
        "WEBHOOK_ALLOWED_NETWORKS": "127.0.0.0/8",
        "EMAIL_URL": f"filemail:///{mail_dir}",  # four slashes: an absolute path for django-environ
        "PUBLIC_BASE_URL": "https://upstream.example.com",
    }

    with Receiver() as receiver, start_worker(settings, redis_client, tmp_path, worker_env) as worker:
        settings.CELERY_TASK_DEFAULT_QUEUE = worker.queue  # what this process sends goes to that worker
        owner = tenant.client(Role.OWNER)
        created = owner.post(
            "/api/v1/webhook-endpoints/",
            {"name": "ops", "url": receiver.url, "event_types": []},
            format="json",
        )
        assert created.status_code == 201, created.content
        receiver.secrets.append(created.json()["secret"])

        response = tenant.client(Role.ANALYST).post(
            "/api/v1/uploads/", {"file": SimpleUploadedFile("claims.csv", data)}, format="multipart"
        )
        assert response.status_code == 202, response.content
        upload_id = response.json()["id"]

        upload = worker.wait_for(
            "the upload to finish",
            lambda: Upload.objects_all_tenants.filter(pk=upload_id, finished_at__isnull=False).first(),
            DEADLINE_S,
        )
        assert (upload.status, upload.accepted_rows) == (UploadStatus.SUCCEEDED, ROWS)
        run = worker.wait_for(
            "the drift run after the upload",
            lambda: ReportRun.objects_all_tenants.filter(
                customer=customer, finished_at__isnull=False
            ).first(),
            DEADLINE_S,
        )
        assert run.status == RunStatus.SUCCEEDED, run.error
        alert = worker.wait_for(
            "the Aetna / E&M denial-rate alert to be e-mailed",
            lambda: AlertEvent.objects_all_tenants.filter(
                customer=customer,
                payer="Aetna",
                cpt_group="E&M",
                drift_type="DENIAL_RATE",
                email_status=EmailStatus.SENT,
            ).first(),
            DEADLINE_S,
        )
        assert alert.status == AlertStatus.OPEN
        pending = (DeliveryStatus.PENDING, DeliveryStatus.SENDING)
        worker.wait_for(
            "every webhook delivery to finish",
            lambda: (
                True
                if not WebhookDelivery.objects_all_tenants.filter(
                    customer=customer, status__in=pending
                ).exists()
                else None
            ),
            DEADLINE_S,
        )

    deliveries = WebhookDelivery.objects_all_tenants.filter(customer=customer)
    assert {d.status for d in deliveries} == {DeliveryStatus.SUCCEEDED}
    by_type: dict[str, list[int]] = {}
    for delivery in deliveries:
        by_type.setdefault(delivery.event_type, []).append(delivery.pk)
    alerts = AlertEvent.objects_all_tenants.filter(customer=customer).exclude(status=AlertStatus.SUPPRESSED)
    assert len(by_type["upload.completed"]) == 1
    assert len(by_type["report_run.completed"]) == 1
    assert len(by_type["alert.created"]) == alerts.count() >= 1

    # Every request verified with the secret shown once at creation, once per delivery (no retry needed).
    assert len(receiver.requests) == deliveries.count()
    assert all(request.verified_by == receiver.secrets for request in receiver.requests)
    assert sorted(int(r.webhook_id) for r in receiver.requests) == sorted(d.pk for d in deliveries)
    assert all(r.headers["x-idempotency-key"] == r.webhook_id for r in receiver.requests)
    alert_bodies = [r.json() for r in receiver.requests if r.json()["type"] == "alert.created"]
    assert alert.pk in {body["data"]["alert_id"] for body in alert_bodies}
    for request in receiver.requests:
        assert _leaks(request.body.decode(), phi) == []

    # The alert e-mail: written by the worker's file backend, HTML and text, with the link and no PHI.
    mails = [path.read_text() for path in sorted(mail_dir.iterdir())]
    alert_mails = [text for text in mails if f"/api/v1/alerts/{alert.pk}/" in text]
    assert len(alert_mails) == 1
    assert "text/html" in alert_mails[0]
    assert "text/plain" in alert_mails[0]
    assert "Aetna" in alert_mails[0]
    for text in mails:
        assert _leaks(text, phi) == []
