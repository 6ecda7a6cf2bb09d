"""Options, consoles and machine-format output shared by every command."""

from __future__ import annotations

import csv
import json
import sys
from collections.abc import Iterable, Mapping, Sequence
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
        help="table for people; json, csv (ndjson for claim) for scripts. Env: COGNIBILL_FORMAT.",
    ),
]


def require_format(fmt: OutputFormat, allowed: Sequence[OutputFormat]) -> None:
    """Reject a format this command has no renderer for (exit 2)."""
    if fmt not in allowed:
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
    json.dump(data, sys.stdout, indent=2, ensure_ascii=False, default=str)
    sys.stdout.write("\n")


def write_csv(fields: Sequence[str], rows: Iterable[Mapping[str, Any]]) -> None:
    """CSV to stdout; cells a spreadsheet would run as a formula are neutralised."""
    writer = csv.DictWriter(sys.stdout, fieldnames=list(fields), lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: safe_cell(v) for k, v in row.items()})


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: Any) -> Any:
    """Prefix ``'`` to text a spreadsheet would run as a formula; numbers pass unchanged."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        try:
            float(value)
        except ValueError:
            return "'" + value
    return value
