"""The append-only audit log (SPEC §10). A database trigger refuses UPDATE and DELETE on it."""

from __future__ import annotations

from django.db import models

from upstream.tenancy.scoping import TenantManager


class AuditAction(models.TextChoices):
    LOGIN_SUCCEEDED = "auth.login_succeeded", "Login succeeded"
    LOGIN_FAILED = "auth.login_failed", "Login failed"
    LOGOUT = "auth.logout", "Logout"
    TOKEN_REFRESH_REFUSED = "auth.refresh_refused", "Token refresh refused"
    CUSTOMER_CREATED = "customer.created", "Customer created"
    MEMBERSHIP_CREATED = "membership.created", "Membership created"
    MEMBERSHIP_ROLE_CHANGED = "membership.role_changed", "Membership role changed"
    MEMBERSHIP_DELETED = "membership.deleted", "Membership deleted"
    PHI_ACCESSED = "phi.accessed", "Decrypted PHI returned"
    UPLOAD_CREATED = "upload.created", "Claims file uploaded"
    MAPPING_CHANGED = "mapping.changed", "Payer or CPT-group mapping changed"
    PHI_KEYS_ROTATED = "phi.keys_rotated", "PHI keys rotated"
    ALERT_RULE_CHANGED = "alert_rule.changed", "Alert rule created, changed or deleted"
    ALERT_SETTINGS_CHANGED = "alert_settings.changed", "Alert suppression settings changed"
    ALERT_FEEDBACK_GIVEN = "alert.feedback", "Alert feedback given"
    WEBHOOK_ENDPOINT_CHANGED = "webhook_endpoint.changed", "Webhook endpoint created, changed or deleted"
    WEBHOOK_SECRET_ROTATED = "webhook_endpoint.secret_rotated", "Webhook secret rotated"
    WEBHOOK_ENDPOINT_DISABLED = "webhook_endpoint.disabled", "Webhook endpoint disabled automatically"


class AuditEvent(models.Model):
    """One audited action. ``customer_id`` and ``actor_id`` are plain columns, not foreign keys, so that
    deleting a user or customer never has to touch (and could never rewrite) the log."""

    occurred_at = models.DateTimeField(auto_now_add=True, db_index=True)
    customer_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    actor_id = models.BigIntegerField(null=True, blank=True)
    actor_email = models.CharField(max_length=254, blank=True, default="")
    action = models.CharField(max_length=64, choices=AuditAction.choices, db_index=True)
    target_type = models.CharField(max_length=64, blank=True, default="")
    target_id = models.CharField(max_length=64, blank=True, default="")
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    request_id = models.CharField(max_length=128, blank=True, default="")
    metadata = models.JSONField(default=dict, blank=True)

    objects = TenantManager()
    objects_all_tenants = models.Manager()

    class Meta:
        ordering = ["-occurred_at", "-id"]
        indexes = [models.Index(fields=["customer_id", "-occurred_at"], name="audit_customer_time_idx")]

    def __str__(self) -> str:
        return f"{self.occurred_at:%Y-%m-%d %H:%M:%S} {self.action} by {self.actor_email or '-'}"
