"""The estimated reimbursement of a visit, step by step (RULES.md §6, §8).

Pure: ``Decimal`` money, cents rounded half-up at each line, no I/O beyond the lazily read fee data.
Per line: the fee of a unit (``(work x GPCI + PE x GPCI + MP x GPCI) x CF``, rounded to cents),
times the units; non-participating 95% (limiting charge 115% of that); the multiple-procedure
reduction (50% of the PE of the 2nd and later units of MP-indicator-5 codes that day, never
97129/97130); CQ/CO at the assistant rate; then the patient's coinsurance and the payer's share,
cut by sequestration. Each step is written to a plain-language trace.

Small records (``BilledLine``, ``UnitFee``, ``FeeBreakdown``, ``ThresholdCheck``) are named tuples:
immutable like frozen dataclasses, but nearly free to define, and this module is on the start-up
path of ``cognibill units`` (STYLE.md practice 14).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum
from typing import TYPE_CHECKING, NamedTuple, Protocol

from cognibill.errors import EntryError
from cognibill.fees.schedule import Dated, FeeSchedule, Locality, Rvu, load_schedule
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


class BilledLine(NamedTuple):
    """One billed line of a visit: code, units, and whether an assistant furnished it (CQ/CO)."""

    code: str
    units: int
    assistant: bool = False


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


class _Context:
    """The settings of one estimate and the notes and trace it collects (a plain class: a
    dataclass would add to every start-up for an internal type)."""

    __slots__ = (
        "cf", "day", "facility", "facility_why", "fallback", "locality", "notes",
        "participating", "payer", "qualifying_apm", "schedule", "trace",
    )  # fmt: skip

    def __init__(
        self,
        payer: PayerProfile,
        day: date,
        schedule: FeeSchedule,
        facility: bool,
        facility_why: str,
        participating: bool,
        qualifying_apm: bool,
    ) -> None:
        self.payer = payer
        self.day = day
        self.schedule = schedule
        self.facility = facility
        self.facility_why = facility_why
        self.participating = participating
        self.qualifying_apm = qualifying_apm
        self.locality: Dated[Locality] | None = None
        self.cf: Dated[Decimal] | None = None
        self.notes: list[str] = []
        self.trace: list[str] = []
        self.fallback = False

    @property
    def uses_mpfs(self) -> bool:
        return self.payer.pricing in ("mpfs", "percent-of-mpfs")

    def note(self, text: str, fallback: bool = False) -> None:
        if text not in self.notes:
            self.notes.append(text)
        self.fallback = self.fallback or fallback


def _context(
    payer: PayerProfile,
    day: date,
    *,
    place_of_service: str | None,
    facility: bool | None,
    locality: str | None,
    participating: bool | None,
    qualifying_apm: bool,
    schedule: FeeSchedule | None,
) -> _Context:
    by_pos = is_facility(place_of_service)
    if facility is not None:
        chosen, why = facility, "as asked"
    elif by_pos is not None:
        chosen, why = by_pos, f"place of service {place_of_service}"
    elif payer.facility is not None:
        chosen, why = payer.facility, f"the {payer.id} profile"
    else:
        chosen, why = False, "default, no place of service given"
    ctx = _Context(
        payer=payer,
        day=day,
        schedule=schedule or load_schedule(),
        facility=chosen,
        facility_why=why,
        participating=payer.participating if participating is None else participating,
        qualifying_apm=qualifying_apm,
    )
    if ctx.uses_mpfs:
        ctx.note(f"Fee data {ctx.schedule.version} (CMS PFS {ctx.schedule.covers}).")
        ctx.locality = ctx.schedule.locality(
            locality if locality is not None else payer.locality, day
        )
        ctx.cf = ctx.schedule.conversion_factor(day, qualifying_apm=qualifying_apm)
        ctx.note(ctx.cf.note, ctx.cf.fallback)
        ctx.note(ctx.locality.note, ctx.locality.fallback)
    return ctx


def _mpfs_fee(ctx: _Context, code: str) -> tuple[UnitFee | None, str]:
    """The fee-schedule amount of one unit, or None with the reason."""
    assert ctx.locality is not None and ctx.cf is not None
    found = ctx.schedule.rvu(code, ctx.day)
    if found is None:
        return None, _no_rvu_reason(code)
    ctx.note(found.note, found.fallback)
    if not found.value.priced:
        return None, (
            f"{code}: CMS status {found.value.status} (carrier-priced), no national fee; "
            "ask the contractor"
        )
    return unit_fee(found.value, ctx.locality.value, ctx.cf.value, ctx.facility), ""


def _no_rvu_reason(code: str) -> str:
    from cognibill.catalogue import load_catalogue

    info = load_catalogue().get(code)
    if info is None:
        return f"{code}: not a code cognibill knows, no fee"
    if info.deleted_on is not None:
        instead = f"; use {'/'.join(info.replaced_by)}" if info.replaced_by else ""
        return f"{code}: deleted on {info.deleted_on.isoformat()}, no fee{instead}"
    return f"{code}: no RVUs in the fee data, no fee"


def _check_lines(lines: Iterable[_LineLike]) -> list[BilledLine]:
    out = []
    for line in lines:
        code = line.code.strip().upper()
        if line.units < 0:
            raise EntryError(f"{code}: units cannot be negative ({line.units})")
        out.append(BilledLine(code, line.units, bool(getattr(line, "assistant", False))))
    return out


def _caps(ctx: _Context, lines: list[BilledLine]) -> list[int]:
    """Units paid per line under the payer's daily caps (per code, across lines, in order)."""
    left: dict[str, int] = dict(ctx.payer.daily_caps)
    paid = []
    for line in lines:
        if line.code not in left:
            paid.append(line.units)
            continue
        units = min(line.units, left[line.code])
        left[line.code] -= units
        if units < line.units:
            ctx.trace.append(
                f"{line.code}: {ctx.payer.name} pays at most {ctx.payer.daily_caps[line.code]} "
                f"unit(s) a day; {line.units - units} unit(s) priced at $0."
            )
        paid.append(units)
    return paid


def _full_unit_line(
    ctx: _Context, lines: list[BilledLine], fees: list[UnitFee | None], paid: list[int]
) -> int | None:
    """The line whose unit is paid in full under the procedure reduction (None: no reduction).

    The unit with the highest PE is paid in full; ties go to the higher total, then input order
    (RULES.md §8). With ``assistant_order = "before-mppr"`` the ranking sees CQ/CO amounts.
    """
    if not (ctx.payer.multiple_procedure_reduction and ctx.uses_mpfs):
        return None
    candidates = [
        i for i, f in enumerate(fees) if f is not None and f.reduced_fee is not None and paid[i]
    ]
    if not candidates:
        return None
    rate = ctx.payer.assistant_rate_on(ctx.day)

    def key(i: int) -> tuple[Decimal, Decimal, int]:
        fee = fees[i]
        assert fee is not None
        share = rate if (lines[i].assistant and ctx.payer.assistant_order == "before-mppr") else 1
        return fee.pe * share, fee.fee * share, -i

    return max(candidates, key=key)


def _split(ctx: _Context, allowed: Span) -> tuple[Span, Span, Span, Span]:
    """Patient's coinsurance, payer's share, sequestration, payer pays (each in cents)."""
    coinsurance = allowed.map(lambda a: cents(a * ctx.payer.coinsurance))
    share = Span(allowed.low - coinsurance.low, allowed.high - coinsurance.high)
    cut = share.map(lambda a: cents(a * ctx.payer.sequestration))
    pays = Span(share.low - cut.low, share.high - cut.high)
    return coinsurance, share, cut, pays


def _price_line(
    ctx: _Context,
    line: BilledLine,
    paid_units: int,
    fee: UnitFee | None,
    why_unpriced: str,
    reduced_units: int,
) -> LineEstimate:
    payer = ctx.payer
    steps: list[str] = []
    limiting: Decimal | None = None
    per_unit = ZERO
    allowed: Span | None = None
    if payer.pricing in ("mpfs", "percent-of-mpfs"):
        if fee is not None:
            per_unit = Span.of(fee.fee)
            setting = "facility" if fee.facility_pe else "non-facility"
            if ctx.facility and not fee.facility_pe:
                setting += " (facility PE is NA for this code: priced non-facility everywhere)"
            steps.append(f"{line.code}: fee per unit, {setting}: {fee.formula()}.")
            full_units = paid_units - reduced_units
            amount = fee.fee * full_units
            if reduced_units:
                assert fee.reduced_fee is not None
                amount += fee.reduced_fee * reduced_units
                steps.append(
                    f"{line.code}: multiple-procedure reduction, {reduced_units} unit(s) with "
                    "50% of "
                    f"the PE at ${fee.reduced_fee} (the day's highest-PE unit is paid in full): "
                    + (f"{full_units} × ${fee.fee} + " if full_units else "")
                    + f"{reduced_units} × ${fee.reduced_fee} = ${amount}."
                )
            else:
                steps.append(f"{line.code}: {paid_units} × ${fee.fee} = ${amount}.")
            if payer.pricing == "mpfs" and not ctx.participating:
                base = amount
                amount = cents(amount * NON_PARTICIPATING_RATE)
                steps.append(f"{line.code}: non-participating, 95% of ${base} = ${amount}.")
            if payer.pricing == "percent-of-mpfs":
                assert payer.percent is not None
                base = amount
                amount = cents(amount * payer.percent / HUNDRED)
                steps.append(f"{line.code}: {payer.percent}% of the MPFS ${base} = ${amount}.")
            allowed = Span.of(amount)
    elif payer.pricing == "per-unit":
        assert payer.unit_low is not None and payer.unit_high is not None
        per_unit = Span(payer.unit_low, payer.unit_high)
        allowed = Span(cents(payer.unit_low * paid_units), cents(payer.unit_high * paid_units))
        steps.append(f"{line.code}: {paid_units} × {per_unit} per unit = {allowed}.")
    elif payer.pricing == "per-code":
        rate = payer.per_code.get(line.code)
        if rate is None:
            why_unpriced = f"{line.code}: no rate in the {payer.id} profile, no fee"
        else:
            per_unit = Span.of(rate)
            allowed = Span.of(cents(rate * paid_units))
            steps.append(f"{line.code}: {paid_units} × ${rate} contracted rate = {allowed}.")
    if allowed is None:
        steps.append(f"{why_unpriced} (not counted in the totals).")
        return LineEstimate(
            code=line.code,
            units=line.units,
            assistant=line.assistant,
            priced=False,
            paid_units=paid_units,
            fee=ZERO,
            reduced_units=0,
            allowed=ZERO,
            patient_owes=ZERO,
            payer_share=ZERO,
            sequestration=ZERO,
            payer_pays=ZERO,
            limiting_charge=None,
            unit_fee=fee,
            steps=tuple(steps),
        )
    rate = payer.assistant_rate_on(ctx.day)
    if line.assistant:
        if rate != 1:
            before = allowed
            allowed = allowed.map(lambda a: cents(a * rate))
            steps.append(f"{line.code}: assistant (CQ/CO) at {rate:.0%}: {before} → {allowed}.")
        else:
            steps.append(
                f"{line.code}: assistant (CQ/CO), paid in full by {payer.name} on this date."
            )
    if payer.pricing == "mpfs" and not ctx.participating:
        limiting = cents(allowed.low * LIMITING_CHARGE_RATE)
        steps.append(
            f"{line.code}: limiting charge 115% of ${allowed.low} = ${limiting} (the most a "
            "non-participating provider not taking assignment may charge)."
        )
    coinsurance, share, cut, pays = _split(ctx, allowed)
    steps.append(
        f"{line.code}: allowed {allowed}; patient {payer.coinsurance:.0%} {coinsurance}, "
        f"payer share {share}"
        + (
            f", sequestration {payer.sequestration:.0%} −{cut}, payer pays {pays}."
            if payer.sequestration
            else "."
        )
    )
    return LineEstimate(
        code=line.code,
        units=line.units,
        assistant=line.assistant,
        priced=True,
        paid_units=paid_units,
        fee=per_unit,
        reduced_units=reduced_units,
        allowed=allowed,
        patient_owes=coinsurance,
        payer_share=share,
        sequestration=cut,
        payer_pays=pays,
        limiting_charge=limiting,
        unit_fee=fee,
        steps=tuple(steps),
    )


def estimate_visit(
    lines: Iterable[_LineLike],
    day: date,
    payer: PayerProfile,
    *,
    place_of_service: str | None = None,
    facility: bool | None = None,
    locality: str | None = None,
    participating: bool | None = None,
    qualifying_apm: bool = False,
    schedule: FeeSchedule | None = None,
) -> Estimate:
    """The estimated reimbursement of one visit's billed lines on a date of service.

    ``lines``: ``BilledLine`` (or anything with ``code``, ``units`` and optionally ``assistant``,
    such as the engine's ``Line``). Setting: ``facility`` if given, else by ``place_of_service``,
    else the profile's, else non-facility. ``locality`` overrides the profile's (None: the
    profile's, else national; ``"national"`` forces national). ``participating=False`` prices a
    non-participating provider. Raises ``EntryError`` for an unknown or ambiguous locality.
    """
    billed = _check_lines(lines)
    ctx = _context(
        payer,
        day,
        place_of_service=place_of_service,
        facility=facility,
        locality=locality,
        participating=participating,
        qualifying_apm=qualifying_apm,
        schedule=schedule,
    )
    trace = ctx.trace
    trace.append(_describe(ctx))
    if not ctx.participating and payer.pricing != "mpfs":
        trace.append(
            f"Non-participating: the 95% rate and limiting charge are Medicare fee-schedule rules; "
            f"{payer.pricing} pricing is left as it is."
        )
    paid = _caps(ctx, billed)
    fees: list[UnitFee | None] = []
    reasons: list[str] = []
    for line in billed:
        if ctx.uses_mpfs:
            fee, why = _mpfs_fee(ctx, line.code)
        else:
            fee, why = None, ""
        fees.append(fee)
        reasons.append(why)
    full = _full_unit_line(ctx, billed, fees, paid)
    if full is not None:
        reduced = [
            (paid[i] - (1 if i == full else 0))
            if (f is not None and f.reduced_fee is not None)
            else 0
            for i, f in enumerate(fees)
        ]
        if sum(reduced):
            trace.append(
                f"Multiple-procedure reduction (RULES.md §8): {billed[full].code} "
                "has the highest PE of the day's MP-indicator-5 units and keeps one unit in full; "
                f"{sum(reduced)} other unit(s) are paid with 50% of their PE. Never 97129/97130."
            )
    else:
        reduced = [0] * len(billed)
    priced = [
        _price_line(ctx, line, paid[i], fees[i], reasons[i], reduced[i])
        for i, line in enumerate(billed)
    ]
    for item in priced:
        trace.extend(item.steps)
    counted = [p for p in priced if p.priced]
    allowed = _sum(p.allowed for p in counted)
    patient = _sum(p.patient_owes for p in counted)
    share = _sum(p.payer_share for p in counted)
    cut = _sum(p.sequestration for p in counted)
    pays = _sum(p.payer_pays for p in counted)
    limiting = None
    if any(p.limiting_charge is not None for p in counted):
        limiting = sum((p.limiting_charge or Decimal(0) for p in counted), Decimal("0.00"))
    trace.append(
        f"Visit: allowed {allowed}; {payer.name} pays {pays}; patient owes {patient} "
        "(coinsurance, assuming the deductible is met)."
    )
    if payer.note:
        ctx.note(f"{payer.name}: {payer.note}")
    return Estimate(
        payer=payer,
        date=day,
        pricing=payer.pricing,
        facility=ctx.facility,
        participating=ctx.participating,
        locality=None if ctx.locality is None else ctx.locality.value,
        conversion_factor=None if ctx.cf is None else ctx.cf.value,
        lines=tuple(priced),
        allowed=allowed,
        patient_owes=patient,
        payer_share=share,
        sequestration=cut,
        payer_pays=pays,
        limiting_charge=limiting,
        notes=tuple(ctx.notes),
        trace=tuple(trace),
        data_version=ctx.schedule.version if ctx.uses_mpfs else "payer profile",
        fallback=ctx.fallback,
    )


def _describe(ctx: _Context) -> str:
    payer = ctx.payer
    how = {
        "mpfs": "Medicare physician fee schedule",
        "per-unit": f"a flat rate per unit (${payer.unit_low}–${payer.unit_high})",
        "per-code": "contracted rates per code",
        "percent-of-mpfs": f"{payer.percent}% of the Medicare physician fee schedule",
    }[payer.pricing]
    parts = [f"{payer.name} ({payer.id}): {how}"]
    if ctx.uses_mpfs:
        assert ctx.locality is not None and ctx.cf is not None
        parts.append(ctx.locality.value.label)
        parts.append(f"{'facility' if ctx.facility else 'non-facility'} ({ctx.facility_why})")
        if payer.pricing == "mpfs":
            parts.append("participating" if ctx.participating else "non-participating")
        parts.append(f"CF {ctx.cf.value} for {ctx.day.isoformat()}")
    return ", ".join(parts) + "."


# -- helpers for the engine and the commands -------------------------------------------------


def unit_value(
    code: str,
    day: date,
    payer: PayerProfile,
    *,
    place_of_service: str | None = None,
    facility: bool | None = None,
    locality: str | None = None,
    participating: bool | None = None,
    schedule: FeeSchedule | None = None,
) -> Decimal | None:
    """What one unit of ``code`` is allowed by ``payer`` (low end of a range); None when unpriced.

    The units engine's tie-break (RULES.md §2.5): pass ``unit_pricer(...)`` as ``unit_value``.
    """
    result = estimate_visit(
        [BilledLine(code, 1)],
        day,
        payer,
        place_of_service=place_of_service,
        facility=facility,
        locality=locality,
        participating=participating,
        schedule=schedule,
    )
    line = result.lines[0]
    return line.allowed.low if line.priced else None


def unit_pricer(
    day: date,
    payer: PayerProfile,
    *,
    place_of_service: str | None = None,
    facility: bool | None = None,
    locality: str | None = None,
    participating: bool | None = None,
    schedule: FeeSchedule | None = None,
) -> Callable[[str], Decimal | None]:
    """``unit_value`` bound to a visit's date and payer, cached per code, for ``compute_units``."""
    known: dict[str, Decimal | None] = {}

    def value(code: str) -> Decimal | None:
        if code not in known:
            known[code] = unit_value(
                code,
                day,
                payer,
                place_of_service=place_of_service,
                facility=facility,
                locality=locality,
                participating=participating,
                schedule=schedule,
            )
        return known[code]

    return value


def fee_lookup(
    payer: PayerProfile,
    *,
    facility: bool | None = None,
    locality: str | None = None,
    participating: bool | None = None,
    schedule: FeeSchedule | None = None,
) -> Callable[[_VisitLike, str], Decimal | None]:
    """``unit_value`` for the claim checker: what one unit of a code pays on a visit, by the
    visit's date and place of service; cached per date, place and code."""
    known: dict[tuple[date, str | None, str], Decimal | None] = {}

    def lookup(visit: _VisitLike, code: str) -> Decimal | None:
        key = (visit.date, visit.place_of_service, code)
        if key not in known:
            known[key] = unit_value(
                code,
                visit.date,
                payer,
                place_of_service=visit.place_of_service,
                facility=facility,
                locality=locality,
                participating=participating,
                schedule=schedule,
            )
        return known[key]

    return lookup


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


class TherapyGroup(StrEnum):
    """Which annual therapy threshold a line counts toward: PT and SLP share one, OT has its own."""

    PT_SLP = "pt-slp"
    OT = "ot"


_GROUP_OF = {
    "pt": TherapyGroup.PT_SLP,
    "pta": TherapyGroup.PT_SLP,
    "slp": TherapyGroup.PT_SLP,
    "ot": TherapyGroup.OT,
    "ota": TherapyGroup.OT,
}


def therapy_group(
    *, modifiers: Iterable[str] = (), discipline: str | None = None
) -> TherapyGroup | None:
    """The threshold group of a line: by its GP/GN (PT+SLP) or GO (OT) modifier, else by the
    discipline that furnished it; None when neither says (not therapy under a plan of care)."""
    mods = {m.strip().upper() for m in modifiers}
    if "GO" in mods:
        return TherapyGroup.OT
    if mods & {"GP", "GN"}:
        return TherapyGroup.PT_SLP
    if discipline is None:
        return None
    return _GROUP_OF.get(str(discipline).lower())


class ThresholdCheck(NamedTuple):
    """Where one line's allowed amount puts a patient's yearly therapy total."""

    patient: str
    year: int
    group: TherapyGroup
    amount: Decimal
    before: Decimal
    after: Decimal
    kx_threshold: Decimal | None
    """None when no threshold is known for the year (before 2021)."""
    review_threshold: Decimal
    note: str = ""

    @property
    def needs_kx(self) -> bool:
        """The line takes the year's total above the KX threshold, or is already above it."""
        return self.kx_threshold is not None and self.after > self.kx_threshold

    @property
    def crosses_kx(self) -> bool:
        """This is the line that first goes over the KX threshold."""
        return self.needs_kx and self.before <= (self.kx_threshold or Decimal(0))

    @property
    def over_review(self) -> bool:
        """Above the targeted medical review threshold ($3,000)."""
        return self.after > self.review_threshold

    @property
    def crosses_review(self) -> bool:
        return self.over_review and self.before <= self.review_threshold


_NOTHING = Decimal("0.00")


class ThresholdTracker:
    """Sums each patient's allowed therapy amounts per calendar year and group (RULES.md §6).

    An accumulator with no I/O: feed it the lines in date order with ``add``; each call says
    whether the line needs KX and whether the year is past the $3,000 review threshold.
    """

    def __init__(self, schedule: FeeSchedule | None = None) -> None:
        self._schedule = schedule
        self._totals: dict[tuple[str, int, TherapyGroup], Decimal] = {}
        self._years: dict[int, tuple[Decimal | None, Decimal, str]] = {}
        """year -> (KX threshold, review threshold, note): looked up once a year."""

    def _fees(self) -> FeeSchedule:
        if self._schedule is None:
            self._schedule = load_schedule()
        return self._schedule

    def total(self, patient: str, year: int, group: TherapyGroup) -> Decimal:
        """The patient's allowed amounts so far in ``year`` for ``group``."""
        return self._totals.get((patient, year, group), Decimal("0.00"))

    def totals(self) -> Mapping[tuple[str, int, TherapyGroup], Decimal]:
        return dict(self._totals)

    def add(self, patient: str, day: date, group: TherapyGroup, allowed: Decimal) -> ThresholdCheck:
        """Count one line's allowed amount and say where it lands."""
        if allowed < 0:
            raise ValueError("allowed amount cannot be negative")
        year = day.year
        key = (patient, year, group)
        before = self._totals.get(key, _NOTHING)
        after = before + allowed
        self._totals[key] = after
        known = self._years.get(year)
        if known is None:
            kx = self._fees().kx_threshold(day)
            known = self._years[year] = (
                None if kx is None else kx.value,
                self._fees().review_threshold,
                "" if kx is None or not kx.fallback else kx.note,
            )
        return ThresholdCheck(patient, year, group, allowed, before, after, *known)
