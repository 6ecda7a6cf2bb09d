"""The people's view of ``cognibill claim``: claim lines, findings and rejected rows.

Every text from an input (a patient id, a payer, a header, a reason quoting a cell) reaches the
terminal as :class:`rich.text.Text` with its control characters escaped (:func:`escape_controls`):
never read as Rich markup (``[/x]`` in a cell), never acted on by the terminal (``ESC ]0;…`` would
retitle the window, colour codes repaint it).
"""

from __future__ import annotations

import os
from typing import IO, TYPE_CHECKING, Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from cognibill.entries import escape_controls
from cognibill.findings import Severity

if TYPE_CHECKING:
    import polars as pl

    from cognibill.engine.run import Summary

_STYLE = {"error": "bold red", "warning": "yellow", "info": "cyan"}


def plain(value: object, style: str = "") -> Text:
    """A value shown as it is: no markup, control characters escaped."""
    return Text(escape_controls(str(value)), style=style)


TABLE_VISITS = 500
"""Visits the table shows line by line; a larger run shows these, then counts (the machine
formats carry every line: a table of a million lines helps nobody, and Rich takes about a
millisecond a row to lay one out)."""

TABLE_REJECTED = 200
"""Rejected rows the table lists (``--errors PATH`` writes them all)."""


class ClaimTable:
    """What the table format keeps of a run: the first ``TABLE_VISITS`` visits whole, and for
    the rest only how many there were and how many findings of each rule they had."""

    def __init__(self, limit: int = TABLE_VISITS) -> None:
        self.limit = limit
        self.lines: list[dict[str, Any]] = []
        self.findings: list[dict[str, Any]] = []
        self.visits = 0
        self.rejected: list[dict[str, Any]] = []
        self.more_visits = 0
        self.more_findings: dict[tuple[str, str], int] = {}
        """(severity, rule id) -> findings of the visits not shown."""

    def add(self, lines: pl.DataFrame, findings: pl.DataFrame) -> None:
        """Keep visits whole while there is room; count the rest and their findings by rule."""
        import polars as pl

        from cognibill.outputs.claims import json_rows

        ids = lines.get_column("visit").unique(maintain_order=True)
        room = max(self.limit - self.visits, 0)
        shown, rest = ids.head(room), ids.slice(room)
        if shown.len():
            keep = pl.col("visit").is_in(shown.implode())
            kept = lines.filter(keep)
            for visit, row in zip(kept.get_column("visit"), json_rows(kept), strict=True):
                self.lines.append({**row, "visit": visit})
            self.findings.extend(findings.filter(keep).iter_rows(named=True))
            self.visits += shown.len()
        if rest.len():
            self.more_visits += rest.len()
            others = findings.filter(pl.col("visit").is_in(rest.implode()))
            for severity, rule_id, count in others.group_by("severity", "id").len().iter_rows():
                key = (severity, rule_id)
                self.more_findings[key] = self.more_findings.get(key, 0) + count


def render_claims(stream: IO[str], table: ClaimTable, summary: Summary) -> None:
    """One table of the claim lines kept, then their findings and the rejected rows; for a
    larger run, the number of visits not shown and their findings by rule."""
    # A file or a pipe gets a wide table (one line per claim line) unless COLUMNS says otherwise.
    wide = not stream.isatty() and "COLUMNS" not in os.environ
    console = Console(file=stream, highlight=False, soft_wrap=False, width=130 if wide else None)
    lines = Table(title="Claim lines", title_justify="left")
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
        lines.add_column(name, justify=justify, no_wrap=True)  # type: ignore[arg-type]
    lines.add_column("Findings", overflow="fold")
    last = None
    for row in table.lines:
        first = row["visit"] != last
        if first and last is not None:
            lines.add_section()
        last = row["visit"]
        lines.add_row(
            plain(row["patient_id"] if first else ""),
            plain(row["date"] if first else ""),
            plain((row["payer"] or "") if first else ""),
            plain(row["code"]),
            plain(row["units"]),
            plain(row["minutes"]),
            plain(" ".join(row["modifiers"])),
            plain(_money(row["allowed"])),
            plain(_finding_ids(row["findings"])),
        )
    if last is not None:
        lines.add_section()
    console.print(lines)
    console.print(plain(f"Visit key: {summary.visit_key}"))
    if table.more_visits:
        console.print(
            Text(
                f"The first {table.visits:,} of {table.visits + table.more_visits:,} visits are "
                "shown; --format csv|json|ndjson gives every line.",
                style="bold",
            )
        )
    if table.findings:
        console.print(Text("Findings", style="bold"))
        for f in table.findings:
            where = f"{f['source']}:{f['line']}"
            console.print(
                Text.assemble(
                    plain(f"{where}: "),
                    (f["severity"], _STYLE[f["severity"]]),
                    plain(f"[{f['id']}]: {f['message']}"),
                )
            )
    explained = [row for row in table.lines if row.get("trace")]
    if explained:
        console.print(Text("How it was worked out", style="bold"))
        for row in explained:
            console.print(
                plain(f"{row['source']}:{row['line']}: {row['patient_id']} {row['date']}")
            )
            for step in (*row["trace"], *(row.get("fee_trace") or ())):
                console.print(plain(f"  - {step}"))
    if table.more_findings:
        console.print(Text(f"Findings of the other {table.more_visits:,} visits", style="bold"))
        ranked = sorted(table.more_findings.items(), key=lambda kv: (-_RANK[kv[0][0]], -kv[1]))
        for (severity, rule_id), count in ranked:
            console.print(
                Text.assemble(f"{count:>9,} ", (severity, _STYLE[severity]), plain(f"[{rule_id}]"))
            )
    rejected = table.rejected
    if rejected:
        console.print(Text(f"Rejected rows ({len(rejected)})", style="bold"))
        for bad in rejected[:TABLE_REJECTED]:
            column = f"{bad['column']}: " if bad["column"] else ""
            console.print(plain(f"{bad['source']}:{bad['line']}: {column}{bad['reason']}"))
        if len(rejected) > TABLE_REJECTED:
            console.print(
                Text(f"... and {len(rejected) - TABLE_REJECTED:,} more (--errors PATH lists all)")
            )


_RANK = {severity.value: severity.rank for severity in Severity}


def _money(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, dict):
        return f"${value['low']}–${value['high']}"
    return f"${value}"


def _finding_ids(findings: list[dict[str, Any]]) -> str:
    return ", ".join(f"{f['severity'][0].upper()}:{f['id']}" for f in findings)
