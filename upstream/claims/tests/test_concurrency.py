"""Uploads processed at the same time on real connections: overlapping claim numbers end with exactly one
consistent version each and exact counts, and the same file twice ends once succeeded and once F06."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from django.db import connection

from upstream.claims.models import ClaimRecord, PayerMapping, Upload, UploadStatus
from upstream.claims.tests.helpers import claim_row, csv_bytes, process, store
from upstream.core.testing.concurrency import run_together
from upstream.core.testing.tenants import Tenant, make_tenant
from upstream.tenancy.scoping import tenant_scope

SHARED = 1_000
OWN = 1_000


@pytest.fixture(autouse=True)
def _private_media(settings: Any, tmp_path: Path) -> None:
    settings.MEDIA_ROOT = tmp_path / "media"


def _version(tag: str, number: int) -> dict[str, str]:
    """File ``tag``'s version of a claim: every field that varies says which file it came from."""
    a = tag == "A"
    return claim_row(
        f"CLM-{number:06d}",
        payer="Aetna" if a else "Cigna",
        cpt="99213" if a else "80053",
        outcome="PAID" if a else "DENIED",
        billed_amount="100.00" if a else "200.00",
        paid_amount="90.00" if a else "0",
        denial_reason_code="" if a else "CO-45",
        member_id=f"M{tag}{number}",
    )


def _file(tag: str, numbers: range) -> bytes:
    return csv_bytes([_version(tag, n) for n in numbers])


def _run_together(*jobs: Callable[[], Upload]) -> list[Upload | BaseException]:
    return run_together(jobs)


def _tenant_with_payers() -> Tenant:
    tenant = make_tenant()
    for name in ("Aetna", "Cigna"):
        PayerMapping.objects_all_tenants.create(customer=tenant.customer, raw_name=name, normalized_name=name)
    return tenant


@pytest.mark.django_db(transaction=True)
def test_overlapping_uploads_processed_concurrently() -> None:
    tenant = _tenant_with_payers()
    # A: claims 0–1,999; B: claims 1,000–2,999. Claims 1,000–1,999 are in both, with different content.
    upload_a = store(tenant, _file("A", range(0, SHARED + OWN)))
    upload_b = store(tenant, _file("B", range(OWN, OWN + SHARED + OWN)))

    results = _run_together(lambda: process(upload_a), lambda: process(upload_b))
    assert all(isinstance(r, Upload) for r in results), results
    done_a, done_b = (r for r in results if isinstance(r, Upload))
    assert (done_a.status, done_b.status) == (UploadStatus.SUCCEEDED, UploadStatus.SUCCEEDED)
    for done in (done_a, done_b):
        assert (done.total_rows, done.accepted_rows, done.rejected_rows) == (2_000, 2_000, 0)
        assert done.inserted_rows + done.updated_rows + done.unchanged_rows == 2_000

    # Uploads of one customer finish one at a time (Customer row lock): the first inserts all of its claims,
    # the second inserts its own and updates every shared one.
    assert done_a.finished_at is not None
    assert done_b.finished_at is not None
    first, second = (done_a, done_b) if done_a.finished_at < done_b.finished_at else (done_b, done_a)
    assert (first.inserted_rows, first.updated_rows, first.unchanged_rows) == (2_000, 0, 0)
    assert (second.inserted_rows, second.updated_rows, second.unchanged_rows) == (OWN, SHARED, 0)
    assert done_a.inserted_rows + done_b.inserted_rows == 3_000

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*), count(DISTINCT claim_number) FROM claims_claimrecord WHERE customer_id = %s",
            [tenant.customer.pk],
        )
        assert cursor.fetchone() == (3_000, 3_000)

    tag_of = {done_a.pk: "A", done_b.pk: "B"}
    with tenant_scope(tenant.customer.pk):
        claims = list(ClaimRecord.objects.order_by("claim_number"))
    for claim in claims:
        number = int(claim.claim_number.removeprefix("CLM-"))
        tag = tag_of[claim.upload_id]
        expected = _version(tag, number)
        # Every field of the row comes from the file its upload_id names.
        assert (
            claim.payer,
            claim.cpt,
            claim.outcome,
            claim.billed_amount,
            claim.paid_amount,
            claim.denial_reason_code,
            claim.member_id,
        ) == (
            expected["payer"],
            expected["cpt"],
            expected["outcome"],
            Decimal(expected["billed_amount"]),
            Decimal(expected["paid_amount"]),
            expected["denial_reason_code"],
            expected["member_id"],
        ), claim.claim_number
        if number < OWN:
            assert tag == "A"
        elif number >= OWN + SHARED:
            assert tag == "B"
        else:  # shared: the later writer's version, not lost and not mixed
            assert claim.upload_id == second.pk


@pytest.mark.django_db(transaction=True)
def test_same_file_uploaded_twice_concurrently_is_processed_once() -> None:
    tenant = _tenant_with_payers()
    data = _file("A", range(500))
    # Both are accepted at upload time: neither has finished, so F06 cannot know yet.
    uploads = [store(tenant, data), store(tenant, data)]

    results = _run_together(*(lambda u=u: process(u) for u in uploads))
    assert all(isinstance(r, Upload) for r in results), results
    done = sorted((r for r in results if isinstance(r, Upload)), key=lambda u: u.status)
    assert [(u.status, u.error_code) for u in done] == [
        (UploadStatus.FAILED, "F06"),
        (UploadStatus.SUCCEEDED, ""),
    ]
    failed, succeeded = done
    assert failed.error_message == f"This file was already processed as upload {succeeded.pk}."
    assert (succeeded.inserted_rows, failed.inserted_rows, failed.updated_rows) == (500, 0, 0)
    with tenant_scope(tenant.customer.pk):
        assert ClaimRecord.objects.count() == 500
        assert set(ClaimRecord.objects.values_list("upload_id", flat=True)) == {succeeded.pk}
        assert not ClaimRecord.objects.filter(upload_id=failed.pk).exists()
