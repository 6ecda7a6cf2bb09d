"""``cognibill rules [ID]``: the claim-rule catalogue, one rule explained, or the rules document."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from cognibill.cli.common import FormatOption, out_console, require_format, write_csv, write_json
from cognibill.errors import EntryError
from cognibill.formats import OutputFormat

FIELDS = ("id", "severity", "checks", "hint", "source", "severity_note", "engine", "example")


def rules(
    rule_id: Annotated[
        str | None,
        typer.Argument(
            metavar="[ID]",
            help="Explain one rule, with an example. With --doc: the section to print (2 or §2).",
        ),
    ] = None,
    doc: Annotated[
        bool,
        typer.Option("--doc", help="Print the rules document (RULES.md), or one section of it."),
    ] = False,
    fmt: FormatOption = OutputFormat.TABLE,
) -> None:
    """List the claim rules (id, severity, what each checks, source), or explain one; --doc
    prints the rules document their sources cite."""
    if doc:
        _print_doc(rule_id, fmt)
        return
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
    from cognibill.rulesdoc import cited_sections

    reads = [f"cognibill rules --doc {n}" for n in cited_sections(r.source)]
    if reads:
        console.print(f"Read: {', '.join(reads)}", markup=False, highlight=False)


def _print_doc(section: str | None, fmt: OutputFormat) -> None:
    """``--doc [SECTION]``: the document as written (Markdown), or its sections as JSON."""
    from cognibill.rulesdoc import document, find_section, sections

    fmt = require_format(fmt, (OutputFormat.TABLE, OutputFormat.JSON))
    chosen = sections() if section is None else (find_section(section),)
    if fmt is OutputFormat.JSON:
        rows = [{"section": s.number, "title": s.title, "text": s.text} for s in chosen]
        write_json({"sections": rows} if section is None else rows[0])
        return
    sys.stdout.write(document() if section is None else chosen[0].text)


def register(app: typer.Typer) -> None:
    app.command("rules")(rules)
