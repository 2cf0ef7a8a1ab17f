"""OpenAPI examples of the webhook endpoints (synthetic values)."""

from __future__ import annotations

from typing import Any

ENDPOINT: dict[str, Any] = {
    "id": 7,
    "name": "Billing system",
    "url": "https://hooks.example.com/upstream",
    "event_types": ["alert.created", "alert.updated"],
    "active": True,
    "disabled_reason": "",
    "disabled_at": None,
    "max_attempts": 5,
    "consecutive_failures": 0,
    "failing_since": None,
    "secret_rotation_expires_at": None,
    "created_by": 3,
    "created_at": "2026-11-20T09:12:44.120331Z",
    "updated_at": "2026-11-20T09:12:44.120331Z",
}
SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"  # noqa: S105 (a made-up example)
ENDPOINT_CREATED: dict[str, Any] = {**ENDPOINT, "secret": SECRET}
ENDPOINT_DISABLED: dict[str, Any] = {
    **ENDPOINT,
    "active": False,
    "disabled_reason": "The receiver answered 410 Gone.",
    "disabled_at": "2026-11-22T17:03:10.500112Z",
    "consecutive_failures": 1,
    "failing_since": "2026-11-22T17:03:10.480023Z",
}
ENDPOINT_CREATE_REQUEST: dict[str, Any] = {
    "name": "Billing system",
    "url": "https://hooks.example.com/upstream",
    "event_types": ["alert.created", "alert.updated"],
    "max_attempts": 5,
}
ENDPOINT_UPDATE_REQUEST: dict[str, Any] = {"event_types": [], "max_attempts": 8}
ENDPOINT_REENABLE_REQUEST: dict[str, Any] = {"active": True}
ROTATED: dict[str, Any] = {
    "id": 7,
    "secret": "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD",
    "previous_secret_expires_at": "2026-11-24T10:00:00.000000Z",
}
ATTEMPT_503: dict[str, Any] = {
    "number": 1,
    "started_at": "2026-11-20T09:15:02.004511Z",
    "duration_ms": 184,
    "status_code": 503,
    "response_body": '{"error": "maintenance"}',
    "error": "HTTP 503",
    "outcome": "retry",
}
ATTEMPT_200: dict[str, Any] = {
    "number": 2,
    "started_at": "2026-11-20T09:15:33.512908Z",
    "duration_ms": 95,
    "status_code": 200,
    "response_body": "ok",
    "error": "",
    "outcome": "succeeded",
}
DELIVERY: dict[str, Any] = {
    "id": 5012,
    "webhook_id": "5012",
    "endpoint": 7,
    "event_type": "alert.created",
    "payload": {
        "type": "alert.created",
        "timestamp": "2026-11-20T09:15:01.998230+00:00",
        "data": {"alert_id": 88, "drift_event_id": 412, "severity": 0.62, "payer": "Aetna"},
    },
    "status": "succeeded",
    "attempts_count": 2,
    "attempts_allowed": 5,
    "next_attempt_at": None,
    "last_status_code": 200,
    "last_error": "",
    "created_at": "2026-11-20T09:15:01.998230Z",
    "delivered_at": "2026-11-20T09:15:33.608101Z",
    "finished_at": "2026-11-20T09:15:33.608101Z",
    "attempts": [ATTEMPT_503, ATTEMPT_200],
}
TEST_DELIVERY: dict[str, Any] = {
    **DELIVERY,
    "id": 5013,
    "webhook_id": "5013",
    "event_type": "webhook.test",
    "payload": {
        "type": "webhook.test",
        "timestamp": "2026-11-20T09:20:00.000000+00:00",
        "data": {"endpoint_id": 7, "message": "A test event from Upstream.", "requested_by": 3},
    },
    "status": "pending",
    "attempts_count": 0,
    "next_attempt_at": "2026-11-20T09:20:00.000000Z",
    "last_status_code": None,
    "delivered_at": None,
    "finished_at": None,
    "attempts": [],
}
REDELIVERED: dict[str, Any] = {
    **DELIVERY,
    "status": "pending",
    "attempts_allowed": 7,
    "next_attempt_at": "2026-11-21T08:00:00.000000Z",
    "finished_at": None,
}
