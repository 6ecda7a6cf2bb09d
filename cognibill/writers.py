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
import io
import json
import os
import re
import stat
import tempfile
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from decimal import Decimal
from enum import Enum
from pathlib import Path
from typing import IO, Any

from cognibill.errors import EntryError, OutputError

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
    if first and not first.isascii():  # a fullwidth or small = + - @ is one to a spreadsheet
        import unicodedata

        first = unicodedata.normalize("NFKC", first)[:1]
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
        self,
        rejected: Iterable[Mapping[str, object]],
        summary: Mapping[str, object],
        after: Mapping[str, object] | None = None,
    ) -> None:
        """Close the lines, write the rejected rows and the summary, then each key of
        ``after`` (``claim``'s ``report``); the document ends here."""
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
        for key, value in (after or {}).items():
            write(f",\n{to_json(key)}: ")
            write(to_json(value, indent=2))
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
#
# A regular file (or a new path) is written through a private temporary file in its folder and
# renamed over the target at the end: a failed, interrupted or killed run leaves the previous
# report as it was. A device (/dev/null, /dev/stdout, a terminal) or a named pipe is written in
# place, as a shell's ``>`` would: renaming over it would replace the node itself (as root,
# /dev/null would become a file holding the report). Every write error is an OutputError
# naming the output, raised by the stream itself, so it is never mistaken for an input's.


def reason_of(exc: OSError) -> str:
    """An OSError's problem in words, as messages show it: ``no space left on device``."""
    text = exc.strerror or type(exc).__name__
    return text[:1].lower() + text[1:]


_FAILURES: list[OutputError] = []


def failed_output() -> OutputError | None:
    """The first output that failed since :func:`forget_failed_outputs`, if any: the error to
    report when a library on the way (polars' ``write_csv``) turned it into a plain OSError."""
    return _FAILURES[0] if _FAILURES else None


def forget_failed_outputs() -> None:
    _FAILURES.clear()


class _GuardedRaw(io.RawIOBase):
    """A file descriptor whose write errors are :class:`OutputError` naming ``target``.

    Unbuffered, and every write is written whole: a text stream over it (which gathers text in
    8 KiB pieces) sends each piece on, and what polars writes to its binary buffer goes out at
    once, in order with stderr, as it did on a plain file. After the first error the stream is
    spent: later writes are dropped, so closing it (or the interpreter's last flush of stdout)
    cannot fail a second time with "Exception ignored". A reader that left (EPIPE, seen only
    where SIGPIPE is ignored) stays a BrokenPipeError: the CLI ends quietly on it, as
    ``| head`` expects.
    """

    def __init__(self, fd: int, target: str, *, closefd: bool = True) -> None:
        super().__init__()
        self._fd = fd
        self.target = target
        self._closefd = closefd
        self.spent = False

    def writable(self) -> bool:
        return True

    def fileno(self) -> int:
        # None to show: a library that writes to a descriptor itself when it can (polars'
        # write_csv does) writes through write() instead, where its errors get a name.
        raise io.UnsupportedOperation("fileno")

    def isatty(self) -> bool:
        return os.isatty(self._fd)

    def write(self, data: Any) -> int:
        if self.spent:
            return len(data)
        view = memoryview(data).cast("B")
        done = 0
        try:
            while done < len(view):
                done += os.write(self._fd, view[done:])
        except BrokenPipeError:
            self.spent = True
            raise
        except OSError as exc:
            self.spent = True
            failure = OutputError(self.target, reason_of(exc))
            _FAILURES.append(failure)
            raise failure from None
        return done

    def close(self) -> None:
        if not self.closed and self._closefd:
            with suppress(OSError):
                os.close(self._fd)
        super().close()


def guarded_stream(
    fd: int,
    target: str,
    *,
    encoding: str = "utf-8",
    errors: str = "strict",
    newline: str | None = "",
    line_buffering: bool = False,
    write_through: bool = False,
    closefd: bool = True,
) -> io.TextIOWrapper:
    """A text stream on ``fd`` whose write errors are :class:`OutputError` naming ``target``."""
    raw = _GuardedRaw(fd, target, closefd=closefd)
    return io.TextIOWrapper(
        raw,  # type: ignore[arg-type]  # written whole: it serves as a buffer without one
        encoding=encoding,
        errors=errors,
        newline=newline,
        line_buffering=line_buffering,
        write_through=write_through,
    )


def _spend(stream: IO[str]) -> None:
    """Drop what ``stream`` still holds and close it (a failed run's output goes nowhere)."""
    raw = getattr(stream, "buffer", None)
    if isinstance(raw, _GuardedRaw):
        raw.spent = True
    with suppress(Exception):
        stream.close()


def _finish(stream: IO[str]) -> None:
    """Flush ``stream``; a failure is an OutputError (from the stream) and the stream is spent."""
    try:
        stream.flush()
    except BaseException:
        _spend(stream)
        raise


@contextmanager
def _signals_held() -> Iterator[None]:
    """SIGINT, SIGTERM and SIGHUP held back for a few statements: a temporary file is created
    and its name kept before the CLI's handler can stop the run (so the clean-up knows it)."""
    import signal
    import threading

    held = {getattr(signal, n) for n in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, n)}
    if not hasattr(signal, "pthread_sigmask") or threading.current_thread() is not (
        threading.main_thread()
    ):
        yield
        return
    before = signal.pthread_sigmask(signal.SIG_BLOCK, held)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, before)


_DESCRIPTOR = re.compile(r"/dev/(?:stdout|stderr|fd/\d+)|/proc/(?:self|\d+)/fd/\d+")
"""Paths that name an open descriptor: written in place even when it is a regular file
(``--out /dev/stdout >> log``): renaming over them would replace the file the shell opened."""


def _output_target(
    path: str | os.PathLike[str], inputs: Iterable[str | os.PathLike[str]], option: str
) -> tuple[Path, bool]:
    """The checked target of ``path`` and whether it is written in place (a device or a pipe)."""
    shown = os.fspath(path)
    if shown == "-":
        raise EntryError(f"{option} -: give a file path")
    given = Path(path).expanduser()
    try:
        info: os.stat_result | None = os.stat(given)
    except FileNotFoundError:
        info = None
    except NotADirectoryError:
        raise EntryError(f"{option} {shown}: a part of the path is a file, not a folder") from None
    except OSError as exc:
        raise OutputError(f"{option} {shown}", f"cannot reach it: {reason_of(exc)}") from None
    if info is not None and stat.S_ISDIR(info.st_mode):
        raise EntryError(f"{option} {shown}: is a directory", hint="give a file name in it")
    if shown.endswith(("/", os.sep)):  # `--out newdir/`: a folder that does not exist
        raise EntryError(
            f"{option} {shown}: names a folder (it ends with /), not a file",
            hint="give a file name, e.g. " + shown + "claims.csv",
        )
    absolute = Path(os.path.abspath(given))  # never resolved: /dev/stdout is /proc/…/pipe:[n]
    if info is not None and (
        not stat.S_ISREG(info.st_mode) or _DESCRIPTOR.fullmatch(str(absolute))
    ):
        if stat.S_ISBLK(info.st_mode):
            raise EntryError(
                f"{option} {shown}: is a disk (a block device); refusing to write on it"
            )
        if stat.S_ISSOCK(info.st_mode):
            raise EntryError(f"{option} {shown}: is a socket, not a file, a device or a pipe")
        _refuse_inputs(absolute, inputs, option, shown)
        return absolute, True
    target = given.resolve()
    if not target.parent.is_dir():
        raise EntryError(f"{option} {shown}: the directory {target.parent} does not exist")
    _refuse_inputs(target, inputs, option, shown)
    return target, False


def _refuse_inputs(
    target: Path, inputs: Iterable[str | os.PathLike[str]], option: str, shown: str
) -> None:
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


def check_output_path(
    path: str | os.PathLike[str],
    inputs: Iterable[str | os.PathLike[str]] = (),
    *,
    option: str = "--out",
) -> Path:
    """Where ``--out`` will write: a regular file's path with symlinks followed, or a device's
    or a named pipe's as given. Refuses an input, a directory (or a path ending in ``/``), a
    disk, a socket, a folder that does not exist: :class:`EntryError` (exit 2). A path that
    cannot even be looked at (a folder without permission) is an :class:`OutputError` (exit 5).
    """
    return _output_target(path, inputs, option)[0]


def same_output_file(
    first: str | os.PathLike[str], second: str | os.PathLike[str], *, option: str = "--out"
) -> bool:
    """True when two outputs would write the same file (``--out`` and ``--errors``): a device
    or a pipe is never "the same", /dev/null can take both."""
    one, in_place = _output_target(first, (), option)
    other, other_in_place = _output_target(second, (), option)
    return not in_place and not other_in_place and one == other


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
    """A text stream for ``--out``: the report appears only if the block succeeds.

    A regular file (or a new path) is written to a private (0600) temporary file in the same
    directory, flushed to disk and renamed over ``path`` at the end, so a failed, interrupted
    or stopped run never truncates the previous report and leaves no file behind. An existing
    report keeps its permissions (and owner, when run as root); a new one gets the usual ones
    (0666 less the umask). A device or a named pipe is opened and written in place (a pipe waits
    for its reader, as with the shell's ``>``), never replaced. Refuses (before creating
    anything) what :func:`check_output_path` refuses. Write errors are :class:`OutputError`.
    """
    target, in_place = _output_target(path, inputs, option)
    label = f"{option} {os.fspath(path)}"
    if in_place:
        with _written_in_place(target, label, encoding, newline) as direct:
            yield direct
        return
    temp: str | None = None
    fd = -1
    stream: IO[str] | None = None
    try:
        with _signals_held():
            try:
                fd, temp = tempfile.mkstemp(
                    dir=target.parent, prefix=f".{target.name}.", suffix=".tmp"
                )
            except OSError as exc:
                raise OutputError(
                    label, f"cannot write in {target.parent}: {reason_of(exc)}"
                ) from None
            stream = guarded_stream(fd, label, encoding=encoding, newline=newline)
        yield stream
        _finish(stream)
        try:
            os.fsync(fd)
        except OSError as exc:
            raise OutputError(label, f"cannot save it: {reason_of(exc)}") from None
        stream.close()
        _take_over(temp, target)
        try:
            os.replace(temp, target)
        except OSError as exc:
            raise OutputError(label, f"cannot replace {target}: {reason_of(exc)}") from None
    except BaseException:
        if stream is not None:
            _spend(stream)
        elif fd >= 0:
            os.close(fd)
        if temp is not None:
            with suppress(FileNotFoundError):
                os.unlink(temp)
        raise


def _take_over(temp: str, target: Path) -> None:
    """The temporary file gets the existing report's permissions (and owner, as root)."""
    try:
        old = target.stat()
    except FileNotFoundError:
        os.chmod(temp, _new_file_mode())
        return
    if hasattr(os, "chown") and os.geteuid() == 0:
        with suppress(OSError):
            os.chown(temp, old.st_uid, old.st_gid)
    os.chmod(temp, old.st_mode & 0o7777)


@contextmanager
def _written_in_place(target: Path, label: str, encoding: str, newline: str) -> Iterator[IO[str]]:
    """A device or a named pipe opened for writing as it is (no O_CREAT: nothing is made)."""
    # O_APPEND: /dev/stdout that is a file opened with >> is added to, not written over.
    flags = os.O_WRONLY | os.O_APPEND | getattr(os, "O_NOCTTY", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(target, flags)
    except OSError as exc:
        raise OutputError(label, f"cannot write to it: {reason_of(exc)}") from None
    stream = guarded_stream(fd, label, encoding=encoding, newline=newline)
    try:
        yield stream
        _finish(stream)
        stream.close()
    except BaseException:
        _spend(stream)
        raise
