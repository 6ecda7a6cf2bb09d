"""``cognibill units`` and ``cognibill ranges``: the one-off calculations."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from cognibill.cli.common import (
    DateOption,
    FacilityOption,
    FormatOption,
    LocalityOption,
    NonParOption,
    PayerOption,
    PayersFileOption,
    YearOption,
    out_console,
    require_format,
    service_date,
    write_csv,
    write_json,
)
from cognibill.engine.units import UnitRule
from cognibill.exitcodes import ExitCode
from cognibill.formats import OutputFormat

_ONE_OFF = (OutputFormat.TABLE, OutputFormat.JSON, OutputFormat.CSV, OutputFormat.NDJSON)
"""Every format ``--help`` lists: NDJSON is one JSON object a line (a result of ``units``, one
per rule with ``--compare``; a row of ``ranges``)."""


def _write_ndjson(docs: list[dict[str, Any]]) -> None:
    import json
    import sys

    for doc in docs:
        sys.stdout.write(json.dumps(doc, ensure_ascii=False, default=str) + "\n")


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
        UnitRule | None,
        typer.Option(
            "--rule",
            case_sensitive=False,
            help="Unit rule: cms, ama, ama-capped. Default: the payer's (medicare: cms).",
            show_default=False,
        ),
    ] = None,
    compare: Annotated[bool, typer.Option("--compare", help="CMS and AMA side by side.")] = False,
    explain: Annotated[
        bool, typer.Option("--explain", help="Show how units and estimate were worked out.")
    ] = False,
    payer: PayerOption = None,
    payers: PayersFileOption = None,
    locality: LocalityOption = None,
    date: DateOption = None,
    year: YearOption = None,
    facility: FacilityOption = False,
    non_par: NonParOption = False,
    fmt: FormatOption = OutputFormat.TABLE,
) -> None:
    """Units and estimate for one visit: bare minutes are 97129/97130; CODE=MINUTES for others."""
    from cognibill.engine.one_visit import one_visit
    from cognibill.entries import parse_entries
    from cognibill.payers import get_payer

    fmt = require_format(fmt, _ONE_OFF)
    parsed = parse_entries(entries)
    profile = get_payer(payer or "medicare", payers)
    day = service_date(date, year)
    rules = [UnitRule.CMS, UnitRule.AMA] if compare else [rule or profile.unit_rule]
    worked = one_visit(
        parsed,
        rules,
        day,
        profile,
        facility=True if facility else None,
        locality=locality,
        participating=False if non_par else None,
    )
    results = [result for result, _ in worked]
    estimates = [estimate for _, estimate in worked]

    if fmt in (OutputFormat.JSON, OutputFormat.NDJSON):
        from cognibill.report import unit_result_dict

        docs = [
            {**unit_result_dict(r), "payer": profile.id, "estimate": e.to_dict()}
            for r, e in zip(results, estimates, strict=True)
        ]
        if fmt is OutputFormat.NDJSON:
            _write_ndjson(docs)
        else:
            write_json({"compare": True, "results": docs} if compare else docs[0])
    elif fmt is OutputFormat.CSV:
        from cognibill.report import UNIT_CSV_FIELDS, unit_csv_rows

        write_csv(
            UNIT_CSV_FIELDS,
            [row for r, e in zip(results, estimates, strict=True) for row in unit_csv_rows(r, e)],
        )
    else:
        from cognibill.render.units import render_compare, render_units

        if compare:
            render_compare(out_console(), results, estimates, explain=explain)
        else:
            render_units(out_console(), results[0], estimates[0], explain=explain)
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

    fmt = require_format(fmt, _ONE_OFF)
    rows = unit_ranges(up_to)
    if fmt is OutputFormat.TABLE:
        from cognibill.render.units import render_ranges

        render_ranges(out_console(), rows)
        return
    from cognibill.report import RANGE_FIELDS, range_rows

    if fmt is OutputFormat.JSON:
        write_json({"rule_source": "RULES.md §1", "ranges": range_rows(rows)})
    elif fmt is OutputFormat.NDJSON:
        _write_ndjson([{**row, "rule_source": "RULES.md §1"} for row in range_rows(rows)])
    else:
        write_csv(RANGE_FIELDS, range_rows(rows))


def register(app: typer.Typer) -> None:
    app.command(
        "units",
        context_settings={"ignore_unknown_options": True},
    )(units)
    app.command("ranges")(ranges)
