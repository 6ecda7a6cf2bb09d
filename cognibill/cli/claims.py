"""``cognibill claim`` and ``cognibill check``: session files and CSV exports in, claims out."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, assert_never

import typer

from cognibill.cli.common import (
    FacilityOption,
    FormatOption,
    LocalityOption,
    NonParOption,
    PayerOption,
    PayersFileOption,
    collector_paused,
    require_format,
)
from cognibill.engine.units import UnitRule
from cognibill.errors import EntryError
from cognibill.exitcodes import ExitCode
from cognibill.findings import Severity
from cognibill.formats import OutputFormat

if TYPE_CHECKING:
    import polars as pl

    from cognibill.engine.run import ClaimRun, RunOptions, Summary


class InputKind(StrEnum):
    CSV = "csv"
    TOML = "toml"


class FailOn(StrEnum):
    ERROR = "error"
    WARNING = "warning"
    INFO = "info"
    NEVER = "never"


Files = Annotated[
    list[str],
    typer.Argument(
        metavar="FILE...",
        help="Session files (.toml) or CSV exports (.csv, .tsv, .gz); - reads stdin.",
        show_default=False,
    ),
]
InputOption = Annotated[
    InputKind | None,
    typer.Option(
        "--input", help="csv or toml, for stdin or an unusual file name.", show_default=False
    ),
]
RuleOption = Annotated[
    UnitRule | None,
    typer.Option(
        "--rule", case_sensitive=False, help="Override the payer's unit rule.", show_default=False
    ),
]
IgnoreOption = Annotated[
    list[str] | None,
    typer.Option("--ignore", help="A rule id not to report (repeatable).", show_default=False),
]
FailOnOption = Annotated[
    FailOn,
    typer.Option(
        "--fail-on", case_sensitive=False, help="Exit 1 when a finding reaches this severity."
    ),
]
VisitKeyOption = Annotated[
    str,
    typer.Option(
        "--visit-key",
        help="Fields whose rows form one visit (timed pool), comma-separated (RULES.md §2).",
    ),
]
MapOption = Annotated[
    list[str] | None,
    typer.Option(
        "--map", help="FIELD=Header for a column the aliases miss (repeatable).", show_default=False
    ),
]
EncodingOption = Annotated[
    str | None,
    typer.Option(
        "--encoding", help="Input encoding (default UTF-8, BOM or not).", show_default=False
    ),
]
FromOption = Annotated[
    str | None,
    typer.Option(
        "--from",
        help="Read every export as this vendor shape (cognibill formats lists them); "
        "default: recognised from the header.",
        show_default=False,
    ),
]
SheetOption = Annotated[
    str | None,
    typer.Option(
        "--sheet",
        help="The sheet of an .xlsx workbook to read (default: the first).",
        show_default=False,
    ),
]
LedgerOption = Annotated[
    str | None,
    typer.Option(
        "--ledger",
        help="The claims ledger (SQLite): the year's earlier lines count toward KX and the "
        "review threshold, lines billed before are flagged; claim records this run "
        "(default: $COGNIBILL_LEDGER, else `ledger` in the config file).",
        show_default=False,
    ),
]
NoLedgerOption = Annotated[
    bool, typer.Option("--no-ledger", help="Use no ledger, whatever the environment says.")
]
ReplaceOption = Annotated[
    bool,
    typer.Option(
        "--replace", help="This export corrects an earlier one: its visits replace their lines."
    ),
]
StrictOption = Annotated[bool, typer.Option("--strict", help="Stop at the first bad row.")]
UnsortedOption = Annotated[
    bool,
    typer.Option(
        "--unsorted",
        help="Group in memory from the start: rows in any order (holds every row in memory).",
    ),
]
QuietOption = Annotated[
    bool, typer.Option("--quiet", "-q", help="No summary or progress on stderr.")
]
ErrorsOption = Annotated[
    str | None,
    typer.Option(
        "--errors", help="Also write the rejected rows to this CSV file.", show_default=False
    ),
]
OutOption = Annotated[
    str | None,
    typer.Option(
        "--out",
        "-o",
        help="Write the report here (atomically) instead of stdout.",
        show_default=False,
    ),
]
ExplainOption = Annotated[
    bool,
    typer.Option(
        "--explain",
        help="How each visit's units were worked out (table, json and ndjson: trace).",
    ),
]
NoEstimateOption = Annotated[
    bool, typer.Option("--no-estimate", help="Skip the reimbursement estimate.")
]
LinesOption = Annotated[
    bool,
    typer.Option(
        "--lines",
        help="The table format lists every claim line (default: the run summed up; "
        "--explain lists them too).",
    ),
]

_SEVERITY_RANK = {s.value: s.rank for s in Severity}


def _options(
    *,
    input_kind: InputKind | None,
    encoding: str | None,
    column_map: list[str] | None,
    visit_key: str,
    unsorted: bool,
    strict: bool,
    payer: str | None,
    payers: Path | None,
    rule: UnitRule | None,
    ignore: list[str] | None,
    locality: str | None,
    facility: bool,
    non_par: bool,
    shape: str | None,
    sheet: str | None,
    ledger: str | None,
    no_ledger: bool,
    replace: bool,
    estimate: bool,
) -> RunOptions:
    from cognibill.engine.run import RunOptions
    from cognibill.engine.visits import parse_visit_key
    from cognibill.rules import suggest_rule, unknown_rule_ids

    if shape is not None:
        from cognibill.inputs.shapes import shape_named

        shape = shape_named(shape).name  # an unknown name is exit 2 before reading
    ignored = [i.strip().lower() for i in ignore or ()]
    for bad in unknown_rule_ids(ignored):
        near = suggest_rule(bad)
        raise EntryError(
            f"--ignore {bad}: no such rule",
            hint=f"did you mean {' or '.join(near)}?" if near else "cognibill rules lists them",
        )
    mapping: dict[str, str] = {}
    for item in column_map or ():
        field, sep, header = item.partition("=")
        if not sep or not field.strip() or not header.strip():
            raise EntryError(f"--map {item}: expected FIELD=Header, e.g. minutes=Duration")
        mapping[field.strip().lower()] = header.strip()
    return RunOptions(
        input_kind=None if input_kind is None else input_kind.value,
        encoding=encoding,
        column_map=mapping,
        visit_key=parse_visit_key(visit_key),
        unsorted=unsorted,
        strict=strict,
        payer=payer,
        payers_file=payers,
        rule=None if rule is None else rule.value,
        ignore=frozenset(ignored),
        locality=locality,
        facility=True if facility else None,
        participating=False if non_par else None,
        estimate=estimate,
        shape=shape,
        sheet=sheet,
        ledger=_ledger_path(ledger, no_ledger),
        replace=replace,
    )


def _ledger_path(option: str | None, no_ledger: bool) -> Path | None:
    """``--ledger``, ``--no-ledger``, ``$COGNIBILL_LEDGER``, the config file, in that order."""
    import os

    from cognibill.ledger import LEDGER_ENV, load_user_config, resolve_ledger_path

    given = None if option is None else Path(option)
    config = None
    if given is None and not no_ledger and not os.environ.get(LEDGER_ENV):
        config = load_user_config()
    return resolve_ledger_path(given, no_ledger, os.environ, config)


_OPTION_NAMES = (
    "input_kind",
    "encoding",
    "column_map",
    "visit_key",
    "unsorted",
    "strict",
    "payer",
    "payers",
    "rule",
    "ignore",
    "locality",
    "facility",
    "non_par",
    "shape",
    "sheet",
    "ledger",
    "no_ledger",
    "replace",
)


def _options_of(params: dict[str, Any]) -> RunOptions:
    """The options object from the parameters ``claim`` and ``check`` share (their signatures
    must spell the options out for Typer; the mapping to the core lives here once)."""
    return _options(
        **{name: params[name] for name in _OPTION_NAMES}, estimate=not params["no_estimate"]
    )


def _summary_line(summary: Summary) -> str:
    f = summary.findings
    money = ""
    if summary.data_versions:
        low, high = summary.amount("allowed")
        shown = f"${low:,.2f}" if low == high else f"${low:,.2f}–${high:,.2f}"
        money = f"; allowed {shown}"
    grouping = ""
    if summary.regrouped_at is not None:
        grouping = (
            f"; grouped in memory ({summary.regrouped_at} continued a visit that other "
            "rows had interrupted)"
        )
    skipped = f", {summary.rows_skipped} skipped" if summary.rows_skipped else ""
    incomplete = (
        f" ({summary.visits_incomplete} incomplete: not billed as whole)"
        if summary.visits_incomplete
        else ""
    )
    return (
        f"cognibill: {summary.rows_read} rows read, {summary.rows_used} used, "
        f"{summary.rows_rejected} rejected{skipped}; {summary.visits} visits{incomplete}, "
        f"{summary.lines} lines, "
        f"{summary.units} units; findings: {f['error']} error, {f['warning']} warning, "
        f"{f['info']} info{money}; visit key: {summary.visit_key}{grouping}; "
        f"{summary.seconds:.2f} s\n"
    )


_MINUTES_FROM = {
    "minutes": ("minutes from {}", " and "),
    "start-end": ("minutes from {}", " to "),
    "units": ("units only, no minutes", ""),
}


def _recorded_line(path: Path | None, recorded: Any) -> str:
    """What the ledger took from the run, on stderr."""
    if recorded.run_id is None:
        return (
            f"cognibill: ledger {path}: nothing new to record ({recorded.duplicates} lines there)\n"
        )
    replaced = f", {recorded.replaced} earlier lines replaced" if recorded.replaced else ""
    return (
        f"cognibill: ledger {path}: run {recorded.run_id} recorded, {recorded.added} lines "
        f"added{replaced}\n"
    )


def _terminal(text: str) -> str:
    """Lines for stderr with every input-made control character escaped (issue 11)."""
    from cognibill.entries import escape_controls

    return "".join(escape_controls(line) + "\n" for line in text.splitlines())


def _note_lines(summary: Summary) -> str:
    """How each export was read, then the per-file notes, one line each
    (``file: info[checks-skipped]: ...``)."""
    out = []
    for read in summary.read_as:
        columns: Any = read["columns"]
        time = str(read["minutes_from"])
        headers = columns.get("minutes") or [*columns.get("start", []), *columns.get("end", [])]
        text, joint = _MINUTES_FROM[time]
        how = text.format(joint.join(repr(h) for h in headers))
        shape = read["shape"] or "a generic export"
        sheet = f", sheet {read['sheet']!r}" if read["sheet"] else ""
        out.append(
            f"{read['source']}: read as {shape}{sheet} (header on line {read['header_line']}; "
            f"{how})\n"
        )
    out.extend(
        f"{n['source']}: {n['severity']}[{n['id']}]: {n['message']}\n" for n in summary.notes
    )
    return "".join(out)


def _rejected_lines(rejected: list[dict[str, Any]], limit: int = 20) -> str:
    out = []
    for row in rejected[:limit]:
        where = f"{row['source']}:{row['line']}" if row["line"] is not None else row["source"]
        column = f"{row['column']}: " if row["column"] else ""
        out.append(f"{where}: rejected: {column}{row['reason']}\n")
    if len(rejected) > limit:
        out.append(
            f"... and {len(rejected) - limit} more rejected rows (--errors PATH lists all)\n"
        )
    return "".join(out)


def _with_progress(run: ClaimRun, quiet: bool) -> Iterator[Any]:
    """The run's items; on a terminal (never with --quiet), a Rich progress bar on stderr,
    advanced as each batch is read, once the run has taken more than half a second."""
    if quiet or not sys.stderr.isatty():
        yield from run
        return
    bar = _ProgressBar()
    run.on_progress = bar.update
    try:
        yield from run
    finally:
        bar.stop()


class _ProgressBar:
    def __init__(self) -> None:
        import time

        self.start = time.monotonic()
        self.progress: Any = None
        self.task: Any = None

    def update(self, done: int, total: int) -> None:
        import time

        if self.progress is None:
            if time.monotonic() - self.start <= 0.5:
                return
            from rich.console import Console
            from rich.progress import Progress

            self.progress = Progress(console=Console(stderr=True), transient=True)
            self.task = self.progress.add_task("reading", total=total)
            self.progress.start()
        self.progress.update(self.task, completed=done)

    def stop(self) -> None:
        if self.progress is not None:
            self.progress.stop()


def _write_errors(path: str | None, rejected: list[dict[str, Any]], inputs: list[str]) -> None:
    if path is None:
        return
    from cognibill.writers import CsvWriter, atomic_output

    with atomic_output(path, inputs, option="--errors") as stream:
        writer = CsvWriter(stream, ("source", "line", "column", "reason"))
        writer.write_all(rejected)


def _exit_code(summary: Summary, fail_on: FailOn) -> ExitCode:
    if fail_on is FailOn.NEVER:
        return ExitCode.OK
    threshold = _SEVERITY_RANK[fail_on.value]
    worst = max(
        (_SEVERITY_RANK[s] for s, n in summary.findings.items() if n),
        default=-1,
    )
    if summary.rows_rejected and threshold <= _SEVERITY_RANK["error"]:
        worst = max(worst, _SEVERITY_RANK["error"])
    return ExitCode.FINDINGS if worst >= threshold else ExitCode.OK


def claim(
    files: Files,
    input_kind: InputOption = None,
    fmt: FormatOption = OutputFormat.TABLE,
    out: OutOption = None,
    errors: ErrorsOption = None,
    payer: PayerOption = None,
    payers: PayersFileOption = None,
    locality: LocalityOption = None,
    facility: FacilityOption = False,
    non_par: NonParOption = False,
    rule: RuleOption = None,
    ignore: IgnoreOption = None,
    fail_on: FailOnOption = FailOn.ERROR,
    visit_key: VisitKeyOption = "patient,date,provider,discipline",
    column_map: MapOption = None,
    shape: FromOption = None,
    sheet: SheetOption = None,
    ledger: LedgerOption = None,
    no_ledger: NoLedgerOption = False,
    replace: ReplaceOption = False,
    encoding: EncodingOption = None,
    strict: StrictOption = False,
    unsorted: UnsortedOption = False,
    no_estimate: NoEstimateOption = False,
    explain: ExplainOption = False,
    lines: LinesOption = False,
    quiet: QuietOption = False,
) -> None:
    """Claim lines, units, modifiers, estimate and findings for every visit of the inputs."""
    import dataclasses

    from cognibill.engine.run import ClaimRun

    options = dataclasses.replace(_options_of(locals()), explain=explain)
    from cognibill.writers import atomic_output, check_output_path, same_output_file

    if errors is not None:  # refuse a bad --errors before reading anything
        check_output_path(errors, files, option="--errors")
        if out is not None and same_output_file(out, errors):
            raise EntryError(
                f"--errors {errors} is the --out report too; the rejected rows would replace it",
                hint="write the rejected rows to another file",
            )
    if out is not None:
        check_output_path(out, files)
    run = ClaimRun(files, options)
    try:
        if out is not None:
            with atomic_output(out, files) as stream:
                rejected = _emit(run, fmt, stream, quiet, lines or explain)
        else:
            rejected = _emit(run, fmt, sys.stdout, quiet, lines or explain)
        _write_errors(errors, rejected, files)
        recorded = run.record()  # only once the report is out
    finally:
        run.close()
    if fmt in (OutputFormat.TABLE, OutputFormat.CSV) and not quiet:
        sys.stderr.write(_terminal(_note_lines(run.summary)))
        summed_up = fmt is OutputFormat.TABLE and not (lines or explain)
        if rejected and not summed_up:  # the summary view lists them by reason
            sys.stderr.write(_terminal(_rejected_lines(rejected)))
    if not quiet:
        sys.stderr.write(_summary_line(run.summary))
        if recorded is not None:
            sys.stderr.write(_recorded_line(options.ledger, recorded))
    code = _exit_code(run.summary, fail_on)
    if code:
        raise typer.Exit(int(code))


def _emit(
    run: ClaimRun, fmt: OutputFormat, stream: Any, quiet: bool, lines: bool = False
) -> list[dict[str, Any]]:
    """Write the claim report in ``fmt``; returns the rejected rows (for stderr / --errors).
    ``lines``: the table lists the claim lines rather than the summary view."""
    from cognibill.engine.run import Rejected

    rejected: list[pl.DataFrame] = []
    sink = _report_sink(fmt, stream, run, lines)
    for item in _with_progress(run, quiet):
        if isinstance(item, Rejected):
            rejected.append(item.rows)
        else:
            sink.batch(item)
    import polars as pl

    from cognibill.engine.frames import REJECTED, empty

    frame = pl.concat(rejected) if rejected else empty(REJECTED)
    sink.finish(frame, run.summary)
    return list(frame.iter_rows(named=True))


class _TableSink:
    def __init__(self, stream: Any) -> None:
        from cognibill.render.claims import ClaimTable

        self.stream = stream
        self.table = ClaimTable()

    def batch(self, billed: Any) -> None:
        self.table.add(billed.lines, billed.findings)

    def finish(self, rejected: pl.DataFrame, summary: Summary) -> None:
        from cognibill.render.claims import render_claims

        self.table.rejected = list(rejected.iter_rows(named=True))
        render_claims(self.stream, self.table, summary)


class _SummarySink:
    """The table format's default: the run summed up (``cognibill.reports``)."""

    def __init__(self, stream: Any, run: ClaimRun) -> None:
        from cognibill.reports import ReportBuilder

        self.stream = stream
        self.builder = ReportBuilder.for_options(run.options)

    def batch(self, billed: Any) -> None:
        self.builder.add(billed)

    def finish(self, rejected: pl.DataFrame, summary: Summary) -> None:
        from cognibill.render.summary import render_summary

        render_summary(self.stream, self.builder.finish(rejected, summary))


class _MachineSink:
    def __init__(self, stream: Any, fmt: OutputFormat, run: ClaimRun) -> None:
        from cognibill.outputs.claims import ClaimWriter

        self.writer = ClaimWriter(stream, fmt.value)
        self.builder: Any = None
        if fmt is OutputFormat.JSON:  # JSON carries the summary view's data as `report`
            from cognibill.reports import ReportBuilder

            self.builder = ReportBuilder.for_options(run.options)

    def batch(self, billed: Any) -> None:
        self.writer.lines(billed.lines)
        if self.builder is not None:
            self.builder.add(billed)

    def finish(self, rejected: pl.DataFrame, summary: Summary) -> None:
        report = None
        if self.builder is not None:
            report = self.builder.finish(rejected, summary).to_dict()
        self.writer.finish(rejected, summary.to_dict(), report)


def _report_sink(
    fmt: OutputFormat, stream: Any, run: ClaimRun, lines: bool
) -> _TableSink | _SummarySink | _MachineSink:
    """The one mapping of ``--format`` to the claim report's writer."""
    match fmt:
        case OutputFormat.TABLE:
            return _TableSink(stream) if lines else _SummarySink(stream, run)
        case OutputFormat.CSV | OutputFormat.JSON | OutputFormat.NDJSON:
            return _MachineSink(stream, fmt, run)
        case _:
            assert_never(fmt)


def check(
    files: Files,
    input_kind: InputOption = None,
    fmt: FormatOption = OutputFormat.TABLE,
    payer: PayerOption = None,
    payers: PayersFileOption = None,
    locality: LocalityOption = None,
    facility: FacilityOption = False,
    non_par: NonParOption = False,
    rule: RuleOption = None,
    ignore: IgnoreOption = None,
    fail_on: FailOnOption = FailOn.ERROR,
    visit_key: VisitKeyOption = "patient,date,provider,discipline",
    column_map: MapOption = None,
    shape: FromOption = None,
    sheet: SheetOption = None,
    ledger: LedgerOption = None,
    no_ledger: NoLedgerOption = False,
    replace: ReplaceOption = False,
    encoding: EncodingOption = None,
    strict: StrictOption = False,
    unsorted: UnsortedOption = False,
    no_estimate: NoEstimateOption = False,
    quiet: QuietOption = False,
) -> None:
    """Findings only, one line each (file:line: severity[rule]: message), and a summary."""
    from cognibill.engine.run import ClaimRun

    require_format(
        fmt, (OutputFormat.TABLE, OutputFormat.JSON, OutputFormat.CSV, OutputFormat.NDJSON)
    )
    options = _options_of(locals())
    run = ClaimRun(files, options)  # check reads the ledger, never records
    sink = _FindingSink(sys.stdout, fmt)
    try:
        with collector_paused():
            _check_findings(run, sink, quiet)
    finally:
        run.close()
    for note in run.summary.notes:
        sink.add(
            {
                "source": note["source"],
                "line": None,
                "severity": note["severity"],
                "id": note["id"],
                "message": note["message"],
                "patient_id": None,
                "date": None,
                "code": None,
                "hint": _rule_hints()[str(note["id"])],
            }
        )
    sink.finish(run.summary)
    if not quiet:
        sys.stderr.write(_summary_line(run.summary))
    code = _exit_code(run.summary, fail_on)
    if code:
        raise typer.Exit(int(code))


def _check_findings(run: ClaimRun, sink: _FindingSink, quiet: bool) -> None:
    """Every finding of the run, and every rejected row as an error, into ``sink``."""
    from cognibill.engine.run import Rejected
    from cognibill.rules.catalogue import RULES

    hints = {rule.id: rule.hint for rule in RULES.values()}
    for item in _with_progress(run, quiet):
        if isinstance(item, Rejected):
            for bad in item.rows.iter_rows(named=True):
                sink.add(
                    {
                        "source": bad["source"],
                        "line": bad["line"],
                        "severity": "error",
                        "id": "rejected-row",
                        "message": f"{bad['column']}: {bad['reason']}"
                        if bad["column"]
                        else bad["reason"],
                        "patient_id": None,
                        "date": None,
                        "code": None,
                        "hint": hints["rejected-row"],
                    }
                )
            continue
        for found in item.findings.iter_rows(named=True):
            sink.add(
                {
                    "source": found["source"],
                    "line": found["line"],
                    "severity": found["severity"],
                    "id": found["id"],
                    "message": found["message"],
                    "patient_id": found["patient_id"],
                    "date": found["date"].isoformat(),
                    "code": found["code"],
                    "hint": found["hint"] or hints.get(found["id"], ""),
                }
            )


def _rule_hints() -> dict[str, str]:
    from cognibill.rules.catalogue import RULES

    return {rule.id: rule.hint for rule in RULES.values()}


CHECK_FIELDS = ("source", "line", "severity", "id", "message", "patient_id", "date", "code", "hint")


class _FindingSink:
    """Where ``check`` writes findings: compiler-like lines, JSON, NDJSON or CSV."""

    def __init__(self, out: Any, fmt: OutputFormat) -> None:
        from cognibill.writers import CsvWriter

        self.out = out
        self.fmt = fmt
        self.rows: list[dict[str, Any]] = []
        self.csv = CsvWriter(out, CHECK_FIELDS) if fmt is OutputFormat.CSV else None

    def add(self, row: dict[str, Any]) -> None:
        from cognibill.writers import to_json

        if self.fmt is OutputFormat.TABLE:
            from cognibill.entries import escape_controls

            where = f"{row['source']}:{row['line']}" if row["line"] is not None else row["source"]
            text = f"{where}: {row['severity']}[{row['id']}]: {row['message']}"
            self.out.write(escape_controls(text) + "\n")
        elif self.fmt is OutputFormat.JSON:
            self.rows.append(row)
        elif self.fmt is OutputFormat.NDJSON:
            self.out.write(to_json({"type": "finding", **row}) + "\n")
        elif self.csv is not None:
            self.csv.write(row)

    def finish(self, summary: Summary) -> None:
        from cognibill.writers import to_json

        if self.fmt is OutputFormat.JSON:
            doc = {"findings": self.rows, "summary": summary.to_dict()}
            self.out.write(to_json(doc, indent=2) + "\n")
        elif self.fmt is OutputFormat.NDJSON:
            self.out.write(to_json({"type": "summary", **summary.to_dict()}) + "\n")


def register(app: typer.Typer) -> None:
    app.command("claim")(claim)
    app.command("check")(check)
