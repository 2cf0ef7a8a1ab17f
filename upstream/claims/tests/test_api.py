"""The generic API contract on every claims endpoint, plus their specific behaviour."""

from __future__ import annotations

import uuid
from typing import Any

from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import models

from upstream.claims.tests.factories import (
    ClaimRecordFactory,
    CptGroupMappingFactory,
    PayerMappingFactory,
    UploadFactory,
    UploadIssueFactory,
)
from upstream.core.testing.api import ALL_ROLES, WRITERS, APIContract, assert_problem
from upstream.core.testing.tenants import Tenant
from upstream.tenancy.roles import Role

HEADER = "claim_number,payer,cpt,submitted_date,decided_date,outcome\n"


class TestUploadsContract(APIContract):
    base_url = "/api/v1/uploads/"
    read_roles = ALL_ROLES
    create_roles = WRITERS

    def make_object(self, tenant: Tenant) -> models.Model:
        return UploadFactory.create(customer=tenant.customer)

    def create_payload(self, tenant: Tenant) -> dict[str, Any]:
        body = HEADER + f"C-{uuid.uuid4().hex[:10]},Aetna,99213,2026-01-01,2026-01-05,paid\n"
        return {"file": SimpleUploadedFile("claims.csv", body.encode())}

    def create_format(self) -> str:
        return "multipart"


class TestClaimsContract(APIContract):
    base_url = "/api/v1/claims/"

    def make_object(self, tenant: Tenant) -> models.Model:
        return ClaimRecordFactory.create(customer=tenant.customer)


class TestPayerMappingsContract(APIContract):
    base_url = "/api/v1/payer-mappings/"
    create_roles = WRITERS
    update_roles = WRITERS
    delete_roles = WRITERS

    def make_object(self, tenant: Tenant) -> models.Model:
        return PayerMappingFactory.create(customer=tenant.customer)

    def create_payload(self, tenant: Tenant) -> dict[str, Any]:
        return {"raw_name": f"RAW {uuid.uuid4().hex[:8]}", "normalized_name": "Aetna"}

    def update_payload(self, tenant: Tenant, obj: models.Model) -> dict[str, Any]:
        return {"normalized_name": f"Renamed {uuid.uuid4().hex[:6]}"}


class TestCptGroupMappingsContract(APIContract):
    base_url = "/api/v1/cpt-group-mappings/"
    create_roles = WRITERS
    update_roles = WRITERS
    delete_roles = WRITERS

    def make_object(self, tenant: Tenant) -> models.Model:
        return CptGroupMappingFactory.create(customer=tenant.customer)

    def create_payload(self, tenant: Tenant) -> dict[str, Any]:
        return {"cpt": f"{uuid.uuid4().int % 90000 + 10000}", "group": "surgery"}

    def update_payload(self, tenant: Tenant, obj: models.Model) -> dict[str, Any]:
        return {"group": f"G{uuid.uuid4().hex[:6]}"}


class TestValidationRulesContract(APIContract):
    base_url = "/api/v1/validation-rules/"
    has_detail = False


# --- specifics --------------------------------------------------------------------------------------------


def test_validation_rules_lists_all_23(tenant: Tenant) -> None:
    body = tenant.client(Role.VIEWER).get("/api/v1/validation-rules/?page_size=100").json()
    assert body["count"] == 23
    codes = [r["code"] for r in body["results"]]
    assert codes == [f"F0{i}" for i in range(1, 7)] + [f"R{i:02d}" for i in range(1, 12)] + [
        f"W0{i}" for i in range(1, 7)
    ]
    assert body["results"][3] == {
        "code": "F04",
        "name": "HEADER",
        "severity": "file",
        "description": body["results"][3]["description"],
    }


def test_upload_issues_filter_by_rule_and_severity(tenant: Tenant, other_tenant: Tenant) -> None:
    upload = UploadFactory.create(customer=tenant.customer)
    UploadIssueFactory.create(upload=upload, rule_code="R04", severity="error", row_number=5)
    UploadIssueFactory.create(upload=upload, rule_code="R04", severity="error", row_number=3)
    UploadIssueFactory.create(upload=upload, rule_code="W04", severity="warning", row_number=4)
    client = tenant.client(Role.VIEWER)
    rows = client.get(f"/api/v1/uploads/{upload.pk}/issues/?rule=R04&severity=error").json()
    assert [(i["row_number"], i["rule_code"], i["rule_name"]) for i in rows["results"]] == [
        (3, "R04", "DATE_FORMAT"),
        (5, "R04", "DATE_FORMAT"),
    ]
    warnings = client.get(f"/api/v1/uploads/{upload.pk}/issues/?severity=warning").json()
    assert [i["rule_code"] for i in warnings["results"]] == ["W04"]
    paged = client.get(f"/api/v1/uploads/{upload.pk}/issues/?page_size=2").json()
    assert (paged["count"], len(paged["results"])) == (3, 2)
    foreign = UploadFactory.create(customer=other_tenant.customer)
    assert_problem(client.get(f"/api/v1/uploads/{foreign.pk}/issues/"), 404, "not_found")


def test_upload_stats(tenant: Tenant, other_tenant: Tenant) -> None:
    UploadFactory.create(
        customer=tenant.customer,
        total_rows=10,
        accepted_rows=8,
        rejected_rows=2,
        inserted_rows=8,
        status="partial",
    )
    UploadFactory.create(
        customer=tenant.customer, total_rows=5, accepted_rows=5, inserted_rows=3, updated_rows=2
    )
    UploadFactory.create(customer=other_tenant.customer, total_rows=1000, accepted_rows=1000)
    ClaimRecordFactory.create_batch(4, customer=tenant.customer)
    body = tenant.client(Role.VIEWER).get("/api/v1/uploads/stats/").json()
    assert {k: v for k, v in body.items() if k != "last_upload_at"} == {
        "uploads": 2,
        "by_status": {"partial": 1, "succeeded": 1},
        "rows_total": 15,
        "rows_accepted": 13,
        "rows_rejected": 2,
        "rows_inserted": 11,
        "rows_updated": 2,
        "claims_stored": 4,
    }


def test_claim_filters(tenant: Tenant) -> None:
    ClaimRecordFactory.create(
        customer=tenant.customer,
        claim_number="A-1",
        payer="Aetna",
        outcome="DENIED",
        denial_reason_code="CO-45",
    )
    ClaimRecordFactory.create(
        customer=tenant.customer, claim_number="C-1", payer="Cigna", cpt_group="LAB", cpt="80048"
    )
    client = tenant.client(Role.VIEWER)

    def numbers(query: str) -> list[str]:
        return sorted(c["claim_number"] for c in client.get(f"/api/v1/claims/?{query}").json()["results"])

    assert numbers("payer=aetna") == ["A-1"]
    assert numbers("outcome=DENIED") == ["A-1"]
    assert numbers("cpt_group=lab") == ["C-1"]
    assert numbers("cpt=80048") == ["C-1"]
    assert numbers("denial_reason_code=co-45") == ["A-1"]
    assert numbers("claim_number=C-1") == ["C-1"]
    assert numbers("decided_from=2026-10-15&decided_to=2026-10-15") == ["A-1", "C-1"]
    assert numbers("decided_from=2026-10-16") == []
    assert numbers("search=Cigna") == ["C-1"]
    body = assert_problem(client.get("/api/v1/claims/?outcome=MAYBE"), 400)
    assert body["errors"][0]["attr"] == "outcome"
    assert_problem(client.get("/api/v1/claims/?decided_from=yesterday"), 400)


def test_payer_summary(tenant: Tenant, other_tenant: Tenant) -> None:
    for outcome, billed in (
        ("PAID", "100.00"),
        ("DENIED", "300.00"),
        ("DENIED", "50.00"),
        ("OTHER", "10.00"),
    ):
        ClaimRecordFactory.create(
            customer=tenant.customer,
            payer="Aetna",
            outcome=outcome,
            billed_amount=billed,
            paid_amount="80.00" if outcome == "PAID" else None,
        )
    ClaimRecordFactory.create(
        customer=tenant.customer, payer="Cigna", submitted_date="2025-12-20", decided_date="2026-01-01"
    )
    ClaimRecordFactory.create(customer=other_tenant.customer, payer="Aetna")
    body = tenant.client(Role.VIEWER).get("/api/v1/claims/payer-summary/?decided_from=2026-06-01").json()
    assert body["count"] == 1
    assert body["results"] == [
        {
            "payer": "Aetna",
            "claims": 4,
            "paid": 1,
            "denied": 2,
            "other": 1,
            "denial_rate": 0.6667,
            "billed_total": "460.00",
            "paid_total": "80.00",
            "denied_billed_total": "350.00",
        }
    ]


def test_mapping_uniqueness_is_case_insensitive(tenant: Tenant) -> None:
    client = tenant.client(Role.ANALYST)
    assert (
        client.post(
            "/api/v1/payer-mappings/", {"raw_name": "AETNA INC", "normalized_name": "Aetna"}, format="json"
        ).status_code
        == 201
    )
    body = assert_problem(
        client.post(
            "/api/v1/payer-mappings/", {"raw_name": " aetna inc ", "normalized_name": "Aetna"}, format="json"
        ),
        400,
        "unique",
    )
    assert body["errors"][0]["attr"] == "raw_name"
    assert (
        client.post("/api/v1/cpt-group-mappings/", {"cpt": "99213", "group": "visits"}, format="json").json()[
            "group"
        ]
        == "VISITS"
    )
    assert_problem(
        client.post("/api/v1/cpt-group-mappings/", {"cpt": " 99213", "group": "x"}, format="json"),
        400,
        "unique",
    )
