"""``cognibill units`` and ``cognibill ranges``: the one-off calculations."""

from __future__ import annotations

from typing import Annotated

import typer

from cognibill.cli.common import FormatOption, out_console, require_format, write_csv, write_json
from cognibill.engine.units import UnitRule
from cognibill.exitcodes import ExitCode
from cognibill.formats import OutputFormat

_ONE_OFF = (OutputFormat.TABLE, OutputFormat.JSON, OutputFormat.CSV)


def units(
    entries: Annotated[
        list[str],
        typer.Argument(
            metavar="ENTRY...",
            help="Minutes of the cognitive service (38) or CODE=MINUTES (97112=24), one per code.",
            show_default=False,
        ),
    ],
    rule: Annotated[
        UnitRule,
        typer.Option("--rule", case_sensitive=False, help="Unit rule: cms, ama, ama-capped."),
    ] = UnitRule.CMS,
    compare: Annotated[bool, typer.Option("--compare", help="CMS and AMA side by side.")] = False,
    explain: Annotated[
        bool, typer.Option("--explain", help="Show how the units were assigned.")
    ] = False,
    fmt: FormatOption = OutputFormat.TABLE,
) -> None:
    """Units for one visit: bare minutes are 97129/97130; CODE=MINUTES for other codes."""
    from cognibill.engine.units import compute_units
    from cognibill.entries import parse_entries

    require_format(fmt, _ONE_OFF)
    parsed = parse_entries(entries)
    rules = [UnitRule.CMS, UnitRule.AMA] if compare else [rule]
    results = [compute_units(parsed, r) for r in rules]

    if fmt is OutputFormat.JSON:
        from cognibill.report import unit_result_dict

        if compare:
            write_json({"compare": True, "results": [unit_result_dict(r) for r in results]})
        else:
            write_json(unit_result_dict(results[0]))
    elif fmt is OutputFormat.CSV:
        from cognibill.report import UNIT_CSV_FIELDS, unit_csv_rows

        write_csv(UNIT_CSV_FIELDS, [row for r in results for row in unit_csv_rows(r)])
    else:
        from cognibill.render.units import render_compare, render_units

        if compare:
            render_compare(out_console(), results, explain=explain)
        else:
            render_units(out_console(), results[0], explain=explain)
    if any(f.severity.value == "error" for r in results for f in r.findings):
        raise typer.Exit(int(ExitCode.FINDINGS))


def ranges(
    up_to: Annotated[
        int, typer.Option("--up-to", min=1, max=96, help="Show rows up to this many units.")
    ] = 8,
    fmt: FormatOption = OutputFormat.TABLE,
) -> None:
    """The unit/time table: how many minutes earn each number of units."""
    from cognibill.engine.units import unit_ranges

    require_format(fmt, _ONE_OFF)
    rows = unit_ranges(up_to)
    if fmt is OutputFormat.TABLE:
        from cognibill.render.units import render_ranges

        render_ranges(out_console(), rows)
        return
    from cognibill.report import RANGE_FIELDS, range_rows

    if fmt is OutputFormat.JSON:
        write_json({"rule_source": "RULES.md §1", "ranges": range_rows(rows)})
    else:
        write_csv(RANGE_FIELDS, range_rows(rows))


def register(app: typer.Typer) -> None:
    app.command(
        "units",
        context_settings={"ignore_unknown_options": True},
    )(units)
    app.command("ranges")(ranges)
