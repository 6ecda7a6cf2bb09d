"""Machine output of batch runs: streaming CSV, NDJSON and JSON writers, safe files, quiet pipes.

The writers take rows already built as dicts and write each as it comes; only the caller decides
what a row holds. Nothing here imports rich or prints on its own.

CSV cells a spreadsheet would run as a formula (text starting with ``=``, ``+``, ``-``, ``@``,
tab or carriage return, also after leading spaces) get a ``'`` in front, so the sheet shows
them as text. A cell that is a plain number (``-5``, ``+2.5``, ``1e3``) is left alone: a
spreadsheet reads it as that number and runs nothing. ``-inf`` or ``-1+2`` are not plain
numbers and are neutralised.

Values: ``None`` is an empty cell (JSON ``null``), ``Decimal`` money is written exactly (a JSON
string such as ``"21.67"``, never a float), dates as ISO text, enums as their value, lists of
plain values as ``;``-joined text in CSV, anything richer as compact JSON in a CSV cell.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import tempfile
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from decimal import Decimal
from enum import Enum
from pathlib import Path
from typing import IO, Any

from cognibill.errors import EntryError

_TRIGGERS = frozenset("=+-@\t\r")
_SAFE_START = frozenset(
    [""] + [chr(c) for c in range(128) if chr(c) not in _TRIGGERS and chr(c) != " "]
)
"""First characters (or none) of text that needs no neutralising: the CSV writer's fast path."""
_PLAIN_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")


def neutralise(text: str) -> str:
    """``text`` made safe for a spreadsheet: a ``'`` before anything it would run as a formula."""
    if not text:
        return text
    first = text[0]
    if first == " ":
        stripped = text.lstrip(" ")
        first = stripped[:1]
    if first in _TRIGGERS and not _PLAIN_NUMBER.fullmatch(text.strip()):
        return "'" + text
    return text


def _json_default(value: object) -> object:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, set | frozenset):
        return sorted(value, key=str)
    to_dict = getattr(value, "to_dict", None)
    if callable(to_dict):
        return to_dict()
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    raise TypeError(f"{type(value).__name__} cannot be written as JSON")


def to_json(value: object, *, indent: int | None = None) -> str:
    """``value`` as JSON text with the conventions above (Decimal as an exact string)."""
    return json.dumps(value, ensure_ascii=False, default=_json_default, indent=indent)


def csv_cell(value: object) -> object:
    """One CSV cell: text neutralised, ints as they are, the rest converted to text."""
    kind = type(value)
    if kind is str:
        return neutralise(value)  # type: ignore[arg-type]
    if kind is int:
        return value
    if value is None:
        return ""
    if kind is tuple or kind is list:
        try:
            return neutralise(";".join(value))  # type: ignore[arg-type]
        except TypeError:
            pass  # not all text: the general case below
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Enum):
        return neutralise(str(value.value))
    if isinstance(value, int | Decimal | float):
        return str(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, list | tuple | set | frozenset):
        items = list(value)
        if all(isinstance(v, str | int | Decimal | Enum) or v is None for v in items):
            return neutralise(";".join(str(csv_cell(v)) for v in items))
    to_dict = getattr(value, "to_dict", None)
    if callable(to_dict):
        value = to_dict()
    if isinstance(value, Mapping | list | tuple | set | frozenset):
        return neutralise(json.dumps(value, ensure_ascii=False, default=_json_default))
    return neutralise(str(value))


_NEEDS_QUOTES = re.compile('[,"\r\n]')


def csv_field(text: str) -> str:
    """Text as one field of a CSV line: quoted (quotes doubled) when it holds a comma, a quote,
    a carriage return or a line feed. ``csv.writer`` with ``\n`` line ends leaves a CR bare,
    and a spreadsheet starts a new row there: the text after it would escape the formula guard.
    """
    if _NEEDS_QUOTES.search(text) is None:
        return text
    return '"' + text.replace('"', '""') + '"'


def csv_text(value: object) -> str:
    """A value as :class:`CsvWriter` writes its field: guarded, converted, quoted if needed."""
    return str(value) if type(value) is int else csv_field(str(csv_cell(value)))


class CsvWriter:
    """Rows as CSV with a header line; ``\n`` line ends; formula-looking text neutralised;
    fields quoted as ``csv.writer`` quotes them, and a carriage return too."""

    def __init__(self, stream: IO[str], fields: Sequence[str], *, header: bool = True) -> None:
        self.fields = tuple(fields)
        self._write = stream.write
        self.count = 0
        if header:
            self._write(self._line([csv_field(str(f)) for f in self.fields]))

    @staticmethod
    def _line(cells: list[str]) -> str:
        if len(cells) == 1 and not cells[0]:
            return '""\n'  # a line with one empty field is not a blank line
        return ",".join(cells) + "\n"

    def write(self, row: Mapping[str, object]) -> None:
        self.write_values(list(map(row.get, self.fields)))

    def write_values(self, values: Sequence[object]) -> None:
        """One row given as values in ``fields`` order (no mapping to build: the batch path)."""
        # Inline fast cases (ints; text that cannot start a formula and needs no quotes).
        safe = _SAFE_START
        plain = _NEEDS_QUOTES.search
        cells = [
            str(v)
            if type(v) is int
            else v
            if type(v) is str and v[:1] in safe and plain(v) is None
            else csv_text(v)
            for v in values
        ]
        self._write(self._line(cells))
        self.count += 1

    def write_text(self, line: str) -> None:
        """One row already formatted as CSV text (fields neutralised and quoted), with its
        line end."""
        self._write(line)
        self.count += 1

    def write_all(self, rows: Iterable[Mapping[str, object]]) -> int:
        """Write every row; returns how many this call wrote."""
        before = self.count
        for row in rows:
            self.write(row)
        return self.count - before


class NdjsonWriter:
    """One JSON object a line: ``{"type": "line", ...}`` rows, then rejected rows, then the
    summary, each with its ``"type"``; every line is flushed as a whole."""

    def __init__(self, stream: IO[str]) -> None:
        self.stream = stream
        self.count = 0

    def _write(self, kind: str, row: Mapping[str, object]) -> None:
        self.stream.write(to_json({"type": kind, **row}))
        self.stream.write("\n")

    def line(self, row: Mapping[str, object]) -> None:
        self._write("line", row)
        self.count += 1

    def rejected(self, row: Mapping[str, object]) -> None:
        self._write("rejected", row)

    def summary(self, row: Mapping[str, object]) -> None:
        self._write("summary", row)


class JsonReportWriter:
    """``{"lines": [...], "rejected": [...], "summary": {...}}`` written as the lines come:
    one line object per text line, no list of all lines held in memory."""

    def __init__(self, stream: IO[str]) -> None:
        self.stream = stream
        self.count = 0
        self._finished = False

    def line(self, row: Mapping[str, object]) -> None:
        self.stream.write('{"lines": [\n  ' if self.count == 0 else ",\n  ")
        self.stream.write(to_json(row))
        self.count += 1

    def finish(
        self, rejected: Iterable[Mapping[str, object]], summary: Mapping[str, object]
    ) -> None:
        """Close the lines, write the rejected rows and the summary; the document ends here."""
        if self._finished:
            raise RuntimeError("the JSON report is already finished")
        self._finished = True
        write = self.stream.write
        write('{"lines": [],\n' if self.count == 0 else "\n],\n")
        write('"rejected": [')
        first = True
        for row in rejected:
            write("\n  " if first else ",\n  ")
            write(to_json(row))
            first = False
        write("]," if first else "\n],")
        write('\n"summary": ')
        write(to_json(summary, indent=2))
        write("}\n")


Later = Callable[[], Any]


def _now(value: Any) -> Any:
    return value() if callable(value) else value


def write_report(
    fmt: str,
    stream: IO[str],
    lines: Iterable[Mapping[str, object]],
    *,
    rejected: Iterable[Mapping[str, object]] | Later = (),
    summary: Mapping[str, object] | Later | None = None,
    fields: Sequence[str] | None = None,
) -> int:
    """Stream ``lines`` in ``fmt`` (``csv``, ``json`` or ``ndjson``); returns the line count.

    ``rejected`` and ``summary`` may be callables: they are called once the lines are written,
    so a summary counted while the lines streamed is complete. CSV carries the lines only (the
    caller writes rejected rows to ``--errors`` with :class:`CsvWriter` and the summary to
    stderr); ``fields`` are its columns (default: the keys of the first line).
    """
    if fmt == "csv":
        iterator = iter(lines)
        first = next(iterator, None)
        if fields is None:
            fields = list(first) if first is not None else []
        writer = CsvWriter(stream, fields)
        if first is not None:
            writer.write(first)
            writer.write_all(iterator)
        return writer.count
    if fmt == "ndjson":
        nd = NdjsonWriter(stream)
        for row in lines:
            nd.line(row)
        for row in _now(rejected):
            nd.rejected(row)
        if summary is not None:
            nd.summary(_now(summary))
        return nd.count
    if fmt == "json":
        report = JsonReportWriter(stream)
        for row in lines:
            report.line(row)
        report.finish(_now(rejected), _now(summary) if summary is not None else {})
        return report.count
    raise ValueError(f"no streaming writer for format {fmt!r}")


# -- output files -------------------------------------------------------------------------------


def check_output_path(
    path: str | os.PathLike[str],
    inputs: Iterable[str | os.PathLike[str]] = (),
    *,
    option: str = "--out",
) -> Path:
    """Where ``--out`` will write (symlinks followed); refuses an input or a directory.

    Raises :class:`EntryError` (exit 2): the command line asked for something unsafe.
    """
    shown = os.fspath(path)
    if shown == "-":
        raise EntryError(f"{option} -: give a file path")
    target = Path(path).expanduser().resolve()
    if target.is_dir():
        raise EntryError(f"{option} {shown}: is a directory")
    if not target.parent.is_dir():
        raise EntryError(f"{option} {shown}: the directory {target.parent} does not exist")
    for given in inputs:
        if os.fspath(given) == "-":
            continue
        source = Path(given).expanduser()
        same = False
        if target.exists() and source.exists():
            with suppress(OSError):
                same = os.path.samefile(target, source)
        same = same or source.resolve() == target
        if same:
            raise EntryError(
                f"{option} {shown} is also an input; refusing to overwrite it",
                hint="write the report to another file",
            )
    return target


def _new_file_mode() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


@contextmanager
def atomic_output(
    path: str | os.PathLike[str],
    inputs: Iterable[str | os.PathLike[str]] = (),
    *,
    encoding: str = "utf-8",
    newline: str = "",
    option: str = "--out",
) -> Iterator[IO[str]]:
    """A text file for ``--out`` that appears only if the block succeeds.

    Writes to a temporary file in the same directory and renames it over ``path`` at the end,
    so a failed or interrupted run never truncates the previous report. Refuses (before
    creating anything) a path that is one of ``inputs``. An existing report keeps its
    permissions; a new one gets the usual ones (0666 less the umask).
    """
    target = check_output_path(path, inputs, option=option)
    fd, temp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        with open(fd, "w", encoding=encoding, newline=newline) as stream:
            yield stream
            stream.flush()
            os.fsync(stream.fileno())
        try:
            mode = target.stat().st_mode & 0o7777
        except FileNotFoundError:
            mode = _new_file_mode()
        os.chmod(temp, mode)
        os.replace(temp, target)
    except BaseException:
        with suppress(FileNotFoundError):
            os.unlink(temp)
        raise
