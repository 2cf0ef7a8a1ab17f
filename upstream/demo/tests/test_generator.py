"""The synthetic claims generator: CSV contract, determinism, realism, injected drift and planted errors."""

from __future__ import annotations

import csv
import gzip
import io
import re
import statistics
import subprocess
import sys
from collections import Counter
from collections.abc import Sequence
from datetime import date, timedelta
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command

from upstream.demo.drift_scenarios import (
    DecisionTimeDrift,
    DenialDollarsDrift,
    DenialRateDrift,
    DriftScenario,
    DriftSpecError,
    InjectedDrift,
    PaymentDelayDrift,
    describe_injected,
    parse_drift_spec,
    parse_drift_specs,
)
from upstream.demo.generator import DEFAULT_AS_OF, generate
from upstream.demo.reference_data import CPT_GROUP_BY_CODE, PAYERS

HEADER = (
    "claim_number,payer,cpt,modifiers,submitted_date,decided_date,paid_date,outcome,billed_amount,"
    "allowed_amount,paid_amount,denial_reason_code,denial_reason_text,patient_account_number,member_id,"
    "patient_name,patient_dob"
)
AS_OF = date(2026, 9, 30)
CANONICAL = {p.name: p.name for p in PAYERS} | {v: p.name for p in PAYERS for v in p.variants}
AMOUNT = re.compile(r"^\d+(\.\d{1,2})?$")
DENIAL_CODE = re.compile(r"^(CO|PR|OA|PI|CR)-\d+$")
ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
Rows = Sequence[dict[str, str]]

DRIFT_SPECS = (
    "denial_rate:payer=Aetna,cpt_group=E&M,from=0.10,to=0.35",
    "decision_time:payer=Cigna,days=+12",
    "payment_delay:payer=Humana,days=+10",
    "denial_dollars:payer=UnitedHealthcare,cpt_group=SURGERY,factor=3",
)


def _text(rows: int, seed: int, **kwargs: Any) -> str:
    buffer = io.StringIO()
    generate(rows, seed, buffer, **kwargs)
    return buffer.getvalue()


def _rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def _day(value: str) -> date:
    return date.fromisoformat(value)


def _window(row: dict[str, str], as_of: date = AS_OF) -> str | None:
    """SPEC §7 windows on decided_date: current (as_of-14d, as_of], baseline (as_of-104d, as_of-14d]."""
    age = (as_of - _day(row["decided_date"])).days
    if 0 <= age < 14:
        return "current"
    if 14 <= age < 104:
        return "baseline"
    return None


def _slice(rows: Rows, payer: str, group: str | None = None) -> dict[str, list[dict[str, str]]]:
    windows: dict[str, list[dict[str, str]]] = {"baseline": [], "current": []}
    for row in rows:
        if CANONICAL[row["payer"]] != payer or (group and CPT_GROUP_BY_CODE[row["cpt"]] != group):
            continue
        window = _window(row)
        if window:
            windows[window].append(row)
    return windows


def _denial_rate(rows: Rows) -> float:
    decided = [r for r in rows if r["outcome"] in ("PAID", "DENIED")]
    return sum(r["outcome"] == "DENIED" for r in decided) / len(decided)


def _median_decision_days(rows: Rows) -> float:
    return statistics.median((_day(r["decided_date"]) - _day(r["submitted_date"])).days for r in rows)


def _median_payment_days(rows: Rows) -> float:
    return statistics.median(
        (_day(r["paid_date"]) - _day(r["decided_date"])).days for r in rows if r["outcome"] == "PAID"
    )


def _mean_denied_dollars(rows: Rows) -> float:
    return sum(float(r["billed_amount"]) for r in rows if r["outcome"] == "DENIED") / len(rows)


@cache
def _drifted_rows() -> tuple[dict[str, str], ...]:
    scenarios = parse_drift_specs(DRIFT_SPECS)
    return tuple(_rows(_text(60_000, 11, as_of=AS_OF, drifts=scenarios)))


@cache
def _plain_rows() -> tuple[dict[str, str], ...]:
    return tuple(_rows(_text(20_000, 5, as_of=AS_OF)))


# --- CSV contract and determinism -------------------------------------------------------------------------


def test_same_seed_gives_identical_bytes_and_another_seed_does_not() -> None:
    drifts = parse_drift_specs(DRIFT_SPECS[:2])
    first, second, other = io.BytesIO(), io.BytesIO(), io.BytesIO()
    generate(3_000, 42, first, drifts=drifts, error_rate=0.02)
    generate(3_000, 42, second, drifts=drifts, error_rate=0.02)
    generate(3_000, 43, other, drifts=drifts, error_rate=0.02)

    assert first.getvalue() == second.getvalue()
    assert first.getvalue() != other.getvalue()


def test_header_is_canonical_and_row_count_exact() -> None:
    text = _text(1_234, 3)

    lines = text.splitlines()
    assert lines[0] == HEADER
    assert len(_rows(text)) == 1_234
    assert all(len(row) == 17 for row in csv.reader(io.StringIO(text)))


def test_claim_numbers_are_unique_and_share_a_seed_prefix() -> None:
    numbers = [row["claim_number"] for row in _plain_rows()]

    assert len(set(numbers)) == len(numbers) == 20_000
    assert len({n.rsplit("-", 1)[0] for n in numbers}) == 1
    assert all(re.fullmatch(r"CLM-[0-9A-F]{3}[A-F]-\d{8}", n) for n in numbers)
    assert numbers[0].endswith("-00000001")
    assert numbers[-1].endswith("-00020000")


def test_dates_fall_in_the_window_and_are_ordered() -> None:
    first_decided = AS_OF - timedelta(days=179)
    for row in _plain_rows():
        submitted, decided = _day(row["submitted_date"]), _day(row["decided_date"])
        assert first_decided <= decided <= AS_OF
        assert 1 <= (decided - submitted).days <= 40
        assert date(1940, 1, 1) <= _day(row["patient_dob"]) <= date(2020, 12, 31)
        if row["outcome"] == "PAID":
            assert 3 <= (_day(row["paid_date"]) - decided).days <= 30
        else:
            assert row["paid_date"] == ""
    decided_days = {row["decided_date"] for row in _plain_rows()}
    assert len(decided_days) == 180


def test_amounts_are_consistent_and_denials_are_coded() -> None:
    outcomes: Counter[str] = Counter()
    for row in _plain_rows():
        outcomes[row["outcome"]] += 1
        assert AMOUNT.match(row["billed_amount"])
        if row["outcome"] == "PAID":
            billed, allowed, paid = (
                float(row[k]) for k in ("billed_amount", "allowed_amount", "paid_amount")
            )
            assert AMOUNT.match(row["allowed_amount"])
            assert AMOUNT.match(row["paid_amount"])
            assert paid <= allowed <= billed
            assert row["denial_reason_code"] == row["denial_reason_text"] == ""
        elif row["outcome"] == "DENIED":
            assert DENIAL_CODE.match(row["denial_reason_code"])
            assert row["denial_reason_text"]
            assert row["allowed_amount"] in ("", "0.00")
            assert row["paid_amount"] in ("", "0.00")
        else:
            assert row["outcome"] == "OTHER"
            assert float(row["allowed_amount"]) <= float(row["billed_amount"])
            assert row["denial_reason_code"] == ""

    assert 0.01 <= outcomes["OTHER"] / 20_000 <= 0.03
    assert 0.05 <= outcomes["DENIED"] / 20_000 <= 0.20
    assert outcomes["PAID"] + outcomes["DENIED"] + outcomes["OTHER"] == 20_000


def test_codes_cover_the_groups_and_modifiers_are_occasional() -> None:
    rows = _plain_rows()
    groups = Counter(CPT_GROUP_BY_CODE[row["cpt"]] for row in rows)
    modifiers = Counter(row["modifiers"] for row in rows)

    assert set(groups) == {"E&M", "LAB", "RADIOLOGY", "THERAPY", "SURGERY", "HCPCS_DRUG", "CAT_II"}
    assert groups.most_common(1)[0][0] == "E&M"
    assert 0.02 <= 1 - modifiers[""] / len(rows) <= 0.10
    assert modifiers["25,59"] > 0


def test_payer_volume_follows_a_pareto_mix_with_some_raw_variants() -> None:
    rows = _plain_rows()
    volume = Counter(CANONICAL[row["payer"]] for row in rows)
    top_fifth = sum(count for _, count in volume.most_common(len(PAYERS) // 5))
    variants = sum(row["payer"] not in {p.name for p in PAYERS} for row in rows)

    assert len(volume) == 25
    assert top_fifth / len(rows) >= 0.60
    assert 0.01 <= variants / len(rows) <= 0.05


def test_patients_recur_on_several_claims_with_stable_identities() -> None:
    rows = _plain_rows()
    identities = {
        row["patient_account_number"]: (row["member_id"], row["patient_name"], row["patient_dob"])
        for row in rows
    }
    per_patient = Counter(row["patient_account_number"] for row in rows)

    assert all(
        identities[row["patient_account_number"]]
        == (row["member_id"], row["patient_name"], row["patient_dob"])
        for row in rows
    )
    assert 4_500 <= len(identities) <= 5_000  # pool of rows / 4, nearly all of them used
    assert len({member for member, _, _ in identities.values()}) == len(identities)
    assert statistics.mean(per_patient.values()) >= 4
    assert all(re.fullmatch(r"PA\d{8}", account) for account in identities)
    assert all(re.fullmatch(r"[A-Z]{3}\d{9}", member) for member, _, _ in identities.values())


def test_gzip_output_is_deterministic_and_reads_back(tmp_path: Path) -> None:
    plain = tmp_path / "claims.csv"
    packed = tmp_path / "claims.csv.gz"
    again = tmp_path / "again.csv.gz"
    for path in (plain, packed, again):
        generate(2_000, 9, path)

    assert packed.read_bytes()[:2] == b"\x1f\x8b"
    assert gzip.decompress(packed.read_bytes()) == plain.read_bytes()
    assert packed.read_bytes() == again.read_bytes()


def test_paid_through_censors_late_payments_and_summary_counts_them() -> None:
    buffer = io.StringIO()
    summary = generate(5_000, 2, buffer, as_of=AS_OF)
    censored_buffer = io.StringIO()
    censored_summary = generate(5_000, 2, censored_buffer, as_of=AS_OF, paid_through=AS_OF)
    censored = _rows(censored_buffer.getvalue())
    late = [r for r in _rows(buffer.getvalue()) if r["paid_date"] and _day(r["paid_date"]) > AS_OF]

    assert summary.rows_paid_after(AS_OF) == len(late) > 0
    assert summary.rows_paid_after(AS_OF + timedelta(days=100)) == 0
    assert all(not r["paid_date"] or _day(r["paid_date"]) <= AS_OF for r in censored)
    assert sum(r["outcome"] == "PAID" and not r["paid_date"] for r in censored) == len(late)
    assert censored_summary.rows_paid_after(AS_OF) == 0


def test_generator_module_imports_without_django() -> None:
    code = "import sys, upstream.demo.generator; sys.exit('django' in sys.modules)"
    root = Path(__file__).resolve().parents[3]

    assert subprocess.run([sys.executable, "-c", code], cwd=root, check=False).returncode == 0


# --- injected drift ---------------------------------------------------------------------------------------


def test_denial_rate_drift_moves_the_slice_to_the_requested_rate() -> None:
    windows = _slice(_drifted_rows(), "Aetna", "E&M")

    assert _denial_rate(windows["baseline"]) == pytest.approx(0.10, abs=0.03)
    assert _denial_rate(windows["current"]) == pytest.approx(0.35, abs=0.08)


def test_decision_time_drift_shifts_the_median_by_the_requested_days() -> None:
    windows = _slice(_drifted_rows(), "Cigna")

    shift = _median_decision_days(windows["current"]) - _median_decision_days(windows["baseline"])
    assert shift == pytest.approx(12, abs=2)


def test_payment_delay_drift_shifts_the_median_by_the_requested_days() -> None:
    windows = _slice(_drifted_rows(), "Humana")

    shift = _median_payment_days(windows["current"]) - _median_payment_days(windows["baseline"])
    assert shift == pytest.approx(10, abs=2)


def test_denial_dollars_drift_multiplies_denied_dollars_per_claim() -> None:
    windows = _slice(_drifted_rows(), "UnitedHealthcare", "SURGERY")

    ratio = _mean_denied_dollars(windows["current"]) / _mean_denied_dollars(windows["baseline"])
    assert 2.0 <= ratio <= 4.5


@pytest.mark.parametrize(
    ("payer", "group"),
    [("Aetna", "E&M"), ("Cigna", None), ("Humana", None), ("UnitedHealthcare", "SURGERY")],
)
def test_every_targeted_slice_reaches_min_volume_in_both_windows(payer: str, group: str | None) -> None:
    windows = _slice(_drifted_rows(), payer, group)

    assert len(windows["baseline"]) >= 60
    assert len(windows["current"]) >= 60


def test_small_slices_get_extra_rows_to_reach_min_volume() -> None:
    scenarios = parse_drift_specs(
        [
            "denial_rate:payer=Medicare Advantage - Devoted,cpt_group=CAT_II,from=0.1,to=0.5",
            "decision_time:payer=Priority Health,cpt_group=HCPCS_DRUG,days=7,min_volume=90",
        ]
    )
    buffer = io.StringIO()
    summary = generate(3_000, 4, buffer, as_of=AS_OF, drifts=scenarios, min_volume=75)
    rows = _rows(buffer.getvalue())
    devoted = _slice(rows, "Medicare Advantage - Devoted", "CAT_II")
    priority = _slice(rows, "Priority Health", "HCPCS_DRUG")

    assert summary.guaranteed_rows == 2 * 75 + 2 * 90
    assert len(rows) == 3_000
    # Natural volume of these slices in 3,000 rows is about one claim per window: the floor is the guarantee.
    assert 75 <= len(devoted["baseline"]) <= 80
    assert 75 <= len(devoted["current"]) <= 80
    assert 90 <= len(priority["baseline"]) <= 95
    assert 90 <= len(priority["current"]) <= 95


@pytest.mark.parametrize("payer", ["Medicare Part B", "Blue Cross Blue Shield of Texas"])
def test_payers_without_a_scenario_do_not_drift(payer: str) -> None:
    windows = _slice(_drifted_rows(), payer)
    baseline, current = windows["baseline"], windows["current"]

    assert abs(_denial_rate(current) - _denial_rate(baseline)) < 0.03
    assert abs(_median_decision_days(current) - _median_decision_days(baseline)) <= 1
    assert abs(_median_payment_days(current) - _median_payment_days(baseline)) <= 1


def test_summary_describes_the_injected_signals() -> None:
    summary = generate(2_000, 1, io.StringIO(), as_of=AS_OF, drifts=parse_drift_specs(DRIFT_SPECS))

    primary = [(d.payer, d.cpt_group, d.drift_type, d.direction) for d in summary.drifts if d.primary]
    assert primary == [
        ("Aetna", "E&M", "DENIAL_RATE", "worsening"),
        ("Cigna", "ALL", "DECISION_TIME", "worsening"),
        ("Humana", "ALL", "PAYMENT_DELAY", "worsening"),
        ("UnitedHealthcare", "SURGERY", "DENIAL_DOLLARS", "worsening"),
    ]
    assert summary.guaranteed_rows == 4 * 2 * 60
    assert sum(summary.payer_counts.values()) == 2_000


def test_rows_too_few_for_the_drift_slices_are_refused() -> None:
    with pytest.raises(ValueError, match="need 120 rows"):
        generate(100, 1, io.StringIO(), drifts=[parse_drift_spec("decision_time:payer=Cigna,days=5")])


# --- drift spec language ----------------------------------------------------------------------------------


def test_specs_parse_into_dataclasses() -> None:
    assert parse_drift_spec(DRIFT_SPECS[0]) == DenialRateDrift(
        payer="Aetna", cpt_group="E&M", from_rate=0.10, to_rate=0.35
    )
    assert parse_drift_spec(" Decision_Time : payer=CIGNA , days=-4 ") == DecisionTimeDrift(
        payer="Cigna", days=-4
    )
    assert parse_drift_spec("payment_delay:payer=Aetna Inc.,cpt_group=all,days=+10") == PaymentDelayDrift(
        payer="Aetna", days=10
    )
    assert parse_drift_spec("denial_dollars:payer=UHC,cpt_group=surgery,factor=2.5,min_volume=200") == (
        DenialDollarsDrift(payer="UnitedHealthcare", cpt_group="SURGERY", factor=2.5, min_volume=200)
    )


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("denial_rates:payer=Aetna,from=0.1,to=0.2", "must start with one of denial_rate"),
        ("payer=Aetna,from=0.1,to=0.2", "must start with one of"),
        ("denial_rate:payer=Aetna,from=0.1", "missing to (a denial_rate spec needs payer, from, to)"),
        ("denial_rate:payer=Nobody,from=0.1,to=0.2", "unknown payer 'Nobody'"),
        ("denial_rate:payer=Aetna,cpt_group=DENTAL,from=0.1,to=0.2", "unknown cpt_group 'DENTAL'"),
        ("denial_rate:payer=Aetna,from=abc,to=0.2", "from must be a number"),
        ("denial_rate:payer=Aetna,from=0.1,to=1.5", "to must be a rate between 0 and 0.95"),
        ("denial_rate:payer=Aetna,from=0.2,to=0.2", "from and to are equal"),
        ("decision_time:payer=Cigna,days=0", "days must be a non-zero integer"),
        ("decision_time:payer=Cigna,days=1.5", "days must be an integer"),
        ("payment_delay:payer=Cigna,days=5,factor=2", "unknown key 'factor'"),
        ("payment_delay:payer=Cigna,days=5,days=6", "'days' is given twice"),
        ("payment_delay:payer=Cigna,days", "'days' is not key=value"),
        ("denial_dollars:payer=Cigna,factor=1", "factor must be > 0"),
        ("denial_dollars:payer=Cigna,factor=2,min_volume=0", "min_volume must be at least 1"),
    ],
)
def test_bad_specs_raise_a_clear_error(spec: str, message: str) -> None:
    with pytest.raises(DriftSpecError, match=re.escape(message)):
        parse_drift_spec(spec)


def test_scenarios_fighting_over_one_metric_are_refused() -> None:
    with pytest.raises(DriftSpecError, match="overlap"):
        parse_drift_specs(
            ["denial_rate:payer=Aetna,from=0.1,to=0.3", "denial_dollars:payer=Aetna,cpt_group=LAB,factor=2"]
        )

    compatible = parse_drift_specs(["decision_time:payer=Aetna,days=5", "payment_delay:payer=Aetna,days=5"])
    assert len(compatible) == 2


def test_describe_injected_lists_side_effects_after_primary_signals() -> None:
    scenarios: list[DriftScenario] = [DenialRateDrift(payer="Aetna", from_rate=0.2, to_rate=0.1)]

    assert describe_injected(scenarios) == (
        InjectedDrift("Aetna", "ALL", "DENIAL_RATE", "improving", -0.1, "rate points"),
        InjectedDrift("Aetna", "ALL", "DENIAL_DOLLARS", "improving", 0.5, "factor", primary=False),
    )


# --- planted errors ---------------------------------------------------------------------------------------


def _violations(row: dict[str, str], earlier_claims: set[str]) -> list[str]:
    """The rules a planted row breaks, detected from the file alone."""
    found = []
    if not row["claim_number"] or not row["payer"]:
        found.append("R02")
    dates: dict[str, date | None] = {}
    for column in ("submitted_date", "decided_date", "paid_date"):
        try:
            dates[column] = _day(row[column]) if row[column] else None
        except ValueError:
            found.append("R04")
    if any(day and day.year == 2099 for day in dates.values()):
        found.append("R06")
    submitted, decided = dates.get("submitted_date"), dates.get("decided_date")
    if submitted and decided and submitted > decided:
        found.append("R05")
    if row["outcome"] not in ("PAID", "DENIED", "OTHER"):
        found.append("R07")
    if not re.fullmatch(r"\d{5}|\d{4}[FT]|[A-Z]\d{4}", row["cpt"]):
        found.append("R08")
    if not AMOUNT.match(row["billed_amount"]) or float(row["billed_amount"]) > 10_000_000:
        found.append("R09")
    if row["claim_number"] and row["claim_number"] in earlier_claims:
        found.append("R10")
    if re.search(r"\d{3}-\d{2}-\d{4}", row["payer"]):
        found.append("R11")
    return found


def test_planted_errors_match_the_summary_rule_by_rule() -> None:
    buffer = io.StringIO()
    summary = generate(20_000, 8, buffer, as_of=AS_OF, error_rate=0.05)
    detected: Counter[str] = Counter()
    seen: set[str] = set()
    for row in _rows(buffer.getvalue()):
        violations = _violations(row, seen)
        assert len(violations) <= 1, (row, violations)
        detected.update(violations)
        seen.add(row["claim_number"])

    assert dict(detected) == summary.injected_errors
    assert set(summary.injected_errors) == {"R02", "R04", "R05", "R06", "R07", "R08", "R09", "R10", "R11"}
    assert 800 <= sum(summary.injected_errors.values()) <= 1_200
    assert sum(summary.injected_errors_by_kind.values()) == sum(summary.injected_errors.values())


def test_with_every_row_planted_no_duplicate_can_be_made() -> None:
    buffer = io.StringIO()
    summary = generate(500, 3, buffer, as_of=AS_OF, error_rate=1.0)
    detected: Counter[str] = Counter()
    seen: set[str] = set()
    for row in _rows(buffer.getvalue()):
        detected.update(_violations(row, seen))
        seen.add(row["claim_number"])

    assert sum(summary.injected_errors.values()) == 500
    assert "R10" not in summary.injected_errors  # duplicates fall back to a bad outcome
    assert dict(detected) == summary.injected_errors


def test_rows_without_a_planted_error_are_those_of_the_clean_file() -> None:
    clean = _text(5_000, 6, as_of=AS_OF).splitlines()
    planted = _text(5_000, 6, as_of=AS_OF, error_rate=0.1).splitlines()

    differing = sum(a != b for a, b in zip(clean, planted, strict=True))
    assert 400 <= differing <= 600


def test_error_rate_zero_plants_nothing() -> None:
    summary = generate(2_000, 1, io.StringIO())

    assert summary.injected_errors == {}
    assert summary.as_of == DEFAULT_AS_OF


# --- management command -----------------------------------------------------------------------------------


def test_command_writes_the_file_and_prints_the_summary(tmp_path: Path) -> None:
    out = tmp_path / "claims.csv.gz"
    stdout = io.StringIO()

    call_command(
        "generate_claims",
        "--rows=2000",
        "--seed=3",
        f"--out={out}",
        "--as-of=2026-06-30",
        "--drift=denial_rate:payer=Aetna,cpt_group=E&M,from=0.10,to=0.35",
        "--error-rate=0.01",
        stdout=stdout,
    )

    rows = _rows(gzip.decompress(out.read_bytes()).decode())
    assert len(rows) == 2_000
    decided = [_day(r["decided_date"]) for r in rows if ISO_DATE.match(r["decided_date"])]
    assert max(day for day in decided if day.year != 2099) == date(2026, 6, 30)
    printed = stdout.getvalue()
    assert "2,000 claims, seed 3, as of 2026-06-30" in printed
    assert "DENIAL_RATE worsening for Aetna / E&M" in printed
    assert "UnitedHealthcare" in printed
    assert "planted errors by rule:" in printed


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--rows=0"], "--rows must be at least 1"),
        (["--drift=denial_rate:payer=Nobody,from=0.1,to=0.2"], "unknown payer 'Nobody'"),
        (["--as-of=15/11/2026"], "--as-of must be a date in YYYY-MM-DD form"),
        (["--error-rate=1.5"], "--error-rate must be between 0 and 1"),
        (
            ["--rows=50", "--drift=decision_time:payer=Cigna,days=5"],
            "50 rows cannot hold the drift scenarios",
        ),
    ],
)
def test_command_rejects_bad_arguments(tmp_path: Path, args: list[str], message: str) -> None:
    base = {"--rows": "--rows=10", "--out": f"--out={tmp_path / 'x.csv'}"}
    for arg in args:
        base[arg.split("=", 1)[0]] = arg
    with pytest.raises(CommandError, match=re.escape(message)):
        call_command("generate_claims", *base.values(), stdout=io.StringIO())


def test_command_reports_an_unwritable_path(tmp_path: Path) -> None:
    with pytest.raises(CommandError, match="does not exist"):
        call_command("generate_claims", "--rows=10", f"--out={tmp_path / 'missing' / 'x.csv'}")
    (tmp_path / "dir.csv").mkdir()
    with pytest.raises(CommandError, match="Cannot write"):
        call_command("generate_claims", "--rows=10", f"--out={tmp_path / 'dir.csv'}")


def test_generator_groups_are_the_products_default_cpt_groups() -> None:
    from upstream.claims.ingest.cpt_groups import default_cpt_group
    from upstream.demo.reference_data import CPT_GROUP_BY_CODE

    assert {code: default_cpt_group(code) for code in CPT_GROUP_BY_CODE} == CPT_GROUP_BY_CODE
