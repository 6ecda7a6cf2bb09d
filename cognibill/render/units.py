"""Tables for ``cognibill units`` and ``cognibill ranges``."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table
from rich.text import Text

from cognibill.engine.units import UnitRange, UnitResult
from cognibill.findings import Finding, Severity
from cognibill.report import label_of

_STYLE = {Severity.ERROR: "bold red", Severity.WARNING: "yellow", Severity.INFO: "cyan"}


def advice(result: UnitResult) -> list[str]:
    """Plain sentences: when the next unit comes, how close the last one is."""
    out: list[str] = []
    if result.next_unit_at is not None:
        more = result.minutes_to_next_unit
        out.append(
            f"Next unit at {result.next_unit_at} minutes ({more} more timed minute"
            f"{'s' if more != 1 else ''})."
        )
    if result.spare_minutes is not None:
        spare = result.spare_minutes
        if spare == 0:
            out.append("At the edge: one minute less loses a unit.")
        else:
            out.append(f"{spare} minute{'s' if spare != 1 else ''} to spare before a unit is lost.")
    return out


def finding_lines(console: Console, findings: tuple[Finding, ...] | list[Finding]) -> None:
    for f in findings:
        console.print(
            Text.assemble((f.severity.value, _STYLE[f.severity]), f"[{f.id}]: {f.message}")
        )
        if f.hint:
            console.print(f"  hint: {f.hint}", markup=False)


def render_units(console: Console, result: UnitResult, *, explain: bool) -> None:
    table = Table(
        title=f"Units: {result.rule.long_name} ({result.rule.source})", title_justify="left"
    )
    table.add_column("Code")
    table.add_column("Service")
    table.add_column("Minutes", justify="right")
    table.add_column("Units", justify="right")
    for line in result.lines:
        table.add_row(line.code, label_of(line.code), str(line.minutes), f"× {line.units}")
    table.add_section()
    table.add_row(
        "Total",
        "timed minutes / all units",
        str(result.total_timed_minutes),
        f"{result.total_units}",
    )
    console.print(table)
    for sentence in advice(result):
        console.print(sentence, markup=False)
    finding_lines(console, result.findings)
    if explain:
        console.print("How it was worked out:", style="bold")
        for step in result.trace:
            console.print(f"  - {step}", markup=False)


def render_compare(console: Console, results: list[UnitResult], *, explain: bool) -> None:
    codes: list[str] = []
    minutes: dict[str, int] = {}
    for result in results:
        for line in result.lines:
            if line.code not in codes:
                codes.append(line.code)
            minutes.setdefault(line.code, line.minutes)
    table = Table(title="Units side by side", title_justify="left")
    table.add_column("Code")
    table.add_column("Service")
    table.add_column("Minutes", justify="right")
    for result in results:
        table.add_column(result.rule.value.upper(), justify="right")
    for code in codes:
        table.add_row(
            code,
            label_of(code),
            str(minutes[code]),
            *[f"× {result.units_of(code)}" for result in results],
        )
    table.add_section()
    table.add_row(
        "Total",
        "all units",
        str(results[0].total_timed_minutes),
        *[str(r.total_units) for r in results],
    )
    table.add_row(
        "Next unit",
        "at timed minutes",
        "",
        *["–" if r.next_unit_at is None else str(r.next_unit_at) for r in results],
    )
    console.print(table)
    for result in results:
        if result.findings or explain:
            console.print(f"{result.rule.long_name}:", style="bold")
        finding_lines(console, result.findings)
        if explain:
            for step in result.trace:
                console.print(f"  - {step}", markup=False)


def render_ranges(console: Console, rows: list[UnitRange]) -> None:
    console.print("Units by total timed minutes (RULES.md §1)", markup=False)
    table = Table()
    for name in ("Units", "Minutes", "97129", "97130"):
        table.add_column(name, justify="right")
    for r in rows:
        table.add_row(str(r.units), f"{r.low}–{r.high}", str(r.primary), str(r.addon))
    console.print(table)
