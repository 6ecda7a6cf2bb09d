"""Fees: the dated Medicare fee schedule, the money kernel (``kernel``), estimates' records."""

from cognibill.fees.estimate import (
    Estimate,
    FeeBreakdown,
    LineEstimate,
    Span,
    UnitFee,
    cents,
    fee_breakdown,
    is_facility,
    unit_fee,
)
from cognibill.fees.schedule import (
    Dated,
    FeeSchedule,
    Locality,
    Rvu,
    find_localities,
    load_schedule,
    release_label,
)

__all__ = [
    "Dated",
    "Estimate",
    "FeeBreakdown",
    "FeeSchedule",
    "LineEstimate",
    "Locality",
    "Rvu",
    "Span",
    "UnitFee",
    "cents",
    "fee_breakdown",
    "find_localities",
    "is_facility",
    "load_schedule",
    "release_label",
    "unit_fee",
]
