"""Serializers of the claims endpoints."""

from __future__ import annotations

from typing import Any

from django.db.models.functions import Lower
from rest_framework import serializers

from upstream.claims.ingest.rules import RULES_BY_CODE
from upstream.claims.models import ClaimRecord, CptGroupMapping, PayerMapping, Upload, UploadIssue

PHI_FIELDS = ("patient_account_number", "member_id", "patient_name", "patient_dob")


class ValidationRuleSerializer(serializers.Serializer[Any]):
    code = serializers.CharField()
    name = serializers.CharField()
    severity = serializers.ChoiceField(choices=["file", "error", "warning"])
    description = serializers.CharField()


class RuleCountSerializer(serializers.Serializer[Any]):
    code = serializers.CharField()
    name = serializers.CharField()
    severity = serializers.CharField()
    count = serializers.IntegerField()


class UploadSerializer(serializers.ModelSerializer[Upload]):
    rules = serializers.SerializerMethodField(
        help_text="Exact number of issues per rule, file rules included."
    )

    class Meta:
        model = Upload
        fields = (
            "id",
            "filename",
            "size_bytes",
            "sha256",
            "status",
            "uploaded_by",
            "total_rows",
            "processed_rows",
            "accepted_rows",
            "rejected_rows",
            "warned_rows",
            "inserted_rows",
            "updated_rows",
            "unchanged_rows",
            "rules",
            "issues_stored",
            "notes",
            "date_min",
            "date_max",
            "error_code",
            "error_message",
            "created_at",
            "started_at",
            "finished_at",
        )
        read_only_fields = fields

    def get_rules(self, upload: Upload) -> list[dict[str, Any]]:
        counts = dict(upload.rule_counts)
        if upload.error_code in RULES_BY_CODE and upload.error_code not in counts:
            counts[upload.error_code] = 1
        return [
            {
                "code": code,
                "name": RULES_BY_CODE[code].name,
                "severity": RULES_BY_CODE[code].severity,
                "count": count,
            }
            for code, count in sorted(counts.items())
            if code in RULES_BY_CODE
        ]


class UploadCreateSerializer(serializers.Serializer[Any]):
    file = serializers.FileField(
        help_text="The claims CSV (.csv or .csv.gz), SPEC §4.", allow_empty_file=True
    )


class UploadIssueSerializer(serializers.ModelSerializer[UploadIssue]):
    rule_name = serializers.SerializerMethodField()

    class Meta:
        model = UploadIssue
        fields = ("id", "row_number", "column", "rule_code", "rule_name", "severity", "message", "value")
        read_only_fields = fields

    def get_rule_name(self, issue: UploadIssue) -> str:
        rule = RULES_BY_CODE.get(issue.rule_code)
        return rule.name if rule else ""


class UploadStatsSerializer(serializers.Serializer[Any]):
    uploads = serializers.IntegerField()
    by_status = serializers.DictField(child=serializers.IntegerField())
    rows_total = serializers.IntegerField()
    rows_accepted = serializers.IntegerField()
    rows_rejected = serializers.IntegerField()
    rows_inserted = serializers.IntegerField()
    rows_updated = serializers.IntegerField()
    claims_stored = serializers.IntegerField()
    last_upload_at = serializers.DateTimeField(allow_null=True)


_CLAIM_FIELDS = (
    "id",
    "claim_number",
    "upload",
    "payer",
    "payer_raw",
    "cpt",
    "modifiers",
    "cpt_group",
    "submitted_date",
    "decided_date",
    "paid_date",
    "outcome",
    "billed_amount",
    "allowed_amount",
    "paid_amount",
    "denial_reason_code",
    "denial_reason_text",
    *PHI_FIELDS,
    "created_at",
    "updated_at",
)


class ClaimSerializer(serializers.ModelSerializer[ClaimRecord]):
    """A claim with its PHI decrypted: for roles that may see PHI (every such response is audited)."""

    upload = serializers.IntegerField(source="upload_id", allow_null=True, read_only=True)

    class Meta:
        model = ClaimRecord
        fields = _CLAIM_FIELDS
        read_only_fields = fields
        extra_kwargs = {"patient_dob": {"help_text": "YYYY-MM-DD"}}


class ClaimWithoutPHISerializer(ClaimSerializer):
    """The same shape with every PHI field null, for viewers; the PHI columns are never even loaded."""

    patient_account_number = serializers.SerializerMethodField()
    member_id = serializers.SerializerMethodField()
    patient_name = serializers.SerializerMethodField()
    patient_dob = serializers.SerializerMethodField()

    def _null(self, claim: ClaimRecord) -> None:
        return None

    get_patient_account_number = get_member_id = get_patient_name = get_patient_dob = _null


class PayerSummarySerializer(serializers.Serializer[Any]):
    payer = serializers.CharField()
    claims = serializers.IntegerField()
    paid = serializers.IntegerField()
    denied = serializers.IntegerField()
    other = serializers.IntegerField()
    denial_rate = serializers.FloatField(allow_null=True, help_text="denied / (paid + denied)")
    billed_total = serializers.DecimalField(max_digits=16, decimal_places=2)
    paid_total = serializers.DecimalField(max_digits=16, decimal_places=2)
    denied_billed_total = serializers.DecimalField(max_digits=16, decimal_places=2)


class PayerMappingSerializer(serializers.ModelSerializer[PayerMapping]):
    class Meta:
        model = PayerMapping
        fields = ("id", "raw_name", "normalized_name", "created_at", "updated_at")
        read_only_fields = ("id", "created_at", "updated_at")

    def validate_raw_name(self, value: str) -> str:
        value = value.strip()
        clash = PayerMapping.objects.annotate(lower=Lower("raw_name")).filter(lower=value.lower())
        if self.instance is not None:
            clash = clash.exclude(pk=self.instance.pk)
        if clash.exists():
            raise serializers.ValidationError(f"A mapping for {value!r} already exists.", code="unique")
        return value

    def validate_normalized_name(self, value: str) -> str:
        return value.strip()


class CptGroupMappingSerializer(serializers.ModelSerializer[CptGroupMapping]):
    class Meta:
        model = CptGroupMapping
        fields = ("id", "cpt", "group", "created_at", "updated_at")
        read_only_fields = ("id", "created_at", "updated_at")

    def validate_cpt(self, value: str) -> str:
        value = value.strip().upper()
        clash = CptGroupMapping.objects.filter(cpt=value)
        if self.instance is not None:
            clash = clash.exclude(pk=self.instance.pk)
        if clash.exists():
            raise serializers.ValidationError(f"A mapping for CPT {value} already exists.", code="unique")
        return value

    def validate_group(self, value: str) -> str:
        return value.strip().upper()
