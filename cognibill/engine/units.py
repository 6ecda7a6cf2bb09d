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
