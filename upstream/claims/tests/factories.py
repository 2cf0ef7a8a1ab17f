from __future__ import annotations

import datetime
from decimal import Decimal

import factory

from upstream.claims.models import (
    ClaimRecord,
    CptGroupMapping,
    Outcome,
    PayerMapping,
    Upload,
    UploadIssue,
    UploadStatus,
)
from upstream.tenancy.tests.factories import CustomerFactory, TenantModelFactory


class UploadFactory(TenantModelFactory):
    class Meta:
        model = Upload

    customer = factory.SubFactory(CustomerFactory)
    filename = factory.Sequence(lambda n: f"claims-{n}.csv")
    size_bytes = 1024
    sha256 = factory.Sequence(lambda n: f"{n:064x}")
    status = UploadStatus.SUCCEEDED
    total_rows = 10
    accepted_rows = 10


class UploadIssueFactory(TenantModelFactory):
    class Meta:
        model = UploadIssue

    upload = factory.SubFactory(UploadFactory)
    customer = factory.SelfAttribute("upload.customer")
    row_number = factory.Sequence(lambda n: n + 2)
    column = "decided_date"
    rule_code = "R04"
    severity = "error"
    message = 'Row 2, column decided_date: "x" is not a valid date [R04 DATE_FORMAT]'
    value = "x"


class ClaimRecordFactory(TenantModelFactory):
    class Meta:
        model = ClaimRecord

    customer = factory.SubFactory(CustomerFactory)
    claim_number = factory.Sequence(lambda n: f"CLM-{n:08d}")
    payer = "Aetna"
    payer_raw = "Aetna"
    cpt = "99213"
    cpt_group = "E&M"
    submitted_date = datetime.date(2026, 10, 1)
    decided_date = datetime.date(2026, 10, 15)
    outcome = Outcome.PAID
    billed_amount = Decimal("245.00")
    paid_amount = Decimal("150.00")
    row_hash = factory.Sequence(lambda n: f"{n:032x}")
    member_id = factory.Sequence(lambda n: f"MEM{n:09d}")
    patient_name = "Pat Example"


class PayerMappingFactory(TenantModelFactory):
    class Meta:
        model = PayerMapping

    customer = factory.SubFactory(CustomerFactory)
    raw_name = factory.Sequence(lambda n: f"PAYER {n} INC")
    normalized_name = factory.Sequence(lambda n: f"Payer {n}")


class CptGroupMappingFactory(TenantModelFactory):
    class Meta:
        model = CptGroupMapping

    customer = factory.SubFactory(CustomerFactory)
    cpt = factory.Sequence(lambda n: f"{10000 + n}")
    group = "SURGERY"
