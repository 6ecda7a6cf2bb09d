"""EHR session exports (CSV, TSV, gzipped or not) read as a stream of service rows.

One row of the export is one service performed. :class:`ExportReader` yields, in file order, a
:class:`ServiceRow` for each good row and a :class:`RejectedRow` for each row it cannot read:
nothing is dropped, so rows read = rows used + rows rejected.

What it accepts, and the choices made:

- **Input**: a path, ``-`` (standard input) or an open binary or text stream; gzip is detected
  from its magic bytes (so ``.gz`` and gzipped stdin both work).
- **Encoding**: UTF-8 with or without a BOM by default (a UTF-16 BOM switches to UTF-16, as
  Excel's "Unicode text" writes it); ``encoding=`` for others. Bytes that are not UTF-8 stop the
  read with an :class:`~cognibill.errors.InputError` naming the line and suggesting cp1252.
- **Delimiter**: comma, semicolon or tab, whichever the header line holds most of.
- **Lines**: line numbers are physical lines of the file, counted from 1 with the header; a row
  whose quoted cell spans lines is numbered by the line it starts on. CRLF, LF and CR endings all
  work. Blank lines, and lines whose cells are all empty (Excel's ``,,,,``), are not rows: they
  are skipped and counted in ``blank_lines``, and the numbering stays true to the file.
- **Cells**: a row with fewer cells than the header, or with extra cells that are not empty, is
  rejected; empty extra cells (a trailing delimiter) are ignored.
- **Dates**: ``YYYY-MM-DD``, ``YYYY/MM/DD`` and US ``MM/DD/YYYY`` (one-digit month and day
  allowed), optionally followed by a time of day without a time zone. Two-digit years,
  day-first dates, dotted dates and spreadsheet serial numbers are rejected, not guessed.
- **Minutes**: whole minutes, 0 to 1440 (``45``, ``45.0``, ``45 min``).
- **Codes**: must be in the catalogue; an unknown code is rejected with "did you mean". Deleted
  codes (97532, 97127, G0515) pass so that the claim rules can explain them. ``97110-59`` is
  code 97110 with modifier 59. Without a code column every row is the cognitive service (97129).

Rows are parsed by hand (no pydantic per row): repeated cell values (dates, minutes, codes,
credentials) are parsed once and remembered.
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import dataclasses
import datetime as dt
import gzip
import io
import os
import sys
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import IO, Any, NamedTuple

from cognibill.catalogue import COGNITIVE_PRIMARY, Catalogue, load_catalogue
from cognibill.engine.units import MAX_MINUTES
from cognibill.errors import EntryError, InputError
from cognibill.inputs.cells import (
    MAX_UNITS,
    BadCell,
    parse_assistant_minutes,
    parse_code,
    parse_date,
    parse_discipline,
    parse_minutes,
    parse_modifiers,
    parse_patient,
    parse_place,
    parse_text,
    parse_units,
)
from cognibill.inputs.cells import parse_flag as _parse_flag
from cognibill.inputs.cells import parse_list as _parse_list
from cognibill.models import Discipline, Service
from cognibill.readers.columns import ColumnLayout, resolve_columns

STDIN = "-"
"""The path that means standard input."""

STDIN_NAME = "<stdin>"

Source = str | os.PathLike[str] | IO[bytes] | IO[str]


class ServiceRow(NamedTuple):
    """One good row: the service performed and the fields that place it in a visit."""

    line: int
    """Physical line of the file the row starts on."""
    patient: str
    date: dt.date
    provider: str | None
    discipline: Discipline | None
    payer: str | None
    place_of_service: str | None
    poc_start: dt.date | None
    poc_certified: dt.date | None
    session_id: str | None
    diagnoses: tuple[str, ...]
    service: Service


@dataclass(frozen=True, slots=True)
class RejectedRow:
    """A row that could not be read: where it is, which column, and why."""

    line: int
    column: str | None
    """The header of the first bad column as the file spells it (None: the row as a whole)."""
    reason: str

    def to_dict(self) -> dict[str, object]:
        return {"line": self.line, "column": self.column, "reason": self.reason}


REJECTED_FIELDS = ("line", "column", "reason")
"""Columns of a rejected-rows CSV (``--errors PATH``)."""


_Bad = BadCell
"""A cell that cannot be read; the message is the reason (the parsers live in
:mod:`cognibill.inputs.cells`)."""

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


class ExportReader:
    """Read one export; iterate it for :class:`ServiceRow` and :class:`RejectedRow` in order.

    ``column_map`` names headers the aliases do not know (``{"minutes": "Time Spent"}``);
    ``strict`` raises :class:`InputError` at the first bad row instead of yielding it;
    ``default_code`` is the code of every row when the file has no code column. The header is
    read, and its errors raised, on the first ``next()``. After (or during) iteration,
    ``layout``, ``delimiter``, ``rows_read``, ``rows_rejected`` and ``blank_lines`` describe
    the read.
    """

    def __init__(
        self,
        source: Source,
        *,
        encoding: str | None = None,
        column_map: Mapping[str, str] | None = None,
        strict: bool = False,
        catalogue: Catalogue | None = None,
        default_code: str = COGNITIVE_PRIMARY,
        name: str | None = None,
        stdin: IO[bytes] | None = None,
    ) -> None:
        self.source = source
        self.codec = _check_encoding(encoding)
        self.encoding_given = encoding is not None
        self.column_map = dict(column_map or {})
        self.strict = strict
        self.catalogue = catalogue or load_catalogue()
        self.default_code = default_code
        self.stdin = stdin
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

    # -- opening --------------------------------------------------------------------------------

    def _path(self) -> str | None:
        src = self.source
        if isinstance(src, str | os.PathLike) and os.fspath(src) != STDIN:
            return os.fspath(src)
        return None

    def _open(self) -> tuple[IO[str], list[IO[Any]]]:
        """A text stream of the input (decoded, gunzipped) and what to close afterwards."""
        src = self.source
        closers: list[IO[Any]] = []
        binary: IO[bytes]
        path = self._path()
        if path is not None:
            try:
                raw = open(path, "rb")  # noqa: SIM115 - closed by the caller through closers
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
                return src, closers  # type: ignore[return-value]
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
        return text, closers

    # -- reading --------------------------------------------------------------------------------

    def __iter__(self) -> Iterator[ServiceRow | RejectedRow]:
        text, closers = self._open()
        try:
            try:
                yield from self._rows(text)
            except UnicodeDecodeError as exc:
                raise self._not_decodable(exc) from None
            except (gzip.BadGzipFile, EOFError) as exc:
                raise InputError(self.name, f"cannot read the gzip data: {exc}") from None
            except OSError as exc:
                reason = (exc.strerror or str(exc) or type(exc).__name__).lower()
                raise InputError(self.name, f"cannot read the input: {reason}") from None
        finally:
            for stream in closers:
                if isinstance(stream, io.TextIOWrapper) and self._path() is None:
                    stream.detach()  # leave a caller's stream (stdin) open
                    continue
                with contextlib.suppress(OSError, ValueError):
                    stream.close()

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
        cells = next(csv.reader([first], delimiter=delimiter))
        return cells, lines, delimiter

    def _rows(self, text: IO[str]) -> Iterator[ServiceRow | RejectedRow]:
        try:
            header, offset, delimiter = self._header(text)
        except csv.Error as exc:
            raise InputError(self.name, f"cannot read the header: {exc}", line=1) from None
        layout = resolve_columns(header, self.name, self.column_map)
        self.layout = layout
        self.delimiter = delimiter
        parser = _RowParser(layout, self.catalogue, self.default_code)
        width = len(header)
        reader = csv.reader(text, delimiter=delimiter)
        fast = parser.fast
        slow = parser.slow
        prev = 0
        start = offset + 1
        try:
            for row in reader:
                start = offset + prev + 1
                prev = reader.line_num
                if len(row) == width:
                    try:
                        item = fast(row, start)
                    except _Bad:
                        pass
                    else:
                        self.rows_read += 1
                        yield item
                        continue
                elif not row:
                    self.blank_lines += 1
                    continue
                # The slow path: a bad row, a blank one of empty cells, or trailing empty cells.
                if not any(c.strip() for c in row):
                    self.blank_lines += offset + prev - start + 1
                    continue
                cells = row
                if len(row) > width and not any(c.strip() for c in row[width:]):
                    cells = row[:width]
                found = slow(cells, row, start, offset + prev, width)
                self.rows_read += 1
                if type(found) is RejectedRow:
                    self.rows_rejected += 1
                    if self.strict:
                        raise InputError(
                            self.name,
                            found.reason,
                            line=found.line,
                            column=found.column,
                            hint="without --strict every bad row is reported and the rest read",
                        )
                yield found
        except csv.Error as exc:
            where = offset + reader.line_num
            hint = None
            if "field larger" in str(exc):
                hint = f"a quote opened at or after line {start} is probably never closed"
            reason = f"cannot read the row: {exc}"
            raise InputError(self.name, reason, line=where, hint=hint) from None

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


def read_export(source: Source, **options: Any) -> Iterator[ServiceRow | RejectedRow]:
    """Rows of an export in file order; options as :class:`ExportReader`."""
    return iter(ExportReader(source, **options))


# -- rows ---------------------------------------------------------------------------------------

_MISS: Any = object()
_CACHE_LIMIT = 50_000
"""Distinct values remembered per column (dates, minutes, codes ...): bounds memory."""


def _service_factory() -> Callable[..., Service]:
    """``Service(code, minutes, assistant_minutes, group, units_billed, modifiers, line)``, built
    by setting its slots directly: half the cost of the frozen dataclass's ``__init__``, which
    matters a million rows at a time. Falls back to the constructor if the model's fields ever
    stop matching."""
    names = ("code", "minutes", "assistant_minutes", "group", "units_billed", "modifiers", "line")
    if tuple(f.name for f in dataclasses.fields(Service)) != names:  # pragma: no cover
        return Service
    setters = [getattr(Service, name).__set__ for name in names]
    set_code, set_minutes, set_assistant, set_group, set_units, set_mods, set_line = setters
    new = object.__new__

    def service(
        code: str,
        minutes: int,
        assistant_minutes: int,
        group: bool,
        units_billed: int | None,
        modifiers: tuple[str, ...],
        line: int,
    ) -> Service:
        made = new(Service)
        set_code(made, code)
        set_minutes(made, minutes)
        set_assistant(made, assistant_minutes)
        set_group(made, group)
        set_units(made, units_billed)
        set_mods(made, modifiers)
        set_line(made, line)
        return made

    return service


class _RowParser:
    """Turns the cells of one row into a ServiceRow, or says every way it is wrong."""

    def __init__(self, layout: ColumnLayout, catalogue: Catalogue, default_code: str) -> None:
        self.layout = layout
        self.catalogue = catalogue
        ix = layout.index
        self.i_patient = ix("patient")
        self.i_date = ix("date")
        self.i_minutes = ix("minutes")
        self.i_code = ix("code")
        self.i_provider = ix("provider")
        self.i_discipline = ix("discipline")
        self.i_payer = ix("payer")
        self.i_pos = ix("place_of_service")
        self.i_poc_start = ix("poc_start")
        self.i_poc_cert = ix("poc_certified")
        self.i_session = ix("session_id")
        self.i_units = ix("units_billed")
        self.i_assistant = ix("assistant")
        self.i_assistant_minutes = ix("assistant_minutes")
        self.i_group = ix("group")
        self.i_mods = layout.columns.get("modifiers", ())
        self.i_dx = layout.columns.get("diagnoses", ())
        self.dates: dict[str, dt.date] = {}
        self.minutes: dict[str, int] = {str(m): m for m in range(MAX_MINUTES + 1)}
        self.codes: dict[str, tuple[str, tuple[str, ...]]] = {}
        self.bad_codes: dict[str, str] = {}
        self.disciplines: dict[str, Discipline | None] = {"": None}
        self.texts: dict[str, str | None] = {"": None}
        self.places: dict[str, str | None] = {"": None}
        self.mods: dict[str, tuple[str, ...]] = {"": ()}
        self.units: dict[str, int | None] = {str(n): n for n in range(MAX_UNITS + 1)}
        self.units[""] = None
        try:
            self.default = self._code(default_code)
        except _Bad as exc:
            raise EntryError(f"default code {default_code}: {exc}") from None
        # Checks in column order, for reporting every problem of a bad row.
        checks: list[tuple[int, str, Any]] = [
            (self.i_patient, "patient", self._patient),
            (self.i_date, "date", self._date),
            (self.i_minutes, "minutes", self._minutes),
            (self.i_code, "code", self._code),
            (self.i_discipline, "discipline", self._discipline),
            (self.i_pos, "place_of_service", self._place),
            (self.i_poc_start, "poc_start", self._optional_date),
            (self.i_poc_cert, "poc_certified", self._optional_date),
            (self.i_units, "units_billed", self._units),
            (self.i_assistant, "assistant", _parse_flag),
            (self.i_assistant_minutes, "assistant_minutes", self._assistant_minutes),
            (self.i_group, "group", _parse_flag),
        ]
        checks += [(i, "modifiers", self._modifiers) for i in self.i_mods]
        self.checks = sorted((c for c in checks if c[0] >= 0), key=lambda c: c[0])
        self.fast = self._make_fast()

    # -- cells (cached) -------------------------------------------------------------------------

    _patient = staticmethod(parse_patient)

    def _date(self, cell: str) -> dt.date:
        found = self.dates.get(cell)
        if found is not None:
            return found
        day = parse_date(cell)
        if len(self.dates) < _CACHE_LIMIT:
            self.dates[cell] = day
        return day

    def _optional_date(self, cell: str) -> dt.date | None:
        return self._date(cell) if cell.strip() else None

    def _minutes(self, cell: str) -> int:
        found = self.minutes.get(cell)
        if found is not None:
            return found
        minutes = parse_minutes(cell)
        if len(self.minutes) < _CACHE_LIMIT:
            self.minutes[cell] = minutes
        return minutes

    def _code(self, cell: str) -> tuple[str, tuple[str, ...]]:
        """(code, modifiers written after it) for a code cell such as ``97110`` or ``97110-59``."""
        found = self.codes.get(cell)
        if found is not None:
            return found
        bad = self.bad_codes.get(cell)
        if bad is not None:
            raise _Bad(bad)
        try:
            entry = self._read_code(cell)
        except _Bad as exc:
            if len(self.bad_codes) < _CACHE_LIMIT:
                self.bad_codes[cell] = str(exc)
            raise
        if len(self.codes) < _CACHE_LIMIT:
            self.codes[cell] = entry
        return entry

    def _read_code(self, cell: str) -> tuple[str, tuple[str, ...]]:
        return parse_code(cell, self.catalogue)

    def _discipline(self, cell: str) -> Discipline | None:
        found = self.disciplines.get(cell, _MISS)
        if found is not _MISS:
            return found  # type: ignore[no-any-return]
        discipline = parse_discipline(cell)
        if len(self.disciplines) < _CACHE_LIMIT:
            self.disciplines[cell] = discipline
        return discipline

    def _text(self, cell: str) -> str | None:
        found = self.texts.get(cell, _MISS)
        if found is not _MISS:
            return found  # type: ignore[no-any-return]
        value = parse_text(cell)
        if len(self.texts) < _CACHE_LIMIT:
            self.texts[cell] = value
        return value

    def _place(self, cell: str) -> str | None:
        """A place of service: a CMS code of one or two digits (``11``, ``02``), or none."""
        found = self.places.get(cell, _MISS)
        if found is not _MISS:
            return found  # type: ignore[no-any-return]
        value = parse_place(cell)
        if len(self.places) < _CACHE_LIMIT:
            self.places[cell] = value
        return value

    def _modifiers(self, cell: str) -> tuple[str, ...]:
        found = self.mods.get(cell)
        if found is not None:
            return found
        mods = parse_modifiers(cell)
        if len(self.mods) < _CACHE_LIMIT:
            self.mods[cell] = mods
        return mods

    def _units(self, cell: str) -> int | None:
        units = parse_units(cell)
        if len(self.units) < _CACHE_LIMIT:
            self.units[cell] = units
        return units

    _assistant_minutes = staticmethod(parse_assistant_minutes)

    # -- rows -----------------------------------------------------------------------------------

    def _make_fast(self) -> Callable[[list[str], int], ServiceRow]:
        """The hot path, specialised to this file's columns: a closure over local names and
        the caches (attribute lookups per row would cost more than the parsing)."""
        i_patient, i_date, i_minutes, i_code = (
            self.i_patient,
            self.i_date,
            self.i_minutes,
            self.i_code,
        )
        i_provider, i_discipline, i_payer, i_pos = (
            self.i_provider,
            self.i_discipline,
            self.i_payer,
            self.i_pos,
        )
        i_session, i_poc_start, i_poc_cert, i_units = (
            self.i_session,
            self.i_poc_start,
            self.i_poc_cert,
            self.i_units,
        )
        i_assistant, i_assistant_minutes, i_group = (
            self.i_assistant,
            self.i_assistant_minutes,
            self.i_group,
        )
        i_mods, i_dx = self.i_mods, self.i_dx
        dates, minutes_of, codes, mods_of = self.dates, self.minutes, self.codes, self.mods
        texts, disciplines, units_of = self.texts, self.disciplines, self.units
        read_date, read_minutes, read_code = self._date, self._minutes, self._code
        read_mods, read_text, read_discipline = self._modifiers, self._text, self._discipline
        read_units, optional_date = self._units, self._optional_date
        places, read_place = self.places, self._place
        read_assistant_minutes = self._assistant_minutes
        default = self.default
        miss = _MISS
        new_row = tuple.__new__
        row_type = ServiceRow
        new_service = _service_factory()
        # The previous row's patient id: consecutive rows share one string. It starts as no id
        # at all, so that an empty id on the first rows is still refused.
        last = ["\0"]

        def fast(row: list[str], line: int) -> ServiceRow:
            patient = row[i_patient].strip()
            if patient == last[0]:
                patient = last[0]
            elif not patient:
                raise _Bad
            else:
                last[0] = patient
            cell = row[i_date]
            day = dates.get(cell)
            if day is None:
                day = read_date(cell)
            cell = row[i_minutes]
            minutes = minutes_of.get(cell)
            if minutes is None:
                minutes = read_minutes(cell)
            if i_code >= 0:
                cell = row[i_code]
                code_mods = codes.get(cell)
                if code_mods is None:
                    code_mods = read_code(cell)
            else:
                code_mods = default
            code, mods = code_mods
            for i in i_mods:
                cell = row[i]
                more = mods_of.get(cell)
                if more is None:
                    more = read_mods(cell)
                if more:
                    mods = mods + more if mods else more
            provider = discipline = payer = pos = session = None
            poc_start = poc_cert = units = None
            if i_provider >= 0:
                cell = row[i_provider]
                provider = texts.get(cell, miss)
                if provider is miss:
                    provider = read_text(cell)
            if i_discipline >= 0:
                cell = row[i_discipline]
                discipline = disciplines.get(cell, miss)
                if discipline is miss:
                    discipline = read_discipline(cell)
            if i_payer >= 0:
                cell = row[i_payer]
                payer = texts.get(cell, miss)
                if payer is miss:
                    payer = read_text(cell)
            if i_units >= 0:
                cell = row[i_units]
                units = units_of.get(cell, miss)
                if units is miss:
                    units = read_units(cell)
            assistant = 0
            group = False
            diagnoses: tuple[str, ...] = ()
            if i_pos >= 0:
                cell = row[i_pos]
                pos = places.get(cell, miss)
                if pos is miss:
                    pos = read_place(cell)
            if i_session >= 0:
                session = row[i_session].strip() or None
            if i_poc_start >= 0:
                poc_start = optional_date(row[i_poc_start])
            if i_poc_cert >= 0:
                poc_cert = optional_date(row[i_poc_cert])
            if i_assistant >= 0 and _parse_flag(row[i_assistant]):
                assistant = minutes
            if i_assistant_minutes >= 0 and row[i_assistant_minutes].strip():
                assistant = read_assistant_minutes(row[i_assistant_minutes])
                if assistant > minutes:
                    raise _Bad
            if i_group >= 0:
                group = _parse_flag(row[i_group])
            for i in i_dx:
                if row[i]:
                    diagnoses += _parse_list(row[i])
            return new_row(
                row_type,
                (
                    line,
                    patient,
                    day,
                    provider,
                    discipline,
                    payer,
                    pos,
                    poc_start,
                    poc_cert,
                    session,
                    diagnoses,
                    new_service(code, minutes, assistant, group, units, mods, line),
                ),
            )

        return fast

    def slow(
        self, cells: list[str], row: list[str], line: int, last: int, width: int
    ) -> ServiceRow | RejectedRow:
        """The row re-read with every problem named: a ServiceRow after all, or a RejectedRow."""
        spans = ""
        if last > line:
            spans = f" (the row runs from line {line} to {last}: is a quote left open?)"
        if len(cells) != width:
            return RejectedRow(
                line, None, f"expected {width} cells like the header, found {len(row)}{spans}"
            )
        problems: list[tuple[str, str]] = []
        layout = self.layout
        for index, field, check in self.checks:
            try:
                check(cells[index])
            except _Bad as exc:
                problems.append((layout.header[index] or field, str(exc)))
        if not problems and self.i_assistant_minutes >= 0:
            assisted = self._assistant_minutes(cells[self.i_assistant_minutes])
            minutes = self._minutes(cells[self.i_minutes])
            if assisted > minutes:
                column = layout.header[self.i_assistant_minutes]
                problems.append(
                    (column, f"assistant minutes ({assisted}) exceed the minutes ({minutes})")
                )
        if not problems:
            return self.fast(cells, line)
        column, reason = problems[0]
        if len(problems) > 1:
            reason += "; also " + "; ".join(f"{c}: {r}" for c, r in problems[1:])
        return RejectedRow(line, column, reason + spans)
