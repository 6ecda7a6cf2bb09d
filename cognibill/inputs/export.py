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
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from itertools import islice
from typing import IO, Any, NamedTuple

import polars as pl

from cognibill.catalogue import COGNITIVE_PRIMARY, Catalogue, load_catalogue
from cognibill.engine.frames import REJECTED, ROWS
from cognibill.errors import EntryError, InputError
from cognibill.inputs import cells
from cognibill.readers.columns import ColumnLayout, resolve_columns

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


class Chunk(NamedTuple):
    """The rows of one stretch of the file: the good ones and the rejected ones."""

    rows: pl.DataFrame
    """``ROWS`` frame, in file order."""
    rejected: pl.DataFrame
    """``REJECTED`` frame, in file order."""


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


def _assistant_minutes(cell: str) -> tuple[object, ...]:
    return (cells.parse_assistant_minutes(cell), bool(cell.strip()))


def _listed(parse: Callable[[str], tuple[str, ...]]) -> _Parse:
    return lambda cell: (list(parse(cell)),)


_LIST = pl.List(pl.String)


class _Columns:
    """The checks of one file's layout, in the order the old reader reports problems."""

    def find(self, field_: str) -> int | None:
        """The (first) check of a field, or None when the file has no such column."""
        return self._by_field.get(field_)

    def __init__(self, layout: ColumnLayout, catalogue: Catalogue, default_code: str) -> None:
        self.layout = layout
        try:
            code, mods = cells.parse_code(default_code, catalogue)
        except cells.BadCell as exc:
            raise EntryError(f"default code {default_code}: {exc}") from None
        self.default_code = code
        self.default_mods = list(mods)

        def code_of(cell: str) -> tuple[object, ...]:
            found, extra = cells.parse_code(cell, catalogue)
            return (found, list(extra))

        ix = layout.index
        specs: list[tuple[int, str, _Parse, tuple[pl.DataType | type[pl.DataType], ...]]] = [
            (ix("patient"), "patient", _one(cells.parse_patient), (pl.String,)),
            (ix("date"), "date", _one(cells.parse_date), (pl.Date,)),
            (ix("minutes"), "minutes", _one(cells.parse_minutes), (pl.Int32,)),
            (ix("code"), "code", code_of, (pl.String, _LIST)),
            (ix("discipline"), "discipline", _discipline, (pl.String,)),
            (ix("place_of_service"), "place_of_service", _one(cells.parse_place), (pl.String,)),
            (ix("poc_start"), "poc_start", _one(cells.parse_optional_date), (pl.Date,)),
            (ix("poc_certified"), "poc_certified", _one(cells.parse_optional_date), (pl.Date,)),
            (ix("units_billed"), "units_billed", _one(cells.parse_units), (pl.Int32,)),
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
        header = layout.header
        self.patient = ix("patient")
        order: list[tuple[int, str, int]] = []
        self.checks: list[_Check] = []
        for index, name, parse, dtypes in specs:
            if index >= 0:
                column = header[index] or name
                order.append((index, column, len(self.checks)))
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
                _one(cells.parse_text),
                (pl.String,),
                stripped=f == "session_id",
            )
            for f in ("provider", "payer", "session_id")
            if ix(f) >= 0
        ]
        self._by_field = {c.field: k for k, c in reversed(list(enumerate(self.checks)))}
        self.needed = sorted(
            {c.index for c in self.checks}
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

    @property
    def rows_used(self) -> int:
        return self.rows_read - self.rows_rejected

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

    @contextlib.contextmanager
    def _reading(self) -> Iterator[None]:
        """Errors of the input (undecodable bytes, bad gzip data, I/O) as ``InputError``."""
        try:
            yield
        except UnicodeDecodeError as exc:
            raise self._not_decodable(exc) from None
        except (gzip.BadGzipFile, EOFError) as exc:
            raise InputError(self.name, f"cannot read the gzip data: {exc}") from None
        except OSError as exc:
            reason = (exc.strerror or str(exc) or type(exc).__name__).lower()
            raise InputError(self.name, f"cannot read the input: {reason}") from None

    def _begin(self) -> None:
        """Open the input and read its header (once)."""
        try:
            text = self._open()
            self._text = text
            with self._reading():
                try:
                    header, offset, delimiter = self._header(text)
                except csv.Error as exc:
                    raise InputError(self.name, f"cannot read the header: {exc}", line=1) from None
            layout = resolve_columns(header, self.name, self.column_map)
            self.layout = layout
            columns = _Columns(layout, self.catalogue, self.default_code)
        except BaseException:
            self.close()
            raise
        self.delimiter = delimiter
        self._offset = offset
        self._next_row = 0
        self._start = offset + 1
        self._columns = columns
        self._reader = csv.reader(text, delimiter=delimiter)

    def _header(self, text: IO[str]) -> tuple[list[str], int, str]:
        """The header cells, the line it ends on and the delimiter."""
        lines = 0
        first = ""
        for raw in text:
            lines += 1
            if raw.strip().strip(",;\t"):
                first = raw
                break
            self.blank_lines += 1
        else:
            reason = "the file is empty" if lines == 0 else "no header line: only blank lines"
            raise InputError(
                self.name,
                reason,
                hint="an export starts with a header line naming its columns",
            )
        while first.count('"') % 2:  # a quoted newline inside a header cell
            more = next(text, None)
            if more is None:
                break
            first += more
            lines += 1
        first = first.removeprefix("\ufeff")
        counts = {d: first.count(d) for d in (",", "\t", ";")}
        delimiter = max(counts, key=lambda d: counts[d]) if any(counts.values()) else ","
        cells_ = next(csv.reader([first], delimiter=delimiter))
        return cells_, lines, delimiter

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
        except OSError:
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
                hint = f"a quote opened at or after line {self._start} is probably never closed"
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
            except (csv.Error, UnicodeDecodeError, EOFError, OSError) as exc:
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
        # A row of empty cells is a blank line: only a row whose patient cell is empty can be
        # one (a scan in C of the patient cells; the rows themselves only when there is one).
        patients = by_column[patient]
        if "" in patients or any(map(str.isspace, patients)):
            blank = {
                i
                for i, row in enumerate(rows)
                if not row[patient].strip() and not any(c.strip() for c in row)
            }
            if blank:
                block.blanks.extend((starts[i], lasts[i] - starts[i] + 1) for i in sorted(blank))
                rows = [row for i, row in enumerate(rows) if i not in blank]
                starts = [n for i, n in enumerate(starts) if i not in blank]
                lasts = [n for i, n in enumerate(lasts) if i not in blank]
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
        if bad is not None and bad.any():
            keep = ~bad
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
        failure = None
        if self.strict and rejected.height:
            first = rejected.row(0, named=True)
            cut = first["line"]
            height = good.height
            good = good.filter(pl.col("line") < cut)
            self._next_row -= height - good.height  # the rows after the cut are not read
            blanks = [b for b in blanks if b[0] < cut]
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
        if not good.height and not rejected.height:
            return None, failure
        return Chunk(good, rejected), failure

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
