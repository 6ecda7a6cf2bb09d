"""Which reader an input needs: a session file (TOML) or an export (CSV), by name or content."""

from __future__ import annotations

import os
from typing import IO, Any

from cognibill.errors import EntryError, InputError

STDIN = "-"
"""The path that means standard input."""

STDIN_NAME = "<stdin>"
"""How messages and outputs name standard input."""

_CSV_ENDINGS = (".csv", ".tsv", ".txt", ".csv.gz", ".tsv.gz", ".txt.gz", ".gz")
_WORKBOOK_ENDINGS = (".xlsx", ".xlsm", ".xls")
"""Read by the export reader too (a sheet is an export; ``inputs.workbook``)."""


def input_kind(source: str, given: str | None) -> str | None:
    """``csv``/``toml`` by ``--input``, else by ending; None for stdin with no ``--input``."""
    if given is not None:
        return given
    if source == STDIN:
        return None
    if os.path.isdir(source):
        raise InputError(source, "is a directory, not a session file or an export")
    lower = source.lower()
    if lower.endswith(".toml"):
        return "toml"
    if lower.endswith(_CSV_ENDINGS + _WORKBOOK_ENDINGS):
        return "csv"
    raise EntryError(
        f"{source}: cannot tell the kind of file from its name",
        hint="name it .toml (session file) or .csv/.tsv/.gz/.xlsx (export), or pass --input "
        "csv|toml",
    )


def sniff_stdin(stream: IO[bytes]) -> tuple[str, IO[bytes]]:
    """Guess csv/toml from the first bytes of stdin; returns the kind and a stream to read."""
    import io

    raw: Any = stream
    buffered: Any = raw if isinstance(raw, io.BufferedReader) else io.BufferedReader(raw)
    head = buffered.peek(65536)[:65536]
    if head[:2] == b"\x1f\x8b":
        return "csv", buffered  # gzip: an export (session files are read as text only)
    text = head.decode("utf-8", "replace").lstrip("\ufeff")
    for text_line in text.splitlines():
        line = text_line.strip()
        if not line or line.startswith("#"):
            continue
        kind = "toml" if line.startswith("[") or ("=" in line and "," not in line) else "csv"
        return kind, buffered
    return "csv", buffered
