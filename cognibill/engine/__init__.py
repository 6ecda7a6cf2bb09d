"""The columnar engine: visits, services, units, money, thresholds and claim lines, in order.

``bill.py`` runs the stages on a batch of rows; ``run.py`` reads the inputs into batches;
``units.py`` holds the unit rules and the §1 table the stages share.
"""

from cognibill.engine.units import (
    MAX_MINUTES,
    Entry,
    UnitRange,
    UnitRule,
    hourly_units,
    unit_ranges,
    units_for_minutes,
)

__all__ = [
    "MAX_MINUTES",
    "Entry",
    "UnitRange",
    "UnitRule",
    "hourly_units",
    "unit_ranges",
    "units_for_minutes",
]
