"""Read-mostly admin views of alerts (platform staff); alert state changes go through the services."""

from __future__ import annotations

from django.contrib import admin

from upstream.alerts.models import AlertEvent, AlertRule, AlertSettings, OperatorFeedback


@admin.register(AlertRule)
class AlertRuleAdmin(admin.ModelAdmin):
    list_display = ("name", "customer", "enabled", "min_severity", "worsening_only", "is_default")
    list_filter = ("enabled", "is_default")
    search_fields = ("name", "payer", "cpt_group")

    def get_queryset(self, request):  # type: ignore[no-untyped-def]
        return AlertRule.objects_all_tenants.select_related("customer")


@admin.register(AlertEvent)
class AlertEventAdmin(admin.ModelAdmin):
    list_display = (
        "id",
        "customer",
        "payer",
        "cpt_group",
        "drift_type",
        "severity",
        "status",
        "email_status",
    )
    list_filter = ("status", "email_status", "drift_type")
    readonly_fields = [f.name for f in AlertEvent._meta.fields]

    def get_queryset(self, request):  # type: ignore[no-untyped-def]
        return AlertEvent.objects_all_tenants.select_related("customer")

    def has_add_permission(self, request):  # type: ignore[no-untyped-def]
        return False


@admin.register(OperatorFeedback)
class OperatorFeedbackAdmin(admin.ModelAdmin):
    list_display = ("id", "customer", "alert", "operator", "verdict", "updated_at")
    list_filter = ("verdict",)
    readonly_fields = [f.name for f in OperatorFeedback._meta.fields]

    def get_queryset(self, request):  # type: ignore[no-untyped-def]
        return OperatorFeedback.objects_all_tenants.select_related("customer", "operator")

    def has_add_permission(self, request):  # type: ignore[no-untyped-def]
        return False


@admin.register(AlertSettings)
class AlertSettingsAdmin(admin.ModelAdmin):
    list_display = ("customer", "cooldown_minutes", "noise_window_days", "noise_threshold")

    def get_queryset(self, request):  # type: ignore[no-untyped-def]
        return AlertSettings.objects_all_tenants.select_related("customer")
