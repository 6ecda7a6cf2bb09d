"""The people's view of ``cognibill claim``: claim lines, findings and rejected rows."""

from __future__ import annotations

import os
from typing import IO, TYPE_CHECKING, Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

if TYPE_CHECKING:
    from cognibill.pipeline import Claimed, Rejected, Summary

_STYLE = {"error": "bold red", "warning": "yellow", "info": "cyan"}


def render_claims(
    stream: IO[str], items: list[Claimed], rejected: list[Rejected], summary: Summary
) -> None:
    """One table of claim lines (the table format collects every row), then the findings and
    the rejected rows."""
    from cognibill.pipeline import claim_rows

    # A file or a pipe gets a wide table (one line per claim line) unless COLUMNS says otherwise.
    wide = not stream.isatty() and "COLUMNS" not in os.environ
    console = Console(file=stream, highlight=False, soft_wrap=False, width=130 if wide else None)
    table = Table(title="Claim lines", title_justify="left")
    for name, justify in (
        ("Patient", "left"),
        ("Date", "left"),
        ("Payer", "left"),
        ("Code", "left"),
        ("Units", "right"),
        ("Min", "right"),
        ("Modifiers", "left"),
        ("Allowed", "right"),
    ):
        table.add_column(name, justify=justify, no_wrap=True)  # type: ignore[arg-type]
    table.add_column("Findings", overflow="fold")
    for item in items:
        for i, row in enumerate(claim_rows(item)):
            first = i == 0
            table.add_row(
                row["patient_id"] if first else "",
                row["date"] if first else "",
                (row["payer"] or "") if first else "",
                row["code"],
                str(row["units"]),
                str(row["minutes"]),
                " ".join(row["modifiers"]),
                _money(row["allowed"]),
                _finding_ids(row["findings"]),
            )
        table.add_section()
    console.print(table)
    findings = [(item, f) for item in items for f in item.claim.findings]
    if findings:
        console.print(Text("Findings", style="bold"))
        for item, f in findings:
            claim = item.claim
            where = f"{claim.visit.source}:{claim.line_for(f)}"
            console.print(
                Text.assemble(
                    f"{where}: ",
                    (f.severity.value, _STYLE[f.severity.value]),
                    f"[{f.id}]: {f.message}",
                )
            )
    if rejected:
        console.print(Text(f"Rejected rows ({len(rejected)})", style="bold"))
        for bad in rejected:
            column = f"{bad.column}: " if bad.column else ""
            console.print(Text(f"{bad.source}:{bad.line}: {column}{bad.reason}"))


def _money(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, dict):
        return f"${value['low']}–${value['high']}"
    return f"${value}"


def _finding_ids(findings: list[dict[str, Any]]) -> str:
    return ", ".join(f"{f['severity'][0].upper()}:{f['id']}" for f in findings)
