"""Rules on the visit as a whole: diagnoses, telehealth and the date (RULES.md §6, §7, §9)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from functools import lru_cache
from typing import Protocol

from cognibill.models import Visit
from cognibill.rules.context import CheckContext, normalise_diagnosis
from cognibill.rules.emit import Emitter

TELEHEALTH_PLACES = frozenset({"02", "10", "2"})
"""Place of service 02 (telehealth, not at home) and 10 (telehealth at home)."""
TELEHEALTH_MODIFIERS = frozenset({"95", "93"})
"""95 audio-video, 93 audio-only."""


def visit_diagnoses(visit: Visit) -> tuple[str, ...]:
    """The visit's diagnoses, then its plan's, as entered."""
    plan = visit.plan_of_care
    if plan is None or not plan.diagnoses:
        return visit.diagnoses
    if not visit.diagnoses:
        return plan.diagnoses
    return visit.diagnoses + plan.diagnoses


def _is_r4184(code: str) -> bool:
    return code.startswith("R4184")


def _is_i69_x1(code: str) -> bool:
    """I69.x1- (cognitive deficits following cerebrovascular disease): I69, a digit, then 1."""
    return len(code) >= 5 and code.startswith("I69") and code[3].isdigit() and code[4] == "1"


@lru_cache(maxsize=8192)
def _diagnosis(code: str) -> tuple[str, bool, bool]:
    """A diagnosis normalised, and whether it is R41.84- and I69.x1- (cached: codes repeat)."""
    norm = normalise_diagnosis(code)
    return norm, _is_r4184(norm), _is_i69_x1(norm)


def check_diagnoses(emit: Emitter, visit: Visit, ctx: CheckContext) -> None:
    """``diagnosis-excludes`` and ``diagnosis-not-covered`` (RULES.md §9)."""
    entered = visit_diagnoses(visit)
    if not entered:
        return
    prefixes = ctx.covered_prefixes
    covered = not prefixes
    cognitive = stroke = None
    for code in entered:
        norm, is_cognitive, is_stroke = _diagnosis(code)
        if is_cognitive and cognitive is None:
            cognitive = code
        elif is_stroke and stroke is None:
            stroke = code
        if not covered and norm.startswith(prefixes):
            covered = True
    if cognitive is not None and stroke is not None:
        emit.add(
            "diagnosis-excludes",
            f"{cognitive} with {stroke}: ICD-10-CM Excludes1 forbids R41.84- for deficits "
            "that are sequelae of cerebrovascular disease.",
        )
    if not covered:
        listed = ", ".join(ctx.payer.covered_diagnoses)
        emit.add(
            "diagnosis-not-covered",
            f"payer {ctx.payer.id} covers {listed}; the visit's diagnoses "
            f"{', '.join(dict.fromkeys(entered))} are not among them.",
        )


class _Coded(Protocol):
    @property
    def code(self) -> str: ...


class _Modified(Protocol):
    @property
    def modifiers(self) -> tuple[str, ...]: ...


def check_telehealth(
    emit: Emitter,
    visit: Visit,
    lines: Sequence[_Coded],
    services: Mapping[str, _Modified],
) -> None:
    """``telehealth-coverage``: place of service 02/10 or modifier 95/93 (RULES.md §6).

    ``lines``: the claim lines (their codes are named); ``services``: the modifiers entered.
    """
    place = visit.place_of_service
    by_place = place is not None and place.strip() in TELEHEALTH_PLACES
    by_modifier: list[str] = []
    for service in services.values():
        mods = service.modifiers
        if mods and not TELEHEALTH_MODIFIERS.isdisjoint(mods):
            by_modifier.extend(m for m in mods if m in TELEHEALTH_MODIFIERS)
    if not by_place and not by_modifier:
        return
    how = (
        f"place of service {place.strip()} (telehealth)"
        if by_place and place is not None
        else f"modifier {'/'.join(sorted(set(by_modifier)))} (telehealth)"
    )
    codes = ", ".join(line.code for line in lines)
    emit.add(
        "telehealth-coverage",
        f"{how} with {codes or 'no billed code'}: whether the payer covers these by "
        f"telehealth on {visit.date} varies.",
    )


def check_date(emit: Emitter, visit: Visit, today: date) -> None:
    """``future-date``: a date of service after today."""
    if visit.date > today:
        emit.add(
            "future-date",
            f"date of service {visit.date} is after today ({today}, "
            f"{(visit.date - today).days} day(s) ahead).",
        )
