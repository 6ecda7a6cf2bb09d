"""``cognibill formats``: the vendor export shapes recognised from a file's header."""

from __future__ import annotations

import typer

from cognibill.cli.common import FormatOption, out_console, require_format, write_csv, write_json
from cognibill.formats import OutputFormat

FIELDS = ("name", "vendor", "signature", "columns", "notes")


def formats(fmt: FormatOption = OutputFormat.TABLE) -> None:
    """List the EHR export shapes read with no flag (``--from NAME`` forces one)."""
    from cognibill.inputs.shapes import Shape, all_shapes
    from cognibill.readers.columns import FIELDS as ALL_FIELDS
    from cognibill.readers.columns import aliases

    fmt = require_format(fmt, (OutputFormat.TABLE, OutputFormat.JSON, OutputFormat.CSV))
    generic = Shape(
        name="generic",
        vendor="any export whose header names patient, date and minutes (or start and end "
        "times, or units) by the usual names",
        signature=(),
        columns={f: " | ".join(aliases(f)) for f in ALL_FIELDS},
        notes="the fallback when no shape matches; --map FIELD=HEADER names a column",
    )
    shapes = [*all_shapes(), generic]
    if fmt is OutputFormat.JSON:
        write_json({"formats": [s.to_dict() for s in shapes]})
        return
    rows = [
        {
            "name": s.name,
            "vendor": s.vendor,
            "signature": " | ".join(s.signature) or "-",
            "columns": "; ".join(f"{f}={h}" for f, h in s.columns.items()),
            "notes": s.notes,
        }
        for s in shapes
    ]
    if fmt is OutputFormat.CSV:
        write_csv(FIELDS, rows)
        return
    from rich.table import Column, Table

    table = Table("Vendor / report", "Recognised by", "Notes")
    longest = max(len(r["name"]) for r in rows)
    table.columns.insert(0, Column("Name (--from)", no_wrap=True, min_width=longest))
    for r in rows:
        table.add_row(r["name"], r["vendor"], r["signature"], r["notes"])
    out_console().print(table)


def register(app: typer.Typer) -> None:
    app.command("formats")(formats)
