from __future__ import annotations

from rest_framework import serializers

from upstream.audit.models import AuditEvent


class AuditEventSerializer(serializers.ModelSerializer[AuditEvent]):
    class Meta:
        model = AuditEvent
        fields = (
            "id",
            "occurred_at",
            "customer_id",
            "actor_id",
            "actor_email",
            "action",
            "target_type",
            "target_id",
            "ip_address",
            "request_id",
            "metadata",
        )
        read_only_fields = fields
