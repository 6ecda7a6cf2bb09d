"""``cognibill fees``, ``cognibill localities`` and ``cognibill payers``: the money data."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from cognibill.cli.common import (
    DateOption,
    FormatOption,
    LocalityOption,
    PayersFileOption,
    YearOption,
    out_console,
    require_format,
    service_date,
    write_csv,
    write_json,
    write_text_file,
)
from cognibill.errors import EntryError
from cognibill.formats import OutputFormat

_ONE_OFF = (OutputFormat.TABLE, OutputFormat.JSON, OutputFormat.CSV)


def fees(
    codes: Annotated[list[str], typer.Argument(metavar="CODE...", help="Codes to price.")],
    locality: LocalityOption = None,
    date: DateOption = None,
    year: YearOption = None,
    qp: Annotated[
        bool, typer.Option("--qp", help="Qualifying APM participant conversion factor.")
    ] = False,
    fmt: FormatOption = OutputFormat.TABLE,
) -> None:
    """Medicare fee breakdown per code: RVUs, GPCIs, conversion factor, fees."""
    from cognibill.fees.estimate import fee_breakdown
    from cognibill.render.claims import plain

    fmt = require_format(fmt, _ONE_OFF)
    rows = fee_breakdown(codes, service_date(date, year), locality=locality, qualifying_apm=qp)
    if fmt is OutputFormat.JSON:
        write_json({"fees": [r.to_dict() for r in rows]})
        return
    flat = [
        {
            "code": r.code,
            "date": r.date.isoformat(),
            "locality": r.locality.id,
            "work_rvu": "" if r.rvu is None else str(r.rvu.work),
            "pe_nonfacility_rvu": "" if r.rvu is None else str(r.rvu.pe_nonfacility),
            "pe_facility_rvu": "" if r.rvu is None else str(r.rvu.pe_facility),
            "mp_rvu": "" if r.rvu is None else str(r.rvu.mp),
            "gpci": r.locality.gpcis,
            "conversion_factor": str(r.conversion_factor),
            "non_facility": "" if r.non_facility is None else f"{r.non_facility.fee:.2f}",
            "facility": "" if r.facility is None else f"{r.facility.fee:.2f}",
            "reduced": ""
            if r.non_facility is None or r.non_facility.reduced_fee is None
            else f"{r.non_facility.reduced_fee:.2f}",
            "data_version": r.data_version,
        }
        for r in rows
    ]
    if fmt is OutputFormat.CSV:
        write_csv(list(flat[0]) if flat else ["code"], flat)
        return
    from rich.table import Table

    console = out_console()
    table = Table(
        title=plain(f"Medicare fees on {rows[0].date.isoformat()}, {rows[0].locality.label}"),
        title_justify="left",
    )
    for name in ("Code", "Work", "PE non-fac", "PE fac", "MP", "Non-facility", "Facility", "MPPR"):
        table.add_column(name, justify="left" if name == "Code" else "right")
    for row in flat:
        table.add_row(
            *map(
                plain,
                (
                    row["code"],
                    row["work_rvu"],
                    row["pe_nonfacility_rvu"],
                    row["pe_facility_rvu"],
                    row["mp_rvu"],
                    row["non_facility"] and f"${row['non_facility']}",
                    row["facility"] and f"${row['facility']}",
                    row["reduced"] and f"${row['reduced']}",
                ),
            )
        )
    console.print(table)
    console.print(plain(f"GPCI (work/PE/MP) {flat[0]['gpci']}, CF {flat[0]['conversion_factor']}."))
    for note in dict.fromkeys(n for r in rows for n in r.notes):
        console.print(plain(f"  {note}"))


def localities(
    search: Annotated[
        str | None, typer.Argument(help="Part of a name, a state (AL) or an id.")
    ] = None,
    date: DateOption = None,
    year: YearOption = None,
    fmt: FormatOption = OutputFormat.TABLE,
) -> None:
    """Find a Medicare locality by name, state or id (for --locality)."""
    from cognibill.fees.schedule import find_localities
    from cognibill.render.claims import plain

    fmt = require_format(fmt, _ONE_OFF)
    day = service_date(date, year)
    found = find_localities(search, day)
    if not found and search and search.strip():
        # As --locality says of the same search: nothing to show is an entry error (exit 2).
        every = find_localities(None, day)
        data_year = f" in {every[0].year}" if every else ""
        raise EntryError(
            f"no Medicare locality matches {search!r}{data_year}",
            hint="give part of a name (oakland), a state (AL) or a MAC-locality id "
            "(01112-05); `cognibill localities` lists them all",
        )
    rows: list[dict[str, Any]] = [
        {
            "id": loc.id,
            "name": loc.name,
            "state": loc.state,
            "work_gpci": f"{loc.work:.3f}",
            "pe_gpci": f"{loc.pe:.3f}",
            "mp_gpci": f"{loc.mp:.3f}",
            "year": loc.year,
        }
        for loc in found
    ]
    if fmt is OutputFormat.JSON:
        write_json({"date": day.isoformat(), "localities": rows})
    elif fmt is OutputFormat.CSV:
        write_csv(("id", "name", "state", "work_gpci", "pe_gpci", "mp_gpci", "year"), rows)
    else:
        from rich.table import Table

        table = Table("Locality", "Name", "State", "GPCI work/PE/MP")
        for r in rows:
            gpcis = f"{r['work_gpci']}/{r['pe_gpci']}/{r['mp_gpci']}"
            table.add_row(*map(plain, (r["id"], r["name"], r["state"], gpcis)))
        out_console().print(table)


payers_app = typer.Typer(
    help="Payer profiles: list them, show one, or start your own.",
    no_args_is_help=False,
    invoke_without_command=True,
    add_completion=False,
    rich_markup_mode=None,
)


@payers_app.callback()
def payers(
    ctx: typer.Context,
    payers_file: PayersFileOption = None,
    fmt: FormatOption = OutputFormat.TABLE,
) -> None:
    """List the payer profiles (built-in and yours); `payers show ID`, `payers init`."""
    from cognibill.render.claims import plain

    if ctx.invoked_subcommand is not None:
        return
    from cognibill.payers import load_payers

    fmt = require_format(fmt, _ONE_OFF)
    profiles = load_payers(payers_file)
    rows = [
        {
            "id": p.id,
            "name": p.name,
            "unit_rule": p.unit_rule.value,
            "pricing": p.pricing,
            "source": p.source,
        }
        for p in profiles.values()
    ]
    if fmt is OutputFormat.JSON:
        write_json({"payers": rows})
    elif fmt is OutputFormat.CSV:
        write_csv(("id", "name", "unit_rule", "pricing", "source"), rows)
    else:
        from rich.table import Table

        table = Table("Id", "Name", "Unit rule", "Pricing", "From")
        for r in rows:
            table.add_row(
                *map(plain, (r["id"], r["name"], r["unit_rule"], r["pricing"], r["source"]))
            )
        out_console().print(table)


@payers_app.command("show")
def payers_show(
    payer_id: Annotated[str, typer.Argument(metavar="ID", help="A payer profile id.")],
    payers_file: PayersFileOption = None,
    fmt: FormatOption = OutputFormat.TABLE,
) -> None:
    """Every setting of one payer profile."""
    import dataclasses

    from cognibill.payers import get_payer
    from cognibill.render.claims import plain

    fmt = require_format(fmt, (OutputFormat.TABLE, OutputFormat.JSON))
    profile = get_payer(payer_id, payers_file)
    data = {
        k: (v.value if hasattr(v, "value") else v)
        for k, v in ((f.name, getattr(profile, f.name)) for f in dataclasses.fields(profile))
    }
    data = {k: (dict(v) if hasattr(v, "items") else v) for k, v in data.items()}
    if fmt is OutputFormat.JSON:
        write_json(data)
        return
    console = out_console()
    for key, value in data.items():
        shown = "" if value is None else value
        if isinstance(value, tuple):
            shown = ", ".join(value) or "(any)"
        console.print(plain(f"{key:30} {shown}"), highlight=False)


@payers_app.command("init")
def payers_init(
    payer_id: Annotated[
        str, typer.Argument(metavar="ID", help="Id of the new profile.")
    ] = "my-payer",
    path: Annotated[
        Path | None, typer.Option("--out", "-o", help="Write to this file instead of stdout.")
    ] = None,
    base: Annotated[
        str, typer.Option("--base", help="Built-in profile to start from.")
    ] = "commercial",
    force: Annotated[bool, typer.Option("--force", help="Overwrite an existing file.")] = False,
) -> None:
    """Write a commented payer profile to start from (TOML)."""
    from cognibill.payers import starter_profile

    if write_text_file(path, starter_profile(payer_id, base=base), force=force):
        sys.stderr.write(f"wrote {path}; use it with --payers {path} or COGNIBILL_PAYERS\n")


def register(app: typer.Typer) -> None:
    app.command("fees")(fees)
    app.command("localities")(localities)
    app.add_typer(payers_app, name="payers")
