"""Units from minutes, the small pure facts every stage shares (RULES.md §1, §3): the unit
rules, the §1 table and its closed form. The allocation over a visit's services is the units
stage of the columnar engine (``cognibill.engine.allocate``)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import NamedTuple

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


POOLED_KINDS = frozenset({"timed"})
"""The kinds whose minutes enter the visit's timed pool (RULES.md §2) and earn 15-minute units.

Open: RULES.md is silent on whether Medicare pools the minutes of a first-and-additional family
(92605 + 92618, 92607 + 92608, 96112 + 96113, 97545 + 97546) with the 15-minute codes. Its §4
counts each period of such a family on its own ("the CPT time rule applies to each period"), so
they stay out of the pool, as hourly codes do; the cognitive pair 97129/97130 is ``timed`` and
pools (RULES.md §5). This is the one place that decides it."""


def attained_at(period: int) -> int:
    """Minutes of a period at which its unit is attained: its midpoint passed (the CPT time
    rule, RULES.md §3, §4): 8 of 15, 16 of 30, 31 of 60, 61 of 120."""
    return period // 2 + 1


def family_units(minutes: int, first: int, each: int) -> int:
    """Units of a first-and-additional family (RULES.md §4): the first unit once the midpoint of
    the first period (``first`` minutes) is passed, then one more each time the midpoint of a
    further period (``each`` minutes) is passed. 92605 + 92618 (60, 30): 30 -> 0, 31 -> 1,
    75 -> 1, 76 -> 2; 97545 + 97546 (120, 60): 60 -> 0, 61 -> 1, 150 -> 1, 151 -> 2. With 15 and
    15 it is the 8-minute table of RULES.md §1 (97129/97130).

    Derived, not stated by a source for these families: RULES.md §4 derives it from the CPT
    midpoint rule (§3), and applies it whatever the payer's unit rule (``POOLED_KINDS``)."""
    if minutes < 0:
        raise ValueError("minutes cannot be negative")
    if minutes < attained_at(first):
        return 0
    return 1 + max(0, (minutes - first + each - attained_at(each)) // each)


class Entry(NamedTuple):
    """Minutes of one code in a visit, as entered."""

    code: str
    minutes: int


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
