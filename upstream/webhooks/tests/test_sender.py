"""The sender and the outcome of one attempt against a mocked receiver (``responses``): every status class,
timeouts, connection errors, Retry-After, the 2 KB response cap, no redirects followed."""

from __future__ import annotations

import contextlib
import datetime
import ipaddress
import socket
import threading
from collections.abc import Callable, Iterator
from email.utils import format_datetime

import pytest
import requests
import responses
from django.utils import timezone

from upstream.core.testing.tenants import Tenant
from upstream.webhooks import addresses, sender, transport
from upstream.webhooks.models import AttemptOutcome, DeliveryStatus
from upstream.webhooks.policy import ErrorKind
from upstream.webhooks.tests.helpers import attempts, deliver, emit, endpoint_create, endpoint_reload, reload

URL = "https://hooks.example.com/upstream"


@pytest.fixture(autouse=True)
def _public_dns(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(addresses, "host_resolve", lambda host, port: [ipaddress.ip_address("93.184.216.34")])


def _send() -> sender.SendResult:
    return sender.send(
        url=URL,
        body=b"{}",
        headers={"webhook-id": "1"},
        connect_timeout=5,
        total_timeout=15,
        session=requests.Session(),
    )


@responses.activate
def test_send_keeps_status_body_and_retry_after() -> None:
    responses.post(URL, status=429, body="slow down", headers={"Retry-After": "30", "X-Other": "1"})
    result = _send()
    assert result.status_code == 429
    assert result.response_body == "slow down"
    assert result.headers == {"Retry-After": "30"}
    assert result.error == ""
    assert result.error_kind is None


@responses.activate
def test_send_keeps_only_the_first_2_kb_of_the_response() -> None:
    responses.post(URL, status=200, body="x" * 10_000)
    result = _send()
    assert result.status_code == 200
    assert result.response_body == "x" * 2048


@responses.activate
def test_a_broken_body_keeps_the_status() -> None:
    responses.post(URL, status=204, body="unexpected")  # http.client expects no body after 204
    result = _send()
    assert result.status_code == 204
    assert result.error_kind is None
    assert result.error.startswith("the response body could not be read (IncompleteRead")


@responses.activate
def test_send_does_not_follow_redirects() -> None:
    responses.post(URL, status=301, headers={"Location": "https://elsewhere.example.com/"})
    responses.post("https://elsewhere.example.com/", status=200)
    result = _send()
    assert result.status_code == 301
    assert len(responses.calls) == 1


@pytest.mark.parametrize(
    ("exception", "kind", "message"),
    [
        (requests.ConnectTimeout("boom"), ErrorKind.TIMEOUT, "timed out connecting"),
        (requests.ReadTimeout("boom"), ErrorKind.TIMEOUT, "timed out waiting for the response"),
        (
            requests.ConnectionError("refused"),
            ErrorKind.CONNECTION,
            "connection error (ConnectionError: refused)",
        ),
    ],
)
@responses.activate
def test_send_network_errors(exception: Exception, kind: ErrorKind, message: str) -> None:
    responses.post(URL, body=exception)
    result = _send()
    assert result.status_code is None
    assert result.error_kind is kind
    assert result.error == message


def test_error_messages_never_repeat_the_url() -> None:
    exc = requests.ConnectionError(f"HTTPSConnectionPool: Max retries exceeded with url: {URL}?token=secret")
    assert "token" not in sender._error_message("connection error", exc)


NOW_PLUS_90 = "__date_plus_90__"


@pytest.mark.parametrize(
    ("status", "headers", "delivery_status", "outcome", "retry_in", "endpoint_active"),
    [
        (200, {}, DeliveryStatus.SUCCEEDED, AttemptOutcome.SUCCEEDED, None, True),
        (204, {}, DeliveryStatus.SUCCEEDED, AttemptOutcome.SUCCEEDED, None, True),
        (
            301,
            {"Location": "https://x.example.com/"},
            DeliveryStatus.FAILED,
            AttemptOutcome.FAILED,
            None,
            True,
        ),
        (400, {}, DeliveryStatus.FAILED, AttemptOutcome.FAILED, None, True),
        (404, {}, DeliveryStatus.FAILED, AttemptOutcome.FAILED, None, True),
        (408, {}, DeliveryStatus.PENDING, AttemptOutcome.RETRY, (48, 72), True),
        (410, {}, DeliveryStatus.FAILED, AttemptOutcome.FAILED, None, False),
        (429, {}, DeliveryStatus.PENDING, AttemptOutcome.RETRY, (48, 72), True),
        (429, {"Retry-After": "300"}, DeliveryStatus.PENDING, AttemptOutcome.RETRY, (299, 301), True),
        (429, {"Retry-After": NOW_PLUS_90}, DeliveryStatus.PENDING, AttemptOutcome.RETRY, (85, 91), True),
        (500, {}, DeliveryStatus.PENDING, AttemptOutcome.RETRY, (48, 72), True),
        (503, {"Retry-After": "10"}, DeliveryStatus.PENDING, AttemptOutcome.RETRY, (9, 11), True),
    ],
)
@responses.activate
def test_attempt_outcome_per_status(
    tenant: Tenant,
    status: int,
    headers: dict[str, str],
    delivery_status: str,
    outcome: str,
    retry_in: tuple[float, float] | None,
    endpoint_active: bool,
) -> None:
    if headers.get("Retry-After") == NOW_PLUS_90:
        headers = {
            "Retry-After": format_datetime(timezone.now() + datetime.timedelta(seconds=90), usegmt=True)
        }
    body = "" if status == 204 else "receiver says hi"
    responses.post(URL, status=status, headers=headers, body=body)
    endpoint = endpoint_create(tenant.customer.pk, URL)
    delivery = emit(endpoint)
    assert deliver(delivery) == outcome
    delivery = reload(delivery)
    assert delivery.status == delivery_status
    assert delivery.attempts_count == 1
    assert delivery.last_status_code == status
    (attempt,) = attempts(delivery)
    assert (attempt.number, attempt.status_code, attempt.outcome) == (1, status, outcome)
    assert attempt.response_body == body
    if retry_in is None:
        assert delivery.next_attempt_at is None
        assert delivery.finished_at is not None
    else:
        assert delivery.next_attempt_at is not None
        wait = (delivery.next_attempt_at - attempt.started_at).total_seconds()
        assert retry_in[0] <= wait <= retry_in[1]
        assert delivery.finished_at is None
    assert endpoint_reload(endpoint).active is endpoint_active
    assert len(responses.calls) == 1


@pytest.mark.parametrize(
    ("exception", "error"),
    [
        (requests.ConnectTimeout("x"), "timed out connecting"),
        (requests.ReadTimeout("x"), "timed out waiting for the response"),
        (requests.ConnectionError("x"), "connection error (ConnectionError: x)"),
    ],
)
@responses.activate
def test_attempt_network_errors_are_retried(tenant: Tenant, exception: Exception, error: str) -> None:
    responses.post(URL, body=exception)
    endpoint = endpoint_create(tenant.customer.pk, URL)
    delivery = emit(endpoint)
    assert deliver(delivery) == AttemptOutcome.RETRY
    delivery = reload(delivery)
    assert delivery.status == DeliveryStatus.PENDING
    assert delivery.last_status_code is None
    assert delivery.last_error == error
    (attempt,) = attempts(delivery)
    assert (attempt.status_code, attempt.error, attempt.outcome) == (None, error, AttemptOutcome.RETRY)


@responses.activate
def test_last_allowed_attempt_fails_finally(tenant: Tenant) -> None:
    responses.post(URL, status=500)
    endpoint = endpoint_create(tenant.customer.pk, URL, max_attempts=1)
    delivery = emit(endpoint)
    assert deliver(delivery) == AttemptOutcome.FAILED
    delivery = reload(delivery)
    assert delivery.status == DeliveryStatus.FAILED
    assert delivery.last_error == "HTTP 500; gave up after 1 attempts"


@responses.activate
def test_not_due_delivery_is_not_sent(tenant: Tenant) -> None:
    endpoint = endpoint_create(tenant.customer.pk, URL)
    delivery = emit(endpoint)
    type(delivery).objects_all_tenants.filter(pk=delivery.pk).update(
        next_attempt_at=timezone.now() + datetime.timedelta(minutes=5)
    )
    assert deliver(delivery) == "not_due"
    assert len(responses.calls) == 0


def _raw_server(script: Callable[[socket.socket], None]) -> Iterator[str]:
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)

    def serve() -> None:
        conn, _ = server.accept()
        conn.recv(65536)
        with contextlib.suppress(OSError):
            script(conn)
        conn.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.getsockname()[1]}/"
    thread.join(timeout=10)
    server.close()


def _trickle(conn: socket.socket) -> None:
    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n")
    for _ in range(60):  # 5 bytes every 50 ms: each read returns, but the body would take 17 minutes
        conn.sendall(b"x" * 5)
        threading.Event().wait(0.05)


def _stall(conn: socket.socket) -> None:
    conn.sendall(b"HTTP/1.1 503 Service Unavailable\r\nRetry-After: 5\r\nContent-Length: 100\r\n\r\nabc")
    threading.Event().wait(2.0)


@pytest.mark.parametrize(("script", "status"), [(_trickle, 200), (_stall, 503)])
def test_the_total_deadline_bounds_reading_the_body(
    script: Callable[[socket.socket], None], status: int
) -> None:
    for url in _raw_server(script):
        result = sender.send(
            url=url, body=b"{}", headers={}, connect_timeout=1, total_timeout=0.5, session=requests.Session()
        )
        assert result.status_code == status  # the status line is the receiver's answer
        assert result.error == "the response body was cut off at the 0.5 s deadline"
        assert result.error_kind is None
        assert 0 < len(result.response_body) < 2048
        assert set(result.response_body) <= set("xabc")


def _trickle_headers(conn: socket.socket) -> None:
    conn.sendall(b"HTTP/1.1 200 OK\r\n")
    for _ in range(60):  # a header byte every 50 ms: every read returns, the headers never end
        conn.sendall(b"X")
        threading.Event().wait(0.05)


def test_the_total_deadline_bounds_trickling_headers() -> None:
    for url in _raw_server(_trickle_headers):
        result = sender.send(
            url=url,
            body=b"{}",
            headers={},
            connect_timeout=1,
            total_timeout=0.5,
            session=transport.session_build(["127.0.0.0/8"]),
        )
        # Without the watchdog every read returns within its timeout and the send only ends when the
        # receiver hangs up after 3 s: a connection error, not this timeout.
        assert result.status_code is None
        assert result.error == "timed out waiting for the response"
        assert result.error_kind == ErrorKind.TIMEOUT
