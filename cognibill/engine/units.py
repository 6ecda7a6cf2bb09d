"""Units from minutes: the CMS total-time rule, the AMA per-code rule and the capped variant.

Every function here is pure. Sources: RULES.md §1 (table), §2 (CMS pooling and allocation),
§3 (AMA per code, and the per-code-capped variant), §4 (untimed codes), §5 (97129/97130).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from typing import NamedTuple

from cognibill.catalogue import (
    COGNITIVE,
    COGNITIVE_ADDON,
    COGNITIVE_PRIMARY,
    Catalogue,
    Kind,
    load_catalogue,
)
from cognibill.errors import EntryError
from cognibill.findings import Finding, Severity

MAX_MINUTES = 24 * 60
"""No service, and no visit, can hold more than a day of minutes."""

UNIT_MINUTES = 15
MIDPOINT = 8


class UnitRule(StrEnum):
    """How a visit's timed minutes become units."""

    CMS = "cms"
    """Medicare total-time rule: pool the visit, then allocate (RULES.md §2)."""
    AMA = "ama"
    """CPT per-code midpoint rule: each code on its own (RULES.md §3)."""
    AMA_CAPPED = "ama-capped"
    """Per code, but never more units than the CMS total (RULES.md §3, payer variant)."""

    @property
    def source(self) -> str:
        return {"cms": "RULES.md §2", "ama": "RULES.md §3", "ama-capped": "RULES.md §3"}[self.value]

    @property
    def long_name(self) -> str:
        return {
            "cms": "CMS total-time rule",
            "ama": "AMA per-code rule",
            "ama-capped": "AMA per-code rule capped at the CMS total",
        }[self.value]


def units_for_minutes(minutes: int) -> int:
    """Units for whole minutes of one timed pool: 0 for 0-7, 1 for 8-22, 2 for 23-37 ... (§1)."""
    if minutes < 0:
        raise ValueError("minutes cannot be negative")
    return (minutes + MIDPOINT - 1) // UNIT_MINUTES


def hourly_units(minutes: int) -> int:
    """Units of a per-hour code (96125, 96105): the CPT midpoint, 31 minutes for the first hour.

    RULES.md is silent on per-hour codes; this applies the CPT time rule's midpoint ("a unit is
    attained when the midpoint is passed") to 60-minute units: 31-90 -> 1, 91-150 -> 2.
    """
    if minutes < 0:
        raise ValueError("minutes cannot be negative")
    return (minutes + 29) // 60


class Entry(NamedTuple):
    """Minutes of one code in a visit, as entered."""

    code: str
    minutes: int


class ServiceUnits(NamedTuple):
    """One service of the visit (a code, or the cognitive pair) and how it earned its units."""

    service: str
    codes: tuple[str, ...]
    kind: Kind
    minutes: int
    units: int
    blocks: int = 0
    leftover: int = 0
    extra: int = 0
    """Units earned from the leftover (CMS allocation or AMA midpoint)."""
    removed: int = 0
    """Units taken back by the ama-capped rule."""

    @property
    def timed(self) -> bool:
        return self.kind is Kind.TIMED


class Line(NamedTuple):
    """A billing line: code, the minutes behind it, units."""

    code: str
    minutes: int
    units: int
    service: str


class Tie(NamedTuple):
    """Services with equal leftovers that competed for fewer units than there were of them."""

    leftover: int
    candidates: tuple[str, ...]
    chosen: tuple[str, ...]
    units: int
    reason: str
    action: str = "gave"
    """"gave" (CMS: who receives the unit) or "took back" (ama-capped: who loses it)."""

    def to_dict(self) -> dict[str, object]:
        return {
            "leftover": self.leftover,
            "candidates": list(self.candidates),
            "chosen": list(self.chosen),
            "units": self.units,
            "reason": self.reason,
            "action": self.action,
        }


class UnitResult(NamedTuple):
    """Everything the engine worked out for one visit."""

    rule: UnitRule
    total_timed_minutes: int
    total_timed_units: int
    services: tuple[ServiceUnits, ...]
    lines: tuple[Line, ...]
    ties: tuple[Tie, ...]
    trace: tuple[str, ...]
    next_unit_at: int | None
    """Total timed minutes at which one more timed unit is earned (None: no timed service)."""
    spare_minutes: int | None
    """Minutes that could be lost before a timed unit is lost (None: no timed unit to lose)."""
    findings: tuple[Finding, ...] = ()

    @property
    def total_units(self) -> int:
        return sum(line.units for line in self.lines)

    @property
    def minutes_to_next_unit(self) -> int | None:
        if self.next_unit_at is None:
            return None
        return self.next_unit_at - self.total_timed_minutes

    def units_of(self, code: str) -> int:
        """Units billed under one code (0 when absent)."""
        return sum(line.units for line in self.lines if line.code == code)


UnitValue = Callable[[str], Decimal | None]
"""What one unit of a code pays, when fees are known: the first tie-break (RULES.md §2.5)."""


def _service_order(service: str) -> str:
    return COGNITIVE_PRIMARY if service == COGNITIVE else service


def _pool(entries: Iterable[Entry], catalogue: Catalogue) -> list[ServiceUnits]:
    """Group entries into services (97129 and 97130 minutes are one service, §5)."""
    minutes: dict[str, int] = {}
    codes: dict[str, list[str]] = {}
    kinds: dict[str, Kind] = {}
    for entry in entries:
        info = catalogue.get(entry.code)
        if info is None:
            raise EntryError(f"unknown code {entry.code!r}")
        if entry.minutes < 0:
            raise EntryError(f"{info.code}: minutes cannot be negative ({entry.minutes})")
        service = info.service
        minutes[service] = minutes.get(service, 0) + entry.minutes
        if info.code not in codes.setdefault(service, []):
            codes[service].append(info.code)
        kinds[service] = info.kind
    return [
        ServiceUnits(
            service=s, codes=tuple(sorted(codes[s])), kind=kinds[s], minutes=minutes[s], units=0
        )
        for s in sorted(minutes, key=_service_order)
    ]


def _extra_unit_code(service: ServiceUnits) -> str:
    """The code that bills the unit a leftover earns (for the cognitive pair: 97129 or 97130)."""
    if service.service != COGNITIVE:
        return service.service
    return COGNITIVE_PRIMARY if service.blocks == 0 else COGNITIVE_ADDON


def _pick(
    group: list[ServiceUnits], count: int, unit_value: UnitValue | None, *, cheapest: bool = False
) -> tuple[list[ServiceUnits], str]:
    """Choose ``count`` of ``group`` deterministically: higher-paying unit first (``cheapest``:
    lower-paying first, for taking units back), then code order."""
    values: dict[str, Decimal] = {}
    if unit_value is not None:
        for s in group:
            v = unit_value(_extra_unit_code(s))
            if v is not None:
                values[s.service] = v
    use_value = len(values) == len(group) and len(set(values.values())) > 1
    if use_value:
        sign = 1 if cheapest else -1
        ranked = sorted(group, key=lambda s: (sign * values[s.service], _service_order(s.service)))
        reason = f"the unit that pays {'less' if cheapest else 'more'}, then code order"
    else:
        ranked = sorted(group, key=lambda s: _service_order(s.service))
        reason = "code order (fees equal or unknown)"
    return ranked[:count], reason


def _allocate_leftovers(
    services: list[ServiceUnits],
    owed: int,
    unit_value: UnitValue | None,
    *,
    take_back: bool = False,
) -> tuple[set[str], list[Tie]]:
    """Pick ``owed`` services to get (or, ``take_back``, lose) one unit, by leftover.

    Giving: largest leftovers first (§2.4). Taking back (ama-capped): smallest leftovers first.
    Equal leftovers at the cut are a tie, reported with the alternatives (§2.5).
    """
    if owed <= 0:
        return set(), []
    sign = 1 if take_back else -1
    ranked = sorted(services, key=lambda s: (sign * s.leftover, _service_order(s.service)))
    cut = ranked[owed - 1].leftover
    sure = [s for s in ranked if sign * s.leftover < sign * cut]
    at_cut = [s for s in ranked if s.leftover == cut]
    need = owed - len(sure)
    chosen = {s.service for s in sure}
    ties: list[Tie] = []
    picked, reason = _pick(at_cut, need, unit_value, cheapest=take_back)
    chosen.update(s.service for s in picked)
    if need < len(at_cut):
        ties.append(
            Tie(
                leftover=cut,
                candidates=tuple(
                    _label(s) for s in sorted(at_cut, key=lambda s: _service_order(s.service))
                ),
                chosen=tuple(_label(s) for s in picked),
                units=need,
                reason=reason,
                action="took back" if take_back else "gave",
            )
        )
    return chosen, ties


def _label(service: ServiceUnits) -> str:
    return "97129/97130" if service.service == COGNITIVE else service.service


def _lines(services: list[ServiceUnits]) -> tuple[Line, ...]:
    lines: list[Line] = []
    for s in services:
        if s.service == COGNITIVE:
            # One service billed as 97129 x1 + 97130 x(N-1) (§5). 97129 carries the first 15
            # minutes and 97130 the rest once it has a unit; otherwise 97129 carries them all.
            if s.units >= 2:
                lines.append(Line(COGNITIVE_PRIMARY, min(s.minutes, UNIT_MINUTES), 1, s.service))
                lines.append(
                    Line(COGNITIVE_ADDON, max(s.minutes - UNIT_MINUTES, 0), s.units - 1, s.service)
                )
            else:
                lines.append(Line(COGNITIVE_PRIMARY, s.minutes, s.units, s.service))
        else:
            lines.append(Line(s.service, s.minutes, s.units, s.service))
    return tuple(lines)


def compute_units(
    entries: Iterable[Entry],
    rule: UnitRule = UnitRule.CMS,
    *,
    catalogue: Catalogue | None = None,
    unit_value: UnitValue | None = None,
    explain: bool = True,
) -> UnitResult:
    """Units for one visit under ``rule``, with lines, ties, trace, advice and findings.

    ``explain=False`` leaves the trace empty (batch work never shows it; the units, ties,
    advice and findings are the same).
    """
    catalogue = catalogue or load_catalogue()
    services = _pool(entries, catalogue)
    trace: list[str] = []
    timed = [s for s in services if s.kind is Kind.TIMED]
    total = sum(s.minutes for s in timed)
    if total > MAX_MINUTES:
        raise EntryError(
            f"{total} timed minutes in one visit is more than a day ({MAX_MINUTES} minutes)"
        )
    done: dict[str, ServiceUnits] = {}
    ties: list[Tie] = []

    # Untimed and per-hour codes never enter the pool (§4).
    for s in services:
        if s.kind is Kind.UNTIMED:
            done[s.service] = ServiceUnits(s.service, s.codes, s.kind, s.minutes, 1)
            if explain:
                trace.append(
                    f"{s.service}: untimed, 1 unit per visit whatever the minutes (RULES.md §4)."
                )
        elif s.kind is Kind.HOURLY:
            units = hourly_units(s.minutes)
            done[s.service] = ServiceUnits(s.service, s.codes, s.kind, s.minutes, units)
            if explain:
                trace.append(
                    f"{s.service}: per-hour code, {s.minutes} min -> {units} unit(s) "
                    "(CPT midpoint of 31 minutes per hour; derived, RULES.md is silent)."
                )

    blocked = [
        ServiceUnits(
            s.service,
            s.codes,
            s.kind,
            s.minutes,
            0,
            s.minutes // UNIT_MINUTES,
            s.minutes % UNIT_MINUTES,
        )
        for s in timed
    ]
    cms_total = units_for_minutes(total)
    if rule is UnitRule.CMS:
        blocks = sum(s.blocks for s in blocked)
        owed = cms_total - blocks
        if explain:
            trace.append(
                f"CMS total-time rule (RULES.md §2): {total} timed minutes -> {cms_total} "
                "unit(s) ((minutes + 7) // 15)."
            )
            for s in blocked:
                trace.append(
                    f"{_label(s)}: {s.minutes} min = {s.blocks} whole 15-minute block(s), "
                    f"{s.leftover} min left over."
                )
            trace.append(
                f"{cms_total} unit(s) - {blocks} block(s) = {owed} unit(s) owed "
                "to the largest leftovers."
            )
        candidates = [s for s in blocked if s.leftover > 0]
        chosen, ties = _allocate_leftovers(candidates, owed, unit_value)
        for s in blocked:
            extra = 1 if s.service in chosen else 0
            done[s.service] = ServiceUnits(
                s.service, s.codes, s.kind, s.minutes, s.blocks + extra, s.blocks, s.leftover, extra
            )
            if extra and explain:
                trace.append(f"Extra unit -> {_label(s)} ({s.leftover} min left over).")
    else:
        if explain:
            trace.append(
                f"{rule.long_name} (RULES.md §3): each code on its own, (minutes + 7) // 15; "
                "leftovers of different codes are never combined."
            )
        midpoint = [
            ServiceUnits(
                s.service,
                s.codes,
                s.kind,
                s.minutes,
                0,
                s.blocks,
                s.leftover,
                1 if s.leftover >= MIDPOINT else 0,
            )
            for s in blocked
        ]
        if explain:
            for s in midpoint:
                trace.append(
                    f"{_label(s)}: {s.minutes} min = {s.blocks} block(s) + {s.leftover} min "
                    f"left over -> {s.blocks + s.extra} unit(s)."
                )
        removed: set[str] = set()
        if rule is UnitRule.AMA_CAPPED:
            per_code = sum(s.blocks + s.extra for s in midpoint)
            excess = per_code - cms_total
            if explain:
                trace.append(
                    f"Cap: per-code total {per_code} vs CMS total {cms_total} for {total} minutes"
                    + (
                        f": {excess} unit(s) taken back from the smallest leftovers."
                        if excess > 0
                        else "."
                    )
                )
            earned = [s for s in midpoint if s.extra]
            removed, ties = _allocate_leftovers(earned, excess, unit_value, take_back=True)
            if explain:
                for name in sorted(removed, key=_service_order):
                    trace.append(
                        f"Unit taken back from {'97129/97130' if name == COGNITIVE else name}."
                    )
        for s in midpoint:
            cut = 1 if s.service in removed else 0
            done[s.service] = ServiceUnits(
                s.service,
                s.codes,
                s.kind,
                s.minutes,
                s.blocks + s.extra - cut,
                s.blocks,
                s.leftover,
                s.extra,
                cut,
            )
    if explain:
        for tie in ties:
            trace.append(
                f"Tie: {', '.join(tie.candidates)} each have {tie.leftover} min left over for "
                f"{tie.units} unit(s); {tie.action} {', '.join(tie.chosen)} by {tie.reason}. "
                "Either may bill it (RULES.md §2.5)."
            )
    final = [done[s.service] for s in services]
    timed_final = [s for s in final if s.kind is Kind.TIMED]
    timed_units = sum(s.units for s in timed_final)
    next_at, spare = _advice(rule, total, timed_final)
    if next_at is not None and next_at > MAX_MINUTES:
        next_at = None  # no more units within a day
    findings = _findings(rule, final, ties, total)
    return UnitResult(
        rule=rule,
        total_timed_minutes=total,
        total_timed_units=timed_units,
        services=tuple(final),
        lines=_lines(final),
        ties=tuple(ties),
        trace=tuple(trace),
        next_unit_at=next_at,
        spare_minutes=spare,
        findings=findings,
    )


def _advice(rule: UnitRule, total: int, timed: list[ServiceUnits]) -> tuple[int | None, int | None]:
    """When the next unit comes, and how many minutes could go before one is lost."""
    if not timed:
        return None, None
    if rule is UnitRule.CMS:
        units = units_for_minutes(total)
        margin = total - (UNIT_MINUTES * units - MIDPOINT + 1) if units else None
        return UNIT_MINUTES * units + MIDPOINT, margin
    if rule is UnitRule.AMA:
        # Per code: the nearest next unit of any one code; the tightest code's margin.
        to_next = min(UNIT_MINUTES * s.units + MIDPOINT - s.minutes for s in timed)
        margins = [s.minutes - (UNIT_MINUTES * s.units - MIDPOINT + 1) for s in timed if s.units]
        return total + to_next, (min(margins) if margins else None)
    # Capped per code: try each service alone gaining (or losing) minutes. One service always
    # gains a unit within 15 more minutes and loses one within 15 fewer: the search is bounded.
    minutes = [s.minutes for s in timed]

    def count(ms: list[int]) -> int:
        per_code = sum(units_for_minutes(m) for m in ms)
        return min(per_code, units_for_minutes(sum(ms)))

    now = count(minutes)

    def changed(i: int, delta: int) -> list[int]:
        return [m + delta if j == i else m for j, m in enumerate(minutes)]

    to_next = min(
        d
        for d in range(1, UNIT_MINUTES + MIDPOINT + 1)
        for i in range(len(minutes))
        if count(changed(i, d)) > now
    )
    spare: int | None = None
    if now > 0:
        losses = [
            k
            for k in range(1, UNIT_MINUTES + 1)
            for i in range(len(minutes))
            if k <= minutes[i] and count(changed(i, -k)) < now
        ]
        cms_units = units_for_minutes(total)
        if now == cms_units:
            # Held at the CMS total: losing minutes from any mix of codes can drop it.
            losses.append(total - (UNIT_MINUTES * cms_units - MIDPOINT + 1) + 1)
        spare = min(losses) - 1
    return total + to_next, spare


def _findings(
    rule: UnitRule, services: list[ServiceUnits], ties: list[Tie], total: int
) -> tuple[Finding, ...]:
    out: list[Finding] = []
    for tie in ties:
        out.append(
            Finding(
                id="unit-tie",
                severity=Severity.INFO,
                message=(
                    f"{' and '.join(tie.candidates)} tie with {tie.leftover} min left over for "
                    f"{tie.units} unit(s); {tie.action} {', '.join(tie.chosen)} by {tie.reason}."
                ),
                hint="Either code may bill the unit; switch if your documentation favours another.",
                source="RULES.md §2",
                code=tie.chosen[0] if tie.chosen else None,
            )
        )
    for s in services:
        if s.timed and s.minutes > 0 and s.units == 0:
            pooled = rule is UnitRule.CMS and units_for_minutes(total) > 0
            out.append(
                Finding(
                    id="below-minimum",
                    severity=Severity.INFO if pooled else Severity.WARNING,
                    message=(
                        f"{_label(s)}: {s.minutes} min earned no unit under the {rule.long_name}"
                        + (
                            " (its minutes still counted toward the visit total)."
                            if pooled
                            else "."
                        )
                    ),
                    hint=(
                        "Document the minutes anyway; bill no unit for this code."
                        if pooled
                        else f"{MIDPOINT} minutes are needed for a unit."
                    ),
                    source=rule.source,
                    code=_label(s),
                )
            )
    return tuple(out)


@dataclass(frozen=True, slots=True)
class UnitRange:
    """One row of the unit/time table: ``units`` are earned by ``low``..``high`` minutes."""

    units: int
    low: int
    high: int

    @property
    def primary(self) -> int:
        """97129 units for this many cognitive units (once per day, RULES.md §5)."""
        return min(self.units, 1)

    @property
    def addon(self) -> int:
        """97130 units: the rest."""
        return max(self.units - 1, 0)


def unit_ranges(up_to: int) -> list[UnitRange]:
    """The RULES.md §1 table from 0 units up to ``up_to`` units."""
    rows = [UnitRange(0, 0, MIDPOINT - 1)]
    for units in range(1, up_to + 1):
        low = UNIT_MINUTES * units - MIDPOINT + 1
        rows.append(UnitRange(units, low, low + UNIT_MINUTES - 1))
    return rows
