"""The Medicare fee schedule data: RVUs, GPCIs, conversion factors, thresholds by date of service.

Everything is package data under ``cognibill/data/fees/`` (built by ``scripts/build_fee_data.py``),
read lazily and only as far as a lookup needs: a national estimate never opens the GPCI file.
Lookups are by **date of service**. A date with no CMS release on file falls back to the nearest
release of the same year, and a year with no data at all to the last (or first) known year; every
lookup returns a note saying which release it used and why (RULES.md §8: "never bridge years
silently"). A folder of newer data can replace the built-in one (``COGNIBILL_FEE_DATA``).
"""

from __future__ import annotations

import csv
import os
import tomllib
from collections.abc import Callable, Iterable, Sequence
from datetime import date
from decimal import Decimal, InvalidOperation
from functools import cache, cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Generic, NamedTuple, Protocol, TypeVar

if TYPE_CHECKING:
    from importlib.resources.abc import Traversable

from cognibill.errors import EntryError, InputError

FEE_DATA_ENV = "COGNIBILL_FEE_DATA"
"""Environment variable naming a folder of fee data that replaces the built-in one."""

NATIONAL_ID = "national"
_ONE = Decimal(1)

_RELEASE_NAMES = {
    "A": "January release",
    "AR": "revised January release",
    "B": "April release",
    "C": "July release",
    "D": "October release",
}


def release_label(release: str) -> str:
    """A CMS release id in words: ``RVU26C`` -> ``2026 July release (RVU26C)``."""
    try:
        year = 2000 + int(release[3:5])
    except ValueError:
        return release
    return f"{year} {_RELEASE_NAMES.get(release[5:], 'release')} ({release})"


_T = TypeVar("_T")


class Dated(NamedTuple, Generic[_T]):
    """A value looked up by date of service, with a plain-language note on where it came from."""

    value: _T
    note: str
    fallback: bool = False
    """True when no data governs the date itself and a neighbouring release or year was used."""


class Rvu(NamedTuple):
    """One code's relative value units for a date range (one row of ``rvu.csv``).

    Data rows are named tuples, not dataclasses: immutable all the same, and far cheaper to
    define at start-up (style practice 14)."""

    code: str
    year: int
    effective_from: date
    effective_to: date
    releases: tuple[str, ...]
    status: str
    work: Decimal
    pe_nonfacility: Decimal
    pe_facility: Decimal
    mp: Decimal
    mp_indicator: int
    global_days: str
    facility_na: bool
    nonfacility_na: bool

    def uses_facility_pe(self, facility: bool) -> bool:
        """Whether a service in this setting is priced at the facility PE.

        Codes whose facility PE CMS marks NA (the "always therapy" codes) are priced at the
        non-facility PE in every setting (RULES.md §8); the reverse for non-facility NA.
        """
        if facility:
            return not self.facility_na
        return self.nonfacility_na

    def pe(self, facility: bool) -> Decimal:
        """The practice-expense RVU used in this setting."""
        return self.pe_facility if self.uses_facility_pe(facility) else self.pe_nonfacility

    @property
    def multiple_procedure_reduction(self) -> bool:
        """CMS MULT PROC indicator 5: the therapy multiple-procedure reduction applies."""
        return self.mp_indicator == 5

    @property
    def priced(self) -> bool:
        """Whether CMS publishes a fee: active and with RVUs (status C is carrier-priced)."""
        return self.status in ("A", "R", "T") and (self.work + self.pe_nonfacility + self.mp) > 0


class Locality(NamedTuple):
    """A Medicare payment locality's GPCIs for a date range (one row of ``gpci.csv``)."""

    id: str
    """CMS MAC-locality id, e.g. ``01112-05``; ``national`` for no locality adjustment."""
    mac: str
    locality: str
    name: str
    state: str
    year: int
    effective_from: date
    effective_to: date
    releases: tuple[str, ...]
    work: Decimal
    pe: Decimal
    mp: Decimal

    @property
    def national(self) -> bool:
        return self.id == NATIONAL_ID

    @property
    def label(self) -> str:
        """``10112-00 ALABAMA (AL)``, or ``national``."""
        if self.national:
            return "national (no locality adjustment)"
        return f"{self.id} {self.name} ({self.state})"

    @property
    def gpcis(self) -> str:
        """``1.000/0.869/0.575`` (work/PE/MP)."""
        return f"{self.work:.3f}/{self.pe:.3f}/{self.mp:.3f}"


def national(day: date) -> Locality:
    """The national locality: GPCI 1.000/1.000/1.000 (RULES.md §8)."""
    return Locality(
        id=NATIONAL_ID,
        mac="",
        locality="",
        name="NATIONAL",
        state="",
        year=day.year,
        effective_from=date(day.year, 1, 1),
        effective_to=date(day.year, 12, 31),
        releases=(),
        work=_ONE,
        pe=_ONE,
        mp=_ONE,
    )


class ConversionFactor(NamedTuple):
    """A conversion factor and the dates of service it governs."""

    effective_from: date
    effective_to: date
    value: Decimal
    qp_value: Decimal | None
    source: str


if TYPE_CHECKING:  # typing only: a Protocol class costs start-up time

    class _DatedRow(Protocol):
        @property
        def year(self) -> int: ...
        @property
        def effective_from(self) -> date: ...
        @property
        def effective_to(self) -> date: ...
        @property
        def releases(self) -> tuple[str, ...]: ...


_R = TypeVar("_R", bound="_DatedRow")


def _years_note(day: date, year: int) -> str:
    """Why another year's data stands in for ``day``'s year."""
    if year < day.year:
        return f"no data for {day.year}, last known year used"
    return f"no data for {day.year}, earliest known year used"


class FeeSchedule:
    """Lazy, read-only access to one folder of fee data."""

    def __init__(self, folder: Traversable | Path, *, name: str = "built-in fee data") -> None:
        self._folder = folder
        self.name = name
        self._rvu_cache: dict[str, tuple[Rvu, ...]] = {}

    # -- reading -----------------------------------------------------------------------------

    def _path(self, file: str) -> str:
        return (
            f"{self._folder}/{file}"
            if isinstance(self._folder, Path)
            else f"cognibill/data/fees/{file}"
        )

    def _text(self, file: str) -> str:
        try:
            return self._folder.joinpath(file).read_text("utf-8")
        except OSError as exc:
            raise InputError(
                self._path(file), f"cannot read fee data ({exc.strerror or exc})"
            ) from exc

    def _rows(self, file: str) -> tuple[list[str], list[tuple[int, list[str]]]]:
        """Header and ``(line, fields)`` of a CSV with ``#`` comment lines."""
        numbered = [
            (n, line)
            for n, line in enumerate(self._text(file).splitlines(), start=1)
            if line and not line.startswith("#")
        ]
        if not numbered:
            raise InputError(self._path(file), "no header row")
        parsed = list(csv.reader(line for _, line in numbered))
        header = parsed[0]
        return header, [(numbered[i][0], fields) for i, fields in enumerate(parsed) if i > 0]

    def _convert(
        self, file: str, line: int, header: list[str], fields: list[str], make: Callable[..., _T]
    ) -> _T:
        if len(fields) != len(header):
            raise InputError(
                self._path(file), f"expected {len(header)} fields, found {len(fields)}", line=line
            )
        row = dict(zip(header, fields, strict=True))
        try:
            return make(row)
        except (KeyError, ValueError, InvalidOperation) as exc:
            raise InputError(self._path(file), f"bad value ({exc})", line=line) from exc

    @cached_property
    def _manifest(self) -> dict[str, object]:
        try:
            return tomllib.loads(self._text("manifest.toml"))
        except tomllib.TOMLDecodeError as exc:
            raise InputError(self._path("manifest.toml"), str(exc)) from exc

    @property
    def version(self) -> str:
        """The data version string (changes whenever any data file does)."""
        return str(self._manifest.get("version", "unknown"))

    @property
    def covers(self) -> str:
        """The CMS releases the data spans, e.g. ``RVU20A..RVU26C``."""
        return str(self._manifest.get("covers", ""))

    @cached_property
    def _release_starts(self) -> dict[str, date]:
        raw = self._manifest.get("releases", {})
        return (
            {k: v for k, v in raw.items() if isinstance(v, date)} if isinstance(raw, dict) else {}
        )

    @cached_property
    def _rvu_index(self) -> tuple[list[str], dict[str, list[tuple[int, list[str]]]]]:
        header, rows = self._rows("rvu.csv")
        index: dict[str, list[tuple[int, list[str]]]] = {}
        for line, fields in rows:
            if fields:
                index.setdefault(fields[0].upper(), []).append((line, fields))
        return header, index

    def _rvus(self, code: str) -> tuple[Rvu, ...]:
        code = code.strip().upper()
        if code not in self._rvu_cache:
            header, index = self._rvu_index
            self._rvu_cache[code] = tuple(
                sorted(
                    (
                        self._convert("rvu.csv", line, header, f, _make_rvu)
                        for line, f in index.get(code, [])
                    ),
                    key=lambda r: r.effective_from,
                )
            )
        return self._rvu_cache[code]

    @cached_property
    def _localities(self) -> tuple[Locality, ...]:
        header, rows = self._rows("gpci.csv")
        return tuple(self._convert("gpci.csv", line, header, f, _make_locality) for line, f in rows)

    @cached_property
    def _conversion_factors(self) -> tuple[ConversionFactor, ...]:
        header, rows = self._rows("conversion_factors.csv")
        return tuple(
            sorted(
                (self._convert("conversion_factors.csv", n, header, f, _make_cf) for n, f in rows),
                key=lambda c: c.effective_from,
            )
        )

    @cached_property
    def _thresholds(self) -> tuple[dict[int, Decimal], Decimal]:
        try:
            raw = tomllib.loads(self._text("thresholds.toml"))
            kx = {int(year): Decimal(str(amount)) for year, amount in raw.get("kx", {}).items()}
            return kx, Decimal(str(raw["review_threshold"]))
        except (tomllib.TOMLDecodeError, KeyError, ValueError, InvalidOperation) as exc:
            raise InputError(self._path("thresholds.toml"), f"bad thresholds ({exc})") from exc

    # -- dated choice ------------------------------------------------------------------------

    def _release_on(self, row: _DatedRow, day: date) -> str:
        """The release of a (possibly merged) row in force on ``day``."""
        current = row.releases[0] if row.releases else ""
        for release in row.releases:
            start = self._release_starts.get(release)
            if start is not None and start <= day:
                current = release
        return current

    def _choose(self, rows: Sequence[_R], day: date, what: str) -> tuple[_R, str, bool]:
        """The row for ``day`` (rows sorted by date), with its note and whether it is a fallback."""
        for row in rows:
            if row.effective_from <= day <= row.effective_to:
                return row, f"{what}: {release_label(self._release_on(row, day))}", False
        years = sorted({r.year for r in rows})
        if day.year in years:
            same = [r for r in rows if r.year == day.year]

            def distance(r: _R) -> tuple[int, int]:
                if r.effective_to < day:
                    return (day - r.effective_to).days, 0
                return (r.effective_from - day).days, 1

            row = min(same, key=distance)
            release = row.releases[-1] if row.effective_to < day else row.releases[0]
            return (
                row,
                f"{what}: {release_label(release)}, nearest release of the same year "
                f"(no CMS release on file for {day.isoformat()})",
                True,
            )
        later = [y for y in years if y < day.year]
        year = later[-1] if later else years[0]
        in_year = [r for r in rows if r.year == year]
        row = in_year[-1] if year < day.year else in_year[0]
        release = row.releases[-1] if year < day.year else row.releases[0]
        why = _years_note(day, year)
        return row, f"{what}: {release_label(release)}; {why}", True

    # -- public lookups ----------------------------------------------------------------------

    def has_code(self, code: str) -> bool:
        """Whether any year of the data has RVUs for ``code``."""
        return code.strip().upper() in self._rvu_index[1]

    def rvu(self, code: str, day: date) -> Dated[Rvu] | None:
        """The RVUs governing ``code`` on a date of service (None: no RVUs for the code at all)."""
        rows = self._rvus(code)
        if not rows:
            return None
        row, note, fallback = self._choose(rows, day, "RVUs")
        return Dated(row, note, fallback)

    def status(self, code: str, day: date) -> str | None:
        """CMS's status of ``code`` on a date of service (``A`` active, ``B`` bundled, ``I`` not
        valid for Medicare ...; data README), from the row ``rvu`` chooses (a gap falls back to
        the nearest release of the same year); None when the code has no RVU rows."""
        found = self.rvu(code, day)
        return None if found is None else found.value.status

    def codes_with_status(self, statuses: Iterable[str]) -> frozenset[str]:
        """The codes with at least one RVU row of one of ``statuses`` on any date."""
        wanted = set(statuses)
        return frozenset(
            code for code, rows in rvu_rows(self).items() if any(r.status in wanted for r in rows)
        )

    def conversion_factor(self, day: date, *, qualifying_apm: bool = False) -> Dated[Decimal]:
        """The conversion factor for a date of service (RULES.md §8).

        ``qualifying_apm``: the provider is a qualifying APM participant (2026 has a higher CF
        for them; most therapists are not).
        """
        factors = self._conversion_factors
        if not factors:
            raise InputError(self._path("conversion_factors.csv"), "no conversion factors")
        chosen = next((c for c in factors if c.effective_from <= day <= c.effective_to), None)
        why = ""
        if chosen is None:
            before = [c for c in factors if c.effective_to < day]
            chosen = before[-1] if before else factors[0]
            if chosen.effective_from.year == day.year:
                why = f"; none on file for {day.isoformat()}, nearest of the same year used"
            else:
                why = "; " + _years_note(day, chosen.effective_from.year)
        value = chosen.value
        kind = ""
        if chosen.qp_value is not None:
            if qualifying_apm:
                value, kind = chosen.qp_value, ", qualifying APM participant rate"
            else:
                kind = f", non-QP rate (qualifying APM participants: {chosen.qp_value})"
        note = f"Conversion factor: {value} ({chosen.source}{kind}){why}"
        return Dated(value, note, bool(why))

    def kx_threshold(self, day: date) -> Dated[Decimal] | None:
        """The KX threshold of a date's calendar year (RULES.md §6); None before the data starts."""
        kx, _ = self._thresholds
        if day.year in kx:
            return Dated(kx[day.year], f"KX threshold {day.year}: ${kx[day.year]:,}")
        earlier = [y for y in kx if y < day.year]
        if not earlier:
            return None
        year = max(earlier)
        return Dated(
            kx[year],
            f"KX threshold: ${kx[year]:,} ({year}); no threshold on file for {day.year}, "
            "last known year used",
            True,
        )

    @property
    def review_threshold(self) -> Decimal:
        """The targeted medical review threshold ($3,000, RULES.md §6)."""
        return self._thresholds[1]

    # -- localities --------------------------------------------------------------------------

    def _locality_year(self, day: date) -> int:
        years = sorted({loc.year for loc in self._localities})
        if not years:
            raise InputError(self._path("gpci.csv"), "no localities")
        if day.year in years:
            return day.year
        earlier = [y for y in years if y < day.year]
        return earlier[-1] if earlier else years[0]

    def localities(self, day: date) -> list[Locality]:
        """Every locality of the year governing ``day``, each at its row for that date."""
        year = self._locality_year(day)
        by_id: dict[str, list[Locality]] = {}
        for loc in self._localities:
            if loc.year == year:
                by_id.setdefault(loc.id, []).append(loc)
        return [self._choose(rows, day, "GPCIs")[0] for rows in by_id.values()]

    def find_localities(self, search: str | None, day: date) -> list[Locality]:
        """Localities matching ``search`` on ``day`` (all when empty), by state and name.

        A MAC-locality id or a state code (``AK``) matches exactly; anything else is a
        case-insensitive part of the id or the name ("oak" finds Oakland).
        """
        found = self.localities(day)
        if search and search.strip():
            needle = _norm(search)
            exact = [
                loc for loc in found if loc.id == _id_form(search) or loc.state.lower() == needle
            ]
            found = exact or [
                loc for loc in found if needle in _norm(loc.id) or needle in _norm(loc.name)
            ]
        return sorted(found, key=lambda loc: (loc.state, loc.name, loc.id))

    def locality(self, query: str | None, day: date) -> Dated[Locality]:
        """Resolve ``query`` on a date of service: ``None``/``national`` (GPCI 1/1/1), a CMS
        MAC-locality id (``01112-05``), a state (``AL``, when it has one locality) or any unique
        case-insensitive part of a locality's name.

        Raises ``EntryError`` listing the matches when the query is ambiguous or matches nothing.
        """
        if query is None or _norm(query) in ("", NATIONAL_ID, "none"):
            return Dated(
                national(day), "GPCIs: national, 1.000/1.000/1.000 (no locality adjustment)"
            )
        year = self._locality_year(day)
        candidates = self.localities(day)
        match = _match_locality(query, candidates)
        if match is None:
            known = sorted({loc.year for loc in self._localities if loc.id == _id_form(query)})
            if known:
                raise EntryError(
                    f"locality {_id_form(query)} has no GPCIs for {year} "
                    f"(it is in the data for {', '.join(map(str, known))})",
                    hint="Find the current locality with `cognibill localities SEARCH`.",
                )
            raise EntryError(
                f"no Medicare locality matches {query!r} in {year}",
                hint="List them with `cognibill localities [SEARCH]`; give a MAC-locality id "
                "such as 01112-05, a state, or part of a name.",
            )
        if isinstance(match, list):
            shown = "; ".join(loc.label for loc in match[:12])
            more = f"; and {len(match) - 12} more" if len(match) > 12 else ""
            raise EntryError(
                f"locality {query!r} matches {len(match)} localities: {shown}{more}",
                hint="Give the MAC-locality id (e.g. --locality "
                f"{match[0].id}) or a longer part of the name.",
            )
        rows = sorted(
            (loc for loc in self._localities if loc.id == match.id),
            key=lambda loc: loc.effective_from,
        )
        row, note, fallback = self._choose(rows, day, "GPCIs")
        return Dated(row, f"{note}; {row.label} {row.gpcis}", fallback)


def _norm(text: str) -> str:
    return " ".join(text.strip().lower().split())


def _id_form(text: str) -> str:
    """``0111205`` / ``01112 05`` / ``01112-5`` -> ``01112-05`` (else the text unchanged)."""
    digits = text.strip().replace(" ", "-").replace("/", "-")
    mac, sep, loc = digits.partition("-")
    if not sep and len(digits) == 7 and digits.isdigit():
        mac, loc = digits[:5], digits[5:]
    if mac.isdigit() and loc.isdigit() and len(mac) == 5 and 1 <= len(loc) <= 2:
        return f"{mac}-{loc.zfill(2)}"
    return text.strip()


def _match_locality(query: str, candidates: Iterable[Locality]) -> Locality | list[Locality] | None:
    """One match, the ambiguous matches, or None. Order: id, state, whole name, part of a name."""
    pool = list(candidates)
    wanted = _id_form(query)
    for loc in pool:
        if loc.id == wanted:
            return loc
    needle = _norm(query)
    tiers = (
        [loc for loc in pool if loc.state.lower() == needle],
        [loc for loc in pool if _norm(loc.name) == needle],
        [loc for loc in pool if needle in _norm(loc.name)],
    )
    for tier in tiers:
        if len(tier) == 1:
            return tier[0]
        if tier:
            return sorted(tier, key=lambda loc: loc.id)
    return None


def _d(text: str) -> date:
    return date.fromisoformat(text)


def _make_rvu(row: dict[str, str]) -> Rvu:
    return Rvu(
        code=row["code"].upper(),
        year=int(row["year"]),
        effective_from=_d(row["effective_from"]),
        effective_to=_d(row["effective_to"]),
        releases=tuple(r for r in row["releases"].split(";") if r),
        status=row["status"],
        work=Decimal(row["work"]),
        pe_nonfacility=Decimal(row["pe_nonfacility"]),
        pe_facility=Decimal(row["pe_facility"]),
        mp=Decimal(row["mp"]),
        mp_indicator=int(row["mp_indicator"] or 0),
        global_days=row["global_days"],
        facility_na=row["facility_na"] == "1",
        nonfacility_na=row["nonfacility_na"] == "1",
    )


def _make_locality(row: dict[str, str]) -> Locality:
    return Locality(
        id=row["locality_id"],
        mac=row["mac"],
        locality=row["locality"],
        name=row["name"],
        state=row["state"],
        year=int(row["year"]),
        effective_from=_d(row["effective_from"]),
        effective_to=_d(row["effective_to"]),
        releases=tuple(r for r in row["releases"].split(";") if r),
        work=Decimal(row["work"]),
        pe=Decimal(row["pe"]),
        mp=Decimal(row["mp"]),
    )


def _make_cf(row: dict[str, str]) -> ConversionFactor:
    qp = row["qp_conversion_factor"]
    return ConversionFactor(
        effective_from=_d(row["effective_from"]),
        effective_to=_d(row["effective_to"]),
        value=Decimal(row["conversion_factor"]),
        qp_value=Decimal(qp) if qp else None,
        source=row["source"],
    )


def find_localities(
    search: str | None = None, day: date | None = None, *, schedule: FeeSchedule | None = None
) -> list[Locality]:
    """Localities whose id, name or state contains ``search`` on ``day`` (default today), for
    ``cognibill localities [SEARCH]``; all of them when ``search`` is empty."""
    return (schedule or load_schedule()).find_localities(search, day or date.today())


@cache
def _builtin() -> FeeSchedule:
    folder = Path(__file__).parent.parent / "data" / "fees"
    if folder.is_dir():  # a plain install: skip importlib.resources' start-up cost
        return FeeSchedule(folder, name="built-in fee data")
    from importlib import resources

    return FeeSchedule(resources.files("cognibill").joinpath("data/fees"))


def load_schedule(folder: str | Path | None = None) -> FeeSchedule:
    """The fee schedule: ``folder``, else ``$COGNIBILL_FEE_DATA``, else the built-in data.

    Nothing is read until a lookup needs it; each folder is opened once per process.
    """
    chosen = folder if folder is not None else os.environ.get(FEE_DATA_ENV) or None
    if chosen is None:
        return _builtin()
    return _folder(str(Path(chosen).resolve()))


@cache
def _folder(chosen: str) -> FeeSchedule:
    path = Path(chosen)
    if not path.is_dir():
        raise InputError(
            str(path),
            "fee data folder not found",
            hint=f"Set {FEE_DATA_ENV} to a folder "
            "written by scripts/build_fee_data.py --out FOLDER.",
        )
    return FeeSchedule(path, name=str(path))


def rvu_rows(schedule: FeeSchedule) -> dict[str, tuple[Rvu, ...]]:
    """Every code with RVUs in ``schedule``, each with all its rows sorted by date: the rows
    ``FeeSchedule.rvu`` chooses from. For ``cognibill.fees.batch``, which groups the dates whose
    lookups agree; reads and converts the whole RVU file."""
    return {code: schedule._rvus(code) for code in schedule._rvu_index[1]}
