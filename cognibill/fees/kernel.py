"""The money of billed lines in integer cents, for the columnar engine (RULES.md §8).

The same cents, line by line, as ``cognibill.fees.batch.BatchPricer`` (which mirrors
``estimate_visit``), computed over frames: the fee tables are read once per *distinct* value
(fee period, locality, setting, code) into small frames and joined to the lines; everything per
line is integer arithmetic on cents and integer rate numerators over one power of ten ``DEN``
(basis points, or finer when a profile's rates have more decimals), rounded half up as
``(cents * rate + DEN // 2) // DEN``. Never floats, never polars Decimal (it rounds half to even).

API::

    pricer = Pricer(payers, facility=None, locality=None, participating=None)  # once per run
    pricer.price(lines, visits) -> lines + allowed_lo, allowed_hi, payer_lo, payer_hi,
                                   patient_lo, patient_hi (Int64 cents, same row order)
    pricer.visit_totals(priced, visits) -> [visit, the six columns summed] (every visit)
    pricer.unit_values(wanted, visits) -> [visit, code, value_cents]
    pricer.data_versions(visits) -> [visit, data_version]
    pricer.explain(lines, visits) -> [Estimate] (one per visit: the money of ``price`` with the
                                   steps, notes and trace of the old ``estimate_visit``)

``lines``: ``visit``, ``code``, ``units``, ``assistant`` (CQ/CO; null = False), any other
columns (kept), in line order within each visit. ``visits``: ``visit``, ``date``,
``place_of_service``, ``payer_id`` (a key of ``payers``). Every visit of ``visits`` is priced
as ``BatchPricer.price`` would (a visit without lines too, for its errors); ``lo == hi`` for an
exact amount; a line with no fee (no RVUs, carrier-priced, no contracted rate) is 0 in all six,
as the old ``LinePrice`` of an unpriced line; a line of 0 units is 0. The old visit totals are
the sums of the lines (unpriced lines are 0), which ``visit_totals`` gives.

``EntryError``, as the old pricer raises it for the first visit (in ``visits`` order) that has
one, each visit's errors in the old order: negative units (the first such line), a place of
service that is not a 2-digit CMS code, a locality that does not resolve on the date (fee
schedule payers only). A ``payer_id`` missing from ``payers`` or a line whose visit is not in
``visits`` is a ``ValueError`` (a caller's bug).

How the dates are shared: every date-dependent lookup of the old code (``FeeSchedule.rvu``,
``.locality``, ``.conversion_factor``, ``PayerProfile.assistant_rate_on``) only compares the
date with row edges, calendar-year starts and, in a gap between releases, the midpoint between
the release before and the one after ("nearest release of the same year"). Between two
consecutive such *critical dates* every lookup gives the same row, so each run of dates (a
segment) is looked up once, with the old functions themselves, at one of its dates.
"""

from __future__ import annotations

import datetime as dt
from bisect import bisect_right
from collections.abc import Callable, Iterable, Mapping, Sequence
from decimal import Decimal
from typing import Any

import polars as pl

from cognibill.engine.frames import MONEY, PRICED
from cognibill.errors import EntryError
from cognibill.fees.estimate import (
    LIMITING_CHARGE_RATE,
    NON_PARTICIPATING_RATE,
    ZERO,
    Estimate,
    LineEstimate,
    Span,
    UnitFee,
    is_facility,
    unit_fee,
)
from cognibill.fees.estimate import _no_rvu_reason as no_rvu_reason
from cognibill.fees.schedule import Dated, FeeSchedule, Locality, Rvu, load_schedule, rvu_rows
from cognibill.payers import PayerProfile

STEPS = (
    "__i", "visit", "units", "assistant", "cap", "paid", "reduced", "full", "f", "r",
    "mpfs_full", "mpfs_np", "mpfs", "lo", "hi", "asst",
)  # fmt: skip
"""The kernel's intermediate columns that ``Pricer.explain`` reads, by line: units paid under the
caps, units reduced (MPPR) and the line whose unit is paid in full, the unit fee ``f`` and the
reduced one ``r`` (cents), the fee-schedule amount before and after the non-participating rate
and the percent of the MPFS, the allowed amount before CQ/CO (``lo``/``hi``), the CQ/CO rate."""

_MPFS = ("mpfs", "percent-of-mpfs")
_KIND = {"mpfs": 0, "per-unit": 1, "per-code": 2, "percent-of-mpfs": 3}
_MIN_DIGITS = 4
"""Rates are basis points at least (0.85 -> 8500 / 10000)."""
_MAX_DIGITS = 9
"""More decimals than this in a rate could overflow Int64 cents x numerators."""


def _digits(value: Decimal) -> int:
    """Decimal places ``value`` needs (0.850 -> 2, 110 -> 0)."""
    exponent = value.normalize().as_tuple().exponent
    return -exponent if isinstance(exponent, int) and exponent < 0 else 0


def _scaled(value: Decimal, scale: int) -> int:
    """``value x scale`` as an exact integer."""
    number = value * scale
    whole = int(number)
    if number != whole:  # pragma: no cover - the scale is chosen from the digits
        raise ValueError(f"{value} is not a multiple of 1/{scale}")
    return whole


def _edges(rows: Sequence[Any], points: set[dt.date], *, nearest: bool = True) -> None:
    """The dates where ``FeeSchedule._choose`` over ``rows`` may change its choice: each row's
    first day and the day after its last, and between a row that ends and a later one that
    starts in the same year, the first day nearer the later one (ties go to the earlier)."""
    for row in rows:
        points.add(row.effective_from)
        if row.effective_to < dt.date.max:
            points.add(row.effective_to + dt.timedelta(days=1))
    for a in rows if nearest else ():
        for b in rows:
            if a.year == b.year and a.effective_to < b.effective_from:
                middle = (a.effective_to.toordinal() + b.effective_from.toordinal()) // 2
                points.add(dt.date.fromordinal(middle + 1))


class _Payer:
    """One profile's constants as integers over the pricer's ``DEN``."""

    __slots__ = (
        "asst_from",
        "before",
        "caps",
        "coins",
        "facility",
        "kind",
        "mppr",
        "nonpar",
        "pct",
        "per_code",
        "profile",
        "query",
        "seq",
        "uhi",
        "ulo",
        "uses_mpfs",
    )

    def __init__(
        self, profile: PayerProfile, den: int, locality: str | None, participating: bool | None
    ) -> None:
        self.profile = profile
        self.kind = _KIND[profile.pricing]
        self.uses_mpfs = profile.pricing in _MPFS
        self.query = locality if locality is not None else profile.locality
        par = profile.participating if participating is None else participating
        self.nonpar = (
            _scaled(NON_PARTICIPATING_RATE, den) if (profile.pricing == "mpfs" and not par) else den
        )
        self.pct = (
            _scaled(profile.percent / 100, den)
            if profile.pricing == "percent-of-mpfs" and profile.percent is not None
            else den
        )
        self.mppr = profile.multiple_procedure_reduction and self.uses_mpfs
        self.before = profile.assistant_order == "before-mppr"
        self.coins = _scaled(profile.coinsurance, den)
        self.seq = _scaled(profile.sequestration, den)
        self.ulo = None if profile.unit_low is None else _scaled(profile.unit_low * 100, den)
        self.uhi = None if profile.unit_high is None else _scaled(profile.unit_high * 100, den)
        self.per_code = {c: _scaled(r * 100, den) for c, r in profile.per_code.items()}
        self.caps = dict(profile.daily_caps)
        self.facility = profile.facility
        self.asst_from = profile.assistant_rate_from


def _rates(profile: PayerProfile) -> Iterable[Decimal]:
    """Every rate of a profile the kernel turns into a numerator (for the common scale)."""
    yield profile.coinsurance
    yield profile.sequestration
    yield profile.assistant_rate
    if profile.percent is not None:
        yield profile.percent / 100
    for amount in (profile.unit_low, profile.unit_high, *profile.per_code.values()):
        if amount is not None:
            yield amount * 100


class Pricer:
    """``BatchPricer``'s money for every payer of a run, over frames (see the module docstring).

    ``facility``, ``locality``, ``participating`` and ``qualifying_apm`` mean what they mean to
    ``BatchPricer`` (run options, the same for every payer); ``schedule`` defaults to
    ``load_schedule()``. Built once per run: the lookups of each segment of dates are kept.
    """

    def __init__(
        self,
        payers: Mapping[str, PayerProfile],
        *,
        facility: bool | None,
        locality: str | None,
        participating: bool | None,
        qualifying_apm: bool = False,
        schedule: FeeSchedule | None = None,
    ) -> None:
        digits = max(
            [_MIN_DIGITS, _digits(NON_PARTICIPATING_RATE), _digits(LIMITING_CHARGE_RATE)]
            + [_digits(rate) for profile in payers.values() for rate in _rates(profile)]
        )
        if digits > _MAX_DIGITS:
            raise ValueError(f"a payer rate has more than {_MAX_DIGITS} decimals")
        self.den = 10**digits
        """The denominator of every rate numerator (10000: basis points)."""
        self.facility = facility
        self.participating = participating
        self.qualifying_apm = qualifying_apm
        self._schedule = schedule
        self._ids = list(payers)
        self._payers = [_Payer(payers[i], self.den, locality, participating) for i in self._ids]
        self._points: list[dt.date] | None = None
        self._cf: dict[dt.date, Decimal] = {}
        self._where: dict[tuple[str | None, dt.date], Locality | EntryError] = {}
        self._rvu: dict[tuple[str, dt.date], Rvu | None] = {}
        self._fees: dict[tuple[object, ...], UnitFee | None] = {}
        self._pos: dict[str | None, bool | EntryError | None] = {}
        self._version: str | None = None
        self._call_errors: list[EntryError] = []
        """Locality errors met by the current call (the key table numbers them from 1)."""
        self._fee_inputs: list[tuple[Locality, Decimal, bool, dt.date, dt.date]] = []
        self._visit_places = pl.Series([], dtype=pl.String)

    # -- the fee tables, per distinct value --------------------------------------------------

    @property
    def schedule(self) -> FeeSchedule:
        if self._schedule is None:
            self._schedule = load_schedule()
        return self._schedule

    def _critical(self) -> list[dt.date]:
        """Every date where some lookup of the old code may change (module docstring)."""
        if self._points is None:
            points: set[dt.date] = set()
            schedule = self.schedule
            years: set[int] = set()
            if any(p.uses_mpfs for p in self._payers):
                for rows in rvu_rows(schedule).values():
                    _edges(rows, points)
                    years.update(r.year for r in rows)
                factors = schedule._conversion_factors  # the rows conversion_factor reads
                _edges(factors, points, nearest=False)  # no nearest-release choice
                years.update(c.effective_from.year for c in factors)
                if any(p.uses_mpfs and not _national(p.query) for p in self._payers):
                    by_id: dict[str, list[Locality]] = {}
                    for loc in schedule._localities:  # the rows locality() reads
                        by_id.setdefault(loc.id, []).append(loc)
                        years.add(loc.year)
                    for locs in by_id.values():
                        _edges(locs, points)
            for p in self._payers:
                if p.asst_from is not None:
                    points.add(p.asst_from)
            years.update(d.year for d in points)
            if years:  # _choose and _locality_year also look at the calendar year
                points.update(dt.date(y, 1, 1) for y in range(min(years), max(years) + 2))
            self._points = sorted(points)
        return self._points

    def _segment_starts(self, days: list[dt.date]) -> list[dt.date]:
        """The first critical date at or before each day (``date.min`` before the first)."""
        points = self._critical()
        out = []
        for day in days:
            i = bisect_right(points, day)
            out.append(points[i - 1] if i else dt.date.min)
        return out

    def _conversion_factor(self, start: dt.date, day: dt.date) -> Decimal:
        found = self._cf.get(start)
        if found is None:
            found = self._cf[start] = self.schedule.conversion_factor(
                day, qualifying_apm=self.qualifying_apm
            ).value
        return found

    def _locality(self, query: str | None, start: dt.date, day: dt.date) -> Locality | EntryError:
        key = (query, start)
        found = self._where.get(key)
        if found is None:
            try:
                found = self.schedule.locality(query, day).value
            except EntryError as exc:
                found = exc
            self._where[key] = found
        return found

    def _rvu_row(self, code: str, start: dt.date, day: dt.date) -> Rvu | None:
        key = (code, start)
        if key not in self._rvu:
            dated = self.schedule.rvu(code, day)
            self._rvu[key] = None if dated is None else dated.value
        return self._rvu[key]

    def _fee(self, rvu: Rvu, where: Locality, cf: Decimal, facility: bool) -> UnitFee | None:
        key = (rvu, where.work, where.pe, where.mp, cf, facility)
        if key not in self._fees:
            self._fees[key] = unit_fee(rvu, where, cf, facility) if rvu.priced else None
        return self._fees[key]

    def _setting_of(self, place: str | None) -> bool | EntryError | None:
        if place not in self._pos:
            try:
                self._pos[place] = is_facility(place)
            except EntryError as exc:
                self._pos[place] = exc
        return self._pos[place]

    # -- pricing -----------------------------------------------------------------------------

    def price(self, lines: pl.DataFrame, visits: pl.DataFrame) -> pl.DataFrame:
        """``lines`` with the six money columns (module docstring) and ``limiting`` (the
        limiting charge in cents where it applies, else null), in the same row order."""
        money = self._money(lines, visits)
        return lines.with_columns(money.get_column(name) for name in PRICED)

    def visit_totals(self, priced: pl.DataFrame, visits: pl.DataFrame) -> pl.DataFrame:
        """The old ``VisitPrice`` totals: the six columns of ``price``'s output summed per
        visit, for every visit of ``visits`` (0 for one without lines), in ``visits`` order."""
        sums = priced.group_by("visit").agg(pl.col(name).sum() for name in MONEY)
        return (
            visits.select("visit")
            .join(sums, on="visit", how="left", maintain_order="left")
            .with_columns(pl.col(name).fill_null(0).cast(pl.Int64) for name in MONEY)
        )

    def unit_values(self, wanted: pl.DataFrame, visits: pl.DataFrame) -> pl.DataFrame:
        """``[visit, code, value_cents]``: what one unit of ``code`` is allowed on the visit's
        date and place for its payer (low end of a range), as ``BatchPricer.unit_value``; null
        when unpriced. Each row of ``wanted`` is priced alone (one line of 1 unit)."""
        asked = wanted.select("visit", "code").with_row_index("__w")
        alone = (
            asked.join(
                visits.select("visit", "date", "place_of_service", "payer_id"),
                on="visit",
                how="left",
                maintain_order="left",
            )
            .drop("visit")
            .rename({"__w": "visit"})
        )
        one = alone.select(
            "visit", "code", pl.lit(1, pl.Int64).alias("units"), pl.lit(False).alias("assistant")
        )
        money = self._money(one, alone.select("visit", "date", "place_of_service", "payer_id"))
        value = money.select(pl.when("priced").then("allowed_lo").cast(pl.Int64)).to_series()
        return asked.select("visit", "code").with_columns(value.alias("value_cents"))

    def explain(self, lines: pl.DataFrame, visits: pl.DataFrame) -> list[Estimate]:
        """Each visit's estimate explained, in ``visits`` order: the old ``Estimate`` with its
        per-line steps, notes (where each number came from, fallbacks) and trace.

        The money is the kernel's own: the intermediate columns of one ``_money`` pass (units
        paid under the caps, units reduced and the line paid in full, the unit fees, the MPFS
        amount before and after the non-participating rate and the percent, CQ/CO, coinsurance,
        sequestration, limiting charge), read back and worded. Only the words are added here:
        the RVUs and GPCIs of a fee's formula come from the same lookups the kernel makes, with
        their notes. Meant for a few visits (``cognibill units``); errors as ``price``.
        """
        frame = self._money(lines, visits, steps=True)
        codes = [c.strip().upper() for c in lines.get_column("code").cast(pl.String).to_list()]
        by_visit: dict[object, list[dict[str, Any]]] = {}
        for code, row in zip(codes, frame.to_dicts(), strict=True):
            by_visit.setdefault(row["visit"], []).append({**row, "code": code})
        out = []
        for visit in visits.select("visit", "date", "place_of_service", "payer_id").to_dicts():
            out.append(self._explain_visit(visit, by_visit.get(visit["visit"], [])))
        return out

    def _explain_visit(self, visit: dict[str, Any], rows: list[dict[str, Any]]) -> Estimate:
        payer = self._payer(visit["payer_id"])
        profile = payer.profile
        day: dt.date = visit["date"]
        schedule = self.schedule
        notes: list[str] = []
        fallback = False

        def note(text: str, fell_back: bool = False) -> None:
            nonlocal fallback
            if text not in notes:
                notes.append(text)
            fallback = fallback or fell_back

        place = visit["place_of_service"]
        by_pos = is_facility(place)
        if self.facility is not None:
            facility, why = self.facility, "as asked"
        elif by_pos is not None:
            facility, why = by_pos, f"place of service {place}"
        elif profile.facility is not None:
            facility, why = profile.facility, f"the {profile.id} profile"
        else:
            facility, why = False, "default, no place of service given"
        participating = profile.participating if self.participating is None else self.participating
        where: Dated[Locality] | None = None
        cf: Dated[Decimal] | None = None
        if payer.uses_mpfs:
            note(f"Fee data {schedule.version} (CMS PFS {schedule.covers}).")
            where = schedule.locality(payer.query, day)
            cf = schedule.conversion_factor(day, qualifying_apm=self.qualifying_apm)
            note(cf.note, cf.fallback)
            note(where.note, where.fallback)
        trace = [_describe(profile, where, cf, facility, why, participating, day)]
        if not participating and profile.pricing != "mpfs":
            trace.append(
                "Non-participating: the 95% rate and limiting charge are Medicare fee-schedule "
                f"rules; {profile.pricing} pricing is left as it is."
            )
        for row in rows:
            if row["cap"] is not None and row["paid"] < row["units"]:
                trace.append(
                    f"{row['code']}: {profile.name} pays at most {row['cap']} unit(s) a day; "
                    f"{row['units'] - row['paid']} unit(s) priced at $0."
                )
        fees: list[UnitFee | None] = []
        reasons: list[str] = []
        for row in rows:
            fee, reason = None, ""
            if payer.uses_mpfs:
                assert where is not None and cf is not None
                fee, reason = self._explained_fee(row["code"], day, where, cf, facility, note)
            fees.append(fee)
            reasons.append(reason)
        reduced = sum(row["reduced"] for row in rows)
        if reduced:
            full = next(row["code"] for row in rows if row["full"])
            trace.append(
                f"Multiple-procedure reduction (RULES.md §8): {full} "
                "has the highest PE of the day's MP-indicator-5 units and keeps one unit in full; "
                f"{reduced} other unit(s) are paid with 50% of their PE. Never 97129/97130."
            )
        priced = [
            _explained_line(profile, participating, facility, day, row, fee, reason)
            for row, fee, reason in zip(rows, fees, reasons, strict=True)
        ]
        for item in priced:
            trace.extend(item.steps)
        counted = [row for row, item in zip(rows, priced, strict=True) if item.priced]

        def total(low: str, high: str) -> Span:
            return Span(
                _dollars(sum(r[low] for r in counted)), _dollars(sum(r[high] for r in counted))
            )

        allowed = total("allowed_lo", "allowed_hi")
        patient = total("patient_lo", "patient_hi")
        share = total("s_lo", "s_hi")
        cut = total("cut_lo", "cut_hi")
        pays = total("payer_lo", "payer_hi")
        limiting = None
        if any(item.limiting_charge is not None for item in priced if item.priced):
            limiting = _dollars(
                sum(
                    r["limiting"]
                    for r, item in zip(rows, priced, strict=True)
                    if item.priced and item.limiting_charge is not None
                )
            )
        trace.append(
            f"Visit: allowed {allowed}; {profile.name} pays {pays}; patient owes {patient} "
            "(coinsurance, assuming the deductible is met)."
        )
        if profile.note:
            note(f"{profile.name}: {profile.note}")
        return Estimate(
            payer=profile,
            date=day,
            pricing=profile.pricing,
            facility=facility,
            participating=participating,
            locality=None if where is None else where.value,
            conversion_factor=None if cf is None else cf.value,
            lines=tuple(priced),
            allowed=allowed,
            patient_owes=patient,
            payer_share=share,
            sequestration=cut,
            payer_pays=pays,
            limiting_charge=limiting,
            notes=tuple(notes),
            trace=tuple(trace),
            data_version=schedule.version if payer.uses_mpfs else "payer profile",
            fallback=fallback,
        )

    def _explained_fee(
        self,
        code: str,
        day: dt.date,
        where: Dated[Locality],
        cf: Dated[Decimal],
        facility: bool,
        note: Callable[[str, bool], None],
    ) -> tuple[UnitFee | None, str]:
        """The unit fee behind a line's ``f`` (for its formula), or None with the reason."""
        found = self.schedule.rvu(code, day)
        if found is None:
            return None, no_rvu_reason(code)
        note(found.note, found.fallback)
        if not found.value.priced:
            status = found.value.status
            return None, f"{code}: CMS status {status} " + _UNPRICED.get(status, _UNPRICED["C"])
        return self._fee(found.value, where.value, cf.value, facility), ""

    def data_versions(self, visits: pl.DataFrame) -> pl.DataFrame:
        """``[visit, data_version]``: the old ``VisitPrice.data_version`` (the fee data version
        for a fee-schedule payer, ``payer profile`` otherwise)."""
        ids = visits.get_column("payer_id").unique().to_list()
        versions = [self._version_of(i) for i in ids]
        table = pl.DataFrame(
            {"payer_id": ids, "data_version": versions},
            schema={"payer_id": visits.schema["payer_id"], "data_version": pl.String},
        )
        return (
            visits.select("visit", "payer_id")
            .join(table, on="payer_id", how="left", maintain_order="left")
            .drop("payer_id")
        )

    def _version_of(self, payer_id: str | None) -> str:
        payer = self._payer(payer_id)
        if not payer.uses_mpfs:
            return "payer profile"
        if self._version is None:
            self._version = self.schedule.version
        return self._version

    def _payer(self, payer_id: str | None) -> _Payer:
        if payer_id not in self._ids:
            raise ValueError(f"no payer profile {payer_id!r} given to the pricer")
        return self._payers[self._ids.index(payer_id)]

    # -- the kernel --------------------------------------------------------------------------

    def _visit_keys(self, visits: pl.DataFrame) -> tuple[pl.Series, pl.DataFrame]:
        """Per visit (in ``visits`` order) its key index ``kidx`` into the key table, which
        holds per key (payer, date segment, setting) the payer's constants, the assistant rate
        on the date, the fee key, any locality error and whether the place is bad."""
        self._call_errors = []
        payer_ids = visits.get_column("payer_id").cast(pl.String)
        for i in payer_ids.unique().to_list():
            self._payer(i)
        p = payer_ids.cast(pl.Enum(self._ids)).to_physical().cast(pl.Int64)
        dates = visits.get_column("date").cast(pl.Date)
        if dates.null_count():
            raise ValueError("a visit has no date")
        day_no = dates.to_physical().cast(pl.Int64)
        days = sorted(dates.unique().to_list())
        starts = self._segment_starts(days)
        seg_day: list[dt.date] = []
        seg_start: list[dt.date] = []
        first = days[0].toordinal() if days else 0
        seg_at = [0] * ((days[-1].toordinal() - first + 1) if days else 0)
        for day, start in zip(days, starts, strict=True):
            if not seg_start or seg_start[-1] != start:
                seg_start.append(start)
                seg_day.append(day)
            seg_at[day.toordinal() - first] = len(seg_start) - 1
        offset = dt.date(1970, 1, 1).toordinal() - first  # polars days count from 1970
        seg = pl.Series(seg_at, dtype=pl.Int64).gather(day_no + offset)
        places_col = visits.get_column("place_of_service").cast(pl.String)
        places = [x for x in places_col.unique().to_list() if x is not None]
        place_no = places_col.cast(pl.Enum(places)).to_physical().cast(pl.Int64)
        place_no = place_no.fill_null(len(places))
        settings = [self._setting_of(x) for x in [*places, None]]
        by_pos = pl.Series([s if isinstance(s, bool) else None for s in settings], dtype=pl.Boolean)
        bad_pos = pl.Series([isinstance(s, EntryError) for s in settings], dtype=pl.Boolean)
        if self.facility is not None:
            chosen = pl.Series([self.facility] * len(p), dtype=pl.Boolean)
        else:
            payer_fac = pl.Series([x.facility is True for x in self._payers], dtype=pl.Boolean)
            chosen = by_pos.gather(place_no).fill_null(payer_fac.gather(p))
        uses = pl.Series([x.uses_mpfs for x in self._payers], dtype=pl.Boolean)
        fac = (chosen & uses.gather(p)).cast(pl.Int64)
        nseg = len(seg_start)
        k = ((p * nseg + seg) * 2 + fac) * 2 + bad_pos.gather(place_no).cast(pl.Int64)
        keys = k.unique().sort().to_list()
        dense = [0] * ((keys[-1] + 1) if keys else 0)
        for i, key in enumerate(keys):
            dense[key] = i
        kidx = pl.Series(dense, dtype=pl.Int64).gather(k)
        names = (
            "fkey", "kind", "mppr", "before", "nonpar", "pct", "coins", "seq", "ulo", "uhi",
            "asst", "p", "loc_error", "pos_error",
        )  # fmt: skip
        rows: dict[str, list[object]] = {name: [] for name in names}
        fkeys: dict[tuple[object, ...], int] = {}
        self._fee_inputs = []
        for key in keys:
            rest, bad = divmod(key, 2)
            rest, facility = divmod(rest, 2)
            payer_no, segment = divmod(rest, nseg)
            payer = self._payers[payer_no]
            start, day = seg_start[segment], seg_day[segment]
            fkey = None
            loc_error = None
            if payer.uses_mpfs:
                where = self._locality(payer.query, start, day)
                if isinstance(where, EntryError):
                    self._call_errors.append(where)
                    loc_error = len(self._call_errors)
                else:
                    cf = self._conversion_factor(start, day)
                    fk = (where.work, where.pe, where.mp, cf, bool(facility), start)
                    fkey = fkeys.get(fk)
                    if fkey is None:
                        fkey = fkeys[fk] = len(self._fee_inputs)
                        self._fee_inputs.append((where, cf, bool(facility), start, day))
            values = (
                fkey, payer.kind, payer.mppr, payer.before, payer.nonpar, payer.pct,
                payer.coins, payer.seq, payer.ulo, payer.uhi,
                _scaled(payer.profile.assistant_rate_on(day), self.den), payer_no, loc_error,
                bool(bad),
            )  # fmt: skip
            for name, value in zip(names, values, strict=True):
                rows[name].append(value)
        schema = {name: pl.Int64 for name in names} | {
            "mppr": pl.Boolean,
            "before": pl.Boolean,
            "pos_error": pl.Boolean,
        }
        table = (
            pl.DataFrame(rows, schema=schema)
            .with_row_index("kidx")
            .with_columns(pl.col("kidx").cast(pl.Int64))
        )
        self._visit_places = places_col
        return kidx, table

    def _fee_table(self, codes: list[str]) -> pl.DataFrame:
        """Per fee key (locality, CF, setting, segment) and code: the unit fee ``f``, the
        reduced fee ``r`` (null when the reduction never applies) and the PE for the ranking."""
        rows: dict[str, list[object]] = {"fkey": [], "code": [], "f": [], "r": [], "pe": []}
        pes: list[Decimal] = []
        for fkey, (where, cf, facility, start, day) in enumerate(self._fee_inputs):
            for code in codes:
                rvu = self._rvu_row(code, start, day)
                if rvu is None:
                    continue
                fee = self._fee(rvu, where, cf, facility)
                if fee is None:
                    continue
                rows["fkey"].append(fkey)
                rows["code"].append(code)
                rows["f"].append(_scaled(fee.fee, 100))
                rows["r"].append(None if fee.reduced_fee is None else _scaled(fee.reduced_fee, 100))
                pes.append(fee.pe)
        scale = 10 ** max([0, *(_digits(pe) for pe in pes)])
        rows["pe"] = [_scaled(pe, scale) for pe in pes]
        return pl.DataFrame(
            rows,
            schema={
                "fkey": pl.Int64, "code": pl.String, "f": pl.Int64, "r": pl.Int64,
                "pe": pl.Int64,
            },
        )  # fmt: skip

    def _key_code_table(self, ktable: pl.DataFrame, codes: pl.DataFrame) -> pl.DataFrame:
        """One row per (key, raw code), ordered so that row ``kidx * len(codes) + rid`` is
        key ``kidx`` and raw code ``rid``: everything a line needs, found by position."""
        known = codes.get_column("code").drop_nulls().unique().sort().to_list()
        fees = self._fee_table(known)
        per_code = pl.DataFrame(
            [
                (p, c, rate)
                for p, payer in enumerate(self._payers)
                for c, rate in payer.per_code.items()
            ],
            schema={"p": pl.Int64, "code": pl.String, "rate": pl.Int64},
            orient="row",
        )
        caps = pl.DataFrame(
            [(p, c, cap) for p, payer in enumerate(self._payers) for c, cap in payer.caps.items()],
            schema={"p": pl.Int64, "code": pl.String, "cap": pl.Int64},
            orient="row",
        )
        kc = (
            ktable.join(codes, how="cross")
            .join(fees, on=["fkey", "code"], how="left")
            .join(per_code, on=["p", "code"], how="left")
            .join(caps, on=["p", "code"], how="left")
            .sort("kidx", "rid")
            .with_columns(
                lo_rate=pl.when(pl.col("kind") == 1).then("ulo").otherwise("rate"),
                hi_rate=pl.when(pl.col("kind") == 1).then("uhi").otherwise("rate"),
            )
        )
        # the ranking of the procedure reduction: (PE x share, fee x share), share = the CQ/CO
        # rate for an assistant's line when CQ/CO comes first, else 1 (as _full_unit_line)
        den = self.den
        plain = kc.select(a=pl.col("pe") * den, b=pl.col("f") * den)
        shared = kc.select(a=pl.col("pe") * pl.col("asst"), b=pl.col("f") * pl.col("asst"))
        order = pl.concat([plain, shared]).drop_nulls().unique().sort("a", "b")
        order = order.with_row_index("rank", offset=1).with_columns(pl.col("rank").cast(pl.Int64))
        return kc.with_columns(
            rank_plain=plain.join(
                order, on=["a", "b"], how="left", maintain_order="left"
            ).get_column("rank"),
            rank_shared=shared.join(
                order, on=["a", "b"], how="left", maintain_order="left"
            ).get_column("rank"),
        )

    def _money(
        self, lines: pl.DataFrame, visits: pl.DataFrame, *, steps: bool = False
    ) -> pl.DataFrame:
        """The six money columns and ``priced``, one row per line in ``lines`` order.

        ``steps``: also every intermediate column (``STEPS``), for ``explain``."""
        den, half = self.den, self.den // 2
        kidx, ktable = self._visit_keys(visits)
        raw_codes = lines.get_column("code").cast(pl.String)
        raw = [c for c in raw_codes.unique().to_list() if c is not None]
        clean = [c.strip().upper() for c in raw]
        cid = {code: i for i, code in enumerate(sorted(set(clean)))}
        codes = pl.DataFrame(
            {
                "rid": range(len(raw) + 1),
                "code": [*clean, None],
                "cid": [*(cid[c] for c in clean), None],
            },
            schema={"rid": pl.Int64, "code": pl.String, "cid": pl.Int64},
        )
        rid = raw_codes.cast(pl.Enum(raw)).to_physical().cast(pl.Int64).fill_null(len(raw))
        line_kidx = kidx.gather(self._visit_positions(lines.get_column("visit"), visits))
        frame = pl.DataFrame(
            {
                "__i": pl.int_range(0, lines.height, dtype=pl.Int64, eager=True),
                "visit": lines.get_column("visit"),
                "units": lines.get_column("units").cast(pl.Int64),
                "assistant": lines.get_column("assistant").cast(pl.Boolean).fill_null(False),
                "kidx": line_kidx,
                "rid": rid,
            }
        )
        self._raise_first(frame, codes, kidx, ktable, visits)
        kc = self._key_code_table(ktable, codes)
        at = line_kidx * len(codes) + rid
        wanted = (
            "cid", "kind", "mppr", "before", "nonpar", "pct", "coins", "seq", "asst", "f", "r",
            "cap", "lo_rate", "hi_rate", "rank_plain", "rank_shared",
        )  # fmt: skip
        columns: list[pl.Expr | pl.Series] = []
        for name in wanted:
            column = kc.get_column(name)
            if column.n_unique() == 1:  # the same for every key and code: no gather
                columns.append(pl.lit(column[0], dtype=column.dtype).alias(name))
            else:
                columns.append(column.gather(at))
        frame = frame.with_columns(columns)
        units = pl.col("units")
        if frame.get_column("cap").is_not_null().any():
            frame = frame.with_columns(paid=self._capped(frame))
        else:
            frame = frame.with_columns(paid=units)
        paid = pl.col("paid")
        reducible = pl.col("mppr") & pl.col("r").is_not_null()
        if frame.get_column("mppr").any():
            low = 2**32  # line numbers fit below; the rank goes above
            rank = (
                pl.when(pl.col("assistant") & pl.col("before"))
                .then("rank_shared")
                .otherwise("rank_plain")
            )
            best = (
                frame.filter(reducible & (paid > 0))
                .group_by("visit")
                .agg((rank * low + (low - 1 - pl.col("__i"))).max().alias("score"))
                .select(low - 1 - pl.col("score") % low)
                .to_series()
            )
            is_full = pl.col("__i").is_in(best.implode()).cast(pl.Int64)
        else:
            is_full = pl.lit(0, pl.Int64)
        # each step materialised: a column used twice is computed once
        frame = frame.with_columns(reduced=pl.when(reducible).then(paid - is_full).otherwise(0))
        reduced = pl.col("reduced")

        def up(amount: pl.Expr | str, rate: str) -> pl.Expr:
            """``amount x rate / DEN`` rounded half up (every amount is 0 or more)."""
            amount = pl.col(amount) if isinstance(amount, str) else amount
            rounded: pl.Expr = (amount * pl.col(rate) + half) // den
            return rounded

        mpfs = pl.col("f") * (paid - reduced) + pl.col("r").fill_null(0) * reduced
        if steps:  # each step kept as a column of its own
            frame = frame.with_columns(mpfs_full=mpfs, full=is_full)
            frame = frame.with_columns(mpfs_np=up("mpfs_full", "nonpar"))
            frame = frame.with_columns(mpfs=up("mpfs_np", "pct"))
        else:
            frame = frame.with_columns(mpfs=mpfs)
            frame = frame.with_columns(mpfs=up(up("mpfs", "nonpar"), "pct"))
        flat = pl.col("kind").is_in([1, 2])
        frame = frame.with_columns(
            lo=pl.when(flat).then(up(paid, "lo_rate")).otherwise("mpfs"),
            hi=pl.when(flat).then(up(paid, "hi_rate")).otherwise("mpfs"),
        )
        assistant = pl.col("assistant")
        kept = [name for name in STEPS if name in frame.columns] if steps else []
        frame = frame.select(
            *kept,
            "coins",
            "seq",
            "nonpar",
            a_lo=pl.when(assistant).then(up("lo", "asst")).otherwise("lo"),
            a_hi=pl.when(assistant).then(up("hi", "asst")).otherwise("hi"),
            priced=pl.col("lo").is_not_null(),
        )
        frame = frame.with_columns(c_lo=up("a_lo", "coins"), c_hi=up("a_hi", "coins"))
        frame = frame.with_columns(
            s_lo=pl.col("a_lo") - pl.col("c_lo"), s_hi=pl.col("a_hi") - pl.col("c_hi")
        )
        # 115% of the allowed amount, where the 95% rate applies: Medicare fee-schedule pricing,
        # non-participating (RULES.md §7); null elsewhere
        limiting = (pl.col("a_lo") * _scaled(LIMITING_CHARGE_RATE, den) + half) // den
        frame = frame.with_columns(
            limiting=pl.when(pl.col("nonpar") < den).then(limiting),
            cut_lo=up("s_lo", "seq"),
            cut_hi=up("s_hi", "seq"),
        )
        return frame.select(
            *kept,
            *(("a_lo", "a_hi", "s_lo", "s_hi", "cut_lo", "cut_hi") if steps else ()),
            "limiting",
            allowed_lo=pl.col("a_lo").fill_null(0),
            allowed_hi=pl.col("a_hi").fill_null(0),
            payer_lo=(pl.col("s_lo") - up("s_lo", "seq")).fill_null(0),
            payer_hi=(pl.col("s_hi") - up("s_hi", "seq")).fill_null(0),
            patient_lo=pl.col("c_lo").fill_null(0),
            patient_hi=pl.col("c_hi").fill_null(0),
            priced=pl.col("priced"),
        )

    @staticmethod
    def _capped(frame: pl.DataFrame) -> pl.Series:
        """Units paid under the daily caps: per visit and code, across lines in order, the
        units left of the cap (``BatchPricer._caps``), by a cumulative sum over the capped
        lines sorted by (visit, code) with line order kept."""
        units = pl.col("units")
        capped = (
            frame.filter(pl.col("cap").is_not_null())
            .select("__i", "visit", "cid", "units", "cap")
            .sort("visit", "cid", "__i")
            .with_columns(total=units.cum_sum())
            .with_columns(
                start=(pl.col("visit") != pl.col("visit").shift())
                | (pl.col("cid") != pl.col("cid").shift())
            )
            .with_columns(
                base=pl.when(pl.col("start").fill_null(True))
                .then(pl.col("total") - units)
                .forward_fill()
            )
            .select(
                "__i",
                paid=pl.min_horizontal(
                    units,
                    (pl.col("cap") - (pl.col("total") - units - pl.col("base"))).clip(
                        lower_bound=0
                    ),
                ),
            )
        )
        return (
            frame.select("__i", "units")
            .join(capped, on="__i", how="left", maintain_order="left")
            .select(pl.coalesce("paid", "units"))
            .to_series()
        )

    @staticmethod
    def _visit_positions(line_visits: pl.Series, visits: pl.DataFrame) -> pl.Series:
        """Each line's row in ``visits`` (by position when the ids count up from the first,
        as the visits stage numbers them; else by a join)."""
        ids = visits.get_column("visit").cast(pl.Int64)
        wanted = line_visits.cast(pl.Int64)
        n = ids.len()
        if n and wanted.len():
            first = ids[0]
            if (ids == pl.int_range(first, first + n, dtype=pl.Int64, eager=True)).all():
                low, high = wanted.min(), wanted.max()
                assert isinstance(low, int) and isinstance(high, int)
                if low < first or high >= first + n or wanted.null_count():
                    raise ValueError("a line's visit is not in the visits frame")
                positions: pl.Series = wanted - first
                return positions
        found = (
            wanted.to_frame("visit")
            .join(
                ids.to_frame("visit").with_row_index("at"),
                on="visit",
                how="left",
                maintain_order="left",
            )
            .get_column("at")
        )
        if found.null_count():
            raise ValueError("a line's visit is not in the visits frame")
        return found.cast(pl.Int64)

    def _raise_first(
        self,
        frame: pl.DataFrame,
        codes: pl.DataFrame,
        kidx: pl.Series,
        ktable: pl.DataFrame,
        visits: pl.DataFrame,
    ) -> None:
        """The old pricer's error for the first visit that has one (module docstring)."""
        negative = frame.filter(pl.col("units") < 0)
        bad_keys = ktable.filter(pl.col("loc_error").is_not_null() | pl.col("pos_error"))
        if not (negative.height or bad_keys.height):
            return
        first_negative = (
            negative.with_columns(__v=self._visit_positions(negative.get_column("visit"), visits))
            .join(codes, on="rid", how="left")
            .sort("__i")
            .unique(subset="__v", keep="first")
            .select("__v", "code", neg_units="units")
        )
        bad = (
            pl.DataFrame(
                {"__v": pl.int_range(0, kidx.len(), dtype=pl.Int64, eager=True), "kidx": kidx}
            )
            .join(ktable.select("kidx", "loc_error", "pos_error"), on="kidx", how="left")
            .join(first_negative, on="__v", how="left")
            .filter(
                pl.col("neg_units").is_not_null()
                | pl.col("pos_error")
                | pl.col("loc_error").is_not_null()
            )
            .sort("__v")
            .row(0, named=True)
        )
        if bad["neg_units"] is not None:
            raise EntryError(f"{bad['code']}: units cannot be negative ({bad['neg_units']})")
        if bad["pos_error"]:
            error = self._pos[self._visit_places[bad["__v"]]]
            assert isinstance(error, EntryError)
            raise EntryError(error.message, hint=error.hint)
        error = self._call_errors[bad["loc_error"] - 1]
        raise EntryError(error.message, hint=error.hint)


_UNPRICED = {
    "C": "(carrier-priced), no national fee; ask the contractor",
    "R": "(restricted coverage), no national fee; ask the contractor",
    "B": "(bundled), no separate Medicare payment",
    "I": "(not valid for Medicare), no fee: Medicare uses another code",
    "N": "(non-covered by Medicare), no fee",
    "X": "(excluded from the fee schedule by statute), no fee",
    "E": "(excluded from the fee schedule by regulation), no fee",
}
"""Why a code with RVU rows has no fee, by CMS status (data README; RULES.md §4)."""


def _national(query: str | None) -> bool:
    """The locality query means national (as ``FeeSchedule.locality`` reads it)."""
    return query is None or " ".join(query.strip().lower().split()) in ("", "national", "none")


def _dollars(cents: int) -> Decimal:
    """Integer cents as a two-place ``Decimal`` (the old estimate's amounts)."""
    return Decimal(cents).scaleb(-2)


def _describe(
    profile: PayerProfile,
    where: Dated[Locality] | None,
    cf: Dated[Decimal] | None,
    facility: bool,
    why: str,
    participating: bool,
    day: dt.date,
) -> str:
    how = {
        "mpfs": "Medicare physician fee schedule",
        "per-unit": f"a flat rate per unit (${profile.unit_low}–${profile.unit_high})",
        "per-code": "contracted rates per code",
        "percent-of-mpfs": f"{profile.percent}% of the Medicare physician fee schedule",
    }[profile.pricing]
    parts = [f"{profile.name} ({profile.id}): {how}"]
    if where is not None and cf is not None:
        parts.append(where.value.label)
        parts.append(f"{'facility' if facility else 'non-facility'} ({why})")
        if profile.pricing == "mpfs":
            parts.append("participating" if participating else "non-participating")
        parts.append(f"CF {cf.value} for {day.isoformat()}")
    return ", ".join(parts) + "."


def _explained_line(
    profile: PayerProfile,
    participating: bool,
    facility: bool,
    day: dt.date,
    row: dict[str, Any],
    fee: UnitFee | None,
    why_unpriced: str,
) -> LineEstimate:
    """One line's estimate from its row of the kernel's steps (``STEPS`` and the money)."""
    code: str = row["code"]
    paid: int = row["paid"]
    reduced: int = row["reduced"]
    steps: list[str] = []
    per_unit = ZERO
    allowed: Span | None = None
    if profile.pricing in _MPFS:
        if fee is not None and row["f"] is not None:
            per_unit = Span.of(_dollars(row["f"]))
            setting = "facility" if fee.facility_pe else "non-facility"
            if facility and not fee.facility_pe:
                setting += " (facility PE is NA for this code: priced non-facility everywhere)"
            steps.append(f"{code}: fee per unit, {setting}: {fee.formula()}.")
            full_units = paid - reduced
            amount = _dollars(row["mpfs_full"])
            unit = _dollars(row["f"])
            if reduced:
                cut = _dollars(row["r"])
                steps.append(
                    f"{code}: multiple-procedure reduction, {reduced} unit(s) with 50% of "
                    f"the PE at ${cut} (the day's highest-PE unit is paid in full): "
                    + (f"{full_units} × ${unit} + " if full_units else "")
                    + f"{reduced} × ${cut} = ${amount}."
                )
            else:
                steps.append(f"{code}: {paid} × ${unit} = ${amount}.")
            if profile.pricing == "mpfs" and not participating:
                steps.append(
                    f"{code}: non-participating, 95% of ${amount} = ${_dollars(row['mpfs_np'])}."
                )
            if profile.pricing == "percent-of-mpfs":
                steps.append(
                    f"{code}: {profile.percent}% of the MPFS ${_dollars(row['mpfs_np'])} = "
                    f"${_dollars(row['mpfs'])}."
                )
            allowed = Span.of(_dollars(row["mpfs"]))
    elif profile.pricing == "per-unit":
        assert profile.unit_low is not None and profile.unit_high is not None
        per_unit = Span(profile.unit_low, profile.unit_high)
        allowed = Span(_dollars(row["lo"]), _dollars(row["hi"]))
        steps.append(f"{code}: {paid} × {per_unit} per unit = {allowed}.")
    elif profile.pricing == "per-code":
        rate = profile.per_code.get(code)
        if rate is None or row["lo"] is None:
            why_unpriced = f"{code}: no rate in the {profile.id} profile, no fee"
        else:
            per_unit = Span.of(rate)
            allowed = Span.of(_dollars(row["lo"]))
            steps.append(f"{code}: {paid} × ${rate} contracted rate = {allowed}.")
    if allowed is None or not row["priced"]:
        steps.append(f"{why_unpriced} (not counted in the totals).")
        return LineEstimate(
            code=code,
            units=row["units"],
            assistant=row["assistant"],
            priced=False,
            paid_units=paid,
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
    if row["assistant"]:
        rate = profile.assistant_rate_on(day)
        if rate != 1:
            before = allowed
            allowed = Span(_dollars(row["a_lo"]), _dollars(row["a_hi"]))
            steps.append(f"{code}: assistant (CQ/CO) at {rate:.0%}: {before} → {allowed}.")
        else:
            steps.append(f"{code}: assistant (CQ/CO), paid in full by {profile.name} on this date.")
    limiting: Decimal | None = None
    if profile.pricing == "mpfs" and not participating:
        limiting = _dollars(row["limiting"])
        steps.append(
            f"{code}: limiting charge 115% of ${allowed.low} = ${limiting} (the most a "
            "non-participating provider not taking assignment may charge)."
        )
    coinsurance = Span(_dollars(row["patient_lo"]), _dollars(row["patient_hi"]))
    share = Span(_dollars(row["s_lo"]), _dollars(row["s_hi"]))
    cut_span = Span(_dollars(row["cut_lo"]), _dollars(row["cut_hi"]))
    pays = Span(_dollars(row["payer_lo"]), _dollars(row["payer_hi"]))
    steps.append(
        f"{code}: allowed {allowed}; patient {profile.coinsurance:.0%} {coinsurance}, "
        f"payer share {share}"
        + (
            f", sequestration {profile.sequestration:.0%} −{cut_span}, payer pays {pays}."
            if profile.sequestration
            else "."
        )
    )
    return LineEstimate(
        code=code,
        units=row["units"],
        assistant=row["assistant"],
        priced=True,
        paid_units=paid,
        fee=per_unit,
        reduced_units=reduced,
        allowed=allowed,
        patient_owes=coinsurance,
        payer_share=share,
        sequestration=cut_span,
        payer_pays=pays,
        limiting_charge=limiting,
        unit_fee=fee,
        steps=tuple(steps),
    )
