"""Tables for ``cognibill units`` and ``cognibill ranges``.

Text that can come from a user's files (a payer profile's name and note) is shown as it is:
never read as Rich markup, its control characters escaped (``cognibill.render.claims.plain``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.console import Console
from rich.table import Table
from rich.text import Text

from cognibill.findings import Finding, Severity
from cognibill.render.claims import plain
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
            Text.assemble((f.severity.value, _STYLE[f.severity]), plain(f"[{f.id}]: {f.message}"))
        )
        if f.hint:
            console.print(plain(f"  hint: {f.hint}"))


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
    data = data_line(estimate)
    if data is not None:
        out.append(data)
    return out


def data_line(estimate: Estimate) -> str | None:
    """Where the numbers came from, in one line; None when the estimate has no notes (a
    payer's own rates, with no note of its own)."""
    notes = [_sentence(note.strip()) for note in estimate.notes if note.strip()]
    return f"Data: {' '.join(notes)}" if notes else None


def _sentence(note: str) -> str:
    return note if note.endswith(".") else f"{note}."


def render_units(
    console: Console, result: UnitResult, estimate: Estimate | None = None, *, explain: bool
) -> None:
    table = Table(
        title=plain(f"Units: {result.rule.long_name} ({result.rule.source})"), title_justify="left"
    )
    table.add_column("Code")
    table.add_column("Service")
    table.add_column("Minutes", justify="right")
    table.add_column("Units", justify="right")
    if estimate is not None:
        table.add_column("Allowed", justify="right")
    for i, line in enumerate(result.lines):
        money = [str(estimate.lines[i].allowed)] if estimate is not None else []
        table.add_row(
            *map(plain, (line.code, label_of(line.code), line.minutes, f"× {line.units}", *money))
        )
    table.add_section()
    table.add_row(
        *map(
            plain,
            (
                "Total",
                "timed minutes / all units",
                result.total_timed_minutes,
                result.total_units,
                *([estimate.allowed] if estimate is not None else []),
            ),
        )
    )
    console.print(table)
    for sentence in advice(result):
        console.print(plain(sentence))
    finding_lines(console, result.findings)
    if estimate is not None:
        for sentence in estimate_lines(estimate):
            console.print(plain(sentence))
    if explain:
        console.print("How it was worked out:", style="bold")
        steps = [*result.trace, *(estimate.trace if estimate is not None else ())]
        for step in steps:
            console.print(plain(f"  - {step}"))


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
            *map(
                plain,
                (
                    code,
                    label_of(code),
                    minutes[code],
                    *[f"× {result.units_of(code)}" for result in results],
                ),
            )
        )
    table.add_section()
    table.add_row(
        *map(
            plain,
            (
                "Total",
                "all units",
                results[0].total_timed_minutes,
                *[r.total_units for r in results],
            ),
        )
    )
    table.add_row(
        *map(
            plain,
            (
                "Next unit",
                "at timed minutes",
                "",
                *["–" if r.next_unit_at is None else r.next_unit_at for r in results],
            ),
        )
    )
    if estimates:
        table.add_row(
            *map(plain, ("Allowed", estimates[0].payer.name, "", *[e.allowed for e in estimates]))
        )
    console.print(table)
    data = data_line(estimates[0]) if estimates else None
    if data is not None:
        console.print(plain(data))
    for result in results:
        if result.findings or explain:
            console.print(plain(f"{result.rule.long_name}:", style="bold"))
        finding_lines(console, result.findings)
        if explain:
            for step in result.trace:
                console.print(plain(f"  - {step}"))


def render_ranges(console: Console, rows: list[UnitRange]) -> None:
    console.print(plain("Units by total timed minutes (RULES.md §1)"))
    table = Table()
    for name in ("Units", "Minutes", "97129", "97130"):
        table.add_column(name, justify="right")
    for r in rows:
        table.add_row(*map(plain, (r.units, f"{r.low}–{r.high}", r.primary, r.addon)))
    console.print(table)
