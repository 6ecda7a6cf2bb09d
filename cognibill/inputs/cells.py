"""The one-value parsers of an export's cells: each returns a value or raises :class:`BadCell`.

A parser takes the cell as the file holds it (not stripped) and either returns the value or
raises :class:`BadCell` whose message is the reason a biller can act on ("'3/24/26' has a
two-digit year; write dates as YYYY-MM-DD or MM/DD/YYYY"). Readers call them once per distinct
cell value and remember the answer, so the reasons here are the reasons every reader gives.

- **Dates**: ``YYYY-MM-DD``, ``YYYY/MM/DD`` and US ``MM/DD/YYYY`` (one-digit month and day
  allowed), optionally followed by a time of day without a time zone. Two-digit years,
  day-first dates, dotted dates and spreadsheet serial numbers are refused, not guessed.
- **Minutes**: whole minutes, 0 to 1440 (``45``, ``45.0``, ``45 min``).
- **Codes**: must be in the catalogue; an unknown code is refused with "did you mean". Deleted
  codes (97532, 97127, G0515) pass so that the claim rules can explain them. ``97110-59`` is
  code 97110 with modifier 59.
- **Credentials**: what EHRs print (``CCC-SLP``, ``MS, OTR/L``, ``PTA``) give the discipline.

Pure: no I/O.
"""

from __future__ import annotations

import datetime as dt
import re

from cognibill.catalogue import Catalogue
from cognibill.engine.units import MAX_MINUTES, UNIT_MINUTES
from cognibill.models import PLACE_OF_SERVICE_HELP, Discipline, is_place_of_service
from cognibill.readers.columns import CREDENTIALS_HELP, discipline_of, suggest_credential

MAX_UNITS = MAX_MINUTES // UNIT_MINUTES
"""No service bills more units than a day of minutes holds."""


class BadCell(ValueError):
    """A cell that cannot be read; the message is the reason."""


def shown(value: str, limit: int = 40) -> str:
    """A cell quoted for a message, cut short: an unclosed quote can swallow a whole file."""
    if len(value) > limit:
        value = value[: limit - 1] + "…"
    return repr(value)


# -- text ---------------------------------------------------------------------------------------


def parse_patient(cell: str) -> str:
    """The patient id, stripped; an empty one is refused."""
    value = cell.strip()
    if not value:
        raise BadCell("the patient id is empty")
    return value


def parse_text(cell: str) -> str | None:
    """A free-text cell (provider, payer, session), stripped; None when empty."""
    return cell.strip() or None


def parse_place(cell: str) -> str | None:
    """A place of service: a CMS code of one or two digits (``11``, ``02``), or None."""
    value = cell.strip() or None
    if value is not None and not is_place_of_service(value):
        raise BadCell(
            f"place of service {shown(value)} is not a 2-digit CMS code ({PLACE_OF_SERVICE_HELP})"
        )
    return value


# -- dates --------------------------------------------------------------------------------------

_DATE = re.compile(
    r"(?:(?P<y1>\d{4})-(?P<m1>\d{1,2})-(?P<d1>\d{1,2})"
    r"|(?P<y2>\d{4})/(?P<m2>\d{1,2})/(?P<d2>\d{1,2})"
    r"|(?P<m3>\d{1,2})/(?P<d3>\d{1,2})/(?P<y3>\d{4}))"
    r"(?:[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:\s*[AaPp]\.?[Mm]\.?)?)?"
)
_TIME_ZONE = re.compile(r"\d:\d{2}(?::\d{2}(?:\.\d+)?)?\s*(?:[Zz]|[+-]\d{2}:?\d{2})$")
_TWO_DIGIT_YEAR = re.compile(r"\d{1,2}[/.-]\d{1,2}[/.-]\d{2}(?:\D|$)")
_DAY_FIRST_OR_DOTTED = re.compile(r"\d{1,2}[.-]\d{1,2}[.-]\d{4}")
_DATE_FORMS = "write dates as YYYY-MM-DD or MM/DD/YYYY"


def parse_date(text: str) -> dt.date:
    """A date of service from ISO ``YYYY-MM-DD`` (or ``YYYY/MM/DD``) or US ``MM/DD/YYYY``.

    Anything that needs a guess is refused: ``03/04/26`` (which century?), ``04.03.2026`` and
    ``04-03-2026`` (day first or month first?), ``46085`` (a spreadsheet serial number).
    Raises :class:`BadCell` (a ``ValueError``) with the reason.
    """
    value = text.strip()
    if not value:
        raise BadCell("the date is empty")
    found = _DATE.fullmatch(value)
    if found is None:
        if _TIME_ZONE.search(value):
            raise BadCell(
                f"{shown(value)} has a time zone: the date of service depends on it; {_DATE_FORMS}"
            )
        if _TWO_DIGIT_YEAR.match(value):
            raise BadCell(f"{shown(value)} has a two-digit year; {_DATE_FORMS}")
        if _DAY_FIRST_OR_DOTTED.match(value):
            raise BadCell(f"{shown(value)} could be day-first or month-first; {_DATE_FORMS}")
        if value.isdigit():
            raise BadCell(
                f"{shown(value)} looks like a spreadsheet serial number, not a date; "
                "format the column as a date and export again"
            )
        raise BadCell(f"{shown(value)} is not a date; {_DATE_FORMS}")
    parts = found.groupdict()
    if parts["y1"] is not None:
        year, month, day, form = parts["y1"], parts["m1"], parts["d1"], "YYYY-MM-DD"
    elif parts["y2"] is not None:
        year, month, day, form = parts["y2"], parts["m2"], parts["d2"], "YYYY/MM/DD"
    else:
        year, month, day, form = parts["y3"], parts["m3"], parts["d3"], "MM/DD/YYYY"
    try:
        return dt.date(int(year), int(month), int(day))
    except ValueError as exc:
        extra = ""
        if form == "MM/DD/YYYY" and int(month) > 12 and int(day) <= 12:
            extra = " (day-first dates are not read: MM/DD/YYYY only)"
        raise BadCell(f"{shown(value)} is not a valid {form} date: {exc}{extra}") from None


def parse_optional_date(cell: str) -> dt.date | None:
    """A date (plan of care), or None for an empty cell."""
    return parse_date(cell) if cell.strip() else None


# -- numbers ------------------------------------------------------------------------------------

_MINUTES_SUFFIX = re.compile(r"\s*(?:mins?|minutes)\.?$", re.IGNORECASE)
_WHOLE = re.compile(r"\+?(\d+)(?:\.0*)?")
_NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)")
_CLOCK = re.compile(r"\d{1,2}:\d{2}(?::\d{2})?")


def parse_minutes(text: str) -> int:
    """Whole minutes, 0 to a day (``45``, ``45.0``, ``45 min``); raises :class:`BadCell`."""
    value = _MINUTES_SUFFIX.sub("", text.strip())
    if not value:
        raise BadCell("the minutes are empty")
    found = _WHOLE.fullmatch(value)
    if found is None:
        if _NUMBER.fullmatch(value):
            if value.startswith("-"):
                raise BadCell(f"minutes cannot be negative ({value})")
            raise BadCell(f"minutes must be whole minutes, not {value}")
        if _CLOCK.fullmatch(value):
            raise BadCell(f"{shown(value)} looks like hours:minutes; give whole minutes")
        raise BadCell(f"{shown(value)} is not a number of minutes")
    minutes = int(found.group(1))
    if minutes > MAX_MINUTES:
        raise BadCell(f"{minutes} minutes is more than a day ({MAX_MINUTES} minutes)")
    return minutes


def parse_count(text: str, what: str, most: int) -> int:
    """A whole number from 0 to ``most``; ``what`` names it in the reason."""
    value = text.strip()
    found = _WHOLE.fullmatch(value)
    if found is None:
        if value.startswith("-") and _NUMBER.fullmatch(value):
            raise BadCell(f"{what} cannot be negative ({value})")
        raise BadCell(f"{what}: {shown(value)} is not a whole number")
    number = int(found.group(1))
    if number > most:
        raise BadCell(f"{what}: {number} is more than {most}")
    return number


def parse_units(cell: str) -> int | None:
    """Billed units (0 to :data:`MAX_UNITS`), or None for an empty cell."""
    return parse_count(cell, "billed units", MAX_UNITS) if cell.strip() else None


def parse_assistant_minutes(cell: str) -> int:
    """Minutes furnished by an assistant (0 to a day); 0 for an empty cell."""
    return parse_count(cell, "assistant minutes", MAX_MINUTES) if cell.strip() else 0


# -- flags and lists ----------------------------------------------------------------------------

_TRUE = frozenset({"y", "yes", "true", "t", "1", "x"})
_FALSE = frozenset({"", "n", "no", "false", "f", "0"})


def parse_flag(text: str) -> bool:
    """Yes or no (``yes``, ``no``, ``true``, ``false``, ``1``, ``0``, ``x``); empty is no."""
    value = text.strip().casefold()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise BadCell(
        f"{shown(text.strip())} is not yes/no (use yes, no, true, false, 1, 0 or leave empty)"
    )


_SPLIT = re.compile(r"[\s,;|]+")


def parse_modifiers(text: str) -> tuple[str, ...]:
    """Modifiers separated by spaces, commas, semicolons or bars, upper case, in order."""
    out = []
    for part in _SPLIT.split(text.strip()):
        if not part:
            continue
        mod = part.upper()
        if len(mod) != 2 or not mod.isalnum() or not mod.isascii():
            reason = "is not a modifier (two letters or digits: GN, GP, CQ, 59)"
            raise BadCell(f"{shown(part)} {reason}")
        out.append(mod)
    return tuple(out)


def parse_list(text: str) -> tuple[str, ...]:
    """A list of codes (diagnoses) separated like modifiers, upper case; never refused."""
    return tuple(part.upper() for part in _SPLIT.split(text.strip()) if part)


# -- codes and credentials ----------------------------------------------------------------------


def parse_code(cell: str, catalogue: Catalogue) -> tuple[str, tuple[str, ...]]:
    """(code, modifiers written after it) for a code cell such as ``97110`` or ``97110-59``."""
    value = cell.strip().upper()
    if not value:
        raise BadCell("the code is empty")
    info = catalogue.get(value)
    mods: tuple[str, ...] = ()
    if info is None and "-" in value:
        head, *tail = value.split("-")
        if catalogue.get(head) is not None:
            try:
                mods = parse_modifiers(" ".join(tail))
            except BadCell:
                mods = ()
            else:
                info = catalogue.get(head)
    if info is None:
        near = catalogue.suggest(value)
        guess = f"; did you mean {' or '.join(near)}?" if near else ""
        raise BadCell(f"unknown code {shown(value)[1:-1]}{guess}")
    return info.code, mods


def parse_discipline(cell: str) -> Discipline | None:
    """The discipline a credential cell names (RULES.md §6), or None for an empty cell."""
    value = cell.strip()
    discipline = discipline_of(value) if value else None
    if value and discipline is None:
        near = suggest_credential(value)
        guess = f"; did you mean {' or '.join(near)}?" if near else ""
        raise BadCell(f"unknown credential {shown(value)}{guess} (known: {CREDENTIALS_HELP})")
    return discipline
