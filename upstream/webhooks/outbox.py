"""The delivery side of the webhook outbox (SPEC §8): claim due deliveries, send one attempt, record it.

Claiming: ``SELECT … FOR UPDATE SKIP LOCKED`` over due rows (``pending`` whose ``next_attempt_at`` passed, or
``sending`` whose lease expired — a lost worker), then in the same short transaction each row becomes
``sending`` with ``attempts_count + 1`` and a lease: ``next_attempt_at`` becomes the lease's end, so one
column and one partial index serve both cases). The attempt number *is* the claim: the outcome is recorded
by an ``UPDATE … WHERE status = 'sending' AND attempts_count = n`` that only matches while the claim is
still ours. Sending happens outside any transaction; two workers can never send the same attempt.

``webhooks.deliver`` (enqueued on commit) claims one row; ``webhooks.sweep`` (beat) drains every tenant's due
rows with a thread pool, one keep-alive ``requests`` session per thread.
"""

from __future__ import annotations

import datetime
import logging
import threading
import time
from collections import Counter
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import requests
from django.conf import settings
from django.db import connection, transaction
from django.db.models import F, Q, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from upstream.tenancy.scoping import tenant_scope
from upstream.webhooks import addresses, policy, sender, signing, transport
from upstream.webhooks.models import (
    AttemptOutcome,
    DeliveryStatus,
    WebhookDelivery,
    WebhookDeliveryAttempt,
    WebhookEndpoint,
)
from upstream.webhooks.policy import ErrorKind, Verdict

logger = logging.getLogger(__name__)

SWEEP_THREADS = 16
SWEEP_CLAIM_BATCH = 8
LEASE_MARGIN_SECONDS = 30.0
LOST_ATTEMPT_ERROR = "The worker sending this attempt was lost (its lease expired); the outcome is unknown."
# Failures that say nothing about the receiver do not count towards auto-disable.
_NOT_THE_RECEIVERS_FAULT = frozenset({ErrorKind.ENDPOINT_INACTIVE})


@dataclass(frozen=True)
class Claimed:
    delivery: WebhookDelivery  # with its endpoint; status `sending`, attempts_count == number
    number: int


def lease_seconds(rows: int) -> float:
    """Long enough for a worker to send ``rows`` claimed attempts one after the other at the worst case."""
    per_attempt = settings.WEBHOOK_CONNECT_TIMEOUT_SECONDS + settings.WEBHOOK_TOTAL_TIMEOUT_SECONDS
    return max(rows, 1) * per_attempt + LEASE_MARGIN_SECONDS


def _due(now: datetime.datetime) -> Q:
    return Q(status__in=[DeliveryStatus.PENDING, DeliveryStatus.SENDING], next_attempt_at__lte=now)


def deliveries_claim(
    *, limit: int, delivery_id: int | None = None, all_tenants: bool = False
) -> list[Claimed]:
    """Claim up to ``limit`` due deliveries, oldest due first, skipping rows another worker holds.

    With ``delivery_id`` only that row (inside the active tenant scope); with ``all_tenants`` due rows of
    every customer (the sweeper — callers then handle each row inside its own ``tenant_scope``).
    """
    now = timezone.now()
    lease_until = now + datetime.timedelta(seconds=lease_seconds(limit))
    manager = WebhookDelivery.objects_all_tenants if all_tenants else WebhookDelivery.objects
    with transaction.atomic():
        queryset = (
            manager.select_for_update(skip_locked=True, of=("self",))
            .select_related("endpoint")
            .filter(_due(now))
        )
        if delivery_id is not None:
            queryset = queryset.filter(pk=delivery_id)
        rows = list(queryset.order_by("next_attempt_at", "id")[:limit])
        if not rows:
            return []
        lost = [row for row in rows if row.status == DeliveryStatus.SENDING]
        if lost:
            _lost_attempts_record(lost, now=now)
        exhausted = [row.pk for row in lost if row.attempts_count >= row.attempts_allowed]
        if exhausted:
            manager.filter(pk__in=exhausted).update(
                status=DeliveryStatus.FAILED,
                next_attempt_at=None,
                last_status_code=None,
                last_error=LOST_ATTEMPT_ERROR,
                finished_at=now,
            )
        claimable = [row for row in rows if row.pk not in set(exhausted)]
        if claimable:
            manager.filter(pk__in=[row.pk for row in claimable]).update(
                status=DeliveryStatus.SENDING,
                next_attempt_at=lease_until,
                attempts_count=F("attempts_count") + 1,
            )
    claims = []
    for row in claimable:
        row.status = DeliveryStatus.SENDING
        row.attempts_count += 1
        row.next_attempt_at = lease_until
        claims.append(Claimed(delivery=row, number=row.attempts_count))
    return claims


def _lost_attempts_record(rows: Sequence[WebhookDelivery], *, now: datetime.datetime) -> None:
    WebhookDeliveryAttempt.objects_all_tenants.bulk_create(
        [
            WebhookDeliveryAttempt(
                customer_id=row.customer_id,
                delivery_id=row.pk,
                number=row.attempts_count,
                started_at=now,
                error=LOST_ATTEMPT_ERROR,
                outcome=AttemptOutcome.RETRY
                if row.attempts_count < row.attempts_allowed
                else AttemptOutcome.FAILED,
            )
            for row in rows
        ],
        ignore_conflicts=True,  # the lost worker may have recorded it after all
    )
    logger.warning("webhook deliveries reclaimed after an expired lease", extra={"count": len(rows)})


def endpoint_signing_secrets(endpoint: WebhookEndpoint, *, now: datetime.datetime) -> list[str]:
    """The current secret, then the previous one while its rotation grace period lasts."""
    secrets = [endpoint.secret]
    expires = endpoint.previous_secret_expires_at
    if endpoint.previous_secret and expires is not None and expires > now:
        secrets.append(endpoint.previous_secret)
    return secrets


def delivery_attempt(claimed: Claimed, *, session: requests.Session | None = None) -> str:
    """Send one claimed attempt (no transaction is open) and record it; returns the attempt's outcome
    (``succeeded`` / ``retry`` / ``failed``) or ``lost_claim``. Runs inside the delivery's tenant scope."""
    delivery = claimed.delivery
    endpoint = delivery.endpoint
    started_at = timezone.now()
    if not endpoint.active:
        result = sender.SendResult(
            None, 0, error="Not sent: the endpoint is disabled.", error_kind=ErrorKind.ENDPOINT_INACTIVE
        )
    else:
        try:
            addresses.url_check(endpoint.url, allowed_networks=settings.WEBHOOK_ALLOWED_NETWORKS)
        except addresses.AddressNotAllowed as exc:
            result = sender.SendResult(
                None, 0, error=f"Not sent: {exc}"[:500], error_kind=ErrorKind.REFUSED_ADDRESS
            )
        else:
            body = signing.body_serialize(delivery.payload)
            headers = sender.headers_build(
                msg_id=str(delivery.pk),
                timestamp=int(time.time()),
                body=body,
                secrets=endpoint_signing_secrets(endpoint, now=started_at),
                version=settings.VERSION,
            )
            result = sender.send(
                url=endpoint.url,
                body=body,
                headers=headers,
                connect_timeout=settings.WEBHOOK_CONNECT_TIMEOUT_SECONDS,
                total_timeout=settings.WEBHOOK_TOTAL_TIMEOUT_SECONDS,
                session=session,
                allowed_networks=settings.WEBHOOK_ALLOWED_NETWORKS,
            )
    classification = policy.classify(
        status_code=result.status_code, error_kind=result.error_kind, headers=result.headers
    )
    return delivery_outcome_record(
        claimed=claimed, started_at=started_at, result=result, classification=classification
    )


_RECORD_SQL = f"""
WITH ours AS (
    UPDATE {WebhookDelivery._meta.db_table}
    SET status = %s, next_attempt_at = %s, last_status_code = %s, last_error = %s,
        delivered_at = COALESCE(%s, delivered_at), finished_at = %s
    WHERE id = %s AND customer_id = %s AND status = %s AND attempts_count = %s
    RETURNING id, customer_id
)
INSERT INTO {WebhookDeliveryAttempt._meta.db_table}
    (customer_id, delivery_id, number, started_at, duration_ms, status_code, response_body, error, outcome)
SELECT customer_id, id, %s, %s, %s, %s, %s, %s, %s FROM ours
RETURNING id
"""  # noqa: S608 (table names from our own models; every value is a parameter)


def _attempt_error(result: sender.SendResult, verdict: Verdict) -> str:
    if result.status_code is None or verdict is Verdict.SUCCESS:
        return result.error
    if result.error:
        return f"HTTP {result.status_code}; {result.error}"
    code = result.status_code
    if code is not None and 300 <= code < 400:
        return f"HTTP {code}: redirects are not followed"
    if verdict is Verdict.GONE:
        return "HTTP 410 Gone: the endpoint is disabled"
    return f"HTTP {code}"


def delivery_outcome_record(
    *,
    claimed: Claimed,
    started_at: datetime.datetime,
    result: sender.SendResult,
    classification: policy.Classification,
) -> str:
    delivery = claimed.delivery
    number = claimed.number
    verdict = classification.verdict
    now = timezone.now()
    error = _attempt_error(result, verdict)
    delay: float | None = None
    delivered_at = finished_at = next_attempt_at = None
    if verdict is Verdict.SUCCESS:
        outcome, status = AttemptOutcome.SUCCEEDED, DeliveryStatus.SUCCEEDED
        delivered_at = finished_at = now
    elif verdict is Verdict.RETRY and number < delivery.attempts_allowed:
        outcome, status = AttemptOutcome.RETRY, DeliveryStatus.PENDING
        if classification.retry_after is not None:
            delay = classification.retry_after
        else:
            delay = policy.backoff_seconds(number, settings.WEBHOOK_RETRY_SCHEDULE)
        next_attempt_at = now + datetime.timedelta(seconds=delay)
    else:
        outcome, status = AttemptOutcome.FAILED, DeliveryStatus.FAILED
        if verdict is Verdict.RETRY:
            error = f"{error}; gave up after {number} attempts"
        finished_at = now
    error = error[:500]
    # One statement (atomic on its own): the delivery row changes only while the claim is still ours
    # (`sending` at this attempt number), and the attempt row is written only if it did.
    with connection.cursor() as cursor:
        cursor.execute(
            _RECORD_SQL,
            [
                status,
                next_attempt_at,
                result.status_code,
                error,
                delivered_at,
                finished_at,
                delivery.pk,
                delivery.customer_id,
                DeliveryStatus.SENDING,
                number,
                number,
                started_at,
                result.duration_ms,
                result.status_code,
                result.response_body,
                error,
                outcome,
            ],
        )
        mine = cursor.fetchone() is not None
    if not mine:
        logger.warning("webhook attempt outcome dropped: claim lost", extra={"delivery_id": delivery.pk})
        return "lost_claim"
    logger.info(
        "webhook attempt",
        extra={
            "delivery_id": delivery.pk,
            "endpoint_id": delivery.endpoint_id,
            "attempt": number,
            "status_code": result.status_code,
            "outcome": outcome,
            "duration_ms": result.duration_ms,
        },
    )
    if result.error_kind not in _NOT_THE_RECEIVERS_FAULT:
        _endpoint_health_update(delivery, succeeded=verdict is Verdict.SUCCESS, gone=verdict is Verdict.GONE)
    if delay is not None:
        _enqueue_retry(delivery, countdown=delay)
    return str(outcome)


def _endpoint_health_update(delivery: WebhookDelivery, *, succeeded: bool, gone: bool) -> None:
    """Success resets the endpoint's failure streak; failures extend it and may disable the endpoint."""
    from upstream.webhooks.services import webhook_endpoint_disable

    endpoints = WebhookEndpoint.objects.filter(pk=delivery.endpoint_id)
    if succeeded:
        known = delivery.endpoint  # as read when the delivery was claimed, moments ago
        if known.consecutive_failures == 0 and known.failing_since is None:
            return  # nothing to reset (saves a write per delivery on the hot path)
        # Only touches (and locks) the endpoint row when there is a streak to reset.
        endpoints.exclude(consecutive_failures=0, failing_since__isnull=True).update(
            consecutive_failures=0, failing_since=None
        )
        return
    now = timezone.now()
    endpoints.update(
        consecutive_failures=F("consecutive_failures") + 1,
        failing_since=Coalesce("failing_since", Value(now)),
    )
    if gone:
        webhook_endpoint_disable(
            endpoint_id=delivery.endpoint_id,
            code="gone",
            reason="The receiver answered 410 Gone.",
        )
        return
    streak = endpoints.values_list("consecutive_failures", "failing_since", "active").first()
    if streak is None or not streak[2]:
        return
    failures, since = streak[0], streak[1]
    if failures >= settings.WEBHOOK_DISABLE_AFTER_FAILURES:
        webhook_endpoint_disable(
            endpoint_id=delivery.endpoint_id,
            code="consecutive_failures",
            reason=f"{failures} delivery attempts failed in a row.",
        )
    elif since is not None and now - since >= datetime.timedelta(days=settings.WEBHOOK_DISABLE_AFTER_DAYS):
        webhook_endpoint_disable(
            endpoint_id=delivery.endpoint_id,
            code="failing_for_days",
            reason=f"Deliveries kept failing for {settings.WEBHOOK_DISABLE_AFTER_DAYS} days.",
        )


# Longer waits are left to the sweeper: a broker holding an ETA message past its visibility timeout (Redis)
# would hand it out twice (harmless, but useless work).
MAX_COUNTDOWN_SECONDS = 3600.0


def _enqueue_retry(delivery: WebhookDelivery, *, countdown: float) -> None:
    from upstream.webhooks.tasks import deliver

    if countdown > MAX_COUNTDOWN_SECONDS:
        return
    try:
        deliver.apply_async(
            kwargs={"delivery_id": delivery.pk, "customer_id": delivery.customer_id}, countdown=countdown
        )
    except Exception:  # the row is pending with its due time: the sweeper sends it if the broker lost it
        logger.warning("webhook retry not enqueued; the sweeper will pick it up", exc_info=True)


def delivery_deliver(*, delivery_id: int) -> str:
    """The ``webhooks.deliver`` task body: claim this delivery if it is due and attempt it."""
    claims = deliveries_claim(limit=1, delivery_id=delivery_id)
    if not claims:
        return "not_due"
    return delivery_attempt(claims[0])


def deliveries_sweep(
    *, threads: int = SWEEP_THREADS, batch_size: int = SWEEP_CLAIM_BATCH, max_seconds: float | None = None
) -> dict[str, int]:
    """Drain the due deliveries of every tenant: each of ``threads`` workers claims ``batch_size`` rows at a
    time (SKIP LOCKED, so they never overlap) and sends them over its own keep-alive session, until nothing
    is due or ``max_seconds`` passed. ``threads=1`` runs in the calling thread (and its connection).
    Returns the number of attempts per outcome."""
    deadline = None if max_seconds is None else time.monotonic() + max_seconds
    counts: Counter[str] = Counter()
    lock = threading.Lock()

    def drain() -> int:
        session = transport.thread_session(settings.WEBHOOK_ALLOWED_NETWORKS)
        done = 0
        while deadline is None or time.monotonic() < deadline:
            claims = deliveries_claim(limit=batch_size, all_tenants=True)
            if not claims:
                break
            for claimed in claims:
                try:
                    with tenant_scope(claimed.delivery.customer_id):
                        outcome = delivery_attempt(claimed, session=session)
                except Exception:  # one bad row must not stop the sweep; its lease brings it back
                    logger.exception("webhook attempt crashed", extra={"delivery_id": claimed.delivery.pk})
                    outcome = "error"
                done += 1
                with lock:
                    counts[outcome] += 1
        return done

    def drain_in_thread() -> int:
        try:
            return drain()
        finally:
            connection.close()

    if threads <= 1:
        drain()
    else:
        with ThreadPoolExecutor(max_workers=threads, thread_name_prefix="webhook-sweep") as pool:
            for future in [pool.submit(drain_in_thread) for _ in range(threads)]:
                future.result()
    return dict(counts)
