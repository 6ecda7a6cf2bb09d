"""Batch pricing: the money of ``estimate_visit``, cached on what it depends on (RULES.md §8).

``estimate_visit`` explains itself (notes, a trace, every lookup by date) and costs 60-250 µs
a visit. A claim run over an export prices hundreds of thousands of visits that repeat a few
thousand line patterns over a handful of fee periods, and needs only the money. ``BatchPricer``
gives the same allowed amount, payer's payment and patient's share, line by line and in total,
to the cent, with no text:

- **per date**, a *period*: every date-dependent input of the money, by value: the conversion
  factor, the locality's GPCIs, every code's RVUs (the row chosen for the date), the payer's
  assistant rate on the date and whether any of them is a fallback. Dates whose lookups agree
  share a period (all of 2023, say; 8 and 9 March 2024 do not: the CF changed). Payers that do
  not price from the fee schedule depend on the date only through the assistant rate. A new
  date costs a few µs (the RVU rows are shared between row edges), or about 0.2 ms in a gap
  between releases, where ``FeeSchedule.rvu`` chooses the fallback of each code by date.
- **per visit**, the price, keyed on (period, setting, lines): the whole lines tuple, because
  daily caps and the multiple-procedure reduction look at all of a visit's lines together; the
  setting (facility or not) from the place of service unless ``facility`` overrides it.

The arithmetic mirrors ``cognibill.fees.estimate`` step for step (same operations, same order,
same rounding); ``tests/test_fees_batch.py`` checks it against ``estimate_visit`` on random visits.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable
from datetime import date, timedelta
from decimal import Decimal
from typing import NamedTuple

from cognibill.errors import EntryError
from cognibill.fees.estimate import (
    HUNDRED,
    NON_PARTICIPATING_RATE,
    ZERO,
    Span,
    UnitFee,
    cents,
    is_facility,
    unit_fee,
)
from cognibill.fees.schedule import FeeSchedule, Locality, Rvu, load_schedule, rvu_rows
from cognibill.payers import PayerProfile

DEFAULT_MAXSIZE = 100_000
"""Visits kept in the cache; far above the line patterns of a year of exports."""

_MPFS = ("mpfs", "percent-of-mpfs")

BatchLine = tuple[str, int, bool]
"""(code, units, assistant): one billed line; ``BilledLine`` fits."""


class LinePrice(NamedTuple):
    """What one billed line pays: the money of ``LineEstimate`` without the explanation."""

    allowed: Span
    payer_pays: Span
    patient_owes: Span
    priced: bool = True
    """False when no fee is known (no RVUs, carrier-priced, no contracted rate): amounts are 0."""

    def to_dict(self) -> dict[str, object]:
        return {
            "priced": self.priced,
            "allowed": self.allowed.to_json(),
            "payer_pays": self.payer_pays.to_json(),
            "patient_owes": self.patient_owes.to_json(),
        }


class VisitPrice(NamedTuple):
    """What a visit pays: the money of ``Estimate`` (totals over the priced lines)."""

    lines: tuple[LinePrice, ...]
    allowed: Span
    payer_pays: Span
    patient_owes: Span
    data_version: str
    fallback: bool
    """True when some data did not govern the date itself (as ``Estimate.fallback``)."""

    def to_dict(self) -> dict[str, object]:
        return {
            "allowed": self.allowed.to_json(),
            "payer_pays": self.payer_pays.to_json(),
            "patient_owes": self.patient_owes.to_json(),
            "lines": [line.to_dict() for line in self.lines],
            "data_version": self.data_version,
            "fallback": self.fallback,
        }


def _rvu_money(row: Rvu) -> tuple[object, ...]:
    """The fields of an RVU row that the fee depends on (not its dates or release names)."""
    return (
        row.status,
        row.work,
        row.pe_nonfacility,
        row.pe_facility,
        row.mp,
        row.mp_indicator,
        row.facility_na,
        row.nonfacility_na,
    )


class _Period:
    """The date-dependent inputs shared by every date of one period, and the unit fees
    derived from them (per setting and code)."""

    __slots__ = ("assistant_rate", "cf", "fallback", "fees", "locality", "rvus")

    def __init__(
        self,
        assistant_rate: Decimal,
        cf: Decimal | None = None,
        locality: Locality | None = None,
        rvus: dict[str, tuple[Rvu, bool]] | None = None,
        fallback: bool = False,
    ) -> None:
        self.assistant_rate = assistant_rate
        self.cf = cf
        self.locality = locality
        self.rvus = rvus or {}
        self.fallback = fallback
        """The conversion factor or GPCIs are a fallback (the RVUs are told per code)."""
        self.fees: dict[tuple[bool, str], UnitFee | None] = {}

    def fee(self, code: str, facility: bool) -> UnitFee | None:
        """One unit's fee schedule amount (None: no RVUs or carrier-priced), as ``_mpfs_fee``."""
        key = (facility, code)
        if key not in self.fees:
            found = self.rvus.get(code)
            if found is None or not found[0].priced:
                self.fees[key] = None
            else:
                assert self.cf is not None and self.locality is not None
                self.fees[key] = unit_fee(found[0], self.locality, self.cf, facility)
        return self.fees[key]


class _Segment(NamedTuple):
    """The RVU rows of the dates between two consecutive row edges."""

    rvus: dict[str, tuple[Rvu, bool]]
    """The codes a row governs on those dates (not a fallback)."""
    money: tuple[tuple[object, ...], ...]
    uncovered: tuple[str, ...]
    """Codes with rows but none governing those dates: ``FeeSchedule.rvu`` falls back, by date."""


def _check(lines: Iterable[BatchLine]) -> list[BatchLine]:
    """Codes cleaned and negative units refused, as ``estimate_visit`` does."""
    out = []
    for code, units, assistant in lines:
        code = code.strip().upper()
        if units < 0:
            raise EntryError(f"{code}: units cannot be negative ({units})")
        out.append((code, units, bool(assistant)))
    return out


class BatchPricer:
    """``estimate_visit``'s money for one payer and one set of options, visit after visit.

    ``facility``, ``locality``, ``participating`` and ``qualifying_apm`` mean what they mean to
    ``estimate_visit``. ``maxsize`` bounds the visit cache (it is emptied when full). Raises the
    ``EntryError`` of ``estimate_visit`` for a bad place of service, negative units or a locality
    that does not resolve on the date.
    """

    def __init__(
        self,
        payer: PayerProfile,
        *,
        facility: bool | None = None,
        locality: str | None = None,
        participating: bool | None = None,
        qualifying_apm: bool = False,
        schedule: FeeSchedule | None = None,
        maxsize: int = DEFAULT_MAXSIZE,
    ) -> None:
        self.payer = payer
        self.facility = facility
        self.locality = locality if locality is not None else payer.locality
        self.participating = payer.participating if participating is None else participating
        self.qualifying_apm = qualifying_apm
        self.schedule = schedule or load_schedule()
        self.maxsize = maxsize
        self.uses_mpfs = payer.pricing in _MPFS
        self.computed = 0
        """Visits priced from scratch (cache misses); every other ``price`` call was a hit."""
        self._rows: dict[str, tuple[Rvu, ...]] | None = None
        self._bounds: list[date] = []
        self._segments: dict[int, _Segment] = {}
        self._period_of: dict[date, int] = {}
        self._period_ids: dict[tuple[object, ...], int] = {}
        self._periods: list[_Period] = []
        self._settings: dict[str | None, bool] = {}
        self._visits: dict[tuple[int, bool, tuple[BatchLine, ...]], VisitPrice] = {}
        self._lines: dict[tuple[int, bool, str, int, int, bool], LinePrice] = {}
        self._version: str | None = None

    @property
    def periods(self) -> int:
        """How many distinct periods the dates seen so far fall in."""
        return len(self._periods)

    @property
    def cached(self) -> int:
        """Visits in the cache now."""
        return len(self._visits)

    def price(
        self, day: date, place_of_service: str | None, lines: tuple[BatchLine, ...]
    ) -> VisitPrice:
        """The money of ``estimate_visit(lines, day, payer, place_of_service=..., ...)``.

        ``lines``: (code, units, assistant) tuples (or ``BilledLine``), in billing order.
        """
        period = self._period_of.get(day)
        if period is None:
            period = self._new_period(day, place_of_service, lines)
        setting = self._settings.get(place_of_service)
        if setting is None:
            setting = self._new_setting(place_of_service, lines)
        key = (period, setting, lines)
        found = self._visits.get(key)
        if found is None:
            found = self._compute(period, setting, lines)
            if len(self._visits) >= self.maxsize:
                self._visits.clear()
            self._visits[key] = found
        return found

    def unit_value(self, day: date, place_of_service: str | None, code: str) -> Decimal | None:
        """What one unit of ``code`` is allowed (low end of a range); None when unpriced: the
        value of ``estimate.unit_value`` (the claim checker's ``fee_lookup``), cached likewise."""
        line = self.price(day, place_of_service, ((code, 1, False),)).lines[0]
        return line.allowed.low if line.priced else None

    # -- dates and settings ------------------------------------------------------------------

    def _new_period(
        self, day: date, place_of_service: str | None, lines: tuple[BatchLine, ...]
    ) -> int:
        try:
            signature, period = self._lookups(day)
        except EntryError:
            # estimate_visit refuses bad lines, then a bad place, before it looks anything up
            _check(lines)
            is_facility(place_of_service)
            raise
        index = self._period_ids.get(signature)
        if index is None:
            index = self._period_ids[signature] = len(self._periods)
            self._periods.append(period)
        self._period_of[day] = index
        return index

    def _lookups(self, day: date) -> tuple[tuple[object, ...], _Period]:
        """Every date-dependent input of the money on ``day``, by value, and the period."""
        rate = self.payer.assistant_rate_on(day)
        if not self.uses_mpfs:
            return ("flat", rate), _Period(rate)
        schedule = self.schedule
        cf = schedule.conversion_factor(day, qualifying_apm=self.qualifying_apm)
        where = schedule.locality(self.locality, day)
        loc = where.value
        segment = self._segment(day)
        rvus = dict(segment.rvus)
        money: list[object] = [segment.money]
        for code in segment.uncovered:  # no row governs the date: the schedule's fallback
            dated = schedule.rvu(code, day)
            assert dated is not None  # the code has rows
            rvus[code] = (dated.value, dated.fallback)
            money.append((code, dated.fallback, *_rvu_money(dated.value)))
        fallback = cf.fallback or where.fallback
        signature = ("mpfs", rate, cf.value, loc.work, loc.pe, loc.mp, fallback, tuple(money))
        return signature, _Period(rate, cf.value, loc, rvus, fallback)

    def _segment(self, day: date) -> _Segment:
        """The RVU rows governing ``day``, shared by the dates between two consecutive row
        edges (where no row starts or ends, every code keeps its row, or its lack of one)."""
        if self._rows is None:
            self._rows = rvu_rows(self.schedule)
            edges = set()
            for rows in self._rows.values():
                for row in rows:
                    edges.add(row.effective_from)
                    if row.effective_to < date.max:
                        edges.add(row.effective_to + timedelta(days=1))
            self._bounds = sorted(edges)
        index = bisect_right(self._bounds, day)
        segment = self._segments.get(index)
        if segment is None:
            rvus: dict[str, tuple[Rvu, bool]] = {}
            money: list[tuple[object, ...]] = []
            uncovered: list[str] = []
            for code, rows in self._rows.items():
                # FeeSchedule.rvu's first choice: the first row (by date) that governs the day
                found = next((r for r in rows if r.effective_from <= day <= r.effective_to), None)
                if found is None:
                    uncovered.append(code)
                else:
                    rvus[code] = (found, False)
                    money.append((code, False, *_rvu_money(found)))
            segment = self._segments[index] = _Segment(rvus, tuple(money), tuple(uncovered))
        return segment

    def _new_setting(self, place_of_service: str | None, lines: tuple[BatchLine, ...]) -> bool:
        """Facility or not, as ``estimate_visit`` decides (False for every place when the
        payer's pricing ignores the setting)."""
        try:
            by_pos = is_facility(place_of_service)
        except EntryError:
            _check(lines)
            raise
        if self.facility is not None:
            chosen = self.facility
        elif by_pos is not None:
            chosen = by_pos
        elif self.payer.facility is not None:
            chosen = self.payer.facility
        else:
            chosen = False
        setting = chosen if self.uses_mpfs else False
        self._settings[place_of_service] = setting
        return setting

    # -- one visit from scratch --------------------------------------------------------------

    def _compute(self, index: int, facility: bool, lines: tuple[BatchLine, ...]) -> VisitPrice:
        """The money of one visit, step for step as ``estimate_visit`` (no text). A line's money
        depends on the rest of the visit only through its paid and reduced units, so lines are
        cached on those (with the period, setting, code and assistant flag)."""
        self.computed += 1
        period = self._periods[index]
        billed = _check(lines)
        paid = self._caps(billed)
        fallback = False
        if self.uses_mpfs:
            fees = [period.fee(code, facility) for code, _, _ in billed]
            fallback = period.fallback or any(
                period.rvus[code][1] for code, _, _ in billed if code in period.rvus
            )
            full = self._full_unit_line(period, billed, fees, paid)
        else:
            fees = [None] * len(billed)
            full = None
        known = self._lines
        if len(known) >= self.maxsize:
            known.clear()
        priced = []
        allowed_low = allowed_high = pays_low = pays_high = owes_low = owes_high = ZERO.low
        for i, (code, _, assistant) in enumerate(billed):
            fee = fees[i]
            reduced = 0
            if full is not None and fee is not None and fee.reduced_fee is not None:
                reduced = paid[i] - (1 if i == full else 0)
            key = (index, facility, code, paid[i], reduced, assistant)
            line = known.get(key)
            if line is None:
                line = known[key] = self._line(period, code, assistant, paid[i], fee, reduced)
            priced.append(line)
            if line.priced:  # the totals add up the priced lines, in order (estimate's _sum)
                allowed_low += line.allowed.low
                allowed_high += line.allowed.high
                owes_low += line.patient_owes.low
                owes_high += line.patient_owes.high
                pays_low += line.payer_pays.low
                pays_high += line.payer_pays.high
        return VisitPrice(
            lines=tuple(priced),
            allowed=Span(allowed_low, allowed_high),
            payer_pays=Span(pays_low, pays_high),
            patient_owes=Span(owes_low, owes_high),
            data_version=self._data_version() if self.uses_mpfs else "payer profile",
            fallback=fallback,
        )

    def _data_version(self) -> str:
        if self._version is None:
            self._version = self.schedule.version
        return self._version

    def _caps(self, billed: list[BatchLine]) -> list[int]:
        """Units paid per line under the daily caps (per code, across lines, in order)."""
        left = dict(self.payer.daily_caps)
        paid = []
        for code, units, _ in billed:
            if code not in left:
                paid.append(units)
                continue
            allowed = min(units, left[code])
            left[code] -= allowed
            paid.append(allowed)
        return paid

    def _full_unit_line(
        self,
        period: _Period,
        billed: list[BatchLine],
        fees: list[UnitFee | None],
        paid: list[int],
    ) -> int | None:
        """The line whose unit escapes the procedure reduction: highest PE, then higher fee,
        then input order (RULES.md §8); None when there is no reduction."""
        payer = self.payer
        if not (payer.multiple_procedure_reduction and self.uses_mpfs):
            return None
        candidates = [
            i for i, f in enumerate(fees) if f is not None and f.reduced_fee is not None and paid[i]
        ]
        if not candidates:
            return None
        rate = period.assistant_rate

        def key(i: int) -> tuple[Decimal, Decimal, int]:
            fee = fees[i]
            assert fee is not None
            before = billed[i][2] and payer.assistant_order == "before-mppr"
            share = rate if before else 1
            return fee.pe * share, fee.fee * share, -i

        return max(candidates, key=key)

    def _line(
        self,
        period: _Period,
        code: str,
        assistant: bool,
        paid_units: int,
        fee: UnitFee | None,
        reduced_units: int,
    ) -> LinePrice:
        """One line's money, as ``_price_line``."""
        payer = self.payer
        allowed: Span | None = None
        if self.uses_mpfs:
            if fee is not None:
                amount = fee.fee * (paid_units - reduced_units)
                if reduced_units:
                    assert fee.reduced_fee is not None
                    amount += fee.reduced_fee * reduced_units
                if payer.pricing == "mpfs" and not self.participating:
                    amount = cents(amount * NON_PARTICIPATING_RATE)
                if payer.pricing == "percent-of-mpfs":
                    assert payer.percent is not None
                    amount = cents(amount * payer.percent / HUNDRED)
                allowed = Span.of(amount)
        elif payer.pricing == "per-unit":
            assert payer.unit_low is not None and payer.unit_high is not None
            allowed = Span(cents(payer.unit_low * paid_units), cents(payer.unit_high * paid_units))
        elif payer.pricing == "per-code":
            rate = payer.per_code.get(code)
            if rate is not None:
                allowed = Span.of(cents(rate * paid_units))
        if allowed is None:
            return LinePrice(ZERO, ZERO, ZERO, priced=False)
        share_rate = period.assistant_rate
        if assistant and share_rate != 1:
            allowed = allowed.map(lambda a: cents(a * share_rate))
        coinsurance = allowed.map(lambda a: cents(a * payer.coinsurance))
        share = Span(allowed.low - coinsurance.low, allowed.high - coinsurance.high)
        cut = share.map(lambda a: cents(a * payer.sequestration))
        pays = Span(share.low - cut.low, share.high - cut.high)
        return LinePrice(allowed, pays, coinsurance)
