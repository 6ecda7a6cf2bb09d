"""``cognibill codes``: the code catalogue (our own labels; never AMA descriptor text)."""

from __future__ import annotations

import typer

from cognibill.cli.common import FormatOption, out_console, require_format, write_csv, write_json
from cognibill.formats import OutputFormat

FIELDS = (
    "code",
    "label",
    "kind",
    "family",
    "role",
    "therapy",
    "valid_from",
    "deleted_on",
    "replaced_by",
)


def codes(fmt: FormatOption = OutputFormat.TABLE) -> None:
    """List the codes in scope: timed or untimed, family, validity dates."""
    from cognibill.catalogue import load_catalogue

    fmt = require_format(fmt, (OutputFormat.TABLE, OutputFormat.JSON, OutputFormat.CSV))
    rows = [
        {
            "code": c.code,
            "label": c.label,
            "kind": c.kind.value,
            "family": c.family or "",
            "role": c.role or "",
            "therapy": c.therapy or "",
            "valid_from": c.valid_from.isoformat() if c.valid_from else "",
            "deleted_on": c.deleted_on.isoformat() if c.deleted_on else "",
            "replaced_by": " ".join(c.replaced_by),
        }
        for c in sorted(load_catalogue(), key=lambda c: c.code)
    ]
    if fmt is OutputFormat.JSON:
        write_json({"codes": rows})
    elif fmt is OutputFormat.CSV:
        write_csv(FIELDS, rows)
    else:
        from rich.table import Table

        table = Table("Code", "Label", "Kind", "Family", "Valid")
        for r in rows:
            valid = r["valid_from"] and f"from {r['valid_from']}"
            if r["deleted_on"]:
                valid = f"deleted {r['deleted_on']} → {r['replaced_by']}"
            table.add_row(r["code"], r["label"], r["kind"], r["family"], valid)
        out_console().print(table)


def register(app: typer.Typer) -> None:
    app.command("codes")(codes)
