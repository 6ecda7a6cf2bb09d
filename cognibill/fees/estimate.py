"""Estimates as records, and the fee of one unit (RULES.md §6, §8).

The money is computed by the kernel (``cognibill.fees.kernel``); this module holds what it and
the commands share: the fee of a unit (``(work x GPCI + PE x GPCI + MP x GPCI) x CF``, rounded to
cents half-up, ``unit_fee``), the money ``Span`` (an amount, or a low-high range), the
``Estimate`` and ``LineEstimate`` records ``cognibill units`` renders, the rates of RULES.md §8,
and ``fee_breakdown`` for ``cognibill fees``. No polars here: ``fees`` stays light.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING, NamedTuple, Protocol

from cognibill.errors import EntryError
from cognibill.fees.schedule import FeeSchedule, Locality, Rvu, load_schedule
from cognibill.models import PLACE_OF_SERVICE_HELP, is_place_of_service
from cognibill.payers import PayerProfile

CENT = Decimal("0.01")
HUNDRED = Decimal(100)
NON_PARTICIPATING_RATE = Decimal("0.95")
LIMITING_CHARGE_RATE = Decimal("1.15")
MPPR_PE_SHARE = Decimal("0.5")
NEVER_REDUCED = frozenset({"97129", "97130"})
"""The cognitive codes carry MP indicator 0: never the procedure reduction (RULES.md §8)."""

FACILITY_POS = frozenset(
    {"02", "19", "21", "22", "23", "24", "26", "31", "34", "41", "42", "51", "52", "53", "56", "61"}
)
"""Places of service priced at the facility PE: hospitals (inpatient, outpatient, ER), ASC, SNF,
hospice, ambulance, psychiatric facilities, inpatient rehabilitation, and telehealth other than
in the patient's home (POS 02, paid at the facility rate; CY2024 PFS final rule). Everything else
(office 11, home 12, assisted living 13, telehealth in the patient's home 10, nursing facility 32,
CORF 62 ...) is non-facility. RULES.md §8 is silent on POS; ``--facility`` overrides it."""


def cents(amount: Decimal) -> Decimal:
    """Round to cents, half up."""
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


def is_facility(place_of_service: str | None) -> bool | None:
    """Whether a place-of-service code is a facility setting (None when not given)."""
    if place_of_service is None or not place_of_service.strip():
        return None
    pos = place_of_service.strip()
    if not is_place_of_service(pos):
        raise EntryError(
            f"place of service {place_of_service!r} is not a 2-digit CMS code",
            hint=f"For example {PLACE_OF_SERVICE_HELP}.",
        )
    return pos.zfill(2) in FACILITY_POS


if TYPE_CHECKING:  # typing only: a Protocol class costs start-up time

    class _LineLike(Protocol):
        @property
        def code(self) -> str: ...
        @property
        def units(self) -> int: ...

    import datetime as _dt

    class _VisitLike(Protocol):
        @property
        def date(self) -> _dt.date: ...
        @property
        def place_of_service(self) -> str | None: ...


@dataclass(frozen=True, slots=True)
class Span:
    """A money amount, or a low-high range when the payer gives one."""

    low: Decimal
    high: Decimal

    @classmethod
    def of(cls, amount: Decimal) -> Span:
        return cls(amount, amount)

    @property
    def exact(self) -> bool:
        return self.low == self.high

    def __add__(self, other: Span) -> Span:
        return Span(self.low + other.low, self.high + other.high)

    def map(self, fn: Callable[[Decimal], Decimal]) -> Span:
        return Span(fn(self.low), fn(self.high))

    def __str__(self) -> str:
        if self.exact:
            return f"${self.low:,.2f}"
        return f"${self.low:,.2f}–${self.high:,.2f}"

    def to_csv(self) -> str:
        """``21.67``, or ``105.00-165.00`` for a range: one CSV cell."""
        if self.exact:
            return f"{self.low:.2f}"
        return f"{self.low:.2f}-{self.high:.2f}"

    def to_json(self) -> str | dict[str, str]:
        """``"21.67"``, or ``{"low": "105.00", "high": "165.00"}`` for a range."""
        if self.exact:
            return f"{self.low:.2f}"
        return {"low": f"{self.low:.2f}", "high": f"{self.high:.2f}"}


ZERO = Span.of(Decimal("0.00"))


def _sum(spans: Iterable[Span]) -> Span:
    total = ZERO
    for span in spans:
        total = total + span
    return total


class UnitFee(NamedTuple):
    """The Medicare fee schedule amount of one unit of a code in one locality and setting."""

    code: str
    rvu: Rvu
    locality: Locality
    conversion_factor: Decimal
    facility_pe: bool
    """Priced at the facility PE (False: non-facility, incl. codes whose facility PE is NA)."""
    work: Decimal
    """work RVU x work GPCI (unrounded); likewise ``pe`` and ``mp``."""
    pe: Decimal
    mp: Decimal
    fee: Decimal
    """(work + pe + mp) x CF, rounded to cents."""
    reduced_fee: Decimal | None
    """The unit with 50% of its PE (multiple-procedure reduction); None for codes it never hits."""

    def formula(self) -> str:
        pe_rvu = self.rvu.pe(self.facility_pe)
        loc = self.locality
        return (
            f"({self.rvu.work} × {loc.work:.3f} + {pe_rvu} × {loc.pe:.3f} + {self.rvu.mp} × "
            f"{loc.mp:.3f}) × {self.conversion_factor} = {self.work + self.pe + self.mp:.4f} × "
            f"{self.conversion_factor} = ${self.fee}"
        )


def unit_fee(rvu: Rvu, locality: Locality, conversion_factor: Decimal, facility: bool) -> UnitFee:
    """One unit's fee: ``(work x GPCI + PE x GPCI + MP x GPCI) x CF`` in cents (RULES.md §8)."""
    facility_pe = rvu.uses_facility_pe(facility)
    work = rvu.work * locality.work
    pe = rvu.pe(facility) * locality.pe
    mp = rvu.mp * locality.mp
    reduced = None
    if rvu.multiple_procedure_reduction and rvu.code not in NEVER_REDUCED:
        reduced = cents((work + pe * MPPR_PE_SHARE + mp) * conversion_factor)
    return UnitFee(
        code=rvu.code,
        rvu=rvu,
        locality=locality,
        conversion_factor=conversion_factor,
        facility_pe=facility_pe,
        work=work,
        pe=pe,
        mp=mp,
        fee=cents((work + pe + mp) * conversion_factor),
        reduced_fee=reduced,
    )


@dataclass(frozen=True, slots=True)
class LineEstimate:
    """What one billed line is expected to pay."""

    code: str
    units: int
    assistant: bool
    priced: bool
    """False when no fee is known (no RVUs, carrier-priced, no contracted rate): amounts are 0."""
    paid_units: int
    """Units priced: ``units`` less those above a daily cap."""
    fee: Span
    """Per unit, before any reduction."""
    reduced_units: int
    """Units paid with the multiple-procedure reduction."""
    allowed: Span
    patient_owes: Span
    payer_share: Span
    """The payer's share before sequestration."""
    sequestration: Span
    payer_pays: Span
    limiting_charge: Decimal | None
    """Non-participating (Medicare): the most the provider may charge for the line."""
    unit_fee: UnitFee | None
    steps: tuple[str, ...]

    def to_dict(self) -> dict[str, object]:
        return {
            "code": self.code,
            "units": self.units,
            "assistant": self.assistant,
            "priced": self.priced,
            "paid_units": self.paid_units,
            "fee_per_unit": self.fee.to_json(),
            "reduced_units": self.reduced_units,
            **_money_fields(self),
            "steps": list(self.steps),
        }


@dataclass(frozen=True, slots=True)
class Estimate:
    """The estimated reimbursement of one visit."""

    payer: PayerProfile
    date: date
    pricing: str
    facility: bool
    participating: bool
    locality: Locality | None
    """None for pricing that does not use the fee schedule."""
    conversion_factor: Decimal | None
    lines: tuple[LineEstimate, ...]
    allowed: Span
    patient_owes: Span
    payer_share: Span
    sequestration: Span
    payer_pays: Span
    limiting_charge: Decimal | None
    notes: tuple[str, ...]
    """Where the numbers came from: data version, releases and years used, any fallback."""
    trace: tuple[str, ...]
    data_version: str
    fallback: bool = False
    """True when some data did not govern the date itself (see ``notes``)."""

    @property
    def is_range(self) -> bool:
        return not self.allowed.exact

    def line(self, code: str) -> LineEstimate:
        """The first line of a code (KeyError when absent)."""
        for line in self.lines:
            if line.code == code:
                return line
        raise KeyError(code)

    def to_dict(self) -> dict[str, object]:
        return {
            "payer": self.payer.id,
            "date": self.date.isoformat(),
            "pricing": self.pricing,
            "setting": "facility" if self.facility else "non-facility",
            "participating": self.participating,
            "locality": None if self.locality is None else self.locality.id,
            "conversion_factor": None
            if self.conversion_factor is None
            else str(self.conversion_factor),
            **_money_fields(self),
            "lines": [line.to_dict() for line in self.lines],
            "notes": list(self.notes),
            "trace": list(self.trace),
            "data_version": self.data_version,
            "fallback": self.fallback,
        }


def _money_fields(priced: LineEstimate | Estimate) -> dict[str, object]:
    """The money of a line or a visit as JSON: amounts as exact strings, ranges as low/high."""
    return {
        "allowed": priced.allowed.to_json(),
        "patient_owes": priced.patient_owes.to_json(),
        "payer_share": priced.payer_share.to_json(),
        "sequestration": priced.sequestration.to_json(),
        "payer_pays": priced.payer_pays.to_json(),
        "limiting_charge": None
        if priced.limiting_charge is None
        else f"{priced.limiting_charge:.2f}",
    }


def _no_rvu_reason(code: str) -> str:
    from cognibill.catalogue import load_catalogue

    info = load_catalogue().get(code)
    if info is None:
        return f"{code}: not a code cognibill knows, no fee"
    if info.deleted_on is not None:
        instead = f"; use {'/'.join(info.replaced_by)}" if info.replaced_by else ""
        return f"{code}: deleted on {info.deleted_on.isoformat()}, no fee{instead}"
    return f"{code}: no RVUs in the fee data, no fee"


# -- helpers for the engine and the commands -------------------------------------------------


class FeeBreakdown(NamedTuple):
    """The fee schedule amounts of one code on a date in a locality (``cognibill fees``)."""

    code: str
    label: str | None
    date: date
    rvu: Rvu | None
    locality: Locality
    conversion_factor: Decimal
    non_facility: UnitFee | None
    facility: UnitFee | None
    notes: tuple[str, ...]
    data_version: str

    def to_dict(self) -> dict[str, object]:
        def fee(f: UnitFee | None) -> dict[str, object] | None:
            if f is None:
                return None
            return {
                "work": f"{f.work:.4f}",
                "pe": f"{f.pe:.4f}",
                "mp": f"{f.mp:.4f}",
                "fee": f"{f.fee:.2f}",
                "reduced_fee": None if f.reduced_fee is None else f"{f.reduced_fee:.2f}",
                "facility_pe": f.facility_pe,
            }

        rvu = self.rvu
        return {
            "code": self.code,
            "label": self.label,
            "date": self.date.isoformat(),
            "rvu": None
            if rvu is None
            else {
                "work": str(rvu.work),
                "pe_nonfacility": str(rvu.pe_nonfacility),
                "pe_facility": str(rvu.pe_facility),
                "mp": str(rvu.mp),
                "mp_indicator": rvu.mp_indicator,
                "status": rvu.status,
                "facility_na": rvu.facility_na,
                "releases": list(rvu.releases),
            },
            "locality": self.locality.id,
            "gpci": {
                "work": str(self.locality.work),
                "pe": str(self.locality.pe),
                "mp": str(self.locality.mp),
            },
            "conversion_factor": str(self.conversion_factor),
            "non_facility": fee(self.non_facility),
            "facility": fee(self.facility),
            "notes": list(self.notes),
            "data_version": self.data_version,
        }


def fee_breakdown(
    codes: Iterable[str],
    day: date,
    *,
    locality: str | None = None,
    qualifying_apm: bool = False,
    schedule: FeeSchedule | None = None,
) -> list[FeeBreakdown]:
    """Per code: RVUs, GPCIs, CF and the non-facility, facility and reduced fees on ``day``.

    Raises ``EntryError`` for a code cognibill does not know (with near misses) or a bad locality.
    """
    from cognibill.catalogue import load_catalogue

    schedule = schedule or load_schedule()
    catalogue = load_catalogue()
    where = schedule.locality(locality, day)
    cf = schedule.conversion_factor(day, qualifying_apm=qualifying_apm)
    out = []
    for raw in codes:
        code = raw.strip().upper()
        info = catalogue.get(code)
        if info is None and not schedule.has_code(code):
            near = catalogue.suggest(code)
            raise EntryError(
                f"unknown code {raw!r}",
                hint=f"Did you mean {' or '.join(near)}?" if near else "See `cognibill codes`.",
            )
        notes = [f"Fee data {schedule.version} (CMS PFS {schedule.covers}).", cf.note, where.note]
        found = schedule.rvu(code, day)
        rvu = None if found is None else found.value
        non_fac = fac = None
        if found is None:
            notes.append(_no_rvu_reason(code))
        else:
            notes.append(found.note)
            if rvu is not None and rvu.priced:
                non_fac = unit_fee(rvu, where.value, cf.value, False)
                fac = unit_fee(rvu, where.value, cf.value, True)
            elif rvu is not None:
                notes.append(f"{code}: CMS status {rvu.status} (carrier-priced), no national fee.")
        out.append(
            FeeBreakdown(
                code=code,
                label=None if info is None else info.label,
                date=day,
                rvu=rvu,
                locality=where.value,
                conversion_factor=cf.value,
                non_facility=non_fac,
                facility=fac,
                notes=tuple(dict.fromkeys(notes)),
                data_version=schedule.version,
            )
        )
    return out


# -- KX and the review threshold (RULES.md §6) -----------------------------------------------
