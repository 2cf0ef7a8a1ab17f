"""Claims: uploads and their issues, stored claims with encrypted PHI, payer and CPT-group mappings
(SPEC §3)."""

from __future__ import annotations

from django.conf import settings
from django.contrib.postgres.indexes import HashIndex
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Lower

from upstream.core.fields import EncryptedTextField
from upstream.core.models import TenantModel


class UploadStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    PROCESSING = "processing", "Processing"
    SUCCEEDED = "succeeded", "Succeeded"
    PARTIAL = "partial", "Partial (some rows rejected)"
    FAILED = "failed", "Failed"


TERMINAL_STATUSES = (UploadStatus.SUCCEEDED, UploadStatus.PARTIAL, UploadStatus.FAILED)


class Upload(TenantModel):
    filename = models.CharField(max_length=255)
    size_bytes = models.BigIntegerField()
    sha256 = models.CharField(max_length=64)
    stored_path = models.CharField(max_length=500, blank=True, default="")
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    status = models.CharField(max_length=16, choices=UploadStatus.choices, default=UploadStatus.QUEUED)
    total_rows = models.BigIntegerField(default=0)
    processed_rows = models.BigIntegerField(default=0)
    accepted_rows = models.BigIntegerField(default=0)
    rejected_rows = models.BigIntegerField(default=0)
    warned_rows = models.BigIntegerField(default=0)
    inserted_rows = models.BigIntegerField(default=0)
    updated_rows = models.BigIntegerField(default=0)
    unchanged_rows = models.BigIntegerField(default=0)
    rule_counts = models.JSONField(default=dict, blank=True)
    issues_stored = models.IntegerField(default=0)
    notes = models.JSONField(default=list, blank=True)
    date_min = models.DateField(null=True, blank=True)
    date_max = models.DateField(null=True, blank=True)
    error_code = models.CharField(max_length=8, blank=True, default="")
    error_message = models.TextField(blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["customer", "-created_at"], name="claims_upload_cust_created")]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=UploadStatus.values), name="claims_upload_status_valid"
            ),
            models.CheckConstraint(
                condition=Q(
                    size_bytes__gte=0,
                    total_rows__gte=0,
                    processed_rows__gte=0,
                    accepted_rows__gte=0,
                    rejected_rows__gte=0,
                    warned_rows__gte=0,
                    inserted_rows__gte=0,
                    updated_rows__gte=0,
                    unchanged_rows__gte=0,
                    issues_stored__gte=0,
                ),
                name="claims_upload_counts_nonneg",
            ),
            models.CheckConstraint(
                condition=Q(accepted_rows__lte=F("total_rows")), name="claims_upload_accepted_le_total"
            ),
            models.CheckConstraint(
                condition=Q(rejected_rows__lte=F("total_rows")), name="claims_upload_rejected_le_total"
            ),
            models.CheckConstraint(
                condition=Q(inserted_rows__lte=F("accepted_rows")) & Q(updated_rows__lte=F("accepted_rows")),
                name="claims_upload_written_le_accepted",
            ),
            models.CheckConstraint(
                condition=Q(date_min__isnull=True)
                | Q(date_max__isnull=True)
                | Q(date_min__lte=F("date_max")),
                name="claims_upload_dates_ordered",
            ),
            # F06: one successful (or partial) upload per file content and customer.
            models.UniqueConstraint(
                fields=["customer", "sha256"],
                name="claims_upload_customer_sha_done_uniq",
                condition=Q(status__in=[UploadStatus.SUCCEEDED, UploadStatus.PARTIAL]),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.filename} ({self.status})"


class IssueSeverity(models.TextChoices):
    ERROR = "error", "Error"
    WARNING = "warning", "Warning"


class UploadIssue(TenantModel):
    upload = models.ForeignKey(Upload, on_delete=models.CASCADE, related_name="issues")
    row_number = models.BigIntegerField(null=True, blank=True)
    column = models.CharField(max_length=64, blank=True, default="")
    rule_code = models.CharField(max_length=3)
    severity = models.CharField(max_length=8, choices=IssueSeverity.choices)
    message = models.TextField()
    value = models.CharField(max_length=300, blank=True, default="")

    class Meta:
        ordering = ["row_number", "id"]
        indexes = [models.Index(fields=["upload", "rule_code", "severity"], name="claims_issue_upload_rule")]
        constraints = [
            models.CheckConstraint(
                condition=Q(severity__in=IssueSeverity.values), name="claims_issue_severity"
            ),
            models.CheckConstraint(
                condition=Q(row_number__isnull=True) | Q(row_number__gte=1), name="claims_issue_row_positive"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.rule_code} row {self.row_number}"


class Outcome(models.TextChoices):
    PAID = "PAID", "Paid"
    DENIED = "DENIED", "Denied"
    OTHER = "OTHER", "Other"


class ClaimRecord(TenantModel):
    """One adjudicated claim, the bulk fact table (millions of rows per customer).

    Its two foreign keys have no database constraint: PostgreSQL checks a constraint with a per-row trigger,
    which costs ~5.5 s per million ingested rows (docs/benchmarks.md). Integrity holds because the only writer
    of new rows is the ingest pipeline, which runs under the Customer row lock for an existing customer and
    its own upload, and deletions cascade through the ORM (customer → claims, upload → SET_NULL).
    """

    customer = models.ForeignKey(
        "tenancy.Customer", on_delete=models.CASCADE, related_name="+", db_index=False, db_constraint=False
    )
    claim_number = models.CharField(max_length=64)
    # Unindexed on purpose: written for every ingested row, read only by the occasional ?upload= filter.
    upload = models.ForeignKey(
        Upload,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_index=False,
        db_constraint=False,
    )
    payer = models.CharField(max_length=255)
    payer_raw = models.CharField(max_length=255)
    cpt = models.CharField(max_length=16)
    modifiers = models.CharField(max_length=32, blank=True, default="")
    cpt_group = models.CharField(max_length=64)
    submitted_date = models.DateField()
    decided_date = models.DateField()
    paid_date = models.DateField(null=True, blank=True)
    outcome = models.CharField(max_length=8, choices=Outcome.choices)
    billed_amount = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True)
    allowed_amount = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True)
    paid_amount = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True)
    denial_reason_code = models.CharField(max_length=16, blank=True, default="")
    denial_reason_text = models.TextField(blank=True, default="")
    row_hash = models.CharField(max_length=64)
    # PHI: encrypted field by field; exact lookup goes through the blind indexes.
    patient_account_number = EncryptedTextField(null=True, blank=True)
    member_id = EncryptedTextField(null=True, blank=True)
    patient_name = EncryptedTextField(null=True, blank=True)
    patient_dob = EncryptedTextField(null=True, blank=True)
    patient_account_number_bidx = models.CharField(max_length=64, blank=True, default="")
    member_id_bidx = models.CharField(max_length=64, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-decided_date", "-id"]
        indexes = [
            models.Index(fields=["customer", "payer", "decided_date"], name="claims_claim_cust_payer_dec"),
            models.Index(fields=["customer", "decided_date"], name="claims_claim_cust_decided"),
            # Blind indexes are looked up by equality only, and HMAC values land at random places in a btree:
            # hash indexes are far smaller and make a million-row ingest ~8 s faster (docs/benchmarks.md).
            HashIndex(
                fields=["member_id_bidx"], name="claims_claim_member_bidx", condition=~Q(member_id_bidx="")
            ),
            HashIndex(
                fields=["patient_account_number_bidx"],
                name="claims_claim_pan_bidx",
                condition=~Q(patient_account_number_bidx=""),
            ),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["customer", "claim_number"], name="claims_claim_customer_number_uniq"
            ),
            models.CheckConstraint(
                condition=Q(outcome__in=Outcome.values), name="claims_claim_outcome_valid"
            ),
            models.CheckConstraint(
                condition=Q(submitted_date__lte=F("decided_date")), name="claims_claim_submitted_le_decided"
            ),
            models.CheckConstraint(
                condition=Q(paid_date__isnull=True) | Q(paid_date__gte=F("decided_date")),
                name="claims_claim_decided_le_paid",
            ),
            models.CheckConstraint(
                condition=(Q(billed_amount__isnull=True) | Q(billed_amount__gte=0))
                & (Q(allowed_amount__isnull=True) | Q(allowed_amount__gte=0))
                & (Q(paid_amount__isnull=True) | Q(paid_amount__gte=0)),
                name="claims_claim_amounts_nonneg",
            ),
        ]

    def __str__(self) -> str:
        return self.claim_number


class PayerMapping(TenantModel):
    raw_name = models.CharField(max_length=255)
    normalized_name = models.CharField(max_length=255)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["raw_name", "id"]
        constraints = [
            models.UniqueConstraint(
                "customer", Lower("raw_name"), name="claims_payermap_customer_raw_ci_uniq"
            ),
            models.CheckConstraint(
                condition=~Q(raw_name="") & ~Q(normalized_name=""), name="claims_payermap_nonblank"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.raw_name} → {self.normalized_name}"


class CptGroupMapping(TenantModel):
    cpt = models.CharField(max_length=16)
    group = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["cpt", "id"]
        constraints = [
            models.UniqueConstraint(fields=["customer", "cpt"], name="claims_cptmap_customer_cpt_uniq"),
            models.CheckConstraint(condition=~Q(cpt="") & ~Q(group=""), name="claims_cptmap_nonblank"),
        ]

    def __str__(self) -> str:
        return f"{self.cpt} → {self.group}"
