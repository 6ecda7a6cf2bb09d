"""The pure units engine: minutes in, units per code out, with an explanation trace."""

from cognibill.engine.units import (
    MAX_MINUTES,
    Entry,
    Line,
    ServiceUnits,
    Tie,
    UnitRange,
    UnitResult,
    UnitRule,
    compute_units,
    hourly_units,
    unit_ranges,
    units_for_minutes,
)

__all__ = [
    "MAX_MINUTES",
    "Entry",
    "Line",
    "ServiceUnits",
    "Tie",
    "UnitRange",
    "UnitResult",
    "UnitRule",
    "compute_units",
    "hourly_units",
    "unit_ranges",
    "units_for_minutes",
]
