"""``cognibill report``: a claim run as one self-contained HTML page (issue 13)."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Annotated, Any

import typer

from cognibill.cli.claims import (
    EncodingOption,
    FailOn,
    FailOnOption,
    Files,
    FromOption,
    IgnoreOption,
    InputOption,
    LedgerOption,
    MapOption,
    NoEstimateOption,
    NoLedgerOption,
    QuietOption,
    RuleOption,
    SheetOption,
    StrictOption,
    UnsortedOption,
    VisitKeyOption,
    _exit_code,
    _note_lines,
    _options_of,
    _rejected_lines,
    _summary_line,
    _terminal,
    _with_progress,
)
from cognibill.cli.common import (
    FacilityOption,
    LocalityOption,
    NonParOption,
    PayerOption,
    PayersFileOption,
)

if TYPE_CHECKING:
    import polars as pl

    from cognibill.engine.run import ClaimRun
    from cognibill.reports import ReportBuilder

PageOption = Annotated[
    str | None,
    typer.Option(
        "--out",
        "-o",
        help="Write the HTML page here (atomically) instead of stdout.",
        show_default=False,
    ),
]
TitleOption = Annotated[str, typer.Option("--title", help="The page's title.", show_default=False)]


def report(
    files: Files,
    input_kind: InputOption = None,
    out: PageOption = None,
    title: TitleOption = "cognibill claim report",
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
    encoding: EncodingOption = None,
    strict: StrictOption = False,
    unsorted: UnsortedOption = False,
    no_estimate: NoEstimateOption = False,
    quiet: QuietOption = False,
) -> None:
    """An HTML page of the run: totals, findings by rule, money left on the table, KX (no
    script, fetches nothing)."""
    from cognibill.engine.run import ClaimRun
    from cognibill.reports import ReportBuilder
    from cognibill.writers import atomic_output, check_output_path

    options = _options_of({**locals(), "replace": False})  # the report never records
    _need_matplotlib()
    if out is not None:
        check_output_path(out, files)
    run = ClaimRun(files, options)
    builder = ReportBuilder.for_options(options)
    try:
        rejected = _collect(run, builder, quiet)
    finally:
        run.close()
    from cognibill.reports.html import render_html

    page = render_html(builder.finish(rejected, run.summary), title=title)
    if out is None:
        sys.stdout.write(page)
    else:
        with atomic_output(out, files) as stream:
            stream.write(page)
    if not quiet:
        sys.stderr.write(_terminal(_note_lines(run.summary)))
        rows = list(rejected.iter_rows(named=True))
        if rows:
            sys.stderr.write(_terminal(_rejected_lines(rows)))
        sys.stderr.write(_summary_line(run.summary))
    code = _exit_code(run.summary, fail_on)
    if code:
        raise typer.Exit(int(code))


def _need_matplotlib() -> None:
    """The charts' library, checked before any reading (it is a dependency of the package)."""
    import importlib.util

    from cognibill.errors import EntryError

    if importlib.util.find_spec("matplotlib") is None:
        raise EntryError(
            "cognibill report needs matplotlib, which is not installed",
            hint="pip install 'matplotlib>=3.8,<4'",
        )


def _collect(run: ClaimRun, builder: ReportBuilder, quiet: bool) -> pl.DataFrame:
    """Every batch into ``builder``; the run's rejected rows."""
    import polars as pl

    from cognibill.engine.frames import REJECTED, empty
    from cognibill.engine.run import Rejected

    rejected: list[pl.DataFrame] = []
    item: Any
    for item in _with_progress(run, quiet):
        if isinstance(item, Rejected):
            rejected.append(item.rows)
        else:
            builder.add(item)
    return pl.concat(rejected) if rejected else empty(REJECTED)


def register(app: typer.Typer) -> None:
    app.command("report")(report)
