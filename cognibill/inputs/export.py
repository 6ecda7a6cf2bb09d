"""EHR session exports (CSV, TSV, gzipped or not) read into the engine's row frames, in chunks.

One row of the export is one service performed. :class:`ExportFrames` reads the export in
file order and yields :class:`Chunk` objects: the good rows as a ``ROWS`` frame
(:mod:`cognibill.engine.frames`) and the rows it cannot read as a ``REJECTED`` frame. Nothing
is dropped: rows read = good rows + rejected rows; blank lines are counted apart.

API::

    frames = ExportFrames(source, name=None, encoding=None, column_map={}, strict=False,
                          stdin=None, chunk_rows=100_000, catalogue=None,
                          default_code="97129")
    for chunk in frames:          # Chunk(rows=ROWS frame, rejected=REJECTED frame)
        ...
    frames.columns()              # ColumnLayout: which fields the file has, from which headers
    frames.name, frames.size, frames.position()   # for messages and a progress bar
    frames.rows_read, frames.rows_rejected, frames.blank_lines, frames.delimiter

- ``source``: a path, ``-`` (standard input, or ``stdin=`` when given) or an open binary or
  text stream; gzip is detected from its magic bytes.
- ``rows``: column ``row`` numbers the good rows of the file from 0 (continuing across chunks);
  ``source`` is the reader's ``name``; ``line`` and ``visit_line`` are the physical line the
  row starts on; ``has_plan`` says a plan-of-care date is given; ``poc_through``,
  ``poc_diagnoses``, ``poc_goals``, ``poc_frequency`` and ``poc_duration`` are null (an export
  has no such columns); ``diagnoses`` and ``modifiers`` are lists (empty when none).
- ``rejected``: in file order, with the header of the first bad column as the file spells it
  (null when the row as a whole is wrong) and every reason.
- A chunk holds ``chunk_rows`` rows read (good and rejected), the last one fewer; a file with no
  rows yields no chunk. The header is read, and its errors raised, by ``columns()`` or the first
  ``next()``. ``strict`` raises :class:`~cognibill.errors.InputError` at the first bad row, after
  a chunk of the good rows before it.

What it accepts, and the choices made, are those of
:class:`cognibill.readers.csv_export.ExportReader` (the same rows, values, line numbers,
rejections and errors):

- **Encoding**: UTF-8 with or without a BOM by default (a UTF-16 BOM switches to UTF-16);
  ``encoding=`` for others. Bytes that are not UTF-8 stop the read with an ``InputError``
  naming the line and suggesting cp1252.
- **Delimiter**: comma, semicolon or tab, whichever the header line holds most of.
- **Lines**: physical lines of the file, counted from 1 with the header; a row whose quoted
  cell spans lines is numbered by the line it starts on. Blank lines, and lines whose cells are
  all empty, are not rows: they are counted in ``blank_lines``.
- **Cells**: a row with fewer cells than the header, or with extra cells that are not empty, is
  rejected; empty extra cells are ignored. Each cell is read by :mod:`cognibill.inputs.cells`.

How: the stdlib ``csv`` module splits the rows; each block of rows is turned into columns of
strings (a polars frame), and each column's *distinct* values are parsed once by the one-value
parsers and looked up again by id. Line numbers come from the ``csv`` module's line count per
block (a row per line unless a quoted cell holds line breaks). No Python runs per row beyond
the ``csv`` module, except in a block (4,096 rows) that holds a blank row or a row of the wrong
width, and for a caller's text stream (whose lines are counted row by row).
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import dataclasses
import gc
import gzip
import io
import os
import sys
import zlib
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from itertools import islice
from typing import IO, Any, NamedTuple

import polars as pl

from cognibill.catalogue import COGNITIVE_PRIMARY, Catalogue, is_well_formed, load_catalogue
from cognibill.engine.frames import LOST, REJECTED, ROWS, SKIPPED, conform, empty
from cognibill.errors import EntryError, InputError
from cognibill.inputs import cells
from cognibill.inputs.shapes import Shape, detect, shape_named
from cognibill.readers.columns import (
    ColumnLayout,
    fields_named,
    minutes_from,
    resolve_columns,
)

STDIN = "-"
"""The path that means standard input."""

STDIN_NAME = "<stdin>"

Source = str | os.PathLike[str] | IO[bytes] | IO[str]

WHITESPACE = (
    "\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006"
    "\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
)
"""The characters Python's ``str.strip()`` removes: polars strips exactly these."""

_BLOCK_ROWS = 4096
"""Rows the csv module reads at a time before they become columns (kept small: cache-hot)."""

_CACHE_LIMIT = 50_000
"""Distinct values remembered per column between chunks: bounds memory."""

_STRICT_HINT = "without --strict every bad row is reported and the rest read"

_HEADER_SEARCH = 25
"""Lines looked at for the header: a report title and metadata rows may come above it."""
_HEADER_FIELDS = 3
"""A line naming this many fields is the header, even when it lacks a column (its error is the
answer); a filter line above a header ("Client,All,Provider,All") names fewer."""
_HEADER_CHARS = 1 << 20
"""The longest line read while looking for the header (/dev/zero must not fill memory)."""
_HEADER_SPAN = 100
"""Lines a quoted header cell may span before its quote counts as never closed."""

ABOVE_HEADER = "above the header (a report title or metadata line)"
BLANK_ROW = "blank row"
TOTAL_ROW = "a total row"

_TOTAL_WORDS = ("total", "totals", "grand total", "report total", "subtotal", "sub total")
"""A row whose first non-empty cell is one of these (or starts with one and a space or colon:
"Total for Doe, Jane") is a total line of a report, not a service: skipped and counted."""


def is_total(cell: str) -> bool:
    """Whether a row whose first non-empty cell is ``cell`` is a report's total row."""
    value = " ".join(cell.casefold().split()).rstrip(":")
    return any(value == word or value.startswith((word + " ", word + ":")) for word in _TOTAL_WORDS)


class Chunk(NamedTuple):
    """The rows of one stretch of the file: the good ones, the rejected and the skipped."""

    rows: pl.DataFrame
    """``ROWS`` frame, in file order."""
    rejected: pl.DataFrame
    """``REJECTED`` frame, in file order."""
    skipped: pl.DataFrame
    """``SKIPPED`` frame: blank rows, total rows, lines above the header, in file order."""
    lost: pl.DataFrame
    """``LOST`` frame: the visit keys of the rejected rows, as far as they could be read."""


# -- opening ------------------------------------------------------------------------------------

_GZIP_MAGIC = b"\x1f\x8b"
_UTF16_BOMS = (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)
_NOT_UTF8_HINT = (
    "exports saved by Excel are often Windows-1252: try --encoding cp1252 "
    '(or save the file as "CSV UTF-8")'
)


def _peek(stream: IO[bytes], size: int) -> bytes:
    peek = getattr(stream, "peek", None)
    if peek is not None:
        return bytes(peek(size)[:size])
    if stream.seekable():
        where = stream.tell()
        head = stream.read(size)
        stream.seek(where)
        return head
    return b""


def _check_encoding(encoding: str | None) -> str:
    """The codec to decode with; an unknown name is a command-line mistake (exit 2)."""
    if encoding is None:
        return "utf-8-sig"
    try:
        info = codecs.lookup(encoding)
    except LookupError:
        raise EntryError(
            f"--encoding {encoding}: unknown encoding",
            hint="common ones: utf-8, cp1252 (Excel on Windows), latin-1, utf-16",
        ) from None
    if not getattr(info, "_is_text_encoding", True):  # rot13, base64, zlib …: not text
        raise EntryError(
            f"--encoding {encoding}: not a text encoding",
            hint="common ones: utf-8, cp1252 (Excel on Windows), latin-1, utf-16",
        )
    return "utf-8-sig" if info.name == "utf-8" else info.name


@contextlib.contextmanager
def _gc_paused() -> Iterator[None]:
    """The cyclic garbage collector off while a block of rows is built: the rows are lists
    freed by reference counting, and a collection every few thousand of them would cost more
    than reading them. Never held across a ``yield``."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
"""An old binary .xls (or a password-protected workbook): refused by ``inputs.workbook``."""


class _SheetLines:
    """A sheet's rows as CSV text lines, one per row (what the reader iterates)."""

    def __init__(self, rows: Iterator[list[str]]) -> None:
        self.rows = rows
        self.buffer = io.StringIO()
        self.writer = csv.writer(self.buffer, lineterminator="\n")

    def __iter__(self) -> _SheetLines:
        return self

    def __next__(self) -> str:
        row = next(self.rows)
        buffer = self.buffer
        buffer.seek(0)
        buffer.truncate()
        if any("\n" in c or "\r" in c for c in row):
            row = [" ".join(c.splitlines()) for c in row]
        self.writer.writerow(row)
        return buffer.getvalue()

    def close(self) -> None:
        """Nothing to close: the workbook is read whole by its reader."""


# -- cells: each distinct value parsed once -----------------------------------------------------

_Parse = Callable[[str], tuple[object, ...]]
_Answer = tuple[tuple[object, ...] | None, str | None]
"""A parser's answer for one cell: its values, or None and the reason."""


@dataclass
class _Check:
    """One column of the file read by one parser: its outputs, and the answers remembered."""

    index: int
    field: str
    name: str
    """The column as messages name it (the file's header, or the field)."""
    parse: _Parse
    dtypes: tuple[pl.DataType | type[pl.DataType], ...]
    stripped: bool = False
    """A text column of many distinct values (patient, session): stripped in place, and an
    empty cell is null, or refused as the parser refuses it, rather than parsed one by one."""
    cache: dict[str, _Answer] = dataclasses.field(default_factory=dict)

    def resolve(self, column: pl.Series) -> _Resolved:
        """The answers for the cells of ``column``."""
        if self.stripped:
            values = column.str.strip_chars(WHITESPACE)
            try:
                self.parse("")
            except cells.BadCell as exc:
                return _Stripped(values, str(exc))
            return _Stripped(values, None)
        keys = column.unique().to_list()
        cache = self.cache
        parse = self.parse
        answers: list[tuple[object, ...] | None] = []
        reasons: list[str | None] = []
        for key in keys:
            found = cache.get(key)
            if found is None:
                try:
                    found = (parse(key), None)
                except cells.BadCell as exc:
                    found = (None, str(exc))
                if len(cache) < _CACHE_LIMIT:
                    cache[key] = found
            answers.append(found[0])
            reasons.append(found[1])
        return _ByValue(_ids(column, keys), _Table(self.dtypes, answers, reasons))


def _ids(column: pl.Series, keys: list[Any]) -> pl.Series:
    """The position in ``keys`` (the distinct values of ``column``) of each value."""
    if not keys:
        return pl.Series(column.name, [], dtype=pl.UInt32)
    if column.dtype == pl.String:  # an enum of exactly the distinct values: the cheapest lookup
        return column.cast(pl.Enum(keys)).to_physical().cast(pl.UInt32)
    return column.replace_strict(keys, range(len(keys)), return_dtype=pl.UInt32)


class _Table:
    """The answers of one check for the distinct cells of a chunk, by id."""

    def __init__(
        self,
        dtypes: Sequence[pl.DataType | type[pl.DataType]],
        answers: list[tuple[object, ...] | None],
        reasons: list[str | None],
    ) -> None:
        self.answers = answers
        self.values = [
            pl.Series([None if a is None else a[j] for a in answers], dtype=dtype)
            for j, dtype in enumerate(dtypes)
        ]
        self.reasons = pl.Series(reasons, dtype=pl.String)
        self.bad = [i for i, r in enumerate(reasons) if r is not None]
        """Ids of the cells that are refused."""

    def lists(self, j: int) -> list[list[str]]:
        """Output ``j`` (a list) of each id, as Python lists (empty for a refused cell)."""
        return [[] if a is None else list(a[j]) for a in self.answers]  # type: ignore[call-overload]


class _ByValue:
    """A check's answers for a chunk: the id of each cell's distinct value, and the table."""

    def __init__(self, ids: pl.Series, table: _Table) -> None:
        self.ids = ids
        self.table = table

    def bad(self) -> pl.Series | None:
        """Which cells are refused (None: none are)."""
        return self.ids.is_in(self.table.bad) if self.table.bad else None

    def filter(self, mask: pl.Series) -> _ByValue:
        return _ByValue(self.ids.filter(mask), self.table)

    def value(self, j: int = 0) -> pl.Series:
        return self.table.values[j].gather(self.ids)

    def reasons(self) -> pl.Series:
        return self.table.reasons.gather(self.ids)


class _Stripped:
    """A text check's answers for a chunk: the stripped cells; an empty one is null, or
    refused with ``reason``."""

    def __init__(self, values: pl.Series, reason: str | None) -> None:
        self.values = values
        self.reason = reason

    def bad(self) -> pl.Series | None:
        return self.values.eq("") if self.reason is not None else None

    def filter(self, mask: pl.Series) -> _Stripped:
        return _Stripped(self.values.filter(mask), self.reason)

    def value(self, j: int = 0) -> pl.Series:
        if self.reason is not None:
            return self.values
        empty = self.values == ""
        return pl.select(pl.when(empty).then(None).otherwise(self.values)).to_series()

    def reasons(self) -> pl.Series:
        reason = pl.lit(self.reason, dtype=pl.String)
        empty = self.values == ""
        return pl.select(pl.when(empty).then(reason).otherwise(None)).to_series()


_Resolved = _ByValue | _Stripped


def _combined(parts: Sequence[tuple[pl.Series, list[list[str]]]]) -> pl.Series:
    """Lists of several columns end to end, row by row, worked out once per distinct
    combination: ``parts`` holds each column's ids and its list for each id."""
    ids, lists = parts[0]
    for more_ids, more in parts[1:]:
        key = ids.cast(pl.UInt64) * len(more) + more_ids.cast(pl.UInt64)
        combos = key.unique().to_list()
        lists = [lists[k // len(more)] + more[k % len(more)] for k in combos]
        ids = _ids(key, combos)
    return pl.Series(lists, dtype=_LIST).gather(ids)


def _one(parse: Callable[[str], object]) -> _Parse:
    return lambda cell: (parse(cell),)


def _discipline(cell: str) -> tuple[object, ...]:
    found = cells.parse_discipline(cell)
    return (None if found is None else found.value,)


def _discipline_in_name(cell: str) -> tuple[object, ...]:
    found = cells.provider_and_discipline(cell)[1]
    return (None if found is None else found.value,)


def _provider_name(cell: str) -> str | None:
    """A provider cell without the credentials its discipline was read from."""
    return cells.parse_text(cells.provider_and_discipline(cell)[0])


def _assistant_minutes(cell: str) -> tuple[object, ...]:
    return (cells.parse_assistant_minutes(cell), bool(cell.strip()))


def _code(cell: str, catalogue: Catalogue) -> tuple[str, tuple[str, ...]]:
    """(code, modifiers after it) of a code cell (``cells.parse_code``), also when the code is
    the first word of a longer cell (OpenEMR's "97110 Therapeutic exercise"). A well-formed
    code that is not in the catalogue and is no near miss of one is carried as given (the
    engine bills it as entered with ``code-not-in-catalogue``); a near miss (92129) is refused
    with "did you mean" (issue 10)."""
    try:
        return cells.parse_code(cell, catalogue)
    except cells.BadCell:
        value = cell.strip().upper()
        head = value.split(maxsplit=1)[0] if value else value
        if head != value:
            try:
                return cells.parse_code(head, catalogue)
            except cells.BadCell:
                pass
        base = head.split("-", 1)[0]
        if not is_well_formed(base) or catalogue.near_misses(base):
            raise
        mods: tuple[str, ...] = ()
        if base != head:
            try:
                mods = cells.parse_modifiers(" ".join(head.split("-")[1:]))
            except cells.BadCell:
                raise cells.BadCell(f"{cells.shown(head)} is not a code with modifiers") from None
        return base, mods


def _duration(cell: str) -> int:
    """Minutes of a minutes or duration cell (``38``, ``0:38``, ``1h 15m``): a cell that is
    no duration at all keeps the plain reason (``'thirty' is not a number of minutes``)."""
    try:
        return cells.parse_duration(cell)
    except cells.BadCell as exc:
        if "is not a duration" in str(exc):
            cells.parse_minutes(cell)  # raises its reason
        raise


def _without(
    gone: set[int], rows: list[list[str]], starts: Sequence[int], lasts: Sequence[int]
) -> tuple[list[list[str]], list[int], list[int]]:
    """The rows (and their first and last lines) whose positions are not in ``gone``."""
    kept = [i for i in range(len(rows)) if i not in gone]
    return [rows[i] for i in kept], [starts[i] for i in kept], [lasts[i] for i in kept]


def _minutes_between(cell: str) -> int:
    """Minutes from a start and end cell joined by ``\x1f`` (RULES.md §11)."""
    start, _, end = cell.partition("\x1f")
    return cells.minutes_between(start, end)


def _units_given(cell: str) -> int:
    """Units of a file with no minutes: they are all it says of the service."""
    found = cells.parse_units(cell)
    if found is None:
        raise cells.BadCell("no units, and the file has no minutes")
    return found


def _meaning(parse: _Parse, values: Mapping[str, str]) -> _Parse:
    """``parse`` of what a coded cell means in the file's shape (``3`` -> ``medicare``)."""
    return lambda cell: parse(values.get(cell.strip(), cell))


def _listed(parse: Callable[[str], tuple[str, ...]]) -> _Parse:
    return lambda cell: (list(parse(cell)),)


_LIST = pl.List(pl.String)


class _Columns:
    """The checks of one file's layout, in the order the old reader reports problems."""

    def find(self, field_: str) -> int | None:
        """The (first) check of a field, or None when the file has no such column."""
        return self._by_field.get(field_)

    def __init__(
        self,
        layout: ColumnLayout,
        catalogue: Catalogue,
        default_code: str,
        shape: Shape | None = None,
    ) -> None:
        self.layout = layout
        self.time = minutes_from(layout)
        """Where minutes come from: ``minutes``, ``start-end`` or ``units`` (none)."""
        try:
            code, mods = cells.parse_code(default_code, catalogue)
        except cells.BadCell as exc:
            raise EntryError(f"default code {default_code}: {exc}") from None
        self.default_code = code
        self.default_mods = list(mods)

        def code_of(cell: str) -> tuple[object, ...]:
            found, extra = _code(cell, catalogue)
            return (found, list(extra))

        ix = layout.index
        header = layout.header
        width = len(header)
        self.pair: tuple[int, int] | None = None
        """(start, end) columns whose pair of cells gives the minutes (``c<width>``)."""
        minutes_at = ix("minutes")
        minutes_parse = _one(_duration)
        if self.time == "start-end":
            self.pair = (ix("start"), ix("end"))
            minutes_at = width
            minutes_parse = _one(_minutes_between)
        units_parse = _one(cells.parse_units if self.time != "units" else _units_given)
        specs: list[tuple[int, str, _Parse, tuple[pl.DataType | type[pl.DataType], ...]]] = [
            (ix("patient"), "patient", _one(cells.parse_patient), (pl.String,)),
            (ix("date"), "date", _one(cells.parse_date), (pl.Date,)),
            (minutes_at, "minutes", minutes_parse, (pl.Int32,)),
            (ix("code"), "code", code_of, (pl.String, _LIST)),
            (ix("discipline"), "discipline", _discipline, (pl.String,))
            if ix("discipline") >= 0
            # no discipline column: the credentials after a provider's name ("Smith, Anna SLP")
            else (ix("provider"), "discipline", _discipline_in_name, (pl.String,)),
            (ix("place_of_service"), "place_of_service", _one(cells.parse_place), (pl.String,)),
            (ix("poc_start"), "poc_start", _one(cells.parse_optional_date), (pl.Date,)),
            (ix("poc_certified"), "poc_certified", _one(cells.parse_optional_date), (pl.Date,)),
            (ix("units_billed"), "units_billed", units_parse, (pl.Int32,)),
            (ix("assistant"), "assistant", _one(cells.parse_flag), (pl.Boolean,)),
            (
                ix("assistant_minutes"),
                "assistant_minutes",
                _assistant_minutes,
                (pl.Int32, pl.Boolean),
            ),
            (ix("group"), "group", _one(cells.parse_flag), (pl.Boolean,)),
        ]
        specs += [
            (i, "modifiers", _listed(cells.parse_modifiers), (_LIST,))
            for i in layout.columns.get("modifiers", ())
        ]
        values = {} if shape is None else shape.values
        self.patient = ix("patient")
        order: list[tuple[int, str, int]] = []
        self.checks: list[_Check] = []
        for index, name, parse, dtypes in specs:
            if index >= 0:
                if index == width and self.pair is not None:  # the start and end pair
                    column = f"{header[self.pair[0]]}/{header[self.pair[1]]}"
                    order.append((self.pair[0], column, len(self.checks)))
                else:
                    column = header[index] or name
                    order.append((index, column, len(self.checks)))
                if name in values:
                    parse = _meaning(parse, values[name])
                stripped = name == "patient"
                self.checks.append(_Check(index, name, column, parse, dtypes, stripped=stripped))
        self.order = sorted(order, key=lambda c: c[0])
        """(index, column name, check) in the order problems are reported: by column, ties in
        the order of the checks (a stable sort, as the old reader's)."""
        self.diagnoses = [
            _Check(i, "diagnoses", header[i], _listed(cells.parse_list), (_LIST,))
            for i in layout.columns.get("diagnoses", ())
        ]
        # Providers and payers are few: parsed by value; session ids are many: stripped.
        self.texts = [
            _Check(
                ix(f),
                f,
                header[ix(f)],
                _meaning(_one(cells.parse_text), values[f])
                if f in values
                else _one(_provider_name)
                if f == "provider" and ix("discipline") < 0
                else _one(cells.parse_text),
                (pl.String,),
                stripped=f == "session_id" and f not in values,
            )
            for f in ("provider", "payer", "session_id")
            if ix(f) >= 0
        ]
        self._by_field = {c.field: k for k, c in reversed(list(enumerate(self.checks)))}
        self.needed = sorted(
            ({c.index for c in self.checks} - {width})
            | set(self.pair or ())
            | {c.index for c in self.texts}
            | {c.index for c in self.diagnoses}
        )


@dataclass
class _Block:
    """Rows the csv module read, before parsing: strings by column, plus what was set apart."""

    frames: list[pl.DataFrame] = dataclasses.field(default_factory=list)
    """Rows with the header's width: ``c<index>`` strings, ``line`` and ``last``."""
    rejected: list[tuple[int, str]] = dataclasses.field(default_factory=list)
    """(line, reason) of rows with the wrong number of cells."""
    blanks: list[tuple[int, int]] = dataclasses.field(default_factory=list)
    """(line, lines) of blank rows."""
    totals: list[int] = dataclasses.field(default_factory=list)
    """Lines of a report's total rows ("Grand Total")."""
    rows: int = 0
    """Rows read (good or rejected), blank rows apart."""
    error: BaseException | None = None
    """What stopped the read, raised after the rows before it are handed out."""
    error_line: int = 0
    done: bool = False


# -- the reader ---------------------------------------------------------------------------------


class ExportFrames:
    """Read one export; iterate it for :class:`Chunk` frames in file order (see the module).

    ``column_map`` names headers the aliases do not know (``{"minutes": "Time Spent"}``);
    ``strict`` raises :class:`InputError` at the first bad row; ``default_code`` is the code of
    every row when the file has no code column.
    """

    def __init__(
        self,
        source: Source,
        *,
        name: str | None = None,
        encoding: str | None = None,
        column_map: Mapping[str, str] | None = None,
        strict: bool = False,
        stdin: IO[bytes] | None = None,
        chunk_rows: int = 100_000,
        catalogue: Catalogue | None = None,
        default_code: str = COGNITIVE_PRIMARY,
        shape: str | None = None,
        sheet: str | None = None,
    ) -> None:
        if chunk_rows < 1:
            raise ValueError("chunk_rows must be at least 1")
        self.source = source
        self.codec = _check_encoding(encoding)
        self.encoding_given = encoding is not None
        self.column_map = dict(column_map or {})
        self.strict = strict
        self.stdin = stdin
        self.chunk_rows = chunk_rows
        self.catalogue = catalogue or load_catalogue()
        self.default_code = default_code
        self.forced = None if shape is None else shape_named(shape)
        self.sheet = sheet
        """The workbook sheet to read (None: the first); ignored for a text file."""
        self.sheet_read: str | None = None
        """The sheet that was read, for a workbook."""
        self.shape: Shape | None = None
        """The vendor shape the file was read as (None: a generic export)."""
        self.header_line = 0
        """The line the header ends on."""
        if name is not None:
            self.name = name
        elif isinstance(source, str | os.PathLike):
            self.name = STDIN_NAME if os.fspath(source) == STDIN else os.fspath(source)
        else:
            self.name = str(getattr(source, "name", STDIN_NAME))
        self.layout: ColumnLayout | None = None
        self.delimiter: str | None = None
        self.rows_read = 0
        self.rows_rejected = 0
        self.rows_skipped = 0
        self.blank_lines = 0
        self.size: int | None = None
        """Bytes in the file (compressed, for gzip); None for a stream."""
        self._raw: IO[bytes] | None = None
        self._text: IO[str] | None = None
        self._closers: list[IO[Any]] = []
        """Line numbers from ``line_num`` row by row (a caller's text stream splits lines its
        own way), not worked out per block."""
        self._reader: Any = None
        self._offset = 0
        self._columns: _Columns | None = None
        self._next_row = 0
        self._start = 0
        """Line the last row read starts on (for the hint of an unclosed quote)."""
        self._above: list[int] = []
        """Lines above the header (a title, metadata), handed out with the first chunk."""

    @property
    def rows_used(self) -> int:
        return self.rows_read - self.rows_rejected - self.rows_skipped

    def position(self) -> int | None:
        """Bytes of the file read so far, for a progress bar against ``size`` (None for a
        stream, or before the file is opened). It runs a buffer ahead of the rows yielded."""
        raw = self._raw
        if raw is None or raw.closed:
            return self.size if raw is not None else None
        return raw.tell()

    def columns(self) -> ColumnLayout:
        """Which fields the file has, and from which headers (reads the header if need be)."""
        if self.layout is None:
            self._begin()
        assert self.layout is not None
        return self.layout

    def close(self) -> None:
        """Close the file (a caller's stream is left open); iterating to the end does it too."""
        closers, self._closers = self._closers, []
        self._columns = None
        for stream in closers:
            if isinstance(stream, io.TextIOWrapper) and self._path() is None:
                with contextlib.suppress(ValueError):
                    stream.detach()  # leave a caller's stream (stdin) open
                continue
            with contextlib.suppress(OSError, ValueError):
                stream.close()

    # -- opening --------------------------------------------------------------------------------

    def _path(self) -> str | None:
        src = self.source
        if isinstance(src, str | os.PathLike) and os.fspath(src) != STDIN:
            return os.fspath(src)
        return None

    def _open(self) -> IO[str]:
        """A text stream of the input (decoded, gunzipped); what to close goes to _closers."""
        src = self.source
        closers = self._closers
        binary: IO[bytes]
        path = self._path()
        if path is not None:
            try:
                raw = open(path, "rb")  # noqa: SIM115 - closed by close()
            except FileNotFoundError:
                raise InputError(self.name, "no such file") from None
            except IsADirectoryError:
                raise InputError(self.name, "is a directory, not an export file") from None
            except OSError as exc:
                reason = (exc.strerror or type(exc).__name__).lower()
                raise InputError(self.name, f"cannot read the file: {reason}") from None
            if _peek(raw, 4) == b"PK\x03\x04" or _peek(raw, 8) == _OLE_MAGIC:
                raw.close()
                return self._workbook(path)
            closers.append(raw)
            binary = raw
            self._raw = raw
            self.size = os.fstat(raw.fileno()).st_size
        elif isinstance(src, str | os.PathLike):  # "-"
            binary = self.stdin if self.stdin is not None else sys.stdin.buffer
        elif isinstance(src, io.TextIOBase) or hasattr(src, "encoding"):
            buffer = getattr(src, "buffer", None)
            if buffer is None:  # a pure text stream (StringIO): already decoded
                return src  # type: ignore[return-value]
            binary = buffer
        else:
            binary = src  # type: ignore[assignment]
        if _peek(binary, 2) == _GZIP_MAGIC:
            binary = gzip.GzipFile(fileobj=binary, mode="rb")  # type: ignore[assignment]
            closers.append(binary)
        codec = self.codec
        if not self.encoding_given and _peek(binary, 2) in _UTF16_BOMS:
            codec = "utf-16"
        text = io.TextIOWrapper(binary, encoding=codec, errors="strict", newline="")
        closers.insert(0, text)
        return text

    def _workbook(self, path: str) -> IO[str]:
        """The rows of a workbook's sheet as the lines of a CSV file (``inputs.workbook``): a
        line break inside a cell is read as a space, so line numbers are the sheet's rows."""
        from cognibill.inputs.workbook import read_sheet

        found = read_sheet(path, self.sheet)
        self.sheet_read = found.name
        return _SheetLines(found.rows)  # type: ignore[return-value]

    @contextlib.contextmanager
    def _reading(self) -> Iterator[None]:
        """Errors of the input (undecodable bytes, bad gzip data, I/O) as ``InputError``."""
        try:
            yield
        except UnicodeDecodeError as exc:
            raise self._not_decodable(exc) from None
        except UnicodeError as exc:  # utf-16 with no byte-order mark
            raise InputError(
                self.name,
                f"the file is not {self.codec} text: {exc}",
                hint="for UTF-16 without a byte-order mark pass --encoding utf-16-le or utf-16-be",
            ) from None
        except (gzip.BadGzipFile, EOFError, zlib.error) as exc:
            reason = "it ends too soon (cut short?)" if isinstance(exc, EOFError) else exc
            raise InputError(self.name, f"cannot read the gzip data: {reason}") from None
        except OSError as exc:
            reason = (exc.strerror or str(exc) or type(exc).__name__).lower()
            raise InputError(self.name, f"cannot read the input: {reason}") from None

    def _begin(self) -> None:
        """Open the input and read its header (once)."""
        try:
            with self._reading():
                text = self._open()
            self._text = text
            with self._reading():
                try:
                    layout, offset, delimiter = self._header(text)
                except csv.Error as exc:
                    raise InputError(self.name, f"cannot read the header: {exc}", line=1) from None
            self.layout = layout
            columns = _Columns(layout, self.catalogue, self.default_code, self.shape)
        except BaseException:
            self.close()
            raise
        self.header_line = offset
        self.delimiter = delimiter
        self._offset = offset
        self._next_row = 0
        self._start = offset + 1
        self._columns = columns
        self._reader = csv.reader(text, delimiter=delimiter)

    def _header(self, text: IO[str]) -> tuple[ColumnLayout, int, str]:
        """The header's layout, the line it ends on and the delimiter.

        The header is the first line that names the required columns, among the first
        ``_HEADER_SEARCH`` lines that are not blank: a report title, metadata and filter lines
        above it are skipped (and counted); when none does, the error of the line that names
        the most fields is raised (the header that lacks a column)."""
        lines = 0
        tried = 0
        above: list[int] = []
        first_error: InputError | None = None
        best = 0
        while (raw := self._header_line(text, lines + 1)) is not None:
            lines += 1
            if not raw.strip().strip(",;\t"):
                if tried:  # between a title and the header
                    above.append(lines)
                else:
                    self.blank_lines += 1
                continue
            start = lines
            parts = [raw]
            quotes = raw.count('"')
            while quotes % 2:  # a quoted newline inside a header cell: bounded, never re-scanned
                more = self._header_line(text, lines + 1)
                if more is None:
                    break
                lines += 1
                if lines - start >= _HEADER_SPAN:
                    raise InputError(
                        self.name,
                        f"a quote in the header is not closed within {_HEADER_SPAN} lines",
                        line=start,
                        hint="remove the stray quote from the header line",
                    )
                parts.append(more)
                quotes += more.count('"')
            line = "".join(parts)
            if not tried:
                line = line.removeprefix("\ufeff")
            counts = {d: line.count(d) for d in (",", "\t", ";")}
            delimiter = max(counts, key=lambda d: counts[d]) if any(counts.values()) else ","
            cells_ = next(csv.reader([line], delimiter=delimiter), [])
            tried += 1
            shape = self.forced or detect(cells_)
            mapping = {**(shape.column_map(cells_) if shape else {}), **self.column_map}
            try:
                layout = resolve_columns(cells_, self.name, mapping, line=start)
            except InputError as exc:
                # The error to give if no line is the header: that of the line naming the most
                # fields (a header that lacks a column, not a title or a filter line above it).
                named = len(fields_named(cells_))
                if first_error is None or named > best:
                    first_error, best = exc, named
                if named >= _HEADER_FIELDS or tried >= _HEADER_SEARCH:
                    raise first_error from None
                above.append(start)
                continue
            self.shape = shape
            self._above = above
            return layout, lines, delimiter
        if first_error is not None:
            raise first_error from None
        reason = "the file is empty" if lines == 0 else "no header line: only blank lines"
        raise InputError(
            self.name,
            reason,
            hint="an export starts with a header line naming its columns",
        )

    def _header_line(self, text: IO[str], number: int) -> str | None:
        """The next line above or of the header (None at the end), of bounded length; a NUL
        byte means the input is not text in this encoding."""
        readline = getattr(text, "readline", None)
        if readline is None:  # a workbook's rows
            return next(text, None)
        line: str = readline(_HEADER_CHARS)
        if not line:
            return None
        if "\x00" in line:
            raise InputError(
                self.name,
                "the file holds NUL bytes: it is not a text export in "
                f"{'UTF-8' if self.codec == 'utf-8-sig' else self.codec}",
                line=number,
                hint="UTF-16 without a byte-order mark? pass --encoding utf-16-le; a binary "
                "file? export it from the EHR as CSV or XLSX",
            )
        if len(line) >= _HEADER_CHARS and not line.endswith(("\n", "\r")):
            raise InputError(
                self.name,
                f"line {number} is longer than {_HEADER_CHARS:,} characters: not a header",
                line=number,
                hint="an export starts with a header line naming its columns",
            )
        return line

    def _not_decodable(self, exc: UnicodeDecodeError) -> InputError:
        line = self._bad_line(exc)
        byte = exc.object[exc.start : exc.start + 1]
        shown = f" (byte 0x{byte[0]:02X})" if byte else ""
        codec = "UTF-8" if self.codec == "utf-8-sig" else self.codec
        hint = _NOT_UTF8_HINT if not self.encoding_given else "check --encoding"
        return InputError(self.name, f"the file is not {codec} text{shown}", line=line, hint=hint)

    def _bad_line(self, exc: UnicodeDecodeError) -> int | None:
        """The exact line of undecodable bytes, found by re-reading a file (not a stream)."""
        path = self._path()
        if path is None:
            return None
        try:
            with open(path, "rb") as raw:
                stream: IO[bytes] = raw
                if _peek(raw, 2) == _GZIP_MAGIC:
                    stream = gzip.GzipFile(fileobj=raw, mode="rb")  # type: ignore[assignment]
                decoder = codecs.getincrementaldecoder(self.codec)("strict")
                for number, chunk in enumerate(stream, 1):
                    try:
                        decoder.decode(chunk)
                    except UnicodeDecodeError:
                        return number
        except (OSError, EOFError, zlib.error):  # a damaged gzip: the line is not known
            return None
        return None

    # -- reading --------------------------------------------------------------------------------

    def __iter__(self) -> Iterator[Chunk]:
        try:
            if self._columns is None:
                self._begin()
            columns = self._columns
            assert columns is not None
            while True:
                with _gc_paused():
                    block = self._read_block(columns)
                    chunk, failure = self._frames(columns, block)
                if chunk is not None:
                    yield chunk
                if failure is not None:
                    raise failure
                if block.error is not None:
                    self._raise(block)
                if block.done:
                    return
        finally:
            self.close()

    def _raise(self, block: _Block) -> None:
        """The error that stopped the read, as the old reader words it."""
        error = block.error
        if isinstance(error, csv.Error):
            hint = None
            if "field larger" in str(error):
                # self._start: the line the last row read starts on
                hint = (
                    f"a cell longer than {csv.field_size_limit():,} characters: either a quote "
                    f"opened at or after line {self._start} is never closed, or the file is not "
                    "a CSV export"
                )
            reason = f"cannot read the row: {error}"
            raise InputError(self.name, reason, line=block.error_line, hint=hint) from None
        with self._reading():
            raise error  # type: ignore[misc]

    def _read_block(self, columns: _Columns) -> _Block:
        """Up to ``chunk_rows`` rows read (blank rows apart), as columns of strings."""
        block = _Block()
        reader = self._reader
        offset = self._offset
        width = len(columns.layout.header)
        needed = columns.needed
        patient = columns.patient
        while block.rows < self.chunk_rows:
            want = min(_BLOCK_ROWS, self.chunk_rows - block.rows)
            before = reader.line_num
            rows: list[list[str]] = []
            ends: list[int] = []
            try:
                # The csv module's own count after each row: exact whatever the quoting (a
                # count of the line breaks kept in cells is not, with a stray quote), and it
                # costs 2-3% of the read.
                for row in islice(reader, want):
                    rows.append(row)
                    ends.append(reader.line_num)
            except (csv.Error, UnicodeError, EOFError, OSError, zlib.error) as exc:
                block.error = exc
                block.error_line = offset + reader.line_num
            after = reader.line_num
            if rows:
                starts: Sequence[int]
                lasts: Sequence[int]
                if block.error is None and after - before == len(rows):
                    # One line a row (the usual case): no list of line numbers to build.
                    starts = lasts = range(offset + before + 1, offset + after + 1)
                else:
                    starts = [offset + 1 + e for e in (before, *ends[:-1])]
                    lasts = [offset + e for e in ends]
                self._start = starts[-1]
                self._sort(block, rows, starts, lasts, width, needed, patient)
            if block.error is not None or len(rows) < want:
                block.done = True
                break
        return block

    @staticmethod
    def _sort(
        block: _Block,
        rows: list[list[str]],
        starts: Sequence[int],
        lasts: Sequence[int],
        width: int,
        needed: Sequence[int],
        patient: int,
    ) -> None:
        """Rows of the header's width become columns; the others are blank or rejected."""
        if len(set(map(len, rows))) != 1 or len(rows[0]) != width:
            kept: list[list[str]] = []
            kept_starts: list[int] = []
            kept_lasts: list[int] = []
            for row, start, last in zip(rows, starts, lasts, strict=True):
                count = len(row)
                if count != width:
                    if not row:
                        block.blanks.append((start, 1))
                        continue
                    if not any(c.strip() for c in row):
                        block.blanks.append((start, last - start + 1))
                        continue
                    if is_total(next(c for c in row if c.strip())):
                        block.totals.append(start)
                        continue
                    if count < width or any(c.strip() for c in row[width:]):
                        spans = ""
                        if last > start:
                            spans = (
                                f" (the row runs from line {start} to {last}: "
                                "is a quote left open?)"
                            )
                        block.rejected.append(
                            (start, f"expected {width} cells like the header, found {count}{spans}")
                        )
                        block.rows += 1
                        continue
                    row = row[:width]
                kept.append(row)
                kept_starts.append(start)
                kept_lasts.append(last)
            rows, starts, lasts = kept, kept_starts, kept_lasts
            if not rows:
                return
        by_column = list(zip(*rows, strict=True))
        # A report's total rows: a scan in C of the first columns for "total" first, the rows
        # themselves only when one may be there.
        if any(
            "total" in "\x1f".join(by_column[j]).casefold() for j in {0, min(1, width - 1), patient}
        ):
            totals = {
                i
                for i, row in enumerate(rows)
                if any(c.strip() for c in row) and is_total(next(c for c in row if c.strip()))
            }
            if totals:
                block.totals.extend(starts[i] for i in sorted(totals))
                rows, starts, lasts = _without(totals, rows, starts, lasts)
                if not rows:
                    return
                by_column = list(zip(*rows, strict=True))
        # A row of empty cells is a blank line, and a total row's label may stand in any column
        # when its patient cell is empty: only such rows are looked at (a scan in C of the
        # patient cells first; the rows themselves only when there is one).
        patients = by_column[patient]
        if "" in patients or any(map(str.isspace, patients)):
            blank: set[int] = set()
            labelled: set[int] = set()
            for i, row in enumerate(rows):
                if row[patient].strip():
                    continue
                filled = next((c for c in row if c.strip()), None)
                if filled is None:
                    blank.add(i)
                elif is_total(filled):
                    labelled.add(i)
            if blank or labelled:
                block.blanks.extend((starts[i], lasts[i] - starts[i] + 1) for i in sorted(blank))
                block.totals.extend(starts[i] for i in sorted(labelled))
                rows, starts, lasts = _without(blank | labelled, rows, starts, lasts)
                if not rows:
                    return
                by_column = list(zip(*rows, strict=True))
        block.frames.append(
            pl.DataFrame(
                {
                    **{f"c{i}": pl.Series(by_column[i], dtype=pl.String) for i in needed},
                    "line": pl.Series(starts, dtype=pl.Int64),
                    "last": pl.Series(lasts, dtype=pl.Int64),
                }
            )
        )
        block.rows += len(rows)

    def _frames(self, columns: _Columns, block: _Block) -> tuple[Chunk | None, InputError | None]:
        """The block parsed: good rows and rejected rows (and, when strict, the error)."""
        frame = (
            pl.concat(block.frames, how="vertical", rechunk=False)
            if block.frames
            else pl.DataFrame(
                {
                    **{f"c{i}": pl.Series([], dtype=pl.String) for i in columns.needed},
                    "line": pl.Series([], dtype=pl.Int64),
                    "last": pl.Series([], dtype=pl.Int64),
                }
            )
        )

        if columns.pair is not None:  # the minutes of start and end: one cell of the two
            start, end = columns.pair
            both = pl.col(f"c{start}") + pl.lit("\x1f") + pl.col(f"c{end}")
            frame = frame.with_columns(both.alias(f"c{len(columns.layout.header)}"))

        def resolve(checks: Sequence[_Check]) -> list[_Resolved]:
            return [c.resolve(frame.get_column(f"c{c.index}")) for c in checks]

        checked, dx, texts = (
            resolve(columns.checks),
            resolve(columns.diagnoses),
            resolve(columns.texts),
        )
        problem = None
        for answers in checked:
            refused = answers.bad()
            if refused is not None:
                problem = refused if problem is None else problem | refused
        am = columns.find("assistant_minutes")
        minutes = columns.find("minutes")
        over = None
        if am is not None and minutes is not None:
            assisted = checked[am].value(0) > checked[minutes].value(0)
            over = assisted if problem is None else ~problem & assisted
            over = over.fill_null(False)
        bad = over if problem is None else problem if over is None else problem | over
        lost = empty(LOST)
        if bad is not None and bad.any():
            keep = ~bad
            lost = self._lost(columns, frame.filter(bad), checked, texts, bad)
            good = self._rows(
                columns,
                frame.filter(keep),
                [a.filter(keep) for a in checked],
                [a.filter(keep) for a in dx],
                [a.filter(keep) for a in texts],
            )
            rejected = self._rejected(
                columns,
                frame.filter(bad),
                [a.filter(bad) for a in checked],
                None if over is None else over.filter(bad),
                block,
            )
        else:
            good = self._rows(columns, frame, checked, dx, texts)
            rejected = self._widths(block)
        blanks = block.blanks
        totals = block.totals
        failure = None
        if self.strict and rejected.height:
            first = rejected.row(0, named=True)
            cut = first["line"]
            height = good.height
            good = good.filter(pl.col("line") < cut)
            self._next_row -= height - good.height  # the rows after the cut are not read
            blanks = [b for b in blanks if b[0] < cut]
            totals = [t for t in totals if t < cut]
            lost = lost.clear()
            self.rows_read += good.height + 1
            self.rows_rejected += 1
            rejected = rejected.clear()
            failure = InputError(
                self.name, first["reason"], line=cut, column=first["column"], hint=_STRICT_HINT
            )
        else:
            self.rows_read += good.height + rejected.height
            self.rows_rejected += rejected.height
        self.blank_lines += sum(n for _, n in blanks)
        skipped = self._skipped(blanks, totals)
        self.rows_read += skipped.height
        self.rows_skipped += skipped.height
        if not good.height and not rejected.height and not skipped.height:
            return None, failure
        return Chunk(good, rejected, skipped, lost), failure

    def _skipped(self, blanks: Sequence[tuple[int, int]], totals: Sequence[int]) -> pl.DataFrame:
        """The SKIPPED frame of a block: the lines above the header (first block only), blank
        rows and total rows, in file order."""
        above, self._above = self._above, []
        found = (
            [(n, ABOVE_HEADER) for n in above]
            + [(n, BLANK_ROW) for n, _ in blanks]
            + [(n, TOTAL_ROW) for n in totals]
        )
        found.sort()
        return pl.DataFrame(
            {
                "source": [self.name] * len(found),
                "line": [n for n, _ in found],
                "reason": [r for _, r in found],
            },
            schema=SKIPPED,
        )

    def _lost(
        self,
        columns: _Columns,
        bad: pl.DataFrame,
        checked: Sequence[_Resolved],
        texts: Sequence[_Resolved],
        mask: pl.Series,
    ) -> pl.DataFrame:
        """The LOST frame of the rejected rows whose patient and date could be read."""
        values: dict[str, pl.Series] = {}
        for field_ in ("patient", "date", "discipline"):
            k = columns.find(field_)
            if k is not None:
                values[field_] = checked[k].filter(mask).value(0)
        for check, answers in zip(columns.texts, texts, strict=True):
            if check.field == "provider":
                values["provider"] = answers.filter(mask).value(0)
        frame = bad.select("line").with_columns(
            pl.lit(self.name, dtype=pl.String).alias("source"),
            *(series.alias(name) for name, series in values.items()),
        )
        frame = conform(frame, LOST)
        return frame.filter(pl.col("patient").is_not_null() & pl.col("date").is_not_null())

    def _widths(self, block: _Block) -> pl.DataFrame:
        """The REJECTED frame of the rows with the wrong number of cells."""
        return pl.DataFrame(
            {
                "source": [self.name] * len(block.rejected),
                "line": [line for line, _ in block.rejected],
                "column": [None] * len(block.rejected),
                "reason": [reason for _, reason in block.rejected],
            },
            schema=REJECTED,
        )

    def _rejected(
        self,
        columns: _Columns,
        bad: pl.DataFrame,
        checked: Sequence[_Resolved],
        over: pl.Series | None,
        block: _Block,
    ) -> pl.DataFrame:
        """The REJECTED frame of the rows with bad cells and of the rows of the wrong width:
        the first bad column, and every reason in the old reader's words."""
        header = columns.layout.header
        frame = bad.select("line", "last").with_columns(
            [a.reasons().alias(f"r{k}") for k, a in enumerate(checked)]
        )
        named = [(name, pl.col(f"r{k}")) for _, name, k in columns.order]
        first_column = pl.coalesce(
            [pl.when(r.is_not_null()).then(pl.lit(name)) for name, r in named]
        )
        first_reason = pl.coalesce([r for _, r in named])
        every = pl.concat_list(
            [pl.when(r.is_not_null()).then(pl.lit(f"{name}: ") + r) for name, r in named]
        ).list.drop_nulls()
        also = (
            pl.when(every.list.len() > 1)
            .then(pl.lit("; also ") + every.list.slice(1).list.join("; "))
            .otherwise(pl.lit(""))
        )
        spans = (
            pl.when(pl.col("last") > pl.col("line"))
            .then(
                pl.format(
                    " (the row runs from line {} to {}: is a quote left open?)",
                    pl.col("line"),
                    pl.col("last"),
                )
            )
            .otherwise(pl.lit(""))
        )
        column = first_column
        reason = first_reason + also
        if over is not None:
            am = columns.find("assistant_minutes")
            minutes = columns.find("minutes")
            assert am is not None and minutes is not None
            frame = frame.with_columns(
                over.alias("_over"),
                checked[am].value(0).alias("_assisted"),
                checked[minutes].value(0).alias("_spent"),
            )
            column = (
                pl.when(pl.col("_over"))
                .then(pl.lit(header[columns.checks[am].index]))
                .otherwise(column)
            )
            reason = (
                pl.when(pl.col("_over"))
                .then(
                    pl.format(
                        "assistant minutes ({}) exceed the minutes ({})",
                        pl.col("_assisted"),
                        pl.col("_spent"),
                    )
                )
                .otherwise(reason)
            )
        cells_ = frame.select(
            pl.lit(self.name, dtype=pl.String).alias("source"),
            pl.col("line"),
            column.cast(pl.String).alias("column"),
            (reason + spans).alias("reason"),
        )
        widths = self._widths(block)
        out = pl.concat([cells_, widths], how="vertical")
        return out.sort("line") if widths.height else out

    def _rows(
        self,
        columns: _Columns,
        good: pl.DataFrame,
        checked: Sequence[_Resolved],
        dx: Sequence[_Resolved],
        texts: Sequence[_Resolved],
    ) -> pl.DataFrame:
        """The ROWS frame of the good rows."""
        height = good.height

        def value(field_: str, j: int = 0) -> pl.Series | None:
            k = columns.find(field_)
            return None if k is None else checked[k].value(j)

        def lists(answers: _Resolved, j: int) -> tuple[pl.Series, list[list[str]]]:
            assert isinstance(answers, _ByValue)
            return answers.ids, answers.table.lists(j)

        # Modifiers: those written after the code, then each modifiers column's.
        mods: list[tuple[pl.Series, list[list[str]]]] = []
        code_k = columns.find("code")
        if code_k is not None:
            after_code = lists(checked[code_k], 1)
            if any(after_code[1]):
                mods.append(after_code)
        elif columns.default_mods:
            mods.append((pl.repeat(0, height, dtype=pl.UInt32, eager=True), [columns.default_mods]))
        mods += [
            lists(checked[k], 0)
            for k, check in enumerate(columns.checks)
            if check.field == "modifiers"
        ]
        diagnoses = [lists(answers, 0) for answers in dx]
        computed = {
            name: found
            for name, found in (
                ("patient", value("patient")),
                ("date", value("date")),
                ("minutes", value("minutes")),
                ("code", value("code")),
                ("discipline", value("discipline")),
                ("place_of_service", value("place_of_service")),
                ("poc_start", value("poc_start")),
                ("poc_certified", value("poc_certified")),
                ("units_billed", value("units_billed")),
                ("group", value("group")),
                ("_assisted", value("assistant")),
                ("_assistant_minutes", value("assistant_minutes")),
                ("_assistant_given", value("assistant_minutes", 1)),
                ("modifiers", _combined(mods) if mods else None),
                ("diagnoses", _combined(diagnoses) if diagnoses else None),
            )
            if found is not None
        }
        for check, answers in zip(columns.texts, texts, strict=True):
            computed[check.field] = answers.value(0)
        frame = good.select("line").with_columns(
            pl.Series(name, series) for name, series in computed.items()
        )
        assistant: pl.Expr = pl.lit(0, dtype=pl.Int32)
        if "_assisted" in computed:
            assistant = pl.when("_assisted").then(pl.col("minutes")).otherwise(assistant)
        if "_assistant_minutes" in computed:
            assistant = pl.when("_assistant_given").then("_assistant_minutes").otherwise(assistant)
        has_plan: pl.Expr = pl.lit(False)
        for poc in ("poc_start", "poc_certified"):
            if poc in computed:
                has_plan = has_plan | pl.col(poc).is_not_null()
        first = self._next_row
        self._next_row += height
        given = set(frame.columns)
        exprs: dict[str, pl.Expr] = {
            "row": pl.int_range(first, first + pl.len(), dtype=pl.UInt32),
            "source": pl.lit(self.name, dtype=pl.String),
            "has_plan": has_plan,
            "visit_line": pl.col("line"),
            "code": pl.lit(columns.default_code, dtype=pl.String),
            "assistant_minutes": assistant,
            "group": pl.lit(False),
            "modifiers": pl.lit([], dtype=_LIST),
            "diagnoses": pl.lit([], dtype=_LIST),
        }
        return frame.select(
            (pl.col(name) if name in given else exprs.get(name, pl.lit(None, dtype=dtype)))
            .cast(dtype)
            .alias(name)
            for name, dtype in ROWS.items()
        )
