"""Year-to-date amounts billed elsewhere (``ledger seed FILE.csv``): rows read and checked.

One row per patient, year and threshold group: ``patient,year,group,amount,as_of,source``
(a header line first; names are matched case-insensitively, ``as-of`` and ``as of`` too).
``amount`` is dollars (``1234.56``, ``$1,234.56``); ``group`` is ``pt-slp`` (also ``pt+slp``,
``pt``, ``slp``) or ``ot``; ``as_of`` an ISO date in ``year``; ``source`` says where the
figure came from (``MAC portal 2026-03-02``). Every bad row is reported with its line number
and none is kept: a file is seeded whole or not at all.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from cognibill.errors import InputError

_Bad = Callable[[str, str], None]
"""How a cell check reports a problem: ``bad(field, reason)``."""

FIELDS = ("patient", "year", "group", "amount", "as_of", "source")

_GROUPS = {"pt-slp": "pt-slp", "pt+slp": "pt-slp", "ptslp": "pt-slp", "pt/slp": "pt-slp"}
_GROUPS |= {"pt": "pt-slp", "slp": "pt-slp", "pt_slp": "pt-slp", "ot": "ot"}


@dataclass(frozen=True)
class SeedRow:
    """A year-to-date amount allowed elsewhere, counted on ``as_of`` (integer cents)."""

    patient: str
    year: int
    group: str
    cents: int
    as_of: dt.date
    source: str
    line: int | None = None
    """The line of the seed file it came from (messages only)."""


def parse_seed_csv(text: str, name: str) -> list[SeedRow]:
    """The rows of a seed file's ``text`` (``name`` as messages call it); an ``InputError``
    listing every bad row when any is bad. No cell value of a patient is ever quoted."""
    reader = csv.reader(io.StringIO(text.removeprefix("\ufeff"), newline=""))
    header: list[str] | None = None
    problems: list[tuple[int | None, str | None, str]] = []
    rows: list[SeedRow] = []
    seen: dict[tuple[str, int, str, dt.date, str], int] = {}
    try:
        for cells in reader:
            line = reader.line_num
            if not any(c.strip() for c in cells):
                continue
            if header is None:
                header = [_field(c) for c in cells]
                missing = [f for f in FIELDS if f not in header]
                if missing:
                    raise InputError(
                        name,
                        "missing column" + ("s " if len(missing) > 1 else " ") + ", ".join(missing),
                        line=line,
                        hint="the header is: " + ",".join(FIELDS),
                    )
                continue
            if len(cells) != len(header):
                problems.append((line, None, f"{len(cells)} cells, the header has {len(header)}"))
                continue
            row = _row(dict(zip(header, cells, strict=True)), line, problems)
            if row is None:
                continue
            key = (row.patient, row.year, row.group, row.as_of, row.source)
            if key in seen:
                problems.append(
                    (
                        line,
                        None,
                        f"the same patient, year, group, as_of and source as line {seen[key]}",
                    )
                )
                continue
            seen[key] = line
            rows.append(row)
    except csv.Error as exc:
        problems.append((reader.line_num, None, f"not CSV: {exc}"))
    if header is None:
        raise InputError(name, "no header line", hint="the header is: " + ",".join(FIELDS))
    if problems:
        count = len(problems)
        raise InputError(
            name,
            f"{count} bad row{'s' if count > 1 else ''}; nothing was seeded",
            problems=tuple(problems),
            hint="correct the rows and seed the file again",
        )
    return rows


def _field(cell: str) -> str:
    return cell.strip().lower().replace("-", "_").replace(" ", "_")


def _row(
    cells: dict[str, str], line: int, problems: list[tuple[int | None, str | None, str]]
) -> SeedRow | None:
    before = len(problems)

    def bad(field: str, reason: str) -> None:
        problems.append((line, field, reason))

    patient = cells["patient"].strip()
    if not patient:
        bad("patient", "empty")
    year = _year(cells["year"].strip(), bad)
    group = _GROUPS.get(cells["group"].strip().lower())
    if group is None:
        bad("group", f"{_shown(cells['group'])} is not a threshold group; use pt-slp or ot")
    cents = _cents(cells["amount"].strip(), bad)
    as_of = _date(cells["as_of"].strip(), bad)
    if as_of is not None and year is not None and as_of.year != year:
        bad("as_of", f"{as_of.isoformat()} is not in {year}")
    source = cells["source"].strip()
    if not source:
        bad("source", "empty: say where the amount came from")
    if len(problems) > before:
        return None
    assert year is not None and group is not None and cents is not None and as_of is not None
    return SeedRow(patient, year, group, cents, as_of, source, line)


def _shown(cell: str) -> str:
    text = cell.strip()
    return repr(text[:20] + ("…" if len(text) > 20 else "")) if text else "empty"


def _year(text: str, bad: _Bad) -> int | None:
    if not text.isdigit() or not 2000 <= int(text) <= 2100:
        bad("year", f"{_shown(text)} is not a year (2000-2100)")
        return None
    return int(text)


def _cents(text: str, bad: _Bad) -> int | None:
    plain = text.replace("$", "").replace(",", "").strip()
    try:
        amount = Decimal(plain)
    except InvalidOperation:
        bad("amount", f"{_shown(text)} is not an amount in dollars (1234.56)")
        return None
    if not amount.is_finite() or amount < 0:
        bad("amount", f"{_shown(text)} is not an amount of 0 or more")
        return None
    if amount != amount.quantize(Decimal("0.01")):
        bad("amount", f"{_shown(text)} has more than 2 decimals")
        return None
    return int(amount * 100)


def _date(text: str, bad: _Bad) -> dt.date | None:
    try:
        if len(text) != 10:
            raise ValueError(text)
        return dt.date.fromisoformat(text)
    except ValueError:
        bad("as_of", f"{_shown(text)} is not a date (YYYY-MM-DD)")
        return None
