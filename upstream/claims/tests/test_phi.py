"""PHI at rest and in motion (SPEC §10): encrypted claim columns with blind indexes, decrypted only for roles
that may see PHI (and audited), and never in issues, error bodies or logs."""

from __future__ import annotations

import io
import json
import logging
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection

from upstream.audit.models import AuditAction, AuditEvent
from upstream.claims.models import ClaimRecord, PayerMapping, Upload, UploadStatus
from upstream.claims.tests.helpers import claim_row, csv_bytes, ingest
from upstream.core.crypto import blind_index, decrypt, primary_key_id
from upstream.core.logging import PHIScrubFilter
from upstream.core.testing.api import assert_problem
from upstream.core.testing.tenants import Tenant
from upstream.tenancy.roles import Role
from upstream.tenancy.scoping import tenant_scope

PHI_COLUMNS = ("patient_account_number", "member_id", "patient_name", "patient_dob")
HEX64 = re.compile(r"[0-9a-f]{64}")

# Two accepted claims with distinctive identifiers ...
ALICE = {
    "patient_account_number": "PAN-4417-QZX",
    "member_id": "MBR88123XK",
    "patient_name": "Zebulon Quixotic-Farnsworth",
    "patient_dob": "07/04/1961",
}
BOB = {
    "patient_account_number": "PAN-5528-WVY",
    "member_id": "MBR99234YL",
    "patient_name": "Philippa Vandersnoot",
    "patient_dob": "1975-12-31",
}
# ... and rows rejected by rules on their PHI columns (or on a coded column holding PHI).
BAD_DOB = {"patient_name": "Ottoline Grzeszczak", "member_id": "MBR55501QQ", "patient_dob": "1961-13-45"}
LONG_MEMBER = {"patient_name": "Cornelius Blatherwick", "member_id": "MBRLONG" + "7" * 70}
FUTURE_DOB = {"patient_account_number": "PAN-6639-FUT", "patient_dob": "2099-02-03"}
SSN = "123-45-6789"
EMAIL = "zebulon.q@example.org"

PHI_STRINGS = (
    *(v for v in ALICE.values()),
    "1961-07-04",  # Alice's date of birth as stored
    *(v for v in BOB.values()),
    *(v for v in BAD_DOB.values()),
    *(v for v in LONG_MEMBER.values()),
    *(v for v in FUTURE_DOB.values()),
    SSN,
    EMAIL,
)


@pytest.fixture(autouse=True)
def _private_media(settings: Any, tmp_path: Path) -> None:
    settings.MEDIA_ROOT = tmp_path / "media"


def _rows() -> list[dict[str, str]]:
    return [
        claim_row("PHI-1", **ALICE),  # row 2
        claim_row("PHI-2", **BOB, denial_reason_text=f"patient SSN {SSN} on file"),  # row 3: W06
        claim_row("PHI-3", **BAD_DOB),  # row 4: R04 patient_dob
        claim_row("PHI-4", **LONG_MEMBER),  # row 5: R03 member_id
        claim_row("PHI-5", **FUTURE_DOB),  # row 6: R06 patient_dob
        claim_row("PHI-6", payer=f"Aetna {EMAIL}"),  # row 7: R11 payer
    ]


def _leaks(text: str) -> list[str]:
    lowered = text.lower()
    return [value for value in PHI_STRINGS if value.lower() in lowered]


@pytest.fixture
def ingested(tenant: Tenant) -> Upload:
    PayerMapping.objects_all_tenants.create(
        customer=tenant.customer, raw_name="Aetna", normalized_name="Aetna"
    )
    upload = ingest(tenant, csv_bytes(_rows()))
    assert upload.status == UploadStatus.PARTIAL
    assert upload.rule_counts == {"R03": 1, "R04": 1, "R06": 1, "R11": 1, "W06": 1}
    return upload


def _claim_ids(tenant: Tenant) -> dict[str, int]:
    with tenant_scope(tenant.customer.pk):
        return dict(ClaimRecord.objects.values_list("claim_number", "id"))


# --- at rest ----------------------------------------------------------------------------------------------


def test_claims_table_holds_only_ciphertext_and_blind_indexes(tenant: Tenant, ingested: Upload) -> None:
    kid = primary_key_id()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT claim_number, row_to_json(c)::text, patient_account_number, member_id, patient_name,"
            " patient_dob, patient_account_number_bidx, member_id_bidx"
            " FROM claims_claimrecord AS c WHERE customer_id = %s ORDER BY claim_number",
            [tenant.customer.pk],
        )
        rows = cursor.fetchall()
    assert [row[0] for row in rows] == ["PHI-1", "PHI-2"]
    for (number, as_json, *phi), source in zip(rows, (ALICE, BOB), strict=True):
        assert _leaks(as_json) == [], number
        tokens, (pan_bidx, member_bidx) = phi[:4], phi[4:]
        for column, token in zip(PHI_COLUMNS, tokens, strict=True):
            assert token.startswith(f"v1:{kid}:"), (number, column)
        assert HEX64.fullmatch(pan_bidx)
        assert HEX64.fullmatch(member_bidx)
        assert pan_bidx == blind_index(source["patient_account_number"])
        assert member_bidx == blind_index(source["member_id"])
        decrypted = [decrypt(token) for token in tokens]
        assert decrypted[:3] == [source[c] for c in PHI_COLUMNS[:3]]
    assert decrypt(rows[0][5]) == "1961-07-04"  # dates of birth are stored normalized
    # Rejected rows left nothing behind; nor do the upload and its issues hold any PHI.
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT coalesce(string_agg(row_to_json(i)::text, ''), '') FROM claims_uploadissue AS i"
            " WHERE upload_id = %s",
            [ingested.pk],
        )
        issues_text = cursor.fetchone()[0]
        cursor.execute("SELECT row_to_json(u)::text FROM claims_upload AS u WHERE id = %s", [ingested.pk])
        upload_text = cursor.fetchone()[0]
    assert _leaks(issues_text) == []
    assert _leaks(upload_text) == []


def test_issues_on_phi_columns_are_redacted(tenant: Tenant, ingested: Upload) -> None:
    response = tenant.client(Role.ANALYST).get(f"/api/v1/uploads/{ingested.pk}/issues/")
    assert response.status_code == 200
    issues = [(i["row_number"], i["column"], i["rule_code"], i["value"]) for i in response.json()["results"]]
    assert issues == [
        (3, "denial_reason_text", "W06", "patient SSN [REDACTED-SSN] on file"),
        (4, "patient_dob", "R04", "[REDACTED]"),
        (5, "member_id", "R03", "[REDACTED]"),
        (6, "patient_dob", "R06", "[REDACTED]"),
        (7, "payer", "R11", "Aetna [REDACTED-EMAIL]"),
    ]
    messages = [i["message"] for i in response.json()["results"]]
    assert messages[2] == (
        'Row 5, column member_id: "[REDACTED]" is 77 characters long; the maximum is 64 [R03 FIELD_LENGTH]'
    )
    assert _leaks(response.content.decode()) == []
    with tenant_scope(tenant.customer.pk):
        stored = ClaimRecord.objects.get(claim_number="PHI-2").denial_reason_text
    assert stored == "patient SSN [REDACTED-SSN] on file"


# --- through the API ----------------------------------------------------------------------------------------


def _phi_audits(tenant: Tenant) -> list[AuditEvent]:
    return list(
        AuditEvent.objects_all_tenants.filter(
            customer_id=tenant.customer.pk, action=AuditAction.PHI_ACCESSED
        ).order_by("id")
    )


def test_analyst_sees_decrypted_phi_and_every_response_is_audited(tenant: Tenant, ingested: Upload) -> None:
    ids = _claim_ids(tenant)
    analyst = tenant.client(Role.ANALYST)

    listed = analyst.get("/api/v1/claims/?ordering=claim_number")
    assert listed.status_code == 200
    results = listed.json()["results"]
    assert [{c: r[c] for c in ("claim_number", *PHI_COLUMNS)} for r in results] == [
        {"claim_number": "PHI-1", **ALICE, "patient_dob": "1961-07-04"},
        {"claim_number": "PHI-2", **BOB},
    ]
    detail = analyst.get(f"/api/v1/claims/{ids['PHI-2']}/")
    assert detail.status_code == 200
    assert detail.json()["member_id"] == BOB["member_id"]

    audits = _phi_audits(tenant)
    assert len(audits) == 2
    analyst_user = tenant.users[Role.ANALYST]
    assert [(a.actor_id, a.target_type) for a in audits] == [(analyst_user.pk, "claims.claimrecord")] * 2
    assert audits[0].metadata == {
        "claim_ids": [ids["PHI-1"], ids["PHI-2"]],
        "fields": sorted(PHI_COLUMNS),
        "endpoint": "/api/v1/claims/",
    }
    assert audits[1].metadata == {
        "claim_ids": [ids["PHI-2"]],
        "fields": sorted(PHI_COLUMNS),
        "endpoint": f"/api/v1/claims/{ids['PHI-2']}/",
    }
    assert audits[0].request_id == listed["X-Request-ID"]
    assert all(_leaks(json.dumps(a.metadata)) == [] for a in audits)


def test_viewer_gets_nulls_and_no_audit(tenant: Tenant, ingested: Upload) -> None:
    ids = _claim_ids(tenant)
    viewer = tenant.client(Role.VIEWER)
    listed = viewer.get("/api/v1/claims/")
    assert listed.status_code == 200
    assert len(listed.json()["results"]) == 2
    for row in listed.json()["results"]:
        assert [row[c] for c in PHI_COLUMNS] == [None] * 4
    detail = viewer.get(f"/api/v1/claims/{ids['PHI-1']}/")
    assert detail.status_code == 200
    assert [detail.json()[c] for c in PHI_COLUMNS] == [None] * 4
    assert _leaks(listed.content.decode() + detail.content.decode()) == []
    assert _phi_audits(tenant) == []


@pytest.mark.parametrize(
    ("param", "value", "expected"),
    [
        ("member_id", "MBR88123XK", "PHI-1"),
        ("member_id", "mbr88123xk", "PHI-1"),
        ("member_id", " mbr-88123 xk ", "PHI-1"),
        ("patient_account_number", "pan 5528 wvy", "PHI-2"),
        ("patient_account_number", "PAN-5528-WVY", "PHI-2"),
    ],
)
def test_exact_lookup_by_identifier(
    tenant: Tenant, ingested: Upload, param: str, value: str, expected: str
) -> None:
    response = tenant.client(Role.ANALYST).get("/api/v1/claims/", {param: value})
    assert response.status_code == 200
    assert [r["claim_number"] for r in response.json()["results"]] == [expected]
    assert len(_phi_audits(tenant)) == 1


def test_lookup_of_an_unknown_identifier_finds_nothing(tenant: Tenant, ingested: Upload) -> None:
    response = tenant.client(Role.ANALYST).get("/api/v1/claims/", {"member_id": "MBR88123X"})
    assert response.status_code == 200
    assert response.json()["count"] == 0
    assert _phi_audits(tenant) == []  # nothing disclosed, nothing to audit


def test_lookup_is_scoped_to_the_tenant(tenant: Tenant, other_tenant: Tenant, ingested: Upload) -> None:
    response = other_tenant.client(Role.ANALYST).get("/api/v1/claims/", {"member_id": ALICE["member_id"]})
    assert response.status_code == 200
    assert response.json()["count"] == 0


@pytest.mark.parametrize("param", ["member_id", "patient_account_number"])
def test_viewer_may_not_look_up_by_identifier(tenant: Tenant, ingested: Upload, param: str) -> None:
    value = ALICE[param]
    response = tenant.client(Role.VIEWER).get("/api/v1/claims/", {param: value})
    body = assert_problem(response, 403, "phi_not_allowed")
    assert _leaks(json.dumps(body)) == []
    assert _phi_audits(tenant) == []


# --- logs and error bodies ---------------------------------------------------------------------------------


@pytest.fixture
def json_log() -> Iterator[io.StringIO]:
    """Everything the project's configured root handler (JSON formatter + PHI scrub filter) writes."""
    root = logging.getLogger()
    handlers = [h for h in root.handlers if any(isinstance(f, PHIScrubFilter) for f in h.filters)]
    assert len(handlers) == 1, root.handlers
    handler = handlers[0]
    assert isinstance(handler, logging.StreamHandler)
    stream = io.StringIO()
    previous = handler.setStream(stream)
    try:
        yield stream
    finally:
        handler.setStream(previous)


def test_phi_never_reaches_logs_or_error_bodies(
    tenant: Tenant,
    caplog: pytest.LogCaptureFixture,
    json_log: io.StringIO,
    django_capture_on_commit_callbacks: Any,
) -> None:
    PayerMapping.objects_all_tenants.create(
        customer=tenant.customer, raw_name="Aetna", normalized_name="Aetna"
    )
    data = csv_bytes(_rows())
    analyst = tenant.client(Role.ANALYST)
    connection.force_debug_cursor = True  # log every SQL statement with its parameters, too
    try:
        with caplog.at_level(logging.DEBUG), caplog.at_level(logging.DEBUG, logger="django.db.backends"):
            with django_capture_on_commit_callbacks(execute=True):
                created = analyst.post(
                    "/api/v1/uploads/", {"file": SimpleUploadedFile("phi.csv", data)}, format="multipart"
                )
            assert created.status_code == 202
            upload_id = created.json()["id"]
            duplicate = analyst.post(
                "/api/v1/uploads/", {"file": SimpleUploadedFile("again.csv", data)}, format="multipart"
            )
            viewer_lookup = tenant.client(Role.VIEWER).get(
                "/api/v1/claims/", {"member_id": ALICE["member_id"]}
            )
            responses = [
                created,
                duplicate,
                viewer_lookup,
                analyst.get(f"/api/v1/uploads/{upload_id}/"),
                analyst.get(f"/api/v1/uploads/{upload_id}/issues/"),
                analyst.get("/api/v1/claims/", {"member_id": "no-such-member"}),
            ]
    finally:
        connection.force_debug_cursor = False

    assert Upload.objects_all_tenants.get(pk=upload_id).status == UploadStatus.PARTIAL
    assert duplicate.status_code == 409
    assert viewer_lookup.status_code == 403
    for response in responses:
        assert _leaks(response.content.decode()) == [], response.request["PATH_INFO"]

    records = caplog.records
    assert any(r.name == "django.db.backends" for r in records)  # the capture did see the ingest's SQL
    assert any(r.name == "django.request" and r.levelno == logging.WARNING for r in records)  # 403 and 409
    captured = "\n".join(
        f"{r.getMessage()} {r.exc_text or ''} {r.stack_info or ''} {vars(r)}" for r in records
    )
    assert _leaks(captured) == []
    written = json_log.getvalue()
    assert written.count("\n") >= len(records) > 0
    assert _leaks(written) == []
