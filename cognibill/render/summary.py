"""The people's first view of ``cognibill claim``: the run summed up (issue 13).

What is at stake, which rules put it at risk, which visits to look at first, what minutes were
left on the table, who is near the KX threshold, and how providers, payers and codes compare,
in a screen or two. The claim lines themselves come with ``--lines``. Every text from an input
goes through :func:`cognibill.render.claims.plain` (control characters escaped, no markup).
"""

from __future__ import annotations

import os
from typing import IO, Any

from rich.bar import Bar
from rich.cells import cell_len
from rich.console import Console
from rich.table import Table
from rich.text import Text

from cognibill.render.claims import plain
from cognibill.reports.model import Report
from cognibill.reports.text import code_label, compact_span, dollars, mean, plural, span

WIDTH = 100
"""Columns of the view written to a file or a pipe (unless ``COLUMNS`` says otherwise)."""

SHOWN = {"rules": 12, "attention": 8, "rejected": 6, "patients": 5, "providers": 8, "codes": 10}
"""Rows of each table on the terminal (the HTML report and JSON have more)."""

_STYLE = {"error": "bold red", "warning": "yellow", "info": "cyan"}
_BAR = 12


def render_summary(stream: IO[str], report: Report) -> None:
    """The summary view of ``report`` on ``stream`` (deterministic for a file or a pipe)."""
    wide = not stream.isatty() and "COLUMNS" not in os.environ
    console = Console(file=stream, highlight=False, soft_wrap=False, width=WIDTH if wide else None)
    for part in (
        _totals(report),
        _payers(report),
        _findings(report),
        _attention(report),
        _rejected(report),
        _left_on_table(report),
        _thresholds(report),
        _providers(report),
        _codes(report),
    ):
        if part is None:
            continue
        if isinstance(part, Table):
            _fit(part)
            console.print()
            if part.title is not None:
                console.print(Text(str(part.title), style="bold"), overflow="fold")
                part.title = None
        console.print(part)
    console.print()
    console.print(
        Text(
            "Every line: --lines or --format csv|json|ndjson; "
            "an HTML page: cognibill report FILE… -o report.html",
            style="dim",
        )
    )


_FLEXIBLE = {"Example": 20, "Rules": 12, "Label": 12, "Why": 16, "Lines": 6}
"""Columns that give up width (down to these) when a table is wider than the terminal; the
others keep the width of their longest cell, so that no number is ever cut."""
_NAMES = {"Patient": 8, "Provider": 8}


def _fit(table: Table) -> None:
    for column in table.columns:
        name = str(column.header)
        if name in _FLEXIBLE:
            column.min_width = _FLEXIBLE[name]
            continue
        cells = [str(column.header), *(_text(c) for c in column._cells)]
        widest = max(cell_len(c) for c in cells)
        column.min_width = min(widest, _NAMES[name]) if name in _NAMES else widest


def _text(cell: Any) -> str:
    if isinstance(cell, Bar):
        return "x" * (cell.width or _BAR)
    return cell.plain if isinstance(cell, Text) else str(cell)


def _table(title: str, *columns: tuple[str, str]) -> Table:
    table = Table(title=title, box=None, pad_edge=False)
    for name, justify in columns:
        table.add_column(
            name,
            justify=justify,  # type: ignore[arg-type]
            no_wrap=True,
            max_width=34 if name == "Label" else None,
            overflow="ellipsis",
        )
    return table


def _money(report: Report) -> Any:
    """``span``, or nothing when the run made no estimate (``--no-estimate``)."""
    return compact_span if report.totals["priced"] else (lambda low, high: "")


def _bar(value: int, largest: int) -> Bar:
    return Bar(size=max(largest, 1), begin=0, end=max(value, 0), width=_BAR)


def _totals(report: Report) -> Text:
    t = report.totals
    f = t["findings"]
    rows = (
        f"{t['rows_read']:,} rows read: {t['rows_used']:,} used, {t['rows_rejected']:,} rejected, "
        f"{t['rows_skipped']:,} skipped"
    )
    incomplete = f" ({t['visits_incomplete']:,} incomplete)" if t["visits_incomplete"] else ""
    counts = (
        f"{plural(t['visits'], 'visit')}{incomplete}, {plural(t['lines'], 'claim line')}, "
        f"{plural(t['units'], 'unit')}"
    )
    out = Text.assemble(("Claim summary", "bold"), "\n", plain(rows), "\n", plain(counts), "\n")
    if t["priced"]:
        out.append(
            f"Allowed {span(t['allowed_lo'], t['allowed_hi'])}; payer pays "
            f"{span(t['payer_pays_lo'], t['payer_pays_hi'])}; patient owes "
            f"{span(t['patient_owes_lo'], t['patient_owes_hi'])}\n"
        )
    else:
        out.append("No estimate (--no-estimate)\n")
    out.append("Findings: ")
    for at, severity in enumerate(("error", "warning", "info")):
        out.append(", " if at else "")
        word = plural(f[severity], severity, "info" if severity == "info" else None)
        out.append(word, style=_STYLE[severity] if f[severity] else "")
    return out


def _payers(report: Report) -> Table | None:
    rows = report.by_payer
    if not rows:
        return None
    table = _table(
        "Money by payer",
        ("Payer", "left"),
        ("Visits", "right"),
        ("Units", "right"),
        ("Allowed", "right"),
        ("Payer pays", "right"),
        ("Patient owes", "right"),
        ("", "left"),
    )
    money = _money(report)
    key = "allowed_hi" if report.totals["priced"] else "units"
    largest = max(r[key] for r in rows)
    for r in rows:
        table.add_row(
            plain(r["payer"]),
            f"{r['visits']:,}",
            f"{r['units']:,}",
            money(r["allowed_lo"], r["allowed_hi"]),
            money(r["payer_pays_lo"], r["payer_pays_hi"]),
            money(r["patient_owes_lo"], r["patient_owes_hi"]),
            _bar(r[key], largest),
        )
    return table


def _findings(report: Report) -> Table | None:
    rules = report.findings
    if not rules:
        return None
    table = _table(
        "Findings by rule (at risk: allowed on the lines each concerns)",
        ("Rule", "left"),
        ("Severity", "left"),
        ("Count", "right"),
        ("At risk", "right"),
    )
    table.add_column("Example", no_wrap=True, overflow="ellipsis", max_width=50)
    for r in rules[: SHOWN["rules"]]:
        example = r["example"] or {}
        where = f"line {example.get('line')}: " if example.get("line") is not None else ""
        table.add_row(
            plain(r["id"]),
            Text(r["severity"], style=_STYLE[r["severity"]]),
            f"{r['count']:,}",
            compact_span(r["at_risk_lo"], r["at_risk_hi"]),
            plain(f"{where}{example.get('message', '')}"),
        )
    return _more(table, len(rules) - SHOWN["rules"], "rule")


def _more(table: Table, left: int, what: str) -> Table:
    if left > 0:
        table.caption = f"… and {plural(left, what)} more (cognibill report gives them all)"
        table.caption_justify = "left"
    return table


def _attention(report: Report) -> Table | None:
    a = report.attention
    if not a["visits"]:
        return None
    table = _table(
        f"Visits needing attention first: {a['visits']:,} with errors or warnings, "
        f"{span(a['at_risk_lo'], a['at_risk_hi'])} at risk",
        ("Patient", "left"),
        ("Date", "left"),
        ("Provider", "left"),
        ("Payer", "left"),
        ("Err", "right"),
        ("Warn", "right"),
        ("At risk", "right"),
    )
    table.add_column("Rules", no_wrap=True, overflow="ellipsis", max_width=30)
    for v in a["shown"][: SHOWN["attention"]]:
        table.add_row(
            plain(v["patient_id"] or ""),
            plain(v["date"] or ""),
            plain(v["provider"] or ""),
            plain(v["payer"] or ""),
            Text(str(v["errors"]), style=_STYLE["error"] if v["errors"] else ""),
            str(v["warnings"]),
            compact_span(v["at_risk_lo"], v["at_risk_hi"]),
            plain(", ".join(v["rules"])),
        )
    return _more(table, a["visits"] - SHOWN["attention"], "visit")


def _rejected(report: Report) -> Table | None:
    groups = [("rejected", g) for g in report.rejected] + [("skipped", g) for g in report.skipped]
    if not groups:
        return None
    table = _table("Rejected and skipped rows", ("", "left"), ("Count", "right"), ("Why", "left"))
    table.add_column("Lines", no_wrap=True, overflow="ellipsis", max_width=30)
    for kind, g in groups[: SHOWN["rejected"]]:
        reason = g["example"] if g.get("example") and g["count"] == 1 else g["reason"]
        why = f"{g['column']}: {reason}" if g.get("column") else reason
        lines = ", ".join(str(w["line"]) for w in g["where"][:8] if w["line"] is not None)
        table.add_row(kind, f"{g['count']:,}", plain(why), plain(lines))
    return _more(table, len(groups) - SHOWN["rejected"], "reason")


def _left_on_table(report: Report) -> Table | None:
    m = report.left_on_table
    if not m["pools"]:
        return None
    near = m["near_minutes"]
    value = span(m["value_lo"], m["value_hi"])
    unpriced = f" ({m['near_unpriced']:,} not priced)" if m["near_unpriced"] else ""
    table = _table(
        f"Money left on the table: {plural(m['near_pools'], 'unit pool')} within {near} min of "
        f"the next unit, {value}{unpriced}",
        ("Short by", "right"),
        ("Pools", "right"),
        ("Missed units worth", "right"),
        ("", "left"),
    )
    rows = m["by_short"][:near]
    largest = max(r["pools"] for r in rows)
    for r in rows:
        table.add_row(
            f"{r['short']} min",
            f"{r['pools']:,}",
            compact_span(r["value_lo"], r["value_hi"]),
            _bar(r["pools"], largest),
        )
    return table


def _thresholds(report: Report) -> Table | None:
    th = report.thresholds
    if not th["tracked"] or not th["patients"]:
        return None
    c = th["counts"]
    table = _table(
        f"KX and review thresholds ({plural(th['patients'], 'patient-year')}): "
        f"{c['past-review']:,} past review {dollars(th['review'])}, {c['past-kx']:,} past KX, "
        f"{c['near-kx']:,} at {th['near_percent']}%+ of KX",
        ("Patient", "left"),
        ("Year", "right"),
        ("Group", "left"),
        ("So far", "right"),
        ("KX", "right"),
        ("Of KX", "right"),
        ("", "left"),
    )
    for p in th["shown"][: SHOWN["patients"]]:
        table.add_row(
            plain(p["patient_id"] or ""),
            str(p["year"]),
            plain(p["group"]),
            dollars(p["cents"]),
            dollars(p["kx"]),
            f"{p['percent_of_kx']}%",
            _bar(min(p["cents"], p["kx"]), p["kx"]),
        )
    return table


_BLOCKS = " ▁▂▃▄▅▆▇█"


def _spark(histogram: dict[str, int], top: int) -> str:
    """Visits by units 0…8+ as one block character each."""
    counts = [0] * (top + 1)
    for units, n in histogram.items():
        counts[min(int(units), top)] += n
    largest = max(counts) or 1
    return "".join(_BLOCKS[(n * 8 + largest - 1) // largest] for n in counts)


def _providers(report: Report) -> Table | None:
    rows = report.units_per_visit
    if not rows:
        return None
    table = _table(
        "Units per visit by provider (visits by units 0 1 2 … 8+)",
        ("Provider", "left"),
        ("Visits", "right"),
        ("Units", "right"),
        ("Per visit", "right"),
        ("", "left"),
        ("0…8+", "left"),
    )
    largest = max(r["units"] * 100 // max(r["visits"], 1) for r in rows)
    for r in rows[: SHOWN["providers"]]:
        table.add_row(
            plain(r["provider"]),
            f"{r['visits']:,}",
            f"{r['units']:,}",
            mean(r["units"], r["visits"]),
            _bar(r["units"] * 100 // max(r["visits"], 1), largest),
            _spark(r["histogram"], 8),
        )
    return _more(table, len(rows) - SHOWN["providers"], "provider")


def _codes(report: Report) -> Table | None:
    rows = report.by_code
    if not rows:
        return None
    table = _table(
        "Units and money by code",
        ("Code", "left"),
        ("Label", "left"),
        ("Units", "right"),
        ("Allowed", "right"),
        ("", "left"),
    )
    money = _money(report)
    key = "allowed_hi" if report.totals["priced"] else "units"
    largest = max(r[key] for r in rows)
    for r in rows[: SHOWN["codes"]]:
        label: Any = plain(code_label(r["code"]))
        table.add_row(
            plain(r["code"]),
            label,
            f"{r['units']:,}",
            money(r["allowed_lo"], r["allowed_hi"]),
            _bar(r[key], largest),
        )
    return _more(table, len(rows) - SHOWN["codes"], "code")
