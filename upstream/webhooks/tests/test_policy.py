"""Classification of every status class and error, Retry-After, and the backoff schedule with its jitter."""

from __future__ import annotations

import datetime
from email.utils import format_datetime

import pytest

from upstream.webhooks.policy import (
    RETRY_AFTER_CAP_SECONDS,
    Classification,
    ErrorKind,
    Verdict,
    backoff_seconds,
    classify,
    retry_after_parse,
)

NOW = datetime.datetime(2026, 11, 20, 12, 0, 0, tzinfo=datetime.UTC)


@pytest.mark.parametrize(
    ("status", "verdict"),
    [
        (200, Verdict.SUCCESS),
        (201, Verdict.SUCCESS),
        (204, Verdict.SUCCESS),
        (301, Verdict.FAIL),
        (302, Verdict.FAIL),
        (400, Verdict.FAIL),
        (401, Verdict.FAIL),
        (404, Verdict.FAIL),
        (408, Verdict.RETRY),
        (410, Verdict.GONE),
        (422, Verdict.FAIL),
        (429, Verdict.RETRY),
        (500, Verdict.RETRY),
        (502, Verdict.RETRY),
        (503, Verdict.RETRY),
        (504, Verdict.RETRY),
    ],
)
def test_status_classification(status: int, verdict: Verdict) -> None:
    assert classify(status_code=status, error_kind=None, headers={}) == Classification(verdict)


@pytest.mark.parametrize(
    ("kind", "verdict"),
    [
        (ErrorKind.TIMEOUT, Verdict.RETRY),
        (ErrorKind.CONNECTION, Verdict.RETRY),
        (ErrorKind.REFUSED_ADDRESS, Verdict.FAIL),
        (ErrorKind.ENDPOINT_INACTIVE, Verdict.FAIL),
        (ErrorKind.OTHER, Verdict.FAIL),
    ],
)
def test_error_classification(kind: ErrorKind, verdict: Verdict) -> None:
    assert classify(status_code=None, error_kind=kind).verdict is verdict


def test_retry_after_seconds_on_429_and_503() -> None:
    assert classify(status_code=429, error_kind=None, headers={"Retry-After": "120"}) == Classification(
        Verdict.RETRY, 120.0
    )
    assert classify(status_code=503, error_kind=None, headers={"retry-after": "7"}).retry_after == 7.0


def test_retry_after_http_date() -> None:
    later = format_datetime(NOW + datetime.timedelta(seconds=90), usegmt=True)
    result = classify(status_code=429, error_kind=None, headers={"Retry-After": later}, now=NOW)
    assert result == Classification(Verdict.RETRY, 90.0)


def test_retry_after_ignored_on_500_and_when_invalid() -> None:
    assert classify(status_code=500, error_kind=None, headers={"Retry-After": "60"}).retry_after is None
    assert classify(status_code=429, error_kind=None, headers={"Retry-After": "soon"}).retry_after is None
    assert classify(status_code=429, error_kind=None, headers={}).retry_after is None


def test_retry_after_is_clamped() -> None:
    assert retry_after_parse("999999") == RETRY_AFTER_CAP_SECONDS
    past = format_datetime(NOW - datetime.timedelta(hours=1), usegmt=True)
    assert retry_after_parse(past, now=NOW) == 0.0
    assert retry_after_parse(None) is None
    assert retry_after_parse("  ") is None


SCHEDULE = [30, 120, 480, 1800]


@pytest.mark.parametrize(("attempt", "base"), [(1, 30), (2, 120), (3, 480), (4, 1800), (5, 1800), (9, 1800)])
def test_backoff_follows_the_schedule_and_reuses_the_last_value(attempt: int, base: int) -> None:
    assert backoff_seconds(attempt, SCHEDULE, uniform=lambda a, b: 0.0) == base
    assert backoff_seconds(attempt, SCHEDULE, uniform=lambda a, b: a) == pytest.approx(base * 0.8)
    assert backoff_seconds(attempt, SCHEDULE, uniform=lambda a, b: b) == pytest.approx(base * 1.2)


def test_backoff_jitter_stays_within_20_percent() -> None:
    values = [backoff_seconds(2, SCHEDULE) for _ in range(500)]
    assert all(96.0 <= v <= 144.0 for v in values)
    assert len(set(values)) > 1  # jittered, not constant


def test_backoff_rejects_bad_input() -> None:
    with pytest.raises(ValueError, match="start at 1"):
        backoff_seconds(0, SCHEDULE)
    with pytest.raises(ValueError, match="empty"):
        backoff_seconds(1, [])
