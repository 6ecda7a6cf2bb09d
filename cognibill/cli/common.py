"""Options, consoles and machine-format output shared by every command."""

from __future__ import annotations

import datetime as dt
import os
import sys
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from cognibill.errors import EntryError
from cognibill.formats import OutputFormat

if TYPE_CHECKING:
    from rich.console import Console

FormatOption = Annotated[
    OutputFormat,
    typer.Option(
        "--format",
        "-f",
        envvar="COGNIBILL_FORMAT",
        case_sensitive=False,
        help="table for people; json, csv (ndjson for claim, check, units, ranges) for scripts. "
        "Env: COGNIBILL_FORMAT.",
    ),
]


def require_format(fmt: OutputFormat, allowed: Sequence[OutputFormat]) -> OutputFormat:
    """The format to use: ``fmt``, or JSON when ``COGNIBILL_FORMAT=ndjson`` (set for the batch
    commands) meets a command without NDJSON; any other format it has no renderer for is an
    error (exit 2)."""
    if fmt in allowed:
        return fmt
    from_env = os.environ.get("COGNIBILL_FORMAT", "").strip().lower() == fmt.value
    explicit = any(a in ("--format", "-f") or a.startswith("--format=") for a in sys.argv)
    if fmt is OutputFormat.NDJSON and OutputFormat.JSON in allowed and from_env and not explicit:
        return OutputFormat.JSON
    raise EntryError(
        f"--format {fmt.value} is not available here; use one of "
        + ", ".join(f.value for f in allowed)
    )


def out_console() -> Console:
    """The stdout console (data); built per call so tests and pipes see the current stream."""
    from rich.console import Console

    return Console(file=sys.stdout, highlight=False, soft_wrap=False)


def err_console() -> Console:
    from rich.console import Console

    return Console(file=sys.stderr, highlight=False)


def write_json(data: Any) -> None:
    import json

    json.dump(data, sys.stdout, indent=2, ensure_ascii=False, default=str)
    sys.stdout.write("\n")


@contextmanager
def collector_paused() -> Iterator[None]:
    """The cyclic garbage collector off for a batch run, and back as it was after, whatever
    happens. A claim run makes no reference cycles per visit (tests/test_pipeline_memory.py),
    yet the collector walks every object it allocates and, again and again, the caches and
    per-patient state that grow with the input: about a third of a batch's CPU time."""
    import gc

    collecting = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if collecting:
            gc.enable()


def write_csv(fields: Sequence[str], rows: Iterable[Mapping[str, Any]]) -> None:
    """CSV to stdout; cells a spreadsheet would run as a formula are neutralised."""
    from cognibill.writers import CsvWriter

    CsvWriter(sys.stdout, fields).write_all(rows)


# -- pricing options shared by units, claim, check and fees -----------------------------------

PayerOption = Annotated[
    str | None,
    typer.Option(
        "--payer",
        help="Payer profile id (medicare, commercial, or your own). Default: medicare.",
        show_default=False,
    ),
]
PayersFileOption = Annotated[
    Path | None,
    typer.Option(
        "--payers",
        envvar="COGNIBILL_PAYERS",
        help="A TOML file of your own payer profiles (they override built-ins by id). "
        "Env: COGNIBILL_PAYERS.",
        show_default=False,
    ),
]
LocalityOption = Annotated[
    str | None,
    typer.Option(
        "--locality",
        help="Medicare locality: MAC-locality id (01112-05) or a unique part of its name.",
        show_default=False,
    ),
]
DateOption = Annotated[
    dt.datetime | None,
    typer.Option(
        "--date",
        formats=["%Y-%m-%d"],
        help="Date of service for the fee schedule (default: today).",
        show_default=False,
    ),
]
YearOption = Annotated[
    int | None,
    typer.Option(
        "--year", min=2020, max=2100, help="Price on 1 July of this year.", show_default=False
    ),
]
FacilityOption = Annotated[
    bool, typer.Option("--facility", help="Price at the facility rate (hospital, SNF …).")
]
NonParOption = Annotated[
    bool, typer.Option("--non-par", help="Non-participating provider (95%, limiting charge).")
]


def service_date(date: dt.datetime | None, year: int | None) -> dt.date:
    """The date to price on: --date, else 1 July of --year, else today."""
    if date is not None and year is not None:
        raise EntryError("give --date or --year, not both")
    if date is not None:
        return date.date()
    if year is not None:
        return dt.date(year, 7, 1)
    return dt.date.today()


def write_text_file(path: str | Path | None, text: str, *, force: bool) -> bool:
    """``text`` to stdout (no path, or ``-``), or atomically to ``path``, refusing to overwrite
    an existing file without ``--force`` (a device or a named pipe is written in place).
    True when a file was written."""
    if path is None or str(path) == "-":
        sys.stdout.write(text)
        return False
    if Path(path).is_file() and not force:  # a device or a pipe is written to, not replaced
        raise EntryError(f"{path} exists; refusing to overwrite it", hint="add --force")
    from cognibill.writers import atomic_output

    with atomic_output(path) as stream:
        stream.write(text)
    return True
