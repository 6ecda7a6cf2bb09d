"""``cognibill rules [ID]``: the claim-rule catalogue, or one rule explained."""

from __future__ import annotations

from typing import Annotated

import typer

from cognibill.cli.common import FormatOption, out_console, require_format, write_csv, write_json
from cognibill.errors import EntryError
from cognibill.formats import OutputFormat

FIELDS = ("id", "severity", "checks", "hint", "source", "severity_note", "engine", "example")


def rules(
    rule_id: Annotated[
        str | None, typer.Argument(metavar="[ID]", help="Explain one rule, with an example.")
    ] = None,
    fmt: FormatOption = OutputFormat.TABLE,
) -> None:
    """List the claim rules (id, severity, what each checks, source), or explain one."""
    from cognibill.rules import all_rules, find_rule, suggest_rule

    fmt = require_format(fmt, (OutputFormat.TABLE, OutputFormat.JSON, OutputFormat.CSV))
    if rule_id is None:
        chosen = list(all_rules())
    else:
        rule = find_rule(rule_id)
        if rule is None:
            near = suggest_rule(rule_id)
            raise EntryError(
                f"no rule {rule_id!r}",
                hint=f"did you mean {' or '.join(near)}?" if near else "cognibill rules lists them",
            )
        chosen = [rule]
    rows = [r.to_dict() for r in chosen]
    if fmt is OutputFormat.JSON:
        write_json({"rules": rows} if rule_id is None else rows[0])
        return
    if fmt is OutputFormat.CSV:
        write_csv(FIELDS, rows)
        return
    console = out_console()
    if rule_id is None:
        from rich.table import Table

        table = Table("Rule", "Severity", "Checks", "Source")
        for r in chosen:
            table.add_row(r.id, r.severity.value, r.checks, r.source)
        console.print(table)
        return
    (r,) = chosen
    console.print(f"{r.id} ({r.severity.value}, {r.source})", style="bold", markup=False)
    for label, text in (("Checks", r.checks), ("Fix", r.hint), ("Severity", r.severity_note)):
        if text:
            console.print(f"{label}: {text}", markup=False)
    console.print("Example:", markup=False)
    console.print(r.example, markup=False, highlight=False, soft_wrap=True)


def register(app: typer.Typer) -> None:
    app.command("rules")(rules)
