"""State changes of the claims app: accepting uploads, running ingestion, mappings and re-normalization."""

from __future__ import annotations

import hashlib
import os
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.files import File
from django.db import connection, transaction

from upstream.audit.models import AuditAction
from upstream.audit.services import audit_record
from upstream.claims.ingest import pipeline
from upstream.claims.ingest.rules import default_cpt_group
from upstream.claims.models import ClaimRecord, CptGroupMapping, PayerMapping, Upload, UploadStatus
from upstream.tenancy.models import Customer, User


class DuplicateUpload(Exception):
    """F06: the same file was already processed successfully for this customer."""

    def __init__(self, earlier: Upload) -> None:
        super().__init__(f"This file was already processed as upload {earlier.pk}.")
        self.earlier = earlier


def _store(file: File, *, customer_id: int) -> tuple[Path, str, int]:
    """Write the upload to private storage while hashing it; (path, sha256, size)."""
    directory = Path(settings.MEDIA_ROOT) / "uploads" / str(customer_id)
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    suffix = ".csv.gz" if (file.name or "").lower().endswith(".gz") else ".csv"
    path = directory / f"{uuid.uuid4().hex}{suffix}"
    digest = hashlib.sha256()
    size = 0
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as out:
        for chunk in file.chunks(1 << 20):
            digest.update(chunk)
            size += len(chunk)
            out.write(chunk)
    return path, digest.hexdigest(), size


def upload_store(*, customer: Customer, user: User | None, file: File, request: Any = None) -> Upload:
    """Store the file and create its Upload (``queued``); nothing is processed yet.

    Raises ``DuplicateUpload`` (F06) when an earlier succeeded/partial upload had the same content.
    """
    path, sha256, size = _store(file, customer_id=customer.pk)
    earlier = Upload.objects.filter(
        sha256=sha256, status__in=[UploadStatus.SUCCEEDED, UploadStatus.PARTIAL]
    ).first()
    if earlier is not None:
        path.unlink(missing_ok=True)
        raise DuplicateUpload(earlier)
    filename = os.path.basename(file.name or "upload.csv")[:255]
    upload = Upload.objects.create(
        customer=customer,
        filename=filename,
        size_bytes=size,
        sha256=sha256,
        stored_path=str(path),
        uploaded_by=user,
    )
    audit_record(
        action=AuditAction.UPLOAD_CREATED,
        customer_id=customer.pk,
        actor=user,
        target=upload,
        request=request,
        metadata={"size_bytes": size, "sha256": sha256},
    )
    return upload


def upload_create(*, customer: Customer, user: User | None, file: File, request: Any = None) -> Upload:
    """``upload_store`` and enqueue its processing once the transaction commits."""
    from upstream.claims.tasks import process_upload

    with transaction.atomic():
        upload = upload_store(customer=customer, user=user, file=file, request=request)
        transaction.on_commit(lambda: process_upload.delay(upload_id=upload.pk, customer_id=customer.pk))
    return upload


def upload_process(*, upload_id: int, progress: Callable[[int], None] | None = None) -> Upload:
    return pipeline.upload_process(upload_id=upload_id, progress=progress)


# --- mappings ---------------------------------------------------------------------------------------------


def _enqueue_renormalize(customer_id: int) -> None:
    from upstream.claims.tasks import renormalize_claims

    transaction.on_commit(lambda: renormalize_claims.delay(customer_id=customer_id))


def mapping_saved(
    *, instance: PayerMapping | CptGroupMapping, actor: User, created: bool, request: Any = None
) -> None:
    audit_record(
        action=AuditAction.MAPPING_CHANGED,
        customer_id=instance.customer_id,
        actor=actor,
        target=instance,
        request=request,
        metadata={"change": "created" if created else "updated"},
    )
    _enqueue_renormalize(instance.customer_id)


def mapping_deleted(*, instance: PayerMapping | CptGroupMapping, actor: User, request: Any = None) -> None:
    audit_record(
        action=AuditAction.MAPPING_CHANGED,
        customer_id=instance.customer_id,
        actor=actor,
        target=instance,
        request=request,
        metadata={"change": "deleted"},
    )
    customer_id = instance.customer_id
    instance.delete()
    _enqueue_renormalize(customer_id)


def claims_renormalize(*, customer_id: int) -> dict[str, int]:
    """Re-apply the customer's payer and CPT-group mappings (and the default table) to every stored claim."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            """
            UPDATE claims_claimrecord AS c
            SET payer = coalesce(m.normalized_name, btrim(c.payer_raw)), updated_at = now()
            FROM claims_claimrecord AS c2
            LEFT JOIN claims_payermapping AS m
              ON m.customer_id = c2.customer_id AND lower(m.raw_name) = lower(btrim(c2.payer_raw))
            WHERE c.id = c2.id AND c.customer_id = %s
              AND c.payer IS DISTINCT FROM coalesce(m.normalized_name, btrim(c2.payer_raw))
            """,
            [customer_id],
        )
        payers = cursor.rowcount
        custom = dict(CptGroupMapping.objects.filter(customer_id=customer_id).values_list("cpt", "group"))
        cpts = list(
            ClaimRecord.objects.filter(customer_id=customer_id).values_list("cpt", flat=True).distinct()
        )
        groups = [custom.get(cpt.upper()) or default_cpt_group(cpt) for cpt in cpts]
        cursor.execute(
            """
            UPDATE claims_claimrecord AS c SET cpt_group = g.grp, updated_at = now()
            FROM unnest(%s::text[], %s::text[]) AS g(cpt, grp)
            WHERE c.customer_id = %s AND c.cpt = g.cpt AND c.cpt_group IS DISTINCT FROM g.grp
            """,
            [cpts, groups, customer_id],
        )
        groups_changed = cursor.rowcount
    return {"payer_updated": payers, "cpt_group_updated": groups_changed}
