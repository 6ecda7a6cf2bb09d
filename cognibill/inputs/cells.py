"""The one-value parsers of an export's cells: each returns a value or raises :class:`BadCell`.

A parser takes the cell as the file holds it (not stripped) and either returns the value or
raises :class:`BadCell` whose message is the reason a biller can act on ("'03-24-26' has a
two-digit year; write dates as YYYY-MM-DD or MM/DD/YYYY"). Readers call them once per distinct
cell value and remember the answer, so the reasons here are the reasons every reader gives.

- **Dates**: ``YYYY-MM-DD``, ``YYYY/MM/DD``, US ``MM/DD/YYYY`` and ``M/D/YY`` read as 20YY
  (one-digit month and day allowed), optionally followed by a time of day without a time zone.
  Two-digit years written with dashes or dots, day-first dates, dotted dates and spreadsheet
  serial numbers are refused, not guessed.
- **Minutes**: whole minutes, 0 to 1440 (``45``, ``45.0``, ``45 min``).
- **Durations**: the minutes above, or ``38m``, ``0:38``, ``1:05``, ``1h 15m``, ``1 hr 15 min``,
  ``2h``, ``1.5 h``: whole minutes only.
- **Times of day**: ``13:05``, ``0930``, ``1:05 PM``, or a date and time; the minutes between a
  start and an end time.
- **Codes**: must be in the catalogue; an unknown code is refused with "did you mean". Deleted
  codes (97532, 97127, G0515) pass so that the claim rules can explain them. ``97110-59`` is
  code 97110 with modifier 59.
- **Credentials**: what EHRs print (``CCC-SLP``, ``MS, OTR/L``, ``PTA``) give the discipline,
  also at the end of a provider's name (``Smith, Anna SLP``).

Pure: no I/O.
"""

from __future__ import annotations

import datetime as dt
import re
from fractions import Fraction

from cognibill.catalogue import Catalogue
from cognibill.engine.units import MAX_MINUTES, UNIT_MINUTES
from cognibill.minutes import MOST_DIGITS, NUMBER, WHOLE, MinutesError, read_minutes
from cognibill.models import PLACE_OF_SERVICE_HELP, Discipline, is_place_of_service
from cognibill.quoting import quoted
from cognibill.readers.columns import (
    CREDENTIALS_HELP,
    discipline_of,
    split_credentials,
    suggest_credential,
)

MAX_UNITS = MAX_MINUTES // UNIT_MINUTES
"""No service bills more units than a day of minutes holds."""


class BadCell(ValueError):
    """A cell that cannot be read; the message is the reason."""


shown = quoted
"""A cell quoted for a message, cut short (:func:`cognibill.quoting.quoted`)."""


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
    r"|(?P<m3>\d{1,2})/(?P<d3>\d{1,2})/(?P<y3>\d{4})"
    r"|(?P<m4>\d{1,2})/(?P<d4>\d{1,2})/(?P<y4>\d{2}))"
    r"(?P<time>[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:\s*[AaPp]\.?[Mm]\.?)?)?"
)
_TIME_ZONE = re.compile(r"\d:\d{2}(?::\d{2}(?:\.\d+)?)?\s*(?:[Zz]|[+-]\d{2}:?\d{2})$")
_TWO_DIGIT_YEAR = re.compile(r"\d{1,2}[.-]\d{1,2}[.-]\d{2}(?:\D|$)")
"""Two-digit years written with dashes or dots (``03-24-26``): ``26-03-24`` is also written so."""
_DAY_FIRST_OR_DOTTED = re.compile(r"\d{1,2}[.-]\d{1,2}[.-]\d{4}")
_DATE_FORMS = "write dates as YYYY-MM-DD or MM/DD/YYYY"


def parse_date(text: str) -> dt.date:
    """A date of service from ISO ``YYYY-MM-DD`` (or ``YYYY/MM/DD``), US ``MM/DD/YYYY`` or
    ``M/D/YY``.

    A two-digit year is read as 20YY (``3/24/26`` is 2026-03-24), as WebPT's reports print it:
    97129/97130 exist only from 2020 (RULES.md §11), so no other century can hold a date of
    service. Anything else that needs a guess is refused: ``03-24-26`` (year first or last?),
    ``04.03.2026`` and ``04-03-2026`` (day first or month first?), ``46085`` (a spreadsheet
    serial number). Raises :class:`BadCell` (a ``ValueError``) with the reason.
    """
    return _date_of(text)[0]


def _date_of(text: str) -> tuple[dt.date, str | None]:
    """The date of a cell and the time of day written after it (None when none is)."""
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
    elif parts["y3"] is not None:
        year, month, day, form = parts["y3"], parts["m3"], parts["d3"], "MM/DD/YYYY"
    else:
        year, month, day, form = "20" + parts["y4"], parts["m4"], parts["d4"], "M/D/YY"
    try:
        return dt.date(int(year), int(month), int(day)), parts["time"]
    except ValueError as exc:
        extra = ""
        if form == "MM/DD/YYYY" and int(month) > 12 and int(day) <= 12:
            extra = " (day-first dates are not read: MM/DD/YYYY only)"
        elif form == "M/D/YY" and int(month) > 12 and int(day) <= 12:
            extra = " (day-first dates are not read: month first only)"
        raise BadCell(f"{shown(value)} is not a valid {form} date: {exc}{extra}") from None


def parse_optional_date(cell: str) -> dt.date | None:
    """A date (plan of care), or None for an empty cell."""
    return parse_date(cell) if cell.strip() else None


# -- numbers ------------------------------------------------------------------------------------


def parse_minutes(text: str) -> int:
    """Whole minutes, 0 to a day (``45``, ``45.0``, ``45 min``: :func:`cognibill.minutes.
    read_minutes`, as a command-line entry is read); raises :class:`BadCell`."""
    try:
        return read_minutes(text)
    except MinutesError as exc:
        raise BadCell(str(exc)) from None


# -- durations and times of day -----------------------------------------------------------------

_DURATION_FORMS = "write minutes (38), hours:minutes (0:38) or hours and minutes (1h 15m)"
_HOURS_MEANT = re.compile(r"\d\s*h|:", re.IGNORECASE)
_HOURS_MINUTES = re.compile(r"(?P<sign>[+-]?)(?P<h>\d{1,2}):(?P<m>\d{2})(?::(?P<s>\d{2}))?")
_M_SUFFIX = re.compile(r"(?P<n>[+-]?\d+(?:\.\d*)?|[+-]?\.\d+)\s*m", re.IGNORECASE)
_HOURS_AND_MINUTES = re.compile(
    r"(?:(?P<h>[+-]?\d+(?:\.\d+)?|[+-]?\.\d+)\s*(?:h|hr|hrs|hour|hours)\.?)"
    r"(?:[\s,]*(?:and\s+)?(?P<m>\d+)\s*(?:m|min|mins|minute|minutes)\.?)?",
    re.IGNORECASE,
)


def parse_duration(text: str) -> int:
    """Whole minutes of a duration as EHRs write it; raises :class:`BadCell`.

    What :func:`parse_minutes` reads, read as it reads it (``38``, ``38.0``, ``38 min``, and the
    same reasons for ``-5``, ``37.5`` or ``thirty``), and also ``38m``, ``75m``, hours:minutes
    ``0:38``, ``1:05`` (``1:05:00``: seconds only when zero), and hours with or without minutes:
    ``1h 15m``, ``1 hr 15 min``, ``2h``, ``1.5 h`` (90: decimal hours when they make whole
    minutes). Never a fraction of a minute, a negative duration, more than 59 minutes after the
    hours (``1:75``) or more than a day (``25:00``).
    """
    value = text.strip()
    clock = _HOURS_MINUTES.fullmatch(value)
    if clock is not None:
        return _hours_minutes(value, clock)
    m_form = _M_SUFFIX.fullmatch(value)
    if m_form is not None:  # "38m" is "38 min"
        return parse_minutes(m_form.group("n"))
    hours = _HOURS_AND_MINUTES.fullmatch(value)
    if hours is not None:
        return _hours_and_minutes(value, hours.group("h"), hours.group("m"))
    try:
        return parse_minutes(value)
    except BadCell as exc:  # the minutes parser's reason, unless hours were meant ("1h 15")
        if _HOURS_MEANT.search(value) and str(exc).endswith("is not a number of minutes"):
            raise BadCell(f"{shown(value)} is not a duration; {_DURATION_FORMS}") from None
        raise


def _hours_minutes(value: str, found: re.Match[str]) -> int:
    if found.group("sign") == "-":
        raise BadCell(f"a duration cannot be negative ({value})")
    hours, minutes = int(found.group("h")), int(found.group("m"))
    if minutes > 59:
        raise BadCell(
            f"{shown(value)} has {minutes} minutes after the hours (0 to 59); "
            f"write {hours * 60 + minutes} or {hours + minutes // 60}:{minutes % 60:02d}"
        )
    seconds = found.group("s")
    if seconds is not None and int(seconds) != 0:
        raise BadCell(f"{shown(value)} has seconds: give whole minutes")
    return _at_most_a_day(hours * 60 + minutes)


def _hours_and_minutes(value: str, hours_text: str, minutes_text: str | None) -> int:
    if hours_text.startswith("-"):
        raise BadCell(f"a duration cannot be negative ({value})")
    hours = Fraction(hours_text.lstrip("+"))
    minutes = int(minutes_text) if minutes_text is not None else 0
    if minutes_text is not None and (hours.denominator != 1 or minutes > 59):
        raise BadCell(
            f"{shown(value)} mixes its hours and minutes; write whole hours and 0 to 59 minutes "
            f"(1h 15m), or the minutes alone"
        )
    total = hours * 60 + minutes
    if total.denominator != 1:
        raise BadCell(f"{shown(value)} is not whole minutes ({float(total):g} minutes)")
    return _at_most_a_day(int(total))


def _at_most_a_day(minutes: int) -> int:
    if minutes > MAX_MINUTES:
        raise BadCell(f"{minutes} minutes is more than a day ({MAX_MINUTES} minutes)")
    return minutes


_CLOCK_FORMS = "write 13:05 or 1:05 PM"
_TIME_OF_DAY = re.compile(
    r"(?P<h>\d{1,2})(?::(?P<m>\d{2})(?::(?P<s>\d{2})(?:\.(?P<f>\d+))?)?)?"
    r"\s*(?:(?P<am>[Aa]\.?\s?[Mm]\.?)|(?P<pm>[Pp]\.?\s?[Mm]\.?))?"
)
_MILITARY = re.compile(r"(?P<h>[01]\d|2[0-3])(?P<m>[0-5]\d)")
_DATE_AND_TIME = re.compile(r"(?P<date>\S+)[ T](?P<time>.+)")
_AM_PM = re.compile(r"[AaPp]\.?\s?[Mm]\.?\s*$")


def parse_clock(text: str) -> int:
    """Minutes after midnight of a time of day; raises :class:`BadCell`.

    24-hour ``13:05``, ``9:30``, ``09:30:00``, ``0930`` (four digits) and ``24:00`` (the end of
    the day, 1440); 12-hour ``1:05 PM``, ``1:05pm``, ``1 p.m.``, with ``12:00 AM`` midnight (0)
    and ``12:30 PM`` 750; or a date and time (``2026-03-02 13:05``, ``3/2/2026 1:05 PM``), whose
    date must be a date :func:`parse_date` reads. A time without AM/PM is read as 24-hour, so
    ``1:15`` is 01:15, never guessed to be after noon. Seconds are allowed only when zero
    (``13:05:30`` is refused: the minutes of a service are whole minutes).
    """
    return _clock_of(text)[1]


def _clock_of(text: str) -> tuple[dt.date | None, int]:
    """The date (None when the cell has none) and the minutes after midnight of a cell."""
    value = text.strip()
    if not value:
        raise BadCell("the time is empty")
    day: dt.date | None = None
    clock = value
    if not _TIME_OF_DAY.fullmatch(value) and not _MILITARY.fullmatch(value):
        joined = _DATE_AND_TIME.fullmatch(value)
        if joined is None or not any(ch in joined.group("date") for ch in "-/"):
            raise BadCell(f"{shown(value)} is not a time of day; {_CLOCK_FORMS}")
        day, written = _date_of(value)
        if written is None:
            raise BadCell(f"{shown(value)} is not a time of day; {_CLOCK_FORMS}")
        clock = written.strip().lstrip("T")
    return day, _minutes_of_day(value, clock)


def _minutes_of_day(value: str, clock: str) -> int:
    military = _MILITARY.fullmatch(clock)
    if military is not None:
        return int(military.group("h")) * 60 + int(military.group("m"))
    found = _TIME_OF_DAY.fullmatch(clock)
    twelve = found is not None and bool(found.group("am") or found.group("pm"))
    if found is None or (found.group("m") is None and not twelve):  # "13" alone is no time
        raise BadCell(f"{shown(value)} is not a time of day; {_CLOCK_FORMS}")
    hour, minute = int(found.group("h")), int(found.group("m") or 0)
    if minute > 59:
        raise BadCell(f"{shown(value)} is not a time of day: {minute} minutes past the hour")
    if int(found.group("s") or 0) or int(found.group("f") or 0):
        raise BadCell(f"{shown(value)} has seconds: give times in whole minutes")
    if twelve:
        if not 1 <= hour <= 12:
            raise BadCell(f"{shown(value)} is not a 12-hour time: the hour must be 1 to 12")
        return (hour % 12 + (12 if found.group("pm") else 0)) * 60 + minute
    if hour == 24 and minute == 0:
        return MAX_MINUTES
    if hour > 23:
        raise BadCell(f"{shown(value)} is not a time of day: the hour must be 0 to 23")
    return hour * 60 + minute


def minutes_between(start: str, end: str) -> int:
    """Whole minutes from a start time to an end time (cells :func:`parse_clock` reads).

    ``11:30 AM`` to ``12:15 PM`` is 45. An end before its start is refused, never read as the
    next day or as afternoon ("11:30" to "1:15" is refused: without AM/PM both are 24-hour): a
    biller fixes the cell. When both cells carry dates, the service may run past midnight
    (``2026-03-02 23:30`` to ``2026-03-03 00:15`` is 45). More than a day is refused.
    """
    if not start.strip():
        raise BadCell("the start time is empty")
    if not end.strip():
        raise BadCell("the end time is empty")
    try:
        start_day, start_at = _clock_of(start)
    except BadCell as exc:
        raise BadCell(f"start time: {exc}") from None
    try:
        end_day, end_at = _clock_of(end)
    except BadCell as exc:
        raise BadCell(f"end time: {exc}") from None
    minutes = end_at - start_at
    if start_day is not None and end_day is not None:
        minutes += (end_day - start_day).days * MAX_MINUTES
    if minutes < 0:
        reason = f"the service ends before it starts ({start.strip()} to {end.strip()})"
        if end_at < 13 * 60 and not _AM_PM.search(end):  # "1:15" meant as 1:15 PM?
            reason += "; a time without AM or PM is read as 24-hour"
        raise BadCell(reason)
    if minutes > MAX_MINUTES:
        raise BadCell(
            f"{start.strip()} to {end.strip()} is {minutes} minutes, more than a day "
            f"({MAX_MINUTES} minutes)"
        )
    return minutes


def parse_count(text: str, what: str, most: int) -> int:
    """A whole number from 0 to ``most``; ``what`` names it in the reason."""
    value = text.strip()
    found = WHOLE.fullmatch(value)
    if found is None:
        if value.startswith("-") and NUMBER.fullmatch(value):
            raise BadCell(f"{what} cannot be negative ({value})")
        raise BadCell(f"{what}: {shown(value)} is not a whole number")
    if len(found.group(1).lstrip("0")) > MOST_DIGITS:
        raise BadCell(f"{what}: {shown(value)} is more than {most}")
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


def provider_and_discipline(cell: str) -> tuple[str, Discipline | None]:
    """The provider and the discipline of a provider cell whose name may end with credentials.

    ``Smith, Anna SLP`` -> ("Smith, Anna", SLP); ``Anna Smith, PT, DPT`` -> ("Anna Smith", PT);
    ``1234567890`` -> ("1234567890", None); an empty cell -> ("", None). Never refused.

    The credentials are left out of the provider id: they are what the discipline is read from,
    and the same clinician is printed "Anna Smith, CF-SLP" and later "Anna Smith, CCC-SLP", or
    "PT" in one report and "PT, DPT" in another, which must not make two providers. Two
    clinicians of one name and different disciplines stay apart: a visit is also keyed by
    discipline. Names are otherwise kept as written (see
    :func:`cognibill.readers.columns.split_credentials` for what counts as a credential).
    """
    name, credentials = split_credentials(cell)
    return name, (discipline_of(credentials) if credentials else None)
