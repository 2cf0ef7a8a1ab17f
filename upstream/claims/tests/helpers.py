"""Test helpers for the ingestion pipeline: build claims CSVs and ingest them synchronously in scope."""

from __future__ import annotations

import csv
import gzip
import io
from collections.abc import Iterable, Mapping, Sequence

from django.core.files.base import ContentFile

from upstream.claims import services
from upstream.claims.ingest import pipeline
from upstream.claims.ingest.columns import ALL_COLUMNS
from upstream.claims.models import Upload
from upstream.core.testing.tenants import Tenant
from upstream.tenancy.models import Customer
from upstream.tenancy.scoping import tenant_scope

HEADER: tuple[str, ...] = ALL_COLUMNS


def claim_row(claim_number: str, **values: str) -> dict[str, str]:
    """A row that passes every rule (and, with ``Aetna`` mapped, raises no warning); ``values`` override."""
    row = {
        "claim_number": claim_number,
        "payer": "Aetna",
        "cpt": "99213",
        "submitted_date": "2025-01-02",
        "decided_date": "2025-01-20",
        "outcome": "PAID",
        "patient_account_number": "",
        "member_id": "",
        "patient_name": "",
        "patient_dob": "",
        "modifiers": "",
        "paid_date": "2025-01-25",
        "billed_amount": "200.00",
        "allowed_amount": "150.00",
        "paid_amount": "120.00",
        "denial_reason_code": "",
        "denial_reason_text": "",
    }
    row.update(values)
    return row


def csv_bytes(
    rows: Iterable[Mapping[str, str] | Sequence[str]],
    header: Sequence[str] = HEADER,
    *,
    compress: bool = False,
    bom: bool = False,
) -> bytes:
    """``header`` and ``rows`` as CSV (``\\n`` line ends, minimal quoting). A dict row is laid out by
    ``header`` (missing keys blank); a sequence row is written as is, so it may have the wrong field count."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    for row in rows:
        if isinstance(row, Mapping):
            writer.writerow([row.get(name, "") for name in header])
        else:
            writer.writerow(row)
    data = buffer.getvalue().encode("utf-8")
    if bom:
        data = b"\xef\xbb\xbf" + data
    return gzip.compress(data, mtime=0) if compress else data


def customer_of(tenant_or_customer: Tenant | Customer) -> Customer:
    return tenant_or_customer.customer if isinstance(tenant_or_customer, Tenant) else tenant_or_customer


def store(tenant_or_customer: Tenant | Customer, data: bytes, name: str = "claims.csv") -> Upload:
    """Store the file as an Upload (``queued``) without processing it; raises ``DuplicateUpload`` (F06)."""
    customer = customer_of(tenant_or_customer)
    with tenant_scope(customer.pk):
        return services.upload_store(customer=customer, user=None, file=ContentFile(data, name=name))


def process(upload: Upload) -> Upload:
    """Run the pipeline for ``upload`` in its customer's scope and return it fresh from the database."""
    with tenant_scope(upload.customer_id):
        pipeline.upload_process(upload_id=upload.pk)
        return Upload.objects.get(pk=upload.pk)


def ingest(tenant_or_customer: Tenant | Customer, data: bytes, name: str = "claims.csv") -> Upload:
    """Store and process ``data`` synchronously, as the Celery task would; the finished Upload."""
    return process(store(tenant_or_customer, data, name))
