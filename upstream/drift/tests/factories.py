"""Test data for drift detection: claims built directly (no PHI, no pipeline), generator files loaded with
``COPY``, and report runs / drift events."""

from __future__ import annotations

import datetime
import io
import itertools
from collections.abc import Iterable, Iterator, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

import factory
import polars as pl
from django.db import connection
from django.utils import timezone

from upstream.claims.models import ClaimRecord, Outcome
from upstream.demo.reference_data import CPT_GROUP_BY_CODE, PAYERS
from upstream.drift.models import DriftEvent, DriftType, ReportRun, RunStatus, RunTrigger
from upstream.tenancy.models import Customer
from upstream.tenancy.tests.factories import CustomerFactory, TenantModelFactory

AS_OF = datetime.date(2026, 6, 30)
_claim_numbers = itertools.count(1)


def claim(
    customer: Customer,
    *,
    decided: datetime.date,
    payer: str = "Aetna",
    cpt_group: str = "E&M",
    outcome: str = Outcome.PAID,
    decision_days: int = 5,
    paid_days: int | None = 10,
    billed: Decimal | str | None = Decimal("100.00"),
    denial_code: str = "",
) -> ClaimRecord:
    """An unsaved claim; ``paid_days`` applies to PAID claims only (None: paid, but no paid_date yet)."""
    number = next(_claim_numbers)
    paid_date = (
        decided + datetime.timedelta(days=paid_days) if outcome == Outcome.PAID and paid_days else None
    )
    return ClaimRecord(
        customer=customer,
        claim_number=f"DRIFT-{number:09d}",
        payer=payer,
        payer_raw=payer,
        cpt="99213",
        cpt_group=cpt_group,
        submitted_date=decided - datetime.timedelta(days=decision_days),
        decided_date=decided,
        paid_date=paid_date,
        outcome=outcome,
        billed_amount=Decimal(billed) if billed is not None else None,
        paid_amount=Decimal("80.00") if outcome == Outcome.PAID else None,
        denial_reason_code=denial_code,
        row_hash=f"{number:064x}",
    )


def window_days(window: str, count: int, *, as_of: datetime.date = AS_OF) -> list[datetime.date]:
    """``count`` decided dates spread evenly over the default baseline (90 days) or current (14 days)
    window."""
    first, days = (
        (as_of - datetime.timedelta(days=13), 14)
        if window == "current"
        else (
            as_of - datetime.timedelta(days=103),
            90,
        )
    )
    return [first + datetime.timedelta(days=(i * days) // max(count, 1)) for i in range(count)]


def window_claims(
    customer: Customer,
    window: str,
    count: int,
    *,
    denied: int = 0,
    decision_days: Sequence[int] | int = 5,
    paid_days: Sequence[int | None] | int | None = 10,
    billed: Sequence[Decimal | str] | Decimal | str = Decimal("100.00"),
    as_of: datetime.date = AS_OF,
    **fields: Any,
) -> list[ClaimRecord]:
    """``count`` claims in one window: ``denied`` of them DENIED (code CO-50), spread evenly, the rest PAID.

    Per-claim sequences are cycled, so ``decision_days=[3, 4, 5, 6, 7]`` gives every fifth claim each value.
    """
    decisions = _cycle(decision_days)
    delays = _cycle(paid_days)
    amounts = _cycle(billed)
    out = []
    for i, day in enumerate(window_days(window, count, as_of=as_of)):
        is_denied = (i * denied) // count != ((i + 1) * denied) // count  # spread evenly over the window
        out.append(
            claim(
                customer,
                decided=day,
                outcome=Outcome.DENIED if is_denied else Outcome.PAID,
                decision_days=next(decisions),
                paid_days=next(delays),
                billed=next(amounts),
                denial_code="CO-50" if is_denied else "",
                **fields,
            )
        )
    return out


def _cycle(value: Any) -> Iterator[Any]:
    return itertools.cycle(value if isinstance(value, list | tuple) else [value])


def save_claims(claims: Iterable[ClaimRecord]) -> int:
    saved = ClaimRecord.objects_all_tenants.bulk_create(list(claims), batch_size=5_000)
    return len(saved)


# --- generator files ----------------------------------------------------------------------------------------

_CANONICAL_PAYER = {variant: payer.name for payer in PAYERS for variant in (payer.name, *payer.variants)}
_COPY_COLUMNS = (
    "customer_id",
    "claim_number",
    "payer",
    "payer_raw",
    "cpt",
    "modifiers",
    "cpt_group",
    "submitted_date",
    "decided_date",
    "paid_date",
    "outcome",
    "billed_amount",
    "allowed_amount",
    "paid_amount",
    "denial_reason_code",
    "denial_reason_text",
    "row_hash",
    "patient_account_number_bidx",
    "member_id_bidx",
    "created_at",
    "updated_at",
)


def load_generated(customer: Customer, path: Path) -> int:
    """``COPY`` a clean generator file (no planted errors) straight into claims_claimrecord, as ingestion
    would store it but without PHI: payer variants mapped to the canonical payer, CPT codes to their
    generator group. Seconds for hundreds of thousands of rows, where the full pipeline encrypts PHI."""
    text = dict.fromkeys(("cpt", "modifiers", "denial_reason_code", "denial_reason_text"), pl.String)
    frame = pl.read_csv(path, schema_overrides=text, infer_schema_length=0)
    now = timezone.now().isoformat()
    frame = frame.select(
        pl.lit(customer.pk).alias("customer_id"),
        "claim_number",
        pl.col("payer").replace_strict(_CANONICAL_PAYER).alias("payer"),
        pl.col("payer").alias("payer_raw"),
        "cpt",
        pl.col("modifiers").fill_null(""),
        pl.col("cpt").replace_strict(CPT_GROUP_BY_CODE).alias("cpt_group"),
        "submitted_date",
        "decided_date",
        "paid_date",
        "outcome",
        "billed_amount",
        "allowed_amount",
        "paid_amount",
        pl.col("denial_reason_code").fill_null(""),
        pl.col("denial_reason_text").fill_null(""),
        pl.col("claim_number").alias("row_hash"),
        pl.lit("").alias("patient_account_number_bidx"),
        pl.lit("").alias("member_id_bidx"),
        pl.lit(now).alias("created_at"),
        pl.lit(now).alias("updated_at"),
    )
    buffer = io.BytesIO()
    # Empty strings must stay empty strings (NOT NULL columns), missing values become NULL.
    frame.write_csv(buffer, include_header=False, null_value="\\N", quote_style="necessary")
    columns = ", ".join(_COPY_COLUMNS)
    with (
        connection.cursor() as cursor,
        cursor.copy(f"COPY claims_claimrecord ({columns}) FROM STDIN WITH (FORMAT csv, NULL '\\N')") as copy,
    ):
        copy.write(buffer.getvalue())
    return frame.height


# --- runs and events ----------------------------------------------------------------------------------------


class ReportRunFactory(TenantModelFactory):
    class Meta:
        model = ReportRun

    customer = factory.SubFactory(CustomerFactory)
    trigger = RunTrigger.MANUAL
    status = RunStatus.QUEUED


def drift_event(run: ReportRun, payer: str, **fields: Any) -> DriftEvent:
    """An unsaved, valid DriftEvent of ``run`` (unique per payer with the default group and type)."""
    values: dict[str, Any] = {
        "customer_id": run.customer_id,
        "report_run": run,
        "payer": payer,
        "cpt_group": "E&M",
        "drift_type": DriftType.DENIAL_RATE,
        "baseline_value": 0.1,
        "current_value": 0.3,
        "delta": 0.2,
        "direction": "worsening",
        "baseline_n": 100,
        "current_n": 50,
        "statistic": 3.1,
        "test": "two_proportion_z",
        "p_value": 0.002,
        "adjusted_p_value": 0.01,
        "severity": 1.0,
        "severity_label": "critical",
        "confidence": 0.99,
        "baseline_start": AS_OF - datetime.timedelta(days=103),
        "baseline_end": AS_OF - datetime.timedelta(days=14),
        "current_start": AS_OF - datetime.timedelta(days=13),
        "current_end": AS_OF,
    }
    values.update(fields)
    return DriftEvent(**values)
