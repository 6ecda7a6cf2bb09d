"""Units from minutes: the CMS total-time rule, the AMA per-code rule and the capped variant.

Every function here is pure. Sources: RULES.md §1 (table), §2 (CMS pooling and allocation),
§3 (AMA per code, and the per-code-capped variant), §4 (untimed codes), §5 (97129/97130).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from functools import lru_cache
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

_new = tuple.__new__
"""Builds a NamedTuple from a tuple of all its fields, in order, as its ``_make`` does, without
the Python-level call (the lean path builds several per visit)."""
_TIMED = Kind.TIMED
_UNTIMED = Kind.UNTIMED


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


_CMS = UnitRule.CMS
_AMA = UnitRule.AMA
_AMA_CAPPED = UnitRule.AMA_CAPPED


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


_Pooled = tuple[str, tuple[str, ...], Kind, int]
"""One service of a visit before units: service, its codes (sorted), kind, minutes."""


def _pool(entries: Iterable[Entry], catalogue: Catalogue) -> list[_Pooled]:
    """Group entries into services (97129 and 97130 minutes are one service, §5), in code order.

    Also checks the entries: unknown codes and negative minutes are an ``EntryError``.
    """
    services: dict[str, _Pooled] = {}
    get = catalogue.get
    for entry in entries:
        info = get(entry.code)
        if info is None:
            raise EntryError(f"unknown code {entry.code!r}")
        count = entry.minutes
        if count < 0:
            raise EntryError(f"{info.code}: minutes cannot be negative ({count})")
        service = info.service
        known = services.get(service)
        if known is None:
            services[service] = (service, (info.code,), info.kind, count)
        else:
            codes = known[1] if info.code in known[1] else tuple(sorted((*known[1], info.code)))
            services[service] = (service, codes, info.kind, known[3] + count)
    # Code order: the cognitive pair sorts as 97129; otherwise by name (names are unique, so the
    # tuples never compare past it).
    if COGNITIVE in services:
        return sorted(services.values(), key=_pooled_order)
    return sorted(services.values())


def _pooled_order(service: _Pooled) -> str:
    return _service_order(service[0])


def _too_long(total: int) -> EntryError:
    return EntryError(
        f"{total} timed minutes in one visit is more than a day ({MAX_MINUTES} minutes)"
    )


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
        service = s.service
        if service != COGNITIVE:
            lines.append(_new(Line, (service, s.minutes, s.units, service)))
            continue
        # One service billed as 97129 x1 + 97130 x(N-1) (§5). 97129 carries the first 15
        # minutes and 97130 the rest once it has a unit; otherwise 97129 carries them all.
        minutes = s.minutes
        units = s.units
        if units >= 2:
            lines.append(_new(Line, (COGNITIVE_PRIMARY, min(minutes, UNIT_MINUTES), 1, service)))
            lines.append(
                _new(Line, (COGNITIVE_ADDON, max(minutes - UNIT_MINUTES, 0), units - 1, service))
            )
        else:
            lines.append(_new(Line, (COGNITIVE_PRIMARY, minutes, units, service)))
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
    advice and findings are the same) and takes a lean path built for speed.
    """
    catalogue = catalogue or load_catalogue()
    if not explain:
        return _lean(entries, rule, catalogue, unit_value)
    return _explained(entries, rule, catalogue, unit_value)


def _explained(
    entries: Iterable[Entry],
    rule: UnitRule,
    catalogue: Catalogue,
    unit_value: UnitValue | None,
) -> UnitResult:
    """The step-by-step computation, with its trace: the reference the lean path must match."""
    services = [
        ServiceUnits(s, codes, kind, m, 0) for s, codes, kind, m in _pool(entries, catalogue)
    ]
    trace: list[str] = []
    timed = [s for s in services if s.kind is Kind.TIMED]
    total = sum(s.minutes for s in timed)
    if total > MAX_MINUTES:
        raise _too_long(total)
    done: dict[str, ServiceUnits] = {}
    ties: list[Tie] = []

    # Untimed and per-hour codes never enter the pool (§4).
    for s in services:
        if s.kind is Kind.UNTIMED:
            done[s.service] = ServiceUnits(s.service, s.codes, s.kind, s.minutes, 1)
            trace.append(
                f"{s.service}: untimed, 1 unit per visit whatever the minutes (RULES.md §4)."
            )
        elif s.kind is Kind.HOURLY:
            units = hourly_units(s.minutes)
            done[s.service] = ServiceUnits(s.service, s.codes, s.kind, s.minutes, units)
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
            if extra:
                trace.append(f"Extra unit -> {_label(s)} ({s.leftover} min left over).")
    else:
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
        for s in midpoint:
            trace.append(
                f"{_label(s)}: {s.minutes} min = {s.blocks} block(s) + {s.leftover} min "
                f"left over -> {s.blocks + s.extra} unit(s)."
            )
        removed: set[str] = set()
        if rule is UnitRule.AMA_CAPPED:
            per_code = sum(s.blocks + s.extra for s in midpoint)
            excess = per_code - cms_total
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


def _lean(
    entries: Iterable[Entry],
    rule: UnitRule,
    catalogue: Catalogue,
    unit_value: UnitValue | None,
) -> UnitResult:
    """``_explained`` without the trace, for batch work: the same result, equal field for field.

    It builds each ServiceUnits once from plain integers, settles the allocation of §2.4 (and the
    take-back of the capped rule) without ranking when nothing is contested, and finds the capped
    rule's advice in closed form. Ties, and allocations where unit values are asked, go through
    the same ``_allocate_leftovers`` as the explained path.
    """
    pooled = _pool(entries, catalogue)
    cms = rule is _CMS
    total = 0
    blocks = 0
    contested: list[_Pooled] = []  # CMS: codes with a leftover; capped: codes past the midpoint
    contest = rule is not _AMA
    least = 1 if cms else MIDPOINT
    for p in pooled:
        if p[2] is _TIMED:
            m = p[3]
            total += m
            if contest:
                blocks += m // UNIT_MINUTES
                if m % UNIT_MINUTES >= least:
                    contested.append(p)
    if total > MAX_MINUTES:
        raise _too_long(total)
    cms_total = units_for_minutes(total)
    chosen: Collection[str] = ()
    ties: Sequence[Tie] = ()
    if cms:
        chosen, ties = _choose(contested, cms_total - blocks, unit_value, take_back=False)
    elif rule is _AMA_CAPPED:
        excess = blocks + len(contested) - cms_total
        chosen, ties = _choose(contested, excess, unit_value, take_back=True)

    services: list[ServiceUnits] = []
    timed: list[ServiceUnits] = []
    below: list[Finding] = []
    timed_units = 0
    for service, codes, kind, m in pooled:
        if kind is _TIMED:
            whole = m // UNIT_MINUTES
            leftover = m % UNIT_MINUTES
            if cms:
                extra = 1 if service in chosen else 0
                cut = 0
            else:
                extra = 1 if leftover >= MIDPOINT else 0
                cut = 1 if service in chosen else 0
            units = whole + extra - cut
            s = _new(ServiceUnits, (service, codes, kind, m, units, whole, leftover, extra, cut))
            timed.append(s)
            timed_units += units
            if units == 0 and m > 0:
                below.append(_below_minimum(rule, _label(s), m, cms and cms_total > 0))
        elif kind is _UNTIMED:
            s = _new(ServiceUnits, (service, codes, kind, m, 1, 0, 0, 0, 0))
        else:
            s = _new(ServiceUnits, (service, codes, kind, m, hourly_units(m), 0, 0, 0, 0))
        services.append(s)
    next_at, spare = _advice(rule, total, timed, search=False)
    if next_at is not None and next_at > MAX_MINUTES:
        next_at = None  # no more units within a day
    findings = tuple(below) if not ties else (*map(_tie_finding, ties), *below)
    return _new(
        UnitResult,
        (
            rule,
            total,
            timed_units,
            tuple(services),
            _lines(services),
            tuple(ties),
            (),  # no trace
            next_at,
            spare,
            findings,
        ),
    )


def _leftover(service: _Pooled) -> int:
    return service[3] % UNIT_MINUTES


def _choose(
    group: list[_Pooled], count: int, unit_value: UnitValue | None, *, take_back: bool
) -> tuple[Collection[str], Sequence[Tie]]:
    """What ``_allocate_leftovers`` decides for ``group`` (in code order), cheaply.

    Without unit values and without a tie at the cut, the ``count`` largest leftovers (smallest,
    ``take_back``) are the answer, and there is nothing to rank when all of ``group`` is chosen.
    Otherwise the allocation itself runs: it reports ties and asks for the values it needs.
    """
    if count <= 0:
        return (), ()
    if unit_value is None:
        if count >= len(group):
            return [p[0] for p in group], ()
        # A stable sort (reversed or not) keeps code order among equal leftovers.
        ranked = sorted(group, key=_leftover, reverse=not take_back)
        if _leftover(ranked[count]) != _leftover(ranked[count - 1]):
            return [p[0] for p in ranked[:count]], ()
        # A tie: without unit values its outcome depends on names and leftovers only.
        return _settle(tuple((p[0], _leftover(p)) for p in group), count, take_back)
    services = [
        ServiceUnits(s, codes, kind, m, 0, m // UNIT_MINUTES, m % UNIT_MINUTES)
        for s, codes, kind, m in group
    ]
    return _allocate_leftovers(services, count, unit_value, take_back=take_back)


@lru_cache(maxsize=4096)
def _settle(
    group: tuple[tuple[str, int], ...], count: int, take_back: bool
) -> tuple[frozenset[str], tuple[Tie, ...]]:
    """``_allocate_leftovers`` without unit values, for services given as (name, leftover): it
    reads nothing else of them then. Remembered, as the same contests recur across visits."""
    services = [ServiceUnits(s, (), _TIMED, left, 0, 0, left) for s, left in group]
    chosen, ties = _allocate_leftovers(services, count, None, take_back=take_back)
    return frozenset(chosen), tuple(ties)


def _advice(
    rule: UnitRule, total: int, timed: list[ServiceUnits], *, search: bool = True
) -> tuple[int | None, int | None]:
    """When the next unit comes, and how many minutes could go before one is lost.

    ``search=False``: the capped rule's answer from ``_capped_advice`` (closed form, the lean
    path) instead of the search below (the explained path); tests check they agree.
    """
    if not timed:
        return None, None
    if rule is _CMS:
        units = units_for_minutes(total)
        margin = total - (UNIT_MINUTES * units - MIDPOINT + 1) if units else None
        return UNIT_MINUTES * units + MIDPOINT, margin
    if rule is _AMA:
        # Per code: the nearest next unit of any one code; the tightest code's margin.
        nearest = UNIT_MINUTES + MIDPOINT  # more than any code's distance to its next unit
        tightest: int | None = None
        for s in timed:
            units = s.units
            gap = UNIT_MINUTES * units + MIDPOINT - s.minutes
            if gap < nearest:
                nearest = gap
            if units:
                left = s.minutes - (UNIT_MINUTES * units - MIDPOINT + 1)
                if tightest is None or left < tightest:
                    tightest = left
        return total + nearest, tightest
    # Capped per code: try each service alone gaining (or losing) minutes. One service always
    # gains a unit within 15 more minutes and loses one within 15 fewer: the search is bounded.
    if not search:
        return _capped_advice(timed, total)
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


def _capped_advice(timed: list[ServiceUnits], total: int) -> tuple[int, int | None]:
    """The capped rule's advice of ``_advice`` without the search: the same answer, solved.

    With P the per-code units, U the CMS units and now = min(P, U): service i gaining d minutes
    gains a unit once its own units reach now + 1 - (P - u_i) and the visit's reach now + 1;
    losing k minutes loses one once its own drop to now - 1 - (P - u_i) or the visit's to
    now - 1. Each is a threshold on d (or k), so a service's first d is the larger of two bounds
    and its first k the smaller; the search tries k up to 15 and no more than its minutes.
    """
    per_code = 0
    for s in timed:
        per_code += s.blocks + s.extra  # its own units, (minutes + 7) // 15
    cms_units = units_for_minutes(total)
    now = min(per_code, cms_units)
    # The visit gains a unit at total + d >= 15 (now + 1) - 7 and loses one at
    # total - k <= 15 (now - 1) + 7.
    visit_gain = max(1, UNIT_MINUTES * (now + 1) - MIDPOINT + 1 - total)
    visit_loss = total - UNIT_MINUTES * (now - 1) - MIDPOINT + 1
    to_next = UNIT_MINUTES + MIDPOINT  # the end of the search; some service gains within 15
    least: int | None = None  # the fewest minutes, taken from one service, that lose a unit
    for s in timed:
        m = s.minutes
        others = per_code - s.blocks - s.extra
        d = visit_gain
        need = now + 1 - others  # its own units that give a unit more
        if need > 0:
            d = max(d, UNIT_MINUTES * need - MIDPOINT + 1 - m)
        to_next = min(to_next, d)
        if now:
            keep = now - 1 - others  # its own units that lose one
            k = visit_loss if keep < 0 else min(visit_loss, m - UNIT_MINUTES * keep - MIDPOINT + 1)
            k = max(k, 1)
            if k <= UNIT_MINUTES and k <= m and (least is None or k < least):
                least = k
    if not now:
        return total + to_next, None
    if now == cms_units:
        # Held at the CMS total: losing minutes from any mix of codes can drop it.
        held = total - (UNIT_MINUTES * cms_units - MIDPOINT + 1) + 1
        least = held if least is None else min(least, held)
    assert least is not None  # some service with a unit loses it within 15 fewer minutes
    return total + to_next, least - 1


def _findings(
    rule: UnitRule, services: list[ServiceUnits], ties: list[Tie], total: int
) -> tuple[Finding, ...]:
    out = [_tie_finding(tie) for tie in ties]
    for s in services:
        if s.timed and s.minutes > 0 and s.units == 0:
            pooled = rule is UnitRule.CMS and units_for_minutes(total) > 0
            out.append(_below_minimum(rule, _label(s), s.minutes, pooled))
    return tuple(out)


# Findings are frozen and repeat across visits: both are built once per distinct input.
@lru_cache(maxsize=1024)
def _tie_finding(tie: Tie) -> Finding:
    return Finding(
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


@lru_cache(maxsize=4096, typed=True)
def _below_minimum(rule: UnitRule, label: str, minutes: int, pooled: bool) -> Finding:
    """A timed service whose minutes earned no unit (``pooled``: they counted toward the CMS
    total, which earned units)."""
    return Finding(
        id="below-minimum",
        severity=Severity.INFO if pooled else Severity.WARNING,
        message=(
            f"{label}: {minutes} min earned no unit under the {rule.long_name}"
            + (" (its minutes still counted toward the visit total)." if pooled else ".")
        ),
        hint=(
            "Document the minutes anyway; bill no unit for this code."
            if pooled
            else f"{MIDPOINT} minutes are needed for a unit."
        ),
        source=rule.source,
        code=label,
    )


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
