"""Rules on the codes of a visit and their units (RULES.md §1-§5, §7).

``prepare`` turns a visit's services into engine entries, keeping unknown, deleted and
impossible entries out of the computation and reporting them; the ``check_*`` functions run on
the units the engine returned.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from decimal import Decimal
from functools import lru_cache

from cognibill.catalogue import COGNITIVE, COGNITIVE_ADDON, COGNITIVE_PRIMARY
from cognibill.engine.units import Entry, UnitResult
from cognibill.findings import Severity
from cognibill.models import Service, Visit
from cognibill.rules.codefacts import CodeFacts, code_facts, lookup, suggest_codes
from cognibill.rules.context import FeeLookup
from cognibill.rules.emit import Emitter
from cognibill.rules.visit import TELEHEALTH_MODIFIERS


class ServiceInput:
    """What the input says of one service (a code, the cognitive pair, or a group): its
    entries pooled, as the engine pools their minutes."""

    __slots__ = (
        "assistant_minutes",
        "billed",
        "billed_by_code",
        "billed_complete",
        "billed_stated",
        "codes",
        "facts",
        "minutes",
        "modifiers",
    )

    def __init__(
        self,
        facts: CodeFacts,
        service: Service,
        code: str,
        track_billed: bool,
        modifiers: tuple[str, ...],
    ) -> None:
        """The service as its first entry says: ``code`` as entered, ``facts`` of the code that
        bills it, ``modifiers`` cleaned (``clean_modifiers``); ``add`` pools the next ones."""
        self.facts = facts
        self.minutes = service.minutes
        self.assistant_minutes = service.assistant_minutes
        self.codes = [code]
        self.modifiers = modifiers
        billed = service.units_billed
        self.billed_by_code: dict[str, int] | None = None
        """Units billed per code, kept for the cognitive pair only (97129 vs 97130)."""
        if billed is None or not track_billed:
            self.billed = 0
            self.billed_complete = False
            """Every entry stated ``units_billed``: only then is the total compared."""
            self.billed_stated = False
            """Some entry stated ``units_billed``."""
        else:
            self.billed = billed
            self.billed_complete = True
            self.billed_stated = True
            if facts.cognitive:
                self.billed_by_code = {code: billed}

    def add(self, service: Service, code: str, track_billed: bool, mods: tuple[str, ...]) -> None:
        """Pool one more entry of the service (``mods``: its modifiers cleaned)."""
        self.minutes += service.minutes
        self.assistant_minutes += service.assistant_minutes
        codes = self.codes
        if code not in codes:
            codes.append(code)
        if mods:
            if not self.modifiers:
                self.modifiers = mods
            elif mods != self.modifiers:
                merged = self.modifiers
                for mod in mods:
                    if mod not in merged:
                        merged = (*merged, mod)
                self.modifiers = merged
        billed = service.units_billed
        if billed is None or not track_billed:
            self.billed_complete = False
            return
        self.billed += billed
        self.billed_stated = True
        if self.facts.cognitive:
            by_code = self.billed_by_code
            if by_code is None:
                by_code = self.billed_by_code = {}
            by_code[code] = by_code.get(code, 0) + billed


@lru_cache(maxsize=4096)
def clean_modifiers(raw: tuple[str, ...]) -> tuple[str, ...]:
    """Modifiers as entered, upper case, blanks and repeats dropped (cached: they repeat)."""
    out: tuple[str, ...] = ()
    for text in raw:
        mod = text.strip().upper()
        if mod and mod not in out:
            out = (*out, mod)
    return out


class PreparedVisit:
    """A visit's services made ready for the engine and the checks."""

    __slots__ = (
        "any_billed",
        "excluded",
        "minutes",
        "services",
        "telehealth_modifier",
        "therapy_always",
        "therapy_any",
    )

    def __init__(self) -> None:
        self.minutes: dict[str, int] = {}
        """Minutes per code for the engine (group work as 97150), repeated codes summed and
        the cognitive pair's minutes all on 97129 (97130 kept, with 0): the engine pools by
        service and ignores order, so this is all it needs."""
        self.services: dict[str, ServiceInput] = {}
        """What the input says of each service, by the engine's service key."""
        self.excluded: list[Service] = []
        """Services left out of the units (unknown, deleted, impossible minutes)."""
        self.any_billed = False
        self.telehealth_modifier = False
        """Some service kept carries 95 or 93 (RULES.md §6)."""
        self.therapy_any = False
        """Some service kept is a therapy code ("always" or "sometimes", RULES.md §6)."""
        self.therapy_always = False
        """Some service kept is an "always therapy" code."""

    @property
    def entries(self) -> list[Entry]:
        """The engine entries, one per code."""
        return [Entry(code, minutes) for code, minutes in self.minutes.items()]


def prepare(visit: Visit, emit: Emitter) -> PreparedVisit:
    """Engine minutes and services by engine key, reporting what cannot enter the units.

    Reports ``unknown-code``, ``deleted-code`` (both left out), ``invalid-minutes`` (left out),
    ``before-code-existed`` and ``group-session`` (kept; group work is computed as 97150).
    """
    day = visit.date
    out = PreparedVisit()
    minutes_by_code = out.minutes
    services = out.services
    table = code_facts()
    any_billed = telehealth = therapy_any = therapy_always = False
    for service in visit.services:
        facts = table.get(service.code) or lookup(service.code)
        if facts is None:
            _unknown(emit, service)
            out.excluded.append(service)
            continue
        code = facts.code
        if facts.deleted_on is not None and day >= facts.deleted_on:
            _deleted(emit, facts, day)
            out.excluded.append(service)
            continue
        minutes = service.minutes
        if minutes < 0 or not 0 <= service.assistant_minutes <= minutes:
            _invalid(emit, service, code)
            out.excluded.append(service)
            continue
        if facts.valid_from is not None and day < facts.valid_from:
            _before(emit, facts, day)
        track_billed = True
        if service.group and not facts.group:
            _group(emit, service, facts)
            facts = table[facts.group_code]
            track_billed = False
        engine_code = facts.code
        if engine_code in minutes_by_code:
            minutes_by_code[engine_code] += minutes
        else:
            minutes_by_code[engine_code] = minutes
        mods = service.modifiers
        if mods:
            mods = clean_modifiers(mods)
            if not telehealth and not TELEHEALTH_MODIFIERS.isdisjoint(mods):
                telehealth = True
        if service.units_billed is not None:
            any_billed = True
        key = facts.service
        found = services.get(key)
        if found is None:
            services[key] = ServiceInput(facts, service, code, track_billed, mods)
            therapy = facts.therapy
            if therapy is not None:
                therapy_any = True
                if therapy == "always":
                    therapy_always = True
        else:
            found.add(service, code, track_billed, mods)
    if COGNITIVE_ADDON in minutes_by_code and COGNITIVE_PRIMARY in minutes_by_code:
        # The engine pools the pair's minutes (RULES.md §5): how they were split between 97129
        # and 97130 changes nothing, so all go on 97129 and one total is one cache key.
        minutes_by_code[COGNITIVE_PRIMARY] += minutes_by_code[COGNITIVE_ADDON]
        minutes_by_code[COGNITIVE_ADDON] = 0
    out.any_billed = any_billed
    out.telehealth_modifier = telehealth
    out.therapy_any = therapy_any
    out.therapy_always = therapy_always
    return out


def _unknown(emit: Emitter, service: Service) -> None:
    if not emit.wants("unknown-code"):
        return
    code = service.code.strip().upper()
    near = suggest_codes(code)
    guess = f"; did you mean {' or '.join(near)}?" if near else "."
    emit.add(
        "unknown-code",
        f"{code} is not a code in scope{guess} Its {service.minutes} min were left out of "
        "the units.",
        code=code,
    )


def _deleted(emit: Emitter, facts: CodeFacts, day: date) -> None:
    if not emit.wants("deleted-code"):
        return
    instead = "/".join(facts.replaced_by) or "a current code"
    emit.add(
        "deleted-code",
        f"{facts.code} was deleted on {facts.deleted_on} and cannot be billed on {day}; "
        f"use {instead}. Its minutes were left out of the units.",
        code=facts.code,
    )


def _invalid(emit: Emitter, service: Service, code: str) -> None:
    if service.minutes < 0:
        what = f"{service.minutes} minutes cannot be negative"
    elif service.assistant_minutes < 0:
        what = f"assistant minutes {service.assistant_minutes} cannot be negative"
    else:
        what = f"assistant minutes {service.assistant_minutes} exceed the {service.minutes} min"
    emit.add("invalid-minutes", f"{code}: {what}; the entry was left out of the units.", code=code)


def _before(emit: Emitter, facts: CodeFacts, day: date) -> None:
    older = (
        " Before 2020 cognitive intervention was 97127 or G0515 (2018-2019), 97532 before."
        if facts.cognitive
        else ""
    )
    emit.add(
        "before-code-existed",
        f"{facts.code} did not exist on {day}: it is valid from {facts.valid_from}.{older}",
        code=facts.code,
    )


def _group(emit: Emitter, service: Service, facts: CodeFacts) -> None:
    target = facts.group_code
    billed = service.units_billed
    if billed is not None:
        emit.add(
            "group-session",
            f"{facts.code} ×{billed} billed for group work: a group bills as {target} ×1 per "
            f"patient, not {facts.display}; the claim lines use {target}.",
            severity=Severity.ERROR,
            code=facts.code,
        )
        return
    emit.add(
        "group-session",
        f"{facts.code} for a group bills as {target} ×1 per patient ({service.minutes} min, "
        f"untimed); the claim lines use {target}.",
        code=facts.code,
    )


def check_cognitive(emit: Emitter, services: Mapping[str, ServiceInput], units: int) -> None:
    """``addon-without-primary`` and ``primary-more-than-once`` within a visit (RULES.md §5).

    ``units``: the cognitive units the engine gave the visit (97129 ×1 + 97130 ×(units - 1)).
    """
    cognitive = services.get(COGNITIVE)
    if cognitive is None:
        return
    by_code = cognitive.billed_by_code
    primary_billed = by_code.get(COGNITIVE_PRIMARY, 0) if by_code else 0
    addon_billed = by_code.get(COGNITIVE_ADDON, 0) if by_code else 0
    if primary_billed > 1:
        emit.add(
            "primary-more-than-once",
            f"97129 ×{primary_billed} billed: 97129 is once per day; bill 97129 ×1 and "
            f"97130 ×{primary_billed - 1} for the further units.",
            code=COGNITIVE_PRIMARY,
        )
    if addon_billed > 0 and primary_billed == 0:
        emit.add(
            "addon-without-primary",
            f"97130 ×{addon_billed} billed without 97129: the add-on is paid only with its "
            f"primary; {cognitive.minutes} cognitive min bill as {_cognitive_split(units)}.",
            code=COGNITIVE_ADDON,
        )
    elif units and COGNITIVE_ADDON in cognitive.codes and COGNITIVE_PRIMARY not in cognitive.codes:
        emit.add(
            "addon-without-primary",
            f"97130 entered without 97129: {cognitive.minutes} cognitive min bill as "
            f"{_cognitive_split(units)} (the claim lines do).",
            severity=Severity.WARNING,
            code=COGNITIVE_ADDON,
        )


def _cognitive_split(units: int) -> str:
    if units == 0:
        return "no unit"
    return "97129 ×1" + (f" + 97130 ×{units - 1}" if units > 1 else "")


def check_billed_units(
    emit: Emitter,
    services: Mapping[str, ServiceInput],
    result: UnitResult,
    visit: Visit,
    fee: FeeLookup | None,
) -> None:
    """``units-not-supported``: stated billed units against the engine's (RULES.md §1-§3, §7).

    A service is compared only when every one of its entries states ``units_billed``. Under the
    CMS rule a unit that went to one of several tied services may be billed by any of them
    (RULES.md §2.5): such a swap is not reported.
    """
    earned: dict[str, int] | None = None
    wrong: list[tuple[ServiceInput, int]] = []
    for service in services.values():
        if service.billed_complete and service.billed_stated:
            if earned is None:
                earned = {s.service: s.units for s in result.services}
            units = earned.get(service.facts.service, 0)
            if service.billed != units:
                wrong.append((service, units))
    if not wrong or _tie_swap(wrong, services, result):
        return
    for service, units in wrong:
        name = service.facts.display
        if service.billed > units:
            emit.add(
                "units-not-supported",
                f"{name} billed {service.billed} unit(s), {service.minutes} min support {units} "
                f"under the {result.rule.long_name}: {service.billed - units} unit(s) too many.",
                code=service.facts.code,
            )
        else:
            money = _left_behind(service, units, visit, fee)
            emit.add(
                "units-not-supported",
                f"{name} billed {service.billed} unit(s), {service.minutes} min support {units} "
                f"under the {result.rule.long_name}: {units - service.billed} unit(s){money} "
                "left behind.",
                severity=Severity.WARNING,
                code=service.facts.code,
                hint="Bill the units the minutes support (RULES.md §7).",
            )


def _tie_swap(
    wrong: list[tuple[ServiceInput, int]], services: Mapping[str, ServiceInput], result: UnitResult
) -> bool:
    """The differences are only which of several tied services bills a contested unit."""
    if not result.ties:
        return False
    tied = {c for tie in result.ties for c in tie.candidates}
    if any(s.facts.display not in tied for s, _ in wrong):
        return False
    timed = [s for s in services.values() if s.facts.timed]
    if not all(s.billed_complete and s.billed_stated for s in timed):
        return False
    return sum(s.billed for s in timed) == result.total_timed_units


def _left_behind(service: ServiceInput, units: int, visit: Visit, fee: FeeLookup | None) -> str:
    """`` ($20.70)``: what the units not billed would pay, when fees are known."""
    if fee is None:
        return ""
    if service.facts.cognitive:
        unit_codes = [COGNITIVE_PRIMARY] + [COGNITIVE_ADDON] * (units - 1)
    else:
        unit_codes = [service.facts.code] * units
    total = Decimal(0)
    for code in unit_codes[service.billed :]:
        value = fee(visit, code)
        if value is None:
            return ""
        total += value
    return f" (${total:.2f})"


def check_adaptive(emit: Emitter, services: Mapping[str, ServiceInput]) -> None:
    """``adaptive-behavior-conflict``: 97129/97130 with 97153/97155 (RULES.md §5)."""
    if COGNITIVE not in services:
        return
    others = [c for c in ("97153", "97155") if c in services]
    if others:
        emit.add(
            "adaptive-behavior-conflict",
            f"97129/97130 with {' and '.join(others)} on {len(others) + 1} lines of one visit: "
            "CPT says not to report cognitive intervention with adaptive behaviour treatment.",
            code=others[0],
        )


def check_daily_caps(
    emit: Emitter, lines: list[tuple[str, int]], caps: Mapping[str, int], payer_id: str
) -> None:
    """``daily-cap``: more units of a code than the payer allows on a date (RULES.md §5)."""
    for code, units in lines:
        cap = caps.get(code)
        if cap is not None and units > cap:
            emit.add(
                "daily-cap",
                f"{code} ×{units} is above {payer_id}'s daily cap of {cap}: "
                f"{units - cap} unit(s) would be denied.",
                code=code,
            )
