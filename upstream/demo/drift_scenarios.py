"""Drift scenarios the claims generator injects, and the small spec language that describes them.

Grammar (one scenario per ``--drift``)::

    spec    := kind ":" param ("," param)*
    param   := key "=" value
    kind    := denial_rate | decision_time | payment_delay | denial_dollars

    denial_rate:    payer=P [,cpt_group=G] ,from=RATE ,to=RATE   rates in [0, 1]
    decision_time:  payer=P [,cpt_group=G] ,days=[+|-]N          N a non-zero integer
    payment_delay:  payer=P [,cpt_group=G] ,days=[+|-]N
    denial_dollars: payer=P [,cpt_group=G] ,factor=F             F > 0 and F != 1
    every kind:     [,min_volume=N]   claims guaranteed in each window for this slice

``payer`` is a canonical payer name (or one of its raw variants), ``cpt_group`` a generator CPT group or
``ALL``; both match case-insensitively. Without ``cpt_group`` the whole payer drifts. The drift applies to
claims decided in the current window (the last 14 days up to as-of); ``denial_rate`` also pins the slice's
rate to ``from`` before it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from upstream.demo.reference_data import CPT_GROUPS, PAYERS

ALL_GROUPS = "ALL"

DENIAL_RATE = "DENIAL_RATE"
DECISION_TIME = "DECISION_TIME"
PAYMENT_DELAY = "PAYMENT_DELAY"
DENIAL_DOLLARS = "DENIAL_DOLLARS"

WORSENING = "worsening"
IMPROVING = "improving"


class DriftSpecError(ValueError):
    """A drift spec that cannot be parsed or that conflicts with another one."""


@dataclass(frozen=True, kw_only=True)
class DriftScenario:
    payer: str  # canonical payer name
    cpt_group: str | None = None  # None: every CPT group of the payer
    min_volume: int | None = None  # None: the generator's default

    drift_type = ""  # overridden by each kind

    @property
    def slice_label(self) -> str:
        return f"{self.payer} / {self.cpt_group or ALL_GROUPS}"

    def overlaps(self, other: DriftScenario) -> bool:
        """True when both scenarios touch at least one common (payer, cpt_group) cell."""
        if self.payer != other.payer:
            return False
        return self.cpt_group is None or other.cpt_group is None or self.cpt_group == other.cpt_group


@dataclass(frozen=True, kw_only=True)
class DenialRateDrift(DriftScenario):
    from_rate: float
    to_rate: float
    drift_type = DENIAL_RATE


@dataclass(frozen=True, kw_only=True)
class DecisionTimeDrift(DriftScenario):
    days: int
    drift_type = DECISION_TIME


@dataclass(frozen=True, kw_only=True)
class PaymentDelayDrift(DriftScenario):
    days: int
    drift_type = PAYMENT_DELAY


@dataclass(frozen=True, kw_only=True)
class DenialDollarsDrift(DriftScenario):
    factor: float
    drift_type = DENIAL_DOLLARS


@dataclass(frozen=True)
class InjectedDrift:
    """One signal a drift detector should find in the generated file.

    ``change`` is in ``unit``: rate points (to - from) for DENIAL_RATE, days for the two time metrics and a
    factor (current mean / baseline mean) for DENIAL_DOLLARS. ``primary`` is False for a side effect: more
    denials also mean more denied dollars, so a denial-rate scenario moves DENIAL_DOLLARS too (and a
    denial-dollars scenario, which works by scaling the denial rate, moves DENIAL_RATE); a detector may
    flag those as well.
    """

    payer: str
    cpt_group: str  # ALL_GROUPS for a payer-wide scenario
    drift_type: str
    direction: str
    change: float
    unit: str
    primary: bool = True

    def describe(self) -> str:
        role = "" if self.primary else " (side effect)"
        sign = "x" if self.unit == "factor" else ("+" if self.change > 0 else "")
        amount = f"x{self.change:g}" if sign == "x" else f"{sign}{self.change:g} {self.unit}"
        return f"{self.drift_type} {self.direction} for {self.payer} / {self.cpt_group}: {amount}{role}"


_KINDS: dict[str, tuple[str, ...]] = {
    "denial_rate": ("from", "to"),
    "decision_time": ("days",),
    "payment_delay": ("days",),
    "denial_dollars": ("factor",),
}
_COMMON_REQUIRED = ("payer",)
_COMMON_OPTIONAL = ("cpt_group", "min_volume")
_PAYER_BY_KEY: dict[str, str] = {
    **{variant.casefold(): payer.name for payer in PAYERS for variant in payer.variants},
    **{payer.name.casefold(): payer.name for payer in PAYERS},
}
_GROUP_BY_KEY: dict[str, str] = {group.name.casefold(): group.name for group in CPT_GROUPS}


def parse_drift_spec(spec: str) -> DriftScenario:
    """Parse one ``kind:key=value,...`` spec; raise DriftSpecError naming the problem."""
    kind, sep, body = spec.strip().partition(":")
    kind = kind.strip().lower()
    if not sep or kind not in _KINDS:
        raise DriftSpecError(
            f"Drift spec {spec!r} must start with one of {', '.join(_KINDS)} followed by ':'."
        )
    params: dict[str, str] = {}
    for part in body.split(","):
        key, eq, value = part.partition("=")
        key, value = key.strip().lower(), value.strip()
        if not eq or not key or not value:
            raise DriftSpecError(f"Drift spec {spec!r}: {part.strip()!r} is not key=value.")
        if key in params:
            raise DriftSpecError(f"Drift spec {spec!r}: {key!r} is given twice.")
        params[key] = value
    required = (*_COMMON_REQUIRED, *_KINDS[kind])
    allowed = (*required, *_COMMON_OPTIONAL)
    unknown = [key for key in params if key not in allowed]
    if unknown:
        raise DriftSpecError(
            f"Drift spec {spec!r}: unknown key {unknown[0]!r} for {kind} (allowed: {', '.join(allowed)})."
        )
    missing = [key for key in required if key not in params]
    if missing:
        raise DriftSpecError(
            f"Drift spec {spec!r}: missing {', '.join(missing)} (a {kind} spec needs {', '.join(required)})."
        )

    payer = _payer(spec, params["payer"])
    group = _group(spec, params.get("cpt_group"))
    min_volume = _int(spec, "min_volume", params["min_volume"]) if "min_volume" in params else None
    if min_volume is not None and min_volume < 1:
        raise DriftSpecError(f"Drift spec {spec!r}: min_volume must be at least 1.")
    if kind == "denial_rate":
        from_rate, to_rate = _rate(spec, "from", params["from"]), _rate(spec, "to", params["to"])
        if from_rate == to_rate:
            raise DriftSpecError(f"Drift spec {spec!r}: from and to are equal, nothing would drift.")
        return DenialRateDrift(
            payer=payer, cpt_group=group, min_volume=min_volume, from_rate=from_rate, to_rate=to_rate
        )
    if kind == "denial_dollars":
        factor = _float(spec, "factor", params["factor"])
        if factor <= 0 or factor == 1 or factor > 20:
            raise DriftSpecError(f"Drift spec {spec!r}: factor must be > 0, <= 20 and not 1, got {factor:g}.")
        return DenialDollarsDrift(payer=payer, cpt_group=group, min_volume=min_volume, factor=factor)
    days = _int(spec, "days", params["days"])
    if days == 0 or abs(days) > 60:
        raise DriftSpecError(f"Drift spec {spec!r}: days must be a non-zero integer within ±60, got {days}.")
    if kind == "decision_time":
        return DecisionTimeDrift(payer=payer, cpt_group=group, min_volume=min_volume, days=days)
    return PaymentDelayDrift(payer=payer, cpt_group=group, min_volume=min_volume, days=days)


def parse_drift_specs(specs: Iterable[str]) -> tuple[DriftScenario, ...]:
    """Parse several specs and reject scenarios that would fight over the same metric of one slice."""
    scenarios = tuple(parse_drift_spec(spec) for spec in specs)
    validate_scenarios(scenarios)
    return scenarios


def validate_scenarios(scenarios: Sequence[DriftScenario]) -> None:
    # denial_rate and denial_dollars both steer the denial probability, so they conflict with each other.
    def lever(scenario: DriftScenario) -> str:
        return DENIAL_RATE if isinstance(scenario, DenialDollarsDrift) else scenario.drift_type

    for index, first in enumerate(scenarios):
        for second in scenarios[index + 1 :]:
            if lever(first) == lever(second) and first.overlaps(second):
                raise DriftSpecError(
                    f"Drift scenarios {first.drift_type} on {first.slice_label} and {second.drift_type} on "
                    f"{second.slice_label} overlap; a slice takes at most one denial scenario "
                    "and one scenario per time metric."
                )


def describe_injected(scenarios: Sequence[DriftScenario]) -> tuple[InjectedDrift, ...]:
    """The (payer, cpt_group, drift_type, direction) signals the scenarios inject, primary ones first."""
    primary: list[InjectedDrift] = []
    secondary: list[InjectedDrift] = []
    for scenario in scenarios:
        payer, group = scenario.payer, scenario.cpt_group or ALL_GROUPS
        if isinstance(scenario, DenialRateDrift):
            direction = WORSENING if scenario.to_rate > scenario.from_rate else IMPROVING
            change = round(scenario.to_rate - scenario.from_rate, 6)
            primary.append(InjectedDrift(payer, group, DENIAL_RATE, direction, change, "rate points"))
            ratio = scenario.to_rate / scenario.from_rate if scenario.from_rate else float("inf")
            secondary.append(InjectedDrift(payer, group, DENIAL_DOLLARS, direction, ratio, "factor", False))
        elif isinstance(scenario, DenialDollarsDrift):
            direction = WORSENING if scenario.factor > 1 else IMPROVING
            primary.append(InjectedDrift(payer, group, DENIAL_DOLLARS, direction, scenario.factor, "factor"))
            secondary.append(
                InjectedDrift(payer, group, DENIAL_RATE, direction, scenario.factor, "factor", False)
            )
        elif isinstance(scenario, DecisionTimeDrift | PaymentDelayDrift):
            direction = WORSENING if scenario.days > 0 else IMPROVING
            primary.append(InjectedDrift(payer, group, scenario.drift_type, direction, scenario.days, "days"))
    return (*primary, *secondary)


def _payer(spec: str, value: str) -> str:
    payer = _PAYER_BY_KEY.get(value.casefold())
    if payer is None:
        known = ", ".join(p.name for p in PAYERS)
        raise DriftSpecError(f"Drift spec {spec!r}: unknown payer {value!r}; known payers: {known}.")
    return payer


def _group(spec: str, value: str | None) -> str | None:
    if value is None or value.casefold() == ALL_GROUPS.casefold():
        return None
    group = _GROUP_BY_KEY.get(value.casefold())
    if group is None:
        known = ", ".join(g.name for g in CPT_GROUPS)
        raise DriftSpecError(f"Drift spec {spec!r}: unknown cpt_group {value!r}; known groups: {known}, ALL.")
    return group


def _float(spec: str, key: str, value: str) -> float:
    try:
        number = float(value)
    except ValueError:
        raise DriftSpecError(f"Drift spec {spec!r}: {key} must be a number, got {value!r}.") from None
    if number != number or number in (float("inf"), float("-inf")):
        raise DriftSpecError(f"Drift spec {spec!r}: {key} must be a finite number, got {value!r}.")
    return number


def _rate(spec: str, key: str, value: str) -> float:
    number = _float(spec, key, value)
    if not 0.0 <= number <= 0.95:
        raise DriftSpecError(f"Drift spec {spec!r}: {key} must be a rate between 0 and 0.95, got {value!r}.")
    return number


def _int(spec: str, key: str, value: str) -> int:
    try:
        return int(value)
    except ValueError:
        raise DriftSpecError(f"Drift spec {spec!r}: {key} must be an integer, got {value!r}.") from None
