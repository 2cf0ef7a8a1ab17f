"""Celery tasks of the claims app: thin wrappers that run services inside the customer's scope."""

from __future__ import annotations

from celery import shared_task

from upstream.claims import services
from upstream.tenancy.scoping import runs_in_tenant_scope


@shared_task(name="claims.process_upload", acks_late=True)
@runs_in_tenant_scope
def process_upload(*, upload_id: int, customer_id: int) -> str:
    upload = services.upload_process(upload_id=upload_id)
    return str(upload.status)


@shared_task(name="claims.renormalize_claims", acks_late=True)
@runs_in_tenant_scope
def renormalize_claims(*, customer_id: int) -> dict[str, int]:
    return services.claims_renormalize(customer_id=customer_id)
