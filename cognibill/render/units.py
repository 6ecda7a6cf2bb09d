"""Tables for ``cognibill units`` and ``cognibill ranges``."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.console import Console
from rich.table import Table
from rich.text import Text

from cognibill.findings import Finding, Severity
from cognibill.report import label_of

if TYPE_CHECKING:
    from cognibill.engine.one_visit import VisitUnits as UnitResult
    from cognibill.engine.units import UnitRange
    from cognibill.fees.estimate import Estimate

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


def estimate_lines(estimate: Estimate) -> list[str]:
    """The estimate in plain sentences: the money, then where the numbers came from."""
    payer = estimate.payer
    head = (
        f"Estimate, {payer.name} ({estimate.date.isoformat()}): allowed {estimate.allowed}; "
        f"{'payer' if not payer.is_medicare else 'Medicare'} pays {estimate.payer_pays}; "
        f"patient owes {estimate.patient_owes}."
    )
    out = [head]
    if estimate.limiting_charge is not None:
        out.append(f"Limiting charge (non-participating): ${estimate.limiting_charge:,.2f}.")
    out.append(f"Data: {' '.join(_sentence(note) for note in estimate.notes)}")
    return out


def _sentence(note: str) -> str:
    return note if note.endswith(".") else f"{note}."


def render_units(
    console: Console, result: UnitResult, estimate: Estimate | None = None, *, explain: bool
) -> None:
    table = Table(
        title=f"Units: {result.rule.long_name} ({result.rule.source})", title_justify="left"
    )
    table.add_column("Code")
    table.add_column("Service")
    table.add_column("Minutes", justify="right")
    table.add_column("Units", justify="right")
    if estimate is not None:
        table.add_column("Allowed", justify="right")
    for i, line in enumerate(result.lines):
        money = [str(estimate.lines[i].allowed)] if estimate is not None else []
        table.add_row(line.code, label_of(line.code), str(line.minutes), f"× {line.units}", *money)
    table.add_section()
    table.add_row(
        "Total",
        "timed minutes / all units",
        str(result.total_timed_minutes),
        f"{result.total_units}",
        *([str(estimate.allowed)] if estimate is not None else []),
    )
    console.print(table)
    for sentence in advice(result):
        console.print(sentence, markup=False)
    finding_lines(console, result.findings)
    if estimate is not None:
        for sentence in estimate_lines(estimate):
            console.print(sentence, markup=False)
    if explain:
        console.print("How it was worked out:", style="bold")
        steps = [*result.trace, *(estimate.trace if estimate is not None else ())]
        for step in steps:
            console.print(f"  - {step}", markup=False)


def render_compare(
    console: Console,
    results: list[UnitResult],
    estimates: list[Estimate] | None = None,
    *,
    explain: bool,
) -> None:
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
    if estimates:
        table.add_row("Allowed", estimates[0].payer.name, "", *[str(e.allowed) for e in estimates])
    console.print(table)
    if estimates:
        console.print(estimate_lines(estimates[0])[-1], markup=False)
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
