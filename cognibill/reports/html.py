"""The report as one self-contained HTML page (``cognibill report``, issue 13).

The page opens offline and fetches nothing: no script, and no font, stylesheet or image from
anywhere (patient data stays on the machine); its Content-Security-Policy makes the browser
refuse any fetch. Charts are static SVG drawn by matplotlib (the ``svg`` backend, text as paths
so no font is needed, no date in the metadata, a fixed hash salt: the same report gives the same
bytes). Every text from an input is HTML-escaped, with its control characters escaped first;
chart labels are escaped for matplotlib's mathtext too. matplotlib is imported here only, and
only by the ``report`` command.
"""

from __future__ import annotations

import html
import io
import re
from collections.abc import Iterable, Sequence
from pathlib import Path
from string import Template
from typing import Any, cast

from cognibill.entries import escape_controls
from cognibill.reports.model import Report
from cognibill.reports.text import code_label, dollars, mean, plural, span

TEMPLATE = Path(__file__).resolve().parent.parent / "data" / "report.html"

CHART_ROWS = 20
"""Bars a chart shows at most (the tables below it list more)."""

TABLE_ROWS = 200
"""Rows a table of the page lists at most (the model keeps as many)."""

_PALETTE = ("#2e6db4", "#e69f00", "#009e73", "#cc79a7", "#56b4e9", "#d55e00", "#999999")
_SEVERITY_COLOUR = {"error": "#b42318", "warning": "#e69f00", "info": "#2e6db4"}


def e(value: object) -> str:
    """Text from anywhere, safe in HTML: control characters escaped, then HTML-escaped."""
    return html.escape(escape_controls("" if value is None else str(value)), quote=True)


def render_html(report: Report, *, title: str = "cognibill claim report") -> str:
    """The whole page for ``report``."""
    charts = _Charts()
    parts = [
        _header(report, title),
        _totals(report),
        _payers(report, charts),
        _findings(report),
        _attention(report),
        _left_on_table(report, charts),
        _thresholds(report, charts),
        _providers(report, charts),
        _codes(report, charts),
        _rejected(report),
        _notes(report),
        _footer(),
    ]
    template = Template(TEMPLATE.read_text("utf-8"))
    return template.substitute(title=e(title), body="\n".join(p for p in parts if p))


# -- pieces of HTML ------------------------------------------------------------------------


def _table(
    headers: Sequence[tuple[str, bool]], rows: Iterable[Sequence[str]], *, empty: str = ""
) -> str:
    """A table; ``headers`` are (our own text, numeric?); cells are HTML already."""
    head = "".join(f'<th class="n">{h}</th>' if n else f"<th>{h}</th>" for h, n in headers)
    body = []
    for row in rows:
        cells = "".join(
            f'<td class="n">{c}</td>' if n else f"<td>{c}</td>"
            for c, (_, n) in zip(row, headers, strict=True)
        )
        body.append(f"<tr>{cells}</tr>")
    if not body:
        return f'<p class="empty">{empty or "None."}</p>'
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _sev(severity: str) -> str:
    return f'<span class="sev sev-{e(severity)}">{e(severity)}</span>'


def _where(source: object, line: object) -> str:
    return e(f"{source}:{line}" if line is not None else source)


def _header(report: Report, title: str) -> str:
    t = report.totals
    sources = ", ".join(e(s) for s in t["sources"])
    versions = ", ".join(e(v) for v in t["data_version"]) or "none"
    return (
        f"<header><h1>{e(title)}</h1>"
        f'<p class="lead">Inputs: {sources}. Visit key: {e(t["visit_key"])}. '
        f"Fee data: {versions}.</p></header>"
    )


def _card(key: str, value: str) -> str:
    return f'<div class="card"><div class="k">{key}</div><div class="v">{value}</div></div>'


def _totals(report: Report) -> str:
    t = report.totals
    f = t["findings"]
    cards = [
        _card("Rows read", f"{t['rows_read']:,}"),
        _card("Rows used", f"{t['rows_used']:,}"),
        _card("Rejected · skipped", f"{t['rows_rejected']:,} · {t['rows_skipped']:,}"),
        _card("Visits", f"{t['visits']:,}"),
        _card("Claim lines", f"{t['lines']:,}"),
        _card("Units", f"{t['units']:,}"),
    ]
    if t["priced"]:
        cards += [
            _card("Allowed", e(span(t["allowed_lo"], t["allowed_hi"]))),
            _card("Payer pays", e(span(t["payer_pays_lo"], t["payer_pays_hi"]))),
            _card("Patient owes", e(span(t["patient_owes_lo"], t["patient_owes_hi"]))),
        ]
    cards.append(
        _card(
            "Findings",
            f'<span class="sev-error">{f["error"]:,}</span> · '
            f'<span class="sev-warning">{f["warning"]:,}</span> · '
            f'<span class="sev-info">{f["info"]:,}</span>',
        )
    )
    incomplete = (
        f" {plural(t['visits_incomplete'], 'visit')} lost a row to rejection and "
        f"{'is' if t['visits_incomplete'] == 1 else 'are'} not billed as whole."
        if t["visits_incomplete"]
        else ""
    )
    return (
        '<section id="totals"><h2>Totals</h2>'
        f'<div class="cards">{"".join(cards)}</div>'
        f'<p class="def">Findings: errors · warnings · info.{incomplete}</p></section>'
    )


def _payers(report: Report, charts: _Charts) -> str:
    rows = report.by_payer
    table = _table(
        [
            ("Payer", False),
            ("Visits", True),
            ("Lines", True),
            ("Units", True),
            ("Allowed", True),
            ("Payer pays", True),
            ("Patient owes", True),
        ],
        (
            [
                e(r["payer"]),
                f"{r['visits']:,}",
                f"{r['lines']:,}",
                f"{r['units']:,}",
                e(span(r["allowed_lo"], r["allowed_hi"])),
                e(span(r["payer_pays_lo"], r["payer_pays_hi"])),
                e(span(r["patient_owes_lo"], r["patient_owes_hi"])),
            ]
            for r in rows
        ),
        empty="No claim lines.",
    )
    chart = ""
    if rows and report.totals["priced"]:
        shown = rows[:CHART_ROWS]
        chart = charts.ranges(
            "Allowed by payer ($; the light part is the estimate's range)",
            [r["payer"] for r in shown],
            [r["allowed_lo"] for r in shown],
            [r["allowed_hi"] for r in shown],
        )
    return f'<section id="payers"><h2>Money by payer</h2>{table}{_charts(chart)}</section>'


def _findings(report: Report) -> str:
    rules = report.findings
    table = _table(
        [
            ("Rule", False),
            ("Severity", False),
            ("Count", True),
            ("At risk", True),
            ("Checks", False),
            ("Example", False),
        ],
        (
            [
                f"<code>{e(r['id'])}</code>",
                " ".join(f"{_sev(s)}&nbsp;{n:,}" for s, n in r["severities"].items())
                if len(r["severities"]) > 1
                else _sev(r["severity"]),
                f"{r['count']:,}",
                e(span(r["at_risk_lo"], r["at_risk_hi"])),
                e(r["checks"]),
                _example(r["example"]),
            ]
            for r in rules
        ),
        empty="No findings.",
    )
    details = []
    for r in rules:
        lines = r["lines"][:TABLE_ROWS]
        more = r["count"] - len(lines)
        note = (
            f' <span class="muted">(the first {len(lines):,}; {more:,} more)</span>'
            if more > 0
            else ""
        )
        inner = _table(
            [
                ("Where", False),
                ("Patient", False),
                ("Date", False),
                ("Code", False),
                ("Severity", False),
                ("At risk", True),
                ("Message", False),
            ],
            (
                [
                    _where(x["source"], x["line"]),
                    e(x["patient_id"]),
                    f'<span class="w">{e(x["date"])}</span>',
                    e(x["code"]),
                    _sev(x["severity"]),
                    e(span(x["at_risk_lo"], x["at_risk_hi"])),
                    e(x["message"]),
                ]
                for x in lines
            ),
        )
        details.append(
            f"<details><summary><code>{e(r['id'])}</code>: "
            f"{plural(r['count'], 'affected line')}{note}</summary>{inner}</details>"
        )
    return (
        '<section id="findings"><h2>Findings by rule</h2>'
        '<p class="def">At risk: the allowed amount of the claim lines a finding concerns (the '
        "lines of its code in its visit, or the whole visit for a finding about the visit). A "
        "line with findings of two rules counts in both.</p>"
        f"{table}{''.join(details)}</section>"
    )


def _example(example: dict[str, Any] | None) -> str:
    if not example:
        return ""
    return (
        f"{_where(example['source'], example['line'])} {e(example['patient_id'])} "
        f"{e(example['date'])}: {e(example['message'])}"
    )


def _attention(report: Report) -> str:
    a = report.attention
    shown = a["shown"][:TABLE_ROWS]
    more = a["visits"] - len(shown)
    table = _table(
        [
            ("Where", False),
            ("Patient", False),
            ("Date", False),
            ("Provider", False),
            ("Payer", False),
            ("Errors", True),
            ("Warnings", True),
            ("At risk", True),
            ("Rules", False),
        ],
        (
            [
                _where(v["source"], v["line"]),
                e(v["patient_id"]),
                f'<span class="w">{e(v["date"])}</span>',
                e(v["provider"]),
                e(v["payer"]),
                f'<span class="sev-error">{v["errors"]:,}</span>' if v["errors"] else "0",
                f"{v['warnings']:,}",
                e(span(v["at_risk_lo"], v["at_risk_hi"])),
                ", ".join(f"<code>{e(i)}</code>" for i in v["rules"]),
            ]
            for v in shown
        ),
        empty="No visit has an error or a warning.",
    )
    note = f" The first {len(shown):,} are listed; {more:,} more." if more > 0 else ""
    return (
        '<section id="attention"><h2>Visits needing attention first</h2>'
        f'<p class="def">{plural(a["visits"], "visit")} with an error or a warning, '
        f"{e(span(a['at_risk_lo'], a['at_risk_hi']))} at risk: visits with errors first, then "
        f"by money at risk.{note}</p>{table}</section>"
    )


def _left_on_table(report: Report, charts: _Charts) -> str:
    m = report.left_on_table
    near = m["near_minutes"]
    chart = ""
    if m["pools"]:
        chart = charts.bars(
            f"Unit pools by minutes short (orange: within {near})",
            [str(r["short"]) for r in m["by_short"]],
            [r["pools"] for r in m["by_short"]],
            highlight={str(s) for s in range(1, near + 1)},
            xlabel="minutes short",
            vertical=True,
        )
    table = _table(
        [
            ("Where", False),
            ("Patient", False),
            ("Date", False),
            ("Provider", False),
            ("Rule", False),
            ("Minutes", True),
            ("Units", True),
            ("Short by", True),
            ("Missed unit", False),
            ("Worth", True),
        ],
        (
            [
                _where(x["source"], x["line"]),
                e(x["patient_id"]),
                f'<span class="w">{e(x["date"])}</span>',
                e(x["provider"]),
                e(x["rule"]),
                f"{x['minutes']:,}",
                f"{x['units']:,}",
                f"{x['short']} min",
                e(x["code"]),
                e(span(x["value_lo"], x["value_hi"]))
                if x["value_lo"] is not None
                else "not priced",
            ]
            for x in m["examples"][:TABLE_ROWS]
        ),
        empty=f"No unit pool was within {near} minutes of its next unit.",
    )
    unpriced = f" ({m['near_unpriced']:,} not priced)" if m["near_unpriced"] else ""
    return (
        '<section id="left-on-the-table"><h2>Money left on the table</h2>'
        f'<p class="def">{plural(m["near_pools"], "unit pool")} were {near} minutes or fewer short '
        f"of their next unit: {e(span(m['value_lo'], m['value_hi']))}{unpriced}. A pool of n units "
        "and m minutes gets unit n+1 at 15n+8 minutes (the 8-minute rule), so it is 15n+8−m "
        "minutes short: the visit's timed minutes under the CMS rule, each code's under the AMA "
        "rule. A missed unit is priced at the average allowed per unit of its code for the same "
        "payer in this run (97130 after a first cognitive unit).</p>"
        f"{_charts(chart)}{table}</section>"
    )


def _thresholds(report: Report, charts: _Charts) -> str:
    th = report.thresholds
    if not th["tracked"]:
        return (
            '<section id="thresholds"><h2>KX and review thresholds</h2>'
            '<p class="empty">No estimate: the thresholds are counted on allowed amounts.</p>'
            "</section>"
        )
    shown = th["shown"][:TABLE_ROWS]
    chart = ""
    if shown:
        top = shown[:CHART_ROWS]
        chart = charts.thresholds(
            "Share of KX so far (line: KX; dashed: review)",
            [f"{p['patient_id']} {p['year']} {p['group']}" for p in top],
            [p["cents"] for p in top],
            [p["kx"] for p in top],
            th["review"],
        )
    c = th["counts"]
    table = _table(
        [
            ("Patient", False),
            ("Year", True),
            ("Group", False),
            ("So far", True),
            ("KX threshold", True),
            ("Of KX", True),
            ("To KX", True),
            ("Status", False),
        ],
        (
            [
                e(p["patient_id"]),
                str(p["year"]),
                e(p["group"]),
                e(dollars(p["cents"])),
                e(dollars(p["kx"])),
                f"{p['percent_of_kx']}%",
                e(dollars(max(p["to_kx"], 0))),
                e(p["status"].replace("-", " ")),
            ]
            for p in shown
        ),
        empty="No line counts toward KX (no Medicare line with an amount).",
    )
    return (
        '<section id="thresholds"><h2>KX and review thresholds</h2>'
        f'<p class="def">{plural(th["patients"], "patient-year")} on payers that track KX: '
        f"{c['past-review']:,} past the review threshold {e(dollars(th['review']))}, "
        f"{c['past-kx']:,} past KX, {c['near-kx']:,} at {th['near_percent']}% of KX or more. "
        "Counted on this run's allowed amounts per calendar year and threshold group (PT and SLP "
        "together, OT apart); with a ledger, its earlier lines are not included here.</p>"
        f"{_charts(chart)}{table}</section>"
    )


def _providers(report: Report, charts: _Charts) -> str:
    rows = report.units_per_visit
    top = max((int(u) for r in rows for u in r["histogram"]), default=0)
    top = min(top, 8)
    columns = [str(u) for u in range(top + 1)]
    columns[-1] = f"{top}+" if top == 8 else columns[-1]

    def counts(histogram: dict[str, int]) -> list[int]:
        out = [0] * (top + 1)
        for units, n in histogram.items():
            out[min(int(units), top)] += n
        return out

    chart = ""
    if rows:
        shown = rows[:CHART_ROWS]
        chart = charts.distribution(
            "Visits by units per visit, by provider",
            [r["provider"] for r in shown],
            [counts(r["histogram"]) for r in shown],
            columns,
        )
    table = _table(
        [("Provider", False), ("Visits", True), ("Units", True), ("Per visit", True)]
        + [(f"{c} u", True) for c in columns],
        (
            [e(r["provider"]), f"{r['visits']:,}", f"{r['units']:,}", mean(r["units"], r["visits"])]
            + [f"{n:,}" if n else "" for n in counts(r["histogram"])]
            for r in rows[:TABLE_ROWS]
        ),
        empty="No visits.",
    )
    return (
        '<section id="providers"><h2>Units per visit by provider</h2>'
        '<p class="def">Every unit of the visit, timed and untimed, by the rendering provider; '
        f"the columns count visits by their units.</p>{_charts(chart)}{table}</section>"
    )


def _codes(report: Report, charts: _Charts) -> str:
    rows = report.by_code
    payers = [p["payer"] for p in report.by_payer]
    cells = {(r["code"], r["payer"]): r for r in report.by_code_payer}
    chart = ""
    if rows:
        shown = rows[:CHART_ROWS]
        chart = charts.stacked(
            "Units by code and payer",
            [r["code"] for r in shown],
            payers,
            [[cells.get((r["code"], p), {}).get("units", 0) for p in payers] for r in shown],
        )
    table = _table(
        [("Code", False), ("Label", False), ("Lines", True), ("Units", True), ("Allowed", True)]
        + [(f"Units: {e(p)}", True) for p in payers],
        (
            [
                e(r["code"]),
                e(code_label(r["code"])),
                f"{r['lines']:,}",
                f"{r['units']:,}",
                e(span(r["allowed_lo"], r["allowed_hi"])),
            ]
            + [
                f"{cells[(r['code'], p)]['units']:,}" if (r["code"], p) in cells else ""
                for p in payers
            ]
            for r in rows[:TABLE_ROWS]
        ),
        empty="No claim lines.",
    )
    return f'<section id="codes"><h2>Units by code and payer</h2>{_charts(chart)}{table}</section>'


def _rejected(report: Report) -> str:
    def lines(where: list[dict[str, Any]], count: int) -> str:
        text = ", ".join(_where(w["source"], w["line"]) for w in where)
        more = count - len(where)
        return text + (f" … and {more:,} more" if more > 0 else "")

    rows = [
        [
            "rejected",
            e(g["column"]),
            e(g["example"] if g["count"] == 1 else g["reason"]),
            f"{g['count']:,}",
            lines(g["where"], g["count"]),
        ]
        for g in report.rejected
    ] + [
        ["skipped", "", e(g["reason"]), f"{g['count']:,}", lines(g["where"], g["count"])]
        for g in report.skipped
    ]
    table = _table(
        [("", False), ("Column", False), ("Why", False), ("Rows", True), ("Lines", False)],
        rows,
        empty="No row was rejected or skipped.",
    )
    return (
        '<section id="rejected"><h2>Rejected and skipped rows</h2>'
        '<p class="def">Rejected rows could not be used (the visit they belong to is not billed '
        "as whole); skipped rows are not services (blank rows, totals, titles). "
        "<code>claim --errors PATH</code> writes every rejected row.</p>"
        f"{table}</section>"
    )


def _notes(report: Report) -> str:
    if not report.notes:
        return ""
    table = _table(
        [("Input", False), ("Severity", False), ("Rule", False), ("Note", False)],
        (
            [
                e(n["source"]),
                _sev(str(n["severity"])),
                f"<code>{e(n['id'])}</code>",
                e(n["message"]),
            ]
            for n in report.notes
        ),
    )
    return f'<section id="notes"><h2>Notes on the inputs</h2>{table}</section>'


def _footer() -> str:
    from cognibill import __version__

    return (
        f"<footer>Made by cognibill {e(__version__)} on this machine; the page loads nothing "
        "from anywhere. Amounts are estimates from the fee schedule and payer profiles in "
        "force; codes carry cognibill's own short labels.</footer>"
    )


def _charts(*svgs: str) -> str:
    inner = "".join(f'<figure class="chart">{s}</figure>' for s in svgs if s)
    return f'<div class="charts">{inner}</div>' if inner else ""


# -- charts --------------------------------------------------------------------------------


def _label(text: object, limit: int = 28) -> str:
    """A chart label from an input: controls escaped, shortened, and with ``$`` and ``\\``
    unable to start mathtext (``text.parse_math`` is off too)."""
    shown = escape_controls(str(text if text is not None else ""))
    return shown if len(shown) <= limit else shown[: limit - 1] + "…"


_XML_HEAD = re.compile(r"\A.*?(?=<svg\b)", re.DOTALL)
_COMMENT = re.compile(r"<!--.*?-->", re.DOTALL)
_XMLNS = re.compile(r'\s+xmlns(?::\w+)?="[^"]*"')
_METADATA = re.compile(r"\s*<metadata>.*?</metadata>", re.DOTALL)


class _Charts:
    """matplotlib figures as inline SVG, each with its own id prefix (several in one page)."""

    def __init__(self) -> None:
        self.count = 0
        self.rc: dict[str, Any] = {
            "svg.fonttype": "path",
            "svg.hashsalt": "cognibill-report",
            "text.parse_math": False,
            "font.family": "DejaVu Sans",
            "font.size": 9,
            "axes.spines.top": False,
            "axes.spines.right": False,
            "axes.edgecolor": "#9aa3b0",
            "axes.titlesize": 10,
            "axes.titleweight": "bold",
            "axes.titlelocation": "left",
        }

    def _figure(
        self, width: float, height: float, labels: Sequence[str] = (), legend: bool = False
    ) -> tuple[Any, Any]:
        """A figure with margins set from its labels: laying it out by measuring
        (``bbox_inches="tight"``) draws it twice and doubles the cost of a chart."""
        # A bare Figure on the SVG canvas: no pyplot, no GUI backend, no global figure list.
        from matplotlib.backends.backend_svg import FigureCanvasSVG
        from matplotlib.figure import Figure

        longest = max((len(x) for x in labels), default=2)
        left = min(0.5, (0.3 + 0.062 * longest) / width)
        right = 1 - (1.0 if legend else 0.15) / width
        fig = Figure(figsize=(width, height))
        fig.subplots_adjust(left=left, right=right, bottom=0.55 / height, top=1 - 0.35 / height)
        FigureCanvasSVG(fig)
        return fig, fig.add_subplot()

    def _svg(self, fig: Any) -> str:
        buffer = io.StringIO()
        fig.savefig(
            buffer,
            format="svg",
            metadata={"Date": None, "Creator": None, "Format": None, "Type": None},
        )
        self.count += 1
        prefix = f"c{self.count}-"
        svg = _COMMENT.sub("", _XML_HEAD.sub("", buffer.getvalue()))
        svg = _XMLNS.sub("", svg)
        svg = svg.replace('id="', f'id="{prefix}').replace('href="#', f'href="#{prefix}')
        svg = svg.replace("url(#", f"url(#{prefix}")
        return _METADATA.sub("", svg)

    def _with(self, draw: Any) -> str:
        import matplotlib

        with matplotlib.rc_context(cast(Any, self.rc)):
            return str(draw())

    def ranges(self, title: str, labels: list[str], low: list[int], high: list[int]) -> str:
        def draw() -> str:
            names = [_label(x) for x in labels][::-1]
            fig, ax = self._figure(6.0, 0.45 * len(labels) + 0.9, names)
            lo = [v / 100 for v in low][::-1]
            hi = [v / 100 for v in high][::-1]
            ax.barh(names, hi, color="#b9cfe8")
            ax.barh(names, lo, color=_PALETTE[0])
            ax.set_title(title)
            ax.xaxis.set_major_formatter(_money_axis())
            return self._svg(fig)

        return self._with(draw)

    def bars(
        self,
        title: str,
        labels: list[str],
        values: list[int],
        *,
        highlight: set[str] = frozenset(),  # type: ignore[assignment]
        xlabel: str = "",
        vertical: bool = False,
    ) -> str:
        def draw() -> str:
            fig, ax = self._figure(6.0, 2.6, ["unit pools"])  # room for the y label
            colours = [_PALETTE[1] if x in highlight else _PALETTE[0] for x in labels]
            ax.bar([_label(x) for x in labels], values, color=colours)
            ax.set_title(title)
            ax.set_xlabel(xlabel)
            ax.set_ylabel("unit pools")
            ax.yaxis.get_major_locator().set_params(integer=True)
            return self._svg(fig)

        return self._with(draw)

    def thresholds(
        self, title: str, labels: list[str], cents: list[int], kx: list[int], review: int
    ) -> str:
        def draw() -> str:
            names = [_label(x, 34) for x in labels][::-1]
            fig, ax = self._figure(6.4, 0.32 * len(labels) + 1.0, names)
            share = [100 * c / k for c, k in zip(cents, kx, strict=True)][::-1]
            colours = [
                _SEVERITY_COLOUR["error"] if s > 100 else _PALETTE[1] if s >= 80 else _PALETTE[0]
                for s in share
            ]
            ax.barh(names, share, color=colours)
            ax.axvline(100, color="#1d2430", linewidth=1)
            if kx:
                ax.axvline(100 * review / kx[0], color="#1d2430", linewidth=1, linestyle="--")
            ax.set_xlim(0, max(max(share, default=0), 100 * review / max(kx[0], 1)) * 1.05)
            ax.set_xlabel("% of the KX threshold")
            ax.set_title(title)
            return self._svg(fig)

        return self._with(draw)

    def distribution(
        self, title: str, providers: list[str], counts: list[list[int]], columns: list[str]
    ) -> str:
        def draw() -> str:
            names = [_label(x) for x in providers][::-1]
            fig, ax = self._figure(6.4, 0.4 * len(providers) + 1.3, names, legend=True)
            rows = counts[::-1]
            left = [0] * len(rows)
            for k, column in enumerate(columns):
                values = [row[k] for row in rows]
                colour = _ramp(k, len(columns))
                ax.barh(names, values, left=left, color=colour, label=f"{column} units")
                left = [a + b for a, b in zip(left, values, strict=True)]
            ax.set_xlabel("visits")
            ax.set_title(title)
            ax.legend(fontsize=7, frameon=False, loc="upper left", bbox_to_anchor=(1.01, 1.0))
            return self._svg(fig)

        return self._with(draw)

    def stacked(
        self, title: str, codes: list[str], payers: list[str], units: list[list[int]]
    ) -> str:
        def draw() -> str:
            names = [_label(c) for c in codes][::-1]
            fig, ax = self._figure(6.4, 0.3 * len(codes) + 1.1, names, legend=True)
            rows = units[::-1]
            left = [0] * len(rows)
            for k, payer in enumerate(payers):
                values = [row[k] for row in rows]
                colour = _PALETTE[k % len(_PALETTE)]
                ax.barh(names, values, left=left, color=colour, label=_label(payer))
                left = [a + b for a, b in zip(left, values, strict=True)]
            ax.set_xlabel("units")
            ax.set_title(title)
            ax.legend(fontsize=7, frameon=False, loc="upper left", bbox_to_anchor=(1.01, 1.0))
            return self._svg(fig)

        return self._with(draw)


def _ramp(k: int, n: int) -> str:
    """A light-to-dark blue for column ``k`` of ``n`` (more units: darker)."""
    start, end = (0xD6, 0xE4, 0xF2), (0x1B, 0x3F, 0x73)
    t = k / max(n - 1, 1)
    r, g, b = (round(a + (z - a) * t) for a, z in zip(start, end, strict=True))
    return f"#{r:02x}{g:02x}{b:02x}"


def _money_axis() -> Any:
    from matplotlib.ticker import FuncFormatter

    return FuncFormatter(lambda value, _: f"${value:,.0f}")
