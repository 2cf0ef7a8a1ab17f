"""The generic API contract on the drift endpoints, plus their behaviour: requesting runs (debounced,
throttled), event counts, every drift-event filter, ordering and search, the active events, and the
dashboard's numbers and cache."""

from __future__ import annotations

import datetime
from collections import Counter
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection, models
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from upstream.claims.tests.factories import ClaimRecordFactory
from upstream.core.testing.api import ALL_ROLES, WRITERS, APIContract, assert_problem
from upstream.core.testing.tenants import Tenant
from upstream.drift.dashboard import _add_months, dashboard_invalidate
from upstream.drift.models import ReportRun, RunStatus, RunTrigger
from upstream.drift.tests.api_factories import AS_OF, DriftEventFactory, ReportRunFactory
from upstream.tenancy.roles import Role
from upstream.tenancy.scoping import all_tenants_scope

RUNS = "/api/v1/report-runs/"
EVENTS = "/api/v1/drift-events/"
ACTIVE = "/api/v1/drift-events/active/"
DASHBOARD = "/api/v1/dashboard/"


class TestReportRunsContract(APIContract):
    base_url = RUNS
    read_roles = ALL_ROLES
    create_roles = WRITERS

    def make_object(self, tenant: Tenant) -> models.Model:
        return ReportRunFactory.create(customer=tenant.customer)

    def create_payload(self, tenant: Tenant) -> dict[str, Any]:
        return {}


class TestDriftEventsContract(APIContract):
    base_url = EVENTS

    def make_object(self, tenant: Tenant) -> models.Model:
        return DriftEventFactory.create(report_run__customer=tenant.customer)


class TestActiveDriftEventsContract(APIContract):
    base_url = ACTIVE
    has_detail = False


class TestDashboardContract(APIContract):
    base_url = DASHBOARD
    has_detail = False


def _queued_runs(tenant: Tenant) -> list[ReportRun]:
    with all_tenants_scope():
        return list(ReportRun.objects.filter(customer=tenant.customer, status=RunStatus.QUEUED))


# --- report runs ------------------------------------------------------------------------------------------


def test_request_run_answers_202_with_the_queued_run(tenant: Tenant, django_capture_on_commit_callbacks: Any):
    with django_capture_on_commit_callbacks() as enqueued:
        response = tenant.client(Role.ANALYST).post(RUNS, {"as_of": "2026-10-31"}, format="json")
    assert response.status_code == 202, response.content
    body = response.json()
    assert response["Location"] == f"/api/v1/report-runs/{body['id']}/"
    assert {
        k: body[k] for k in ("trigger", "status", "requested_by", "requested_as_of", "as_of", "error")
    } == {
        "trigger": "manual",
        "status": "queued",
        "requested_by": tenant.users[Role.ANALYST].pk,
        "requested_as_of": "2026-10-31",
        "as_of": None,
        "error": "",
    }
    assert body["event_counts"] == {
        "total": 0,
        "worsening": 0,
        "improving": 0,
        "by_drift_type": {"DENIAL_RATE": 0, "DECISION_TIME": 0, "PAYMENT_DELAY": 0, "DENIAL_DOLLARS": 0},
        "by_severity_label": {"critical": 0, "high": 0, "medium": 0, "low": 0},
    }
    assert [run.pk for run in _queued_runs(tenant)] == [body["id"]]
    assert len(enqueued) == 1  # its execution is enqueued once the request's transaction commits


def test_request_run_is_debounced_while_one_is_queued(
    tenant: Tenant, other_tenant: Tenant, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks() as enqueued:
        first = tenant.client(Role.ANALYST).post(RUNS, {}, format="json")
        second = tenant.client(Role.OWNER).post(RUNS, {"as_of": "2026-09-30"}, format="json")
        elsewhere = other_tenant.client(Role.ANALYST).post(RUNS, {}, format="json")
    assert (first.status_code, second.status_code, elsewhere.status_code) == (202, 202, 202)
    assert second.json()["id"] == first.json()["id"]
    # The queued run keeps what it was requested with.
    assert (second.json()["requested_by"], second.json()["requested_as_of"]) == (
        tenant.users[Role.ANALYST].pk,
        None,
    )
    assert elsewhere.json()["id"] != first.json()["id"]
    assert [run.pk for run in _queued_runs(tenant)] == [first.json()["id"]]
    assert len(enqueued) == 2  # one execution per created run, none for the debounced request
    # Once the queued run has started, a new request queues a new run.
    with all_tenants_scope():
        ReportRun.objects.filter(pk=first.json()["id"]).update(status=RunStatus.RUNNING)
    third = tenant.client(Role.ANALYST).post(RUNS, {}, format="json")
    assert third.status_code == 202
    assert third.json()["id"] not in (first.json()["id"], elsewhere.json()["id"])


def test_request_run_validates_as_of(tenant: Tenant) -> None:
    client = tenant.client(Role.ANALYST)
    body = assert_problem(client.post(RUNS, {"as_of": "31/10/2026"}, format="json"), 400, "invalid")
    assert body["errors"][0]["attr"] == "as_of"
    tomorrow = timezone.now().date() + datetime.timedelta(days=2)
    body = assert_problem(client.post(RUNS, {"as_of": tomorrow.isoformat()}, format="json"), 400)
    assert body["errors"][0] == {
        "code": "as_of_in_future",
        "detail": "as_of cannot be in the future.",
        "attr": "as_of",
    }
    assert _queued_runs(tenant) == []


def test_request_run_needs_an_active_customer(superuser_client: Any) -> None:
    assert_problem(superuser_client.post(RUNS, {}, format="json"), 400, "customer_required")


def test_request_run_is_throttled_per_customer(settings: Any, tenant: Tenant, other_tenant: Tenant) -> None:
    settings.THROTTLE_RATES = {**settings.THROTTLE_RATES, "report_runs": "2/hour"}
    analyst, owner = tenant.client(Role.ANALYST), tenant.client(Role.OWNER)
    assert analyst.post(RUNS, {}, format="json").status_code == 202
    assert owner.post(RUNS, {}, format="json").status_code == 202
    response = analyst.post(RUNS, {}, format="json")
    assert_problem(response, 429, "throttled")
    assert "Retry-After" in response
    assert analyst.get(RUNS).status_code == 200  # reads are not counted
    assert other_tenant.client(Role.ANALYST).post(RUNS, {}, format="json").status_code == 202


def test_run_detail_and_list_count_events_by_type_and_severity(tenant: Tenant) -> None:
    run = ReportRunFactory.create(customer=tenant.customer)
    empty = ReportRunFactory.create(customer=tenant.customer)
    for drift_type, direction, severity in (
        ("DENIAL_RATE", "worsening", 0.8),
        ("DENIAL_RATE", "worsening", 0.3),
        ("DECISION_TIME", "improving", 0.6),
        ("PAYMENT_DELAY", "worsening", 0.1),
        ("PAYMENT_DELAY", "worsening", 0.75),
    ):
        DriftEventFactory.create(
            report_run=run, drift_type=drift_type, direction=direction, severity=severity
        )
    DriftEventFactory.create_batch(3)  # another tenant's run and events
    expected = {
        "total": 5,
        "worsening": 4,
        "improving": 1,
        "by_drift_type": {"DENIAL_RATE": 2, "DECISION_TIME": 1, "PAYMENT_DELAY": 2, "DENIAL_DOLLARS": 0},
        "by_severity_label": {"critical": 2, "high": 1, "medium": 1, "low": 1},
    }
    client = tenant.client(Role.VIEWER)
    assert client.get(f"{RUNS}{run.pk}/").json()["event_counts"] == expected
    listed = {r["id"]: r["event_counts"]["total"] for r in client.get(RUNS).json()["results"]}
    assert listed == {run.pk: 5, empty.pk: 0}
    assert client.get(f"{RUNS}{run.pk}/").json()["event_counts"]["by_drift_type"]["DENIAL_DOLLARS"] == 0


def test_run_filters_and_ordering(tenant: Tenant) -> None:
    c = tenant.customer
    manual = ReportRunFactory.create(customer=c, trigger=RunTrigger.MANUAL)
    scheduled = ReportRunFactory.create(customer=c, trigger=RunTrigger.SCHEDULE, status=RunStatus.FAILED)
    upload = ReportRunFactory.create(customer=c, trigger=RunTrigger.UPLOAD, status=RunStatus.QUEUED)
    with all_tenants_scope():
        for run, day in ((manual, 1), (scheduled, 5), (upload, 9)):
            ReportRun.objects.filter(pk=run.pk).update(
                created_at=datetime.datetime(2026, 11, day, 12, tzinfo=datetime.UTC)
            )
    client = tenant.client(Role.VIEWER)

    def ids(query: str) -> list[int]:
        response = client.get(f"{RUNS}?{query}")
        assert response.status_code == 200, response.content
        return [r["id"] for r in response.json()["results"]]

    assert ids("") == [upload.pk, scheduled.pk, manual.pk]
    assert ids("status=failed") == [scheduled.pk]
    assert ids("status=succeeded&status=queued") == [upload.pk, manual.pk]
    assert ids("trigger=schedule") == [scheduled.pk]
    assert ids("trigger=upload&trigger=manual") == [upload.pk, manual.pk]
    assert ids("created_from=2026-11-05") == [upload.pk, scheduled.pk]
    assert ids("created_to=2026-11-05") == [scheduled.pk, manual.pk]
    assert ids("created_from=2026-11-02&created_to=2026-11-08") == [scheduled.pk]
    assert ids("ordering=created_at") == [manual.pk, scheduled.pk, upload.pk]
    assert_problem(client.get(f"{RUNS}?status=done"), 400, "invalid_choice")
    assert_problem(client.get(f"{RUNS}?created_from=yesterday"), 400, "invalid")


def test_run_of_another_tenant_is_not_found(tenant: Tenant, other_tenant: Tenant) -> None:
    foreign = ReportRunFactory.create(customer=other_tenant.customer)
    DriftEventFactory.create(report_run=foreign)
    client = tenant.client(Role.OWNER)
    assert_problem(client.get(f"{RUNS}{foreign.pk}/"), 404, "not_found")
    assert client.get(f"{EVENTS}?run={foreign.pk}").json()["count"] == 0


# --- drift events ----------------------------------------------------------------------------------------


@pytest.fixture
def events(tenant: Tenant, other_tenant: Tenant) -> dict[str, Any]:
    """Two succeeded runs (the later one is "active"), a running one, and six events with distinct values."""
    c = tenant.customer
    now = timezone.now()
    old = ReportRunFactory.create(customer=c, finished_at=now - datetime.timedelta(days=7))
    latest = ReportRunFactory.create(
        customer=c, finished_at=now - datetime.timedelta(days=1), as_of=datetime.date(2026, 11, 21)
    )
    ReportRunFactory.create(customer=c, status=RunStatus.RUNNING, finished_at=None)
    rows = {
        "a": DriftEventFactory.create(
            report_run=old,
            payer="Aetna",
            cpt_group="E&M",
            drift_type="DENIAL_RATE",
            severity=0.9,
            delta=0.2,
            revenue_impact=Decimal("5000.00"),
            p_value=0.001,
        ),
        "b": DriftEventFactory.create(
            report_run=latest,
            payer="Aetna",
            cpt_group="ALL",
            drift_type="DENIAL_DOLLARS",
            severity=0.4,
            delta=7000.0,
            revenue_impact=Decimal("7000.00"),
            p_value=0.004,
        ),
        "c": DriftEventFactory.create(
            report_run=latest,
            payer="Cigna",
            cpt_group="LAB",
            drift_type="DECISION_TIME",
            severity=0.6,
            delta=9.0,
            revenue_impact=Decimal("0.00"),
            p_value=0.0001,
        ),
        "d": DriftEventFactory.create(
            report_run=latest,
            payer="Humana",
            cpt_group="IMAGING",
            drift_type="PAYMENT_DELAY",
            direction="improving",
            severity=0.2,
            delta=-4.0,
            revenue_impact=Decimal("0.00"),
            p_value=0.03,
        ),
        "e": DriftEventFactory.create(
            report_run=latest,
            payer="Cigna",
            cpt_group="E&M",
            drift_type="DENIAL_RATE",
            severity=0.75,
            delta=0.1,
            revenue_impact=Decimal("1200.50"),
            p_value=0.002,
        ),
        "f": DriftEventFactory.create(
            report_run=old,
            payer="Humana",
            cpt_group="LAB",
            drift_type="DENIAL_RATE",
            direction="improving",
            severity=0.25,
            delta=-0.06,
            revenue_impact=Decimal("-300.00"),
            p_value=0.01,
        ),
    }
    with all_tenants_scope():
        # current_end from the runs' as_of; created_at spread over three days
        for key, day in zip("abcdef", (1, 1, 2, 2, 3, 3), strict=True):
            type(rows[key]).objects.filter(pk=rows[key].pk).update(
                created_at=datetime.datetime(2026, 11, day, 8, tzinfo=datetime.UTC)
            )
    foreign_run = ReportRunFactory.create(customer=other_tenant.customer, finished_at=now)
    DriftEventFactory.create(report_run=foreign_run, payer="Aetna")
    return {"old": old, "latest": latest, **rows}


def test_event_filters(tenant: Tenant, events: dict[str, Any]) -> None:
    client = tenant.client(Role.VIEWER)
    name = {events[k].pk: k for k in "abcdef"}

    def keys(query: str, url: str = EVENTS) -> str:
        response = client.get(f"{url}?{query}")
        assert response.status_code == 200, response.content
        return "".join(sorted(name[e["id"]] for e in response.json()["results"]))

    assert keys("") == "abcdef"
    assert keys(f"run={events['old'].pk}") == "af"
    assert keys(f"run={events['latest'].pk}") == "bcde"
    assert keys("payer=aetna") == "ab"
    assert keys("cpt_group=lab") == "cf"
    assert keys("cpt_group=ALL") == "b"
    assert keys("drift_type=DENIAL_RATE") == "aef"
    assert keys("drift_type=DECISION_TIME&drift_type=PAYMENT_DELAY") == "cd"
    assert keys("direction=improving") == "df"
    assert keys("direction=worsening") == "abce"
    assert keys("severity_min=0.6") == "ace"
    assert keys("severity_max=0.25") == "df"
    assert keys("severity_min=0.25&severity_max=0.6") == "bcf"
    assert keys("severity_label=critical") == "ae"
    assert keys("severity_label=medium&severity_label=low") == "bdf"
    assert keys("current_end_from=2026-11-21") == "bcde"
    assert keys("current_end_to=2026-11-14") == "af"
    assert keys("created_from=2026-11-02") == "cdef"
    assert keys("created_to=2026-11-02") == "abcd"
    assert keys("created_from=2026-11-02&created_to=2026-11-02") == "cd"
    assert keys("search=cig") == "ce"
    assert keys("search=imag") == "d"
    assert keys("payer=Cigna&drift_type=DENIAL_RATE&severity_label=critical") == "e"
    assert_problem(client.get(f"{EVENTS}?drift_type=DENIAL"), 400, "invalid_choice")
    assert_problem(client.get(f"{EVENTS}?direction=sideways"), 400, "invalid_choice")
    assert_problem(client.get(f"{EVENTS}?severity_min=high"), 400, "invalid")
    assert_problem(client.get(f"{EVENTS}?current_end_from=21/11/2026"), 400, "invalid")


def test_event_ordering(tenant: Tenant, events: dict[str, Any]) -> None:
    client = tenant.client(Role.VIEWER)
    name = {events[k].pk: k for k in "abcdef"}

    def order(query: str) -> str:
        return "".join(name[e["id"]] for e in client.get(f"{EVENTS}?{query}").json()["results"])

    assert order("") == "aecbfd"  # most severe first
    assert order("ordering=severity") == "dfbcea"
    assert order("ordering=delta") == "dfeacb"
    assert order("ordering=-revenue_impact,severity") == "baedcf"
    assert order("ordering=revenue_impact,severity") == "fdceab"
    assert order("ordering=p_value") == "caebfd"
    assert order("ordering=-created_at,severity") == "fedcba"


def test_event_detail(tenant: Tenant, events: dict[str, Any]) -> None:
    event = events["e"]
    body = tenant.client(Role.VIEWER).get(f"{EVENTS}{event.pk}/").json()
    assert body == {
        "id": event.pk,
        "report_run": events["latest"].pk,
        "payer": "Cigna",
        "cpt_group": "E&M",
        "drift_type": "DENIAL_RATE",
        "direction": "worsening",
        "baseline_value": 0.2,
        "current_value": 0.3,
        "delta": 0.1,
        "baseline_n": 400,
        "current_n": 80,
        "test": "two_proportion_z",
        "statistic": 2.5,
        "p_value": 0.002,
        "adjusted_p_value": 0.02,
        "interval_low": 0.02,
        "interval_high": 0.18,
        "severity": 0.75,
        "severity_label": "critical",
        "confidence": 0.98,
        "revenue_impact": "1200.50",
        "baseline_start": "2026-08-10",
        "baseline_end": "2026-11-07",
        "current_start": "2026-11-08",
        "current_end": "2026-11-21",
        "evidence": {"claim_ids": []},
        "created_at": "2026-11-03T08:00:00Z",
    }


def test_active_events_are_those_of_the_latest_succeeded_run(tenant: Tenant, events: dict[str, Any]) -> None:
    client = tenant.client(Role.VIEWER)
    name = {events[k].pk: k for k in "abcdef"}

    def keys(query: str = "") -> list[str]:
        response = client.get(f"{ACTIVE}?{query}")
        assert response.status_code == 200, response.content
        return [name[e["id"]] for e in response.json()["results"]]

    assert keys() == ["e", "c", "b", "d"]  # most severe first, the other tenant's latest run excluded
    assert keys("direction=worsening&ordering=-revenue_impact") == ["b", "e", "c"]
    assert keys("payer=humana") == ["d"]
    assert keys(f"run={events['old'].pk}") == []
    assert keys("search=cigna") == ["e", "c"]
    paged = client.get(f"{ACTIVE}?page_size=3&page=2").json()
    assert (paged["count"], [name[e["id"]] for e in paged["results"]]) == (4, ["d"])
    # "Latest" is the run over the most recent data, then the one that finished last.
    stale = ReportRunFactory.create(
        customer=tenant.customer, finished_at=timezone.now() - datetime.timedelta(days=30)
    )
    DriftEventFactory.create(report_run=stale, payer="Stale")
    assert keys() == ["e", "c", "b", "d"]
    backdated = ReportRunFactory.create(
        customer=tenant.customer, finished_at=timezone.now(), as_of=AS_OF - datetime.timedelta(days=60)
    )
    DriftEventFactory.create(report_run=backdated, payer="What-if")
    assert keys() == ["e", "c", "b", "d"]
    # A newer succeeded run over the same data, even without events, becomes the active one.
    ReportRunFactory.create(
        customer=tenant.customer, finished_at=timezone.now(), as_of=datetime.date(2026, 11, 21)
    )
    assert keys() == []


def test_active_events_of_every_tenant_for_a_superuser(
    superuser_client: Any, tenant: Tenant, events: dict[str, Any]
) -> None:
    body = superuser_client.get(ACTIVE).json()
    with all_tenants_scope():
        foreign = [e.pk for e in type(events["a"]).objects.exclude(customer=tenant.customer)]
    assert sorted(e["id"] for e in body["results"]) == sorted([events[k].pk for k in "bcde"] + foreign)


def test_active_events_without_a_succeeded_run(tenant: Tenant) -> None:
    ReportRunFactory.create(customer=tenant.customer, status=RunStatus.FAILED)
    body = tenant.client(Role.VIEWER).get(ACTIVE).json()
    assert (body["count"], body["results"]) == (0, [])


# --- dashboard ---------------------------------------------------------------------------------------------


def _claim(tenant: Tenant, decided: datetime.date, outcome: str, billed: str, paid: str | None = None) -> Any:
    return ClaimRecordFactory.create(
        customer=tenant.customer,
        submitted_date=decided - datetime.timedelta(days=5),
        decided_date=decided,
        outcome=outcome,
        billed_amount=Decimal(billed),
        paid_amount=Decimal(paid) if paid is not None else None,
    )


@pytest.fixture
def dashboard_data(tenant: Tenant, other_tenant: Tenant) -> dict[str, Any]:
    today = timezone.now().date()  # the test customers' time zone is UTC
    this_month = today.replace(day=1)
    claims = [
        (today, "PAID", "100.00", "80.00"),
        (today - datetime.timedelta(days=10), "DENIED", "300.00", None),
        (today - datetime.timedelta(days=29), "OTHER", "50.00", "10.00"),
        (today - datetime.timedelta(days=30), "DENIED", "200.00", None),  # not in the last 30 days
        (_add_months(this_month, -5), "PAID", "100.00", "90.00"),  # first month of the trend
        (_add_months(this_month, -5) - datetime.timedelta(days=1), "DENIED", "100.00", None),  # before it
    ]
    for decided, outcome, billed, paid in claims:
        _claim(tenant, decided, outcome, billed, paid)
    _claim(other_tenant, today, "DENIED", "9999.00")
    old = ReportRunFactory.create(
        customer=tenant.customer, finished_at=timezone.now() - datetime.timedelta(days=3)
    )
    latest = ReportRunFactory.create(customer=tenant.customer, finished_at=timezone.now())
    DriftEventFactory.create(report_run=old, payer="Old Payer", severity=1.0)
    for payer, severity, impact, direction in (
        ("Aetna", 0.8, "1000.00", "worsening"),
        ("Aetna", 0.3, "500.00", "worsening"),
        ("Cigna", 0.6, "2000.00", "worsening"),
        ("Humana", 0.9, "0.00", "improving"),
    ):
        DriftEventFactory.create(
            report_run=latest,
            payer=payer,
            cpt_group=f"G{severity}",
            severity=severity,
            revenue_impact=Decimal(impact),
            direction=direction,
        )
    ReportRunFactory.create(customer=tenant.customer, status=RunStatus.RUNNING, finished_at=None)
    stale = ReportRunFactory.create(
        customer=tenant.customer, finished_at=timezone.now() - datetime.timedelta(days=9)
    )
    DriftEventFactory.create(report_run=stale, payer="Stale Payer", severity=0.95)
    # The expected trend: six months up to today's month (the latest decided_date), zeros where empty.
    months = [_add_months(this_month, offset) for offset in range(-5, 1)]
    per_month: dict[datetime.date, Counter[str]] = {m: Counter() for m in months}
    for decided, outcome, _billed, _paid in claims:
        month = decided.replace(day=1)
        if month in per_month:
            per_month[month]["claims"] += 1
            per_month[month][outcome] += 1
    trend = []
    for m in months:
        n_denied, n_paid = per_month[m]["DENIED"], per_month[m]["PAID"]
        trend.append(
            {
                "month": m.isoformat(),
                "claims": per_month[m]["claims"],
                "denied": n_denied,
                "paid": n_paid,
                "denial_rate": round(n_denied / (n_denied + n_paid), 4) if n_denied + n_paid else None,
            }
        )
    return {"today": today, "latest": latest, "trend": trend}


def test_dashboard_numbers(tenant: Tenant, dashboard_data: dict[str, Any]) -> None:
    body = tenant.client(Role.VIEWER).get(DASHBOARD).json()
    latest = dashboard_data["latest"]
    assert body["as_of"] == dashboard_data["today"].isoformat()
    assert body["totals"] == {
        "claims": 6,
        "claims_last_30_days": 3,
        "paid": 2,
        "denied": 3,
        "denial_rate": 0.6,
        "billed_total": "850.00",
        "paid_total": "180.00",
        "latest_decided_date": dashboard_data["today"].isoformat(),
    }
    assert body["latest_run"] == {
        "id": latest.pk,
        "as_of": "2026-11-14",
        "finished_at": latest.finished_at.isoformat().replace("+00:00", "Z"),
    }
    assert body["active_drift_count"] == 3
    assert body["denial_rate_trend"] == dashboard_data["trend"]
    assert body["denial_rate_trend"][0]["claims"] == 1
    assert sum(m["claims"] for m in body["denial_rate_trend"]) == 5
    assert body["top_drifting_payers"] == [
        {"payer": "Aetna", "events": 2, "max_severity": 0.8, "revenue_impact": "1500.00"},
        {"payer": "Cigna", "events": 1, "max_severity": 0.6, "revenue_impact": "2000.00"},
    ]


def test_dashboard_top_payers_are_five_by_severity_then_impact(tenant: Tenant) -> None:
    run = ReportRunFactory.create(customer=tenant.customer)
    for payer, severity, impact in (
        ("P1", 0.5, "10.00"),
        ("P2", 0.5, "30.00"),
        ("P3", 0.9, "0.00"),
        ("P4", 0.1, "99.00"),
        ("P5", 0.5, "30.00"),
        ("P6", 0.7, "1.00"),
    ):
        DriftEventFactory.create(
            report_run=run, payer=payer, severity=severity, revenue_impact=Decimal(impact)
        )
    body = tenant.client(Role.VIEWER).get(DASHBOARD).json()
    assert [p["payer"] for p in body["top_drifting_payers"]] == ["P3", "P6", "P2", "P5", "P1"]
    assert body["active_drift_count"] == 6


def test_dashboard_of_a_customer_without_data(tenant: Tenant) -> None:
    body = tenant.client(Role.VIEWER).get(DASHBOARD).json()
    assert {k: v for k, v in body.items() if k not in ("generated_at", "as_of")} == {
        "totals": {
            "claims": 0,
            "claims_last_30_days": 0,
            "paid": 0,
            "denied": 0,
            "denial_rate": None,
            "billed_total": "0.00",
            "paid_total": "0.00",
            "latest_decided_date": None,
        },
        "latest_run": None,
        "active_drift_count": 0,
        "denial_rate_trend": [],
        "top_drifting_payers": [],
    }


def test_dashboard_needs_an_active_customer(superuser_client: Any) -> None:
    assert_problem(superuser_client.get(DASHBOARD), 400, "customer_required")


def _data_queries(queries: CaptureQueriesContext) -> list[str]:
    return [
        q["sql"] for q in queries.captured_queries if "claims_claimrecord" in q["sql"] or "drift_" in q["sql"]
    ]


def test_dashboard_is_cached_per_customer_until_invalidated(
    tenant: Tenant, other_tenant: Tenant, dashboard_data: dict[str, Any]
) -> None:
    client = tenant.client(Role.VIEWER)
    with CaptureQueriesContext(connection) as first_queries:
        first = client.get(DASHBOARD).json()
    assert len(_data_queries(first_queries)) == 5  # totals, trend, latest run, active count, top payers
    _claim(tenant, dashboard_data["today"], "DENIED", "1000.00")
    with CaptureQueriesContext(connection) as cached_queries:
        cached = tenant.client(Role.ANALYST).get(DASHBOARD).json()
    assert _data_queries(cached_queries) == []
    assert cached == first  # generated_at included: the very same numbers, not recomputed
    # Another customer's dashboard is its own.
    assert other_tenant.client(Role.VIEWER).get(DASHBOARD).json()["totals"]["claims"] == 1
    dashboard_invalidate(customer_id=tenant.customer.pk)
    with CaptureQueriesContext(connection) as fresh_queries:
        fresh = client.get(DASHBOARD).json()
    assert len(_data_queries(fresh_queries)) == 5
    assert (fresh["totals"]["claims"], fresh["totals"]["denied"]) == (7, 4)
    assert fresh["generated_at"] >= first["generated_at"]
