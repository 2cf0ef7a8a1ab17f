"""What to do after an attempt (SPEC §8): classify the response, compute the backoff and honour
``Retry-After``. Pure Python: no Django, no I/O.

| result | verdict |
|---|---|
| 2xx | success |
| 5xx, 408, 429, timeout, connection error | retry (429 and 503 honour Retry-After) |
| 410 | final failure, the endpoint is disabled |
| other 4xx, 3xx (redirects are not followed), 1xx | final failure |
| refused address, inactive endpoint | final failure, nothing sent |
"""

from __future__ import annotations

import datetime
import enum
import random
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from email.utils import parsedate_to_datetime

JITTER = 0.2
# A receiver cannot park a delivery for longer than this with Retry-After.
RETRY_AFTER_CAP_SECONDS = 6 * 3600


class Verdict(enum.StrEnum):
    SUCCESS = "success"
    RETRY = "retry"
    FAIL = "fail"
    GONE = "gone"  # 410: fail and disable the endpoint


class ErrorKind(enum.StrEnum):
    TIMEOUT = "timeout"
    CONNECTION = "connection"
    REFUSED_ADDRESS = "refused_address"
    ENDPOINT_INACTIVE = "endpoint_inactive"
    OTHER = "other"


RETRYABLE_ERRORS = frozenset({ErrorKind.TIMEOUT, ErrorKind.CONNECTION})


@dataclass(frozen=True)
class Classification:
    verdict: Verdict
    retry_after: float | None = None  # seconds the receiver asked us to wait (429/503), capped


def classify(
    *,
    status_code: int | None,
    error_kind: ErrorKind | None,
    headers: Mapping[str, str] | None = None,
    now: datetime.datetime | None = None,
) -> Classification:
    if status_code is None:
        if error_kind in RETRYABLE_ERRORS:
            return Classification(Verdict.RETRY)
        return Classification(Verdict.FAIL)
    if 200 <= status_code < 300:
        return Classification(Verdict.SUCCESS)
    if status_code == 410:
        return Classification(Verdict.GONE)
    if status_code >= 500 or status_code in (408, 429):
        retry_after = None
        if status_code in (429, 503) and headers is not None:
            retry_after = retry_after_parse(_header(headers, "Retry-After"), now=now)
        return Classification(Verdict.RETRY, retry_after)
    return Classification(Verdict.FAIL)


def _header(headers: Mapping[str, str], name: str) -> str | None:
    value = headers.get(name)
    if value is None:  # plain dicts are case-sensitive; requests' are not
        lowered = name.lower()
        value = next((v for k, v in headers.items() if k.lower() == lowered), None)
    return value


def retry_after_parse(value: str | None, *, now: datetime.datetime | None = None) -> float | None:
    """``Retry-After`` as seconds from now: delta-seconds or an HTTP date; None when absent or invalid;
    clamped to [0, RETRY_AFTER_CAP_SECONDS]."""
    if value is None or not value.strip():
        return None
    value = value.strip()
    if value.isdigit():
        seconds = float(int(value))
    else:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=datetime.UTC)
        now = now or datetime.datetime.now(datetime.UTC)
        seconds = (when - now).total_seconds()
    return min(max(seconds, 0.0), float(RETRY_AFTER_CAP_SECONDS))


def backoff_seconds(
    attempt_number: int, schedule: Sequence[int], *, uniform: Callable[[float, float], float] = random.uniform
) -> float:
    """Wait after failed attempt ``attempt_number`` (1-based): ``schedule[n-1]`` (the last value reused
    beyond the list) with ±20 % jitter."""
    if attempt_number < 1:
        raise ValueError("attempt numbers start at 1")
    if not schedule:
        raise ValueError("the retry schedule is empty")
    base = float(schedule[min(attempt_number, len(schedule)) - 1])
    return max(0.0, base * (1.0 + uniform(-JITTER, JITTER)))
