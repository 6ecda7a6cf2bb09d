"""Excel workbooks (.xlsx, .xlsm) read as the rows a CSV export of the sheet would hold.

:func:`read_sheet` returns a :class:`Sheet` whose ``rows`` are every row of the sheet as strings,
so that the export reader treats a workbook as it treats a CSV file:

- a date cell is ``YYYY-MM-DD``; a date-and-time cell ``YYYY-MM-DD HH:MM``; a time cell ``HH:MM``
  (seconds are added only when they are not zero: ``HH:MM:SS``); a duration cell (``[h]:mm``)
  ``H:MM``. A date-and-time at exactly midnight is a date (Excel stores both alike).
- a whole number is ``38`` (never ``38.0``); another number has at most 15 significant digits, as
  Excel shows it (``1.5``, ``0.3`` for the double nearest 0.1 + 0.2);
- ``TRUE`` / ``FALSE`` for booleans, ``""`` for empty cells and for error cells (``#N/A``);
- text as written, not stripped; a formula gives the value Excel saved with it;
- no row is dropped: row ``n`` of :attr:`Sheet.rows` (from 1) is Excel's row ``n``, blank rows
  included, and every row starts at column A.

The first sheet of cells (not a chart sheet) unless one is named; an unknown name, a file that
is not a workbook, a damaged or password-protected one and the old binary ``.xls`` raise
:class:`~cognibill.errors.InputError` with a one-line reason. The reader, python-calamine
(``benchmarks/xlsx_readers.py`` says why), is imported by :func:`read_sheet` only, so that
start-up never loads it.
"""

from __future__ import annotations

import datetime as dt
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cognibill.errors import InputError

if TYPE_CHECKING:
    from python_calamine import CalamineSheet

_ZIP_MAGIC = b"PK\x03\x04"
_SNIFF = 65_536
"""Bytes read to tell a workbook from another file."""
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
"""An OLE2 compound file: the old binary .xls, and also what Excel writes for an encrypted
(password-protected) .xlsx."""

_MAX_EXACT = 2**53
"""Whole numbers below this are exact in a double and printed as integers."""


@dataclass(frozen=True)
class Sheet:
    """One sheet of a workbook, as rows of strings."""

    name: str
    """The sheet read."""
    names: list[str]
    """Every sheet of the workbook, in order."""
    rows: Iterator[list[str]]
    """Every row from row 1, each a list of strings (blank rows are lists of ``""``)."""


def is_workbook(path: str | Path) -> bool:
    """Whether ``path`` holds an Excel workbook by its first bytes: a zip with ``xl/`` inside
    (.xlsx, .xlsm; also a damaged one), or an OLE2 file (.xls, or an encrypted .xlsx). A
    workbook that cannot be read is :func:`read_sheet`'s to refuse, with the reason."""
    try:
        return _kind(path) in ("xlsx", "damaged", "ole")
    except OSError:
        return False


def _kind(path: str | Path) -> str:
    """What the file is: ``xlsx``, ``damaged`` (a workbook's zip that cannot be opened), ``ole``,
    ``zip`` (another zip: .docx, .ods) or ``other``; ``OSError`` when it cannot be opened."""
    with open(path, "rb") as fh:
        head = fh.read(_SNIFF)
        if head.startswith(_OLE_MAGIC):
            return "ole"
        if not head.startswith(_ZIP_MAGIC):
            return "other"
        fh.seek(0)
        try:
            with zipfile.ZipFile(fh) as archive:
                names = archive.namelist()
        except (zipfile.BadZipFile, OSError, ValueError, EOFError):
            # No central directory (a download cut short): the local headers still name parts.
            return "damaged" if b"xl/" in head or b"[Content_Types].xml" in head else "zip"
    return "xlsx" if any(name.startswith("xl/") for name in names) else "zip"


def cell_text(value: object) -> str:
    """A cell's value (as python-calamine or openpyxl give it) as a CSV export would print it."""
    if value is None:
        return ""
    to_text = _TEXT.get(type(value))
    if to_text is not None:
        return to_text(value)
    for kind, convert in _TEXT.items():  # a subclass (pendulum's datetime, numpy's float64)
        if isinstance(value, kind):
            return convert(value)
    return str(value)


def _number_text(value: float) -> str:
    if value.is_integer() and abs(value) < _MAX_EXACT:
        return str(int(value))
    return f"{value:.15g}"


def _time_text(value: dt.time) -> str:
    return _clock_text(_seconds(value.hour, value.minute, value.second, value.microsecond))


def _seconds(hour: int, minute: int, second: int, microsecond: int) -> int:
    """Seconds after midnight, to the nearest second (a time is a fraction of a day in Excel,
    so 13:05 may come back as 13:04:59.999999)."""
    return hour * 3600 + minute * 60 + second + (1 if microsecond >= 500_000 else 0)


def _clock_text(seconds: int) -> str:
    minutes, second = divmod(seconds, 60)
    hour, minute = divmod(minutes, 60)
    text = f"{hour:02d}:{minute:02d}"
    return f"{text}:{second:02d}" if second else text


def _datetime_text(value: dt.datetime) -> str:
    seconds = _seconds(value.hour, value.minute, value.second, value.microsecond)
    day = value.date()
    if seconds == 86_400:  # 23:59:59.6 rounds up to the next day
        day, seconds = day + dt.timedelta(days=1), 0
    if seconds == 0:
        return day.isoformat()
    return f"{day.isoformat()} {_clock_text(seconds)}"


def _duration_text(value: dt.timedelta) -> str:
    total = round(value.total_seconds())
    sign = "-" if total < 0 else ""
    minutes, second = divmod(abs(total), 60)
    hours, minute = divmod(minutes, 60)
    text = f"{sign}{hours}:{minute:02d}"
    return f"{text}:{second:02d}" if second else text


_TEXT: dict[type, Callable[[Any], str]] = {
    str: str,
    float: _number_text,
    bool: lambda value: "TRUE" if value else "FALSE",
    int: str,
    dt.datetime: _datetime_text,
    dt.date: dt.date.isoformat,
    dt.time: _time_text,
    dt.timedelta: _duration_text,
}
"""Each kind of cell value to its text; ``bool`` before ``int`` and ``datetime`` before ``date``
for the subclasses :func:`cell_text` matches by ``isinstance``."""


# -- reading ------------------------------------------------------------------------------------

_REFUSED = {
    "other": "is not an Excel workbook (.xlsx): save it as .xlsx or CSV",
    "zip": "is a zip file but not an Excel workbook (.xlsx): save it as .xlsx or CSV",
    "damaged": "is a damaged workbook (not a complete zip file): save it again as .xlsx or CSV",
    "ole": (
        "is an old binary Excel file (.xls) or a password-protected workbook, which cannot be "
        "read: remove any password, then save it as .xlsx or CSV"
    ),
}


_SHEET_HINT = "name one with --sheet"


def read_sheet(path: str | Path, sheet: str | None = None) -> Sheet:
    """The sheet named ``sheet`` (the first when None) of the workbook at ``path``, as strings.

    Raises :class:`~cognibill.errors.InputError` for an unknown sheet (naming the sheets), a
    file that is not a workbook, an old .xls, and a damaged or password-protected workbook.
    """
    shown = str(path)
    try:
        kind = _kind(path)
    except OSError as exc:
        raise InputError(shown, f"cannot open the workbook: {exc.strerror or exc}") from None
    if kind != "xlsx":
        raise InputError(shown, _REFUSED[kind])

    import python_calamine  # here, not at the top: start-up must not load it

    try:
        book = python_calamine.CalamineWorkbook.from_path(str(path))
        names = list(book.sheet_names)
        # The first sheet of cells: a chart sheet first in the tabs holds no rows.
        grids = [
            m.name for m in book.sheets_metadata if m.typ == python_calamine.SheetTypeEnum.WorkSheet
        ]
    except Exception as exc:  # calamine raises its own errors for a damaged part
        raise InputError(shown, f"cannot read the workbook: {_reason(exc)}") from None
    if not names:
        raise InputError(shown, "the workbook has no sheets")
    if sheet is None:
        chosen = grids[0] if grids else names[0]
    elif sheet in names:
        chosen = sheet
    else:
        listed = ", ".join(repr(n) for n in names)
        raise InputError(
            shown, f"no sheet named {sheet!r}; the sheets are {listed}", hint=_SHEET_HINT
        )
    try:
        found = book.get_sheet_by_name(chosen)
    except Exception as exc:
        raise InputError(shown, f"cannot read sheet {chosen!r}: {_reason(exc)}") from None
    return Sheet(chosen, names, _rows(found, shown, chosen))


def _reason(exc: BaseException) -> str:
    """An error's message on one line, cut short."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= 200 else text[:199] + "…"


def _rows(found: CalamineSheet, shown: str, name: str) -> Iterator[list[str]]:
    """Every row of a python-calamine sheet, from row 1 and column A, as strings."""
    start = found.start
    # iter_rows() starts at row 1 but at the first column that holds anything: pad on the left.
    lead = [""] * (start[1] if start else 0)
    text = cell_text
    try:
        if lead:
            for row in found.iter_rows():
                out = lead.copy()
                out.extend([v if type(v) is str else text(v) for v in row])
                yield out
        else:
            for row in found.iter_rows():
                yield [v if type(v) is str else text(v) for v in row]
    except Exception as exc:
        raise InputError(shown, f"cannot read sheet {name!r}: {_reason(exc)}") from None
