"""OpenAPI examples of the alert endpoints (synthetic values)."""

from __future__ import annotations

from typing import Any

from upstream.alerts.services import RULE_FIELDS

FEEDBACK: dict[str, Any] = {
    "id": 31,
    "alert": 88,
    "operator": 7,
    "operator_email": "billing.manager@clinic.example",
    "verdict": "real",
    "reason_codes": ["payer_policy_change"],
    "recovered_amount": "1250.00",
    "recovered_date": "2026-11-20",
    "notes": "Aetna changed prior-auth rules for E&M; appeals filed.",
    "created_at": "2026-11-23T11:02:00Z",
    "updated_at": "2026-11-23T11:02:00Z",
}
FEEDBACK_REQUEST: dict[str, Any] = {
    "verdict": "real",
    "reason_codes": ["payer_policy_change"],
    "recovered_amount": "1250.00",
    "recovered_date": "2026-11-20",
    "notes": "Aetna changed prior-auth rules for E&M; appeals filed.",
}
ALERT: dict[str, Any] = {
    "id": 88,
    "rule": {"id": 3, "name": "Worsening, severity ≥ 0.25"},
    "drift_event": {
        "id": 501,
        "report_run": 12,
        "direction": "worsening",
        "baseline_value": 0.081,
        "current_value": 0.224,
        "delta": 0.143,
        "baseline_n": 6120,
        "current_n": 912,
        "p_value": 2.1e-35,
        "adjusted_p_value": 6.5e-33,
        "severity_label": "high",
        "confidence": 1.0,
        "revenue_impact": "31877.42",
        "baseline_start": "2026-08-03",
        "baseline_end": "2026-10-31",
        "current_start": "2026-11-01",
        "current_end": "2026-11-14",
    },
    "fingerprint": "3f0a9c1e5b7d2a4c6e8f0b1d3a5c7e9f1b3d5f7a9c1e3b5d7f9a1c3e5b7d9f1a",
    "payer": "Aetna",
    "cpt_group": "E&M",
    "drift_type": "DENIAL_RATE",
    "severity": 0.715,
    "current_end": "2026-11-14",
    "status": "acknowledged",
    "suppression_reason": "",
    "email_status": "sent",
    "email_attempts": 1,
    "email_sent_at": "2026-11-23T09:00:15Z",
    "email_error": "",
    "feedback": [FEEDBACK],
    "created_at": "2026-11-23T09:00:13Z",
    "updated_at": "2026-11-23T11:02:00Z",
}
ALERT_SUPPRESSED: dict[str, Any] = {
    **ALERT,
    "id": 89,
    "status": "suppressed",
    "suppression_reason": "cooldown",
    "email_status": "not_required",
    "email_attempts": 0,
    "email_sent_at": None,
    "feedback": [],
}
ALERT_RULE: dict[str, Any] = {
    "id": 4,
    "name": "Aetna denials",
    "enabled": True,
    "drift_types": ["DENIAL_RATE", "DENIAL_DOLLARS"],
    "payer": "Aetna",
    "cpt_group": "",
    "min_severity": 0.5,
    "worsening_only": True,
    "email_recipients": ["rcm-team@clinic.example"],
    "email_admins": False,
    "webhook_enabled": True,
    "is_default": False,
    "created_by": 7,
    "created_at": "2026-11-20T08:00:00Z",
    "updated_at": "2026-11-20T08:00:00Z",
}
ALERT_RULE_REQUEST: dict[str, Any] = {key: ALERT_RULE[key] for key in RULE_FIELDS}
ALERT_SETTINGS: dict[str, Any] = {
    "cooldown_minutes": 240,
    "noise_window_days": 30,
    "noise_threshold": 2,
    "updated_at": "2026-11-20T08:00:00Z",
}
ALERT_SETTINGS_REQUEST: dict[str, Any] = {"cooldown_minutes": 120, "noise_threshold": 3}
