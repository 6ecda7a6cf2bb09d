"""``cognibill ledger``: the claims ledger's runs, a patient's year, export, seed and void."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from cognibill.cli.common import (
    FormatOption,
    PayersFileOption,
    out_console,
    require_format,
    write_csv,
    write_json,
)
from cognibill.errors import EntryError, InputError
from cognibill.formats import OutputFormat

if TYPE_CHECKING:
    from cognibill.ledger import Ledger, YearToDate

_FORMATS = (OutputFormat.TABLE, OutputFormat.JSON, OutputFormat.CSV)

LedgerOption = Annotated[
    Path | None,
    typer.Option(
        "--ledger",
        help="The ledger file. Default: $COGNIBILL_LEDGER, else `ledger` in the user config "
        "file (config.toml).",
        show_default=False,
    ),
]

ledger_app = typer.Typer(
    help="The claims ledger across runs: runs, show, export, seed, void.",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode=None,
)


def _path(option: Path | None) -> Path:
    from cognibill.ledger import LEDGER_ENV, load_user_config, resolve_ledger_path

    config = None  # read only when it decides: a broken config file never blocks --ledger
    if option is None and not os.environ.get(LEDGER_ENV, "").strip():
        config = load_user_config()
    chosen = resolve_ledger_path(option, False, os.environ, config)
    if chosen is None:
        raise EntryError(
            "no ledger named",
            hint='give --ledger PATH, set COGNIBILL_LEDGER, or put ledger = "PATH" in '
            "the user config file",
        )
    return chosen


def _open(option: Path | None, *, create: bool = False) -> Ledger:
    from cognibill.ledger import open_ledger

    return open_ledger(_path(option), create=create)


@ledger_app.command("runs")
def runs(ledger: LedgerOption = None, fmt: FormatOption = OutputFormat.TABLE) -> None:
    """The runs recorded in the ledger, oldest first."""
    fmt = require_format(fmt, _FORMATS)
    with _open(ledger) as book:
        frame = book.runs()
    rows = [_run_row(r) for r in frame.iter_rows(named=True)]
    if fmt is OutputFormat.JSON:
        for row, raw in zip(rows, frame.iter_rows(named=True), strict=True):
            row["inputs"] = raw["inputs"]
            row["fee_data"] = raw["fee_data"]
        write_json({"runs": rows})
        return
    if fmt is OutputFormat.CSV:
        write_csv(list(_RUN_FIELDS), rows)
        return
    from rich.table import Table

    from cognibill.render.claims import plain

    table = Table("Run", "Recorded (UTC)", "Inputs", "Lines", "Patients", "Dates", "Allowed")
    for r in rows:
        dates = f"{r['first_date']}…{r['last_date']}" if r["first_date"] else ""
        table.add_row(
            *map(
                plain,
                (
                    r["run_id"],
                    r["recorded_at"],
                    r["inputs"],
                    r["lines"],
                    r["patients"],
                    dates,
                    _text_span(r["allowed_lo"], r["allowed_hi"]),
                ),
            )
        )
    out_console().print(table)


_RUN_FIELDS = (
    "run_id",
    "recorded_at",
    "started_at",
    "tool_version",
    "fee_data",
    "options",
    "inputs",
    "lines",
    "patients",
    "first_date",
    "last_date",
    "allowed_lo",
    "allowed_hi",
)


def _run_row(raw: dict[str, Any]) -> dict[str, Any]:
    return {
        "run_id": raw["run_id"],
        "recorded_at": _time(raw["recorded_at"]),
        "started_at": _time(raw["started_at"]),
        "tool_version": raw["tool_version"],
        "fee_data": " ".join(raw["fee_data"] or ()),
        "options": raw["options"],
        "inputs": " ".join(i["path"] for i in raw["inputs"] or ()),
        "lines": raw["lines"],
        "patients": raw["patients"],
        "first_date": _day(raw["first_date"]),
        "last_date": _day(raw["last_date"]),
        "allowed_lo": _amount(raw["allowed_lo"]),
        "allowed_hi": _amount(raw["allowed_hi"]),
    }


@ledger_app.command("show")
def show(
    patient: Annotated[str, typer.Argument(metavar="PATIENT", help="A patient id.")],
    year: Annotated[
        int | None,
        typer.Option("--year", min=2000, max=2100, help="Calendar year (default: this year)."),
    ] = None,
    ledger: LedgerOption = None,
    payers_file: PayersFileOption = None,
    fmt: FormatOption = OutputFormat.TABLE,
) -> None:
    """A patient's year to date per threshold group, the distance to KX and review, the lines."""
    import datetime as dt

    from cognibill.payers import load_payers

    fmt = require_format(fmt, _FORMATS)
    tracked = {i for i, p in load_payers(payers_file).items() if p.tracks_kx}
    chosen = dt.date.today().year if year is None else year
    with _open(ledger) as book:
        ytd = book.year_to_date(patient, chosen, tracked=tracked)
    groups = [_group_row(g) for g in ytd.groups]
    if fmt is OutputFormat.JSON:
        write_json(
            {
                "patient": ytd.patient,
                "year": ytd.year,
                "groups": groups,
                "lines": [_line_row(r) for r in ytd.lines.iter_rows(named=True)],
                "seeds": [_seed_row(r) for r in ytd.seeds.iter_rows(named=True)],
            }
        )
    elif fmt is OutputFormat.CSV:
        write_csv(
            ["patient", "year", *_GROUP_FIELDS],
            ({"patient": patient, "year": chosen} | g for g in groups),
        )
    else:
        _show_table(ytd)


_GROUP_FIELDS = (
    "group",
    "billed_lo",
    "billed_hi",
    "seeded",
    "total_lo",
    "total_hi",
    "kx_threshold",
    "to_kx",
    "review_threshold",
    "to_review",
    "lines",
)


def _group_row(g: Any) -> dict[str, Any]:
    return {
        "group": g.group,
        "billed_lo": _amount(g.billed_lo),
        "billed_hi": _amount(g.billed_hi),
        "seeded": _amount(g.seeded),
        "total_lo": _amount(g.total_lo),
        "total_hi": _amount(g.total_hi),
        "kx_threshold": _amount(g.kx),
        "to_kx": _amount(g.to_kx),
        "review_threshold": _amount(g.review),
        "to_review": _amount(g.to_review),
        "lines": g.lines,
    }


def _show_table(ytd: YearToDate) -> None:
    from rich.table import Table

    from cognibill.render.claims import plain

    console = out_console()
    table = Table(
        "Group",
        "Ledger",
        "Seeded",
        "Year to date",
        "KX threshold",
        "To KX",
        "Review",
        "To review",
        title=plain(f"{ytd.patient}, {ytd.year}: allowed so far"),
        title_justify="left",
    )
    for g in ytd.groups:
        table.add_row(
            *map(
                plain,
                (
                    g.label,
                    _dollars_span(g.billed_lo, g.billed_hi),
                    _dollars(g.seeded),
                    _dollars_span(g.total_lo, g.total_hi),
                    _dollars(g.kx),
                    _distance(g.to_kx),
                    _dollars(g.review),
                    _distance(g.to_review),
                ),
            )
        )
    console.print(table)
    lines = Table("Date", "Provider", "Code", "Units", "Modifiers", "Allowed", "Group", "Run")
    for r in ytd.lines.iter_rows(named=True):
        lines.add_row(
            *map(
                plain,
                (
                    _day(r["date"]),
                    r["provider"] or "",
                    r["code"],
                    r["units"],
                    " ".join(r["modifiers"]),
                    _dollars_span(r["allowed_lo"], r["allowed_hi"]),
                    _group_label(r["group"]) + ("" if r["counted"] else " (not counted)"),
                    r["run_id"],
                ),
            )
        )
    for s in ytd.seeds.iter_rows(named=True):
        lines.add_row(
            *map(
                plain,
                (
                    _day(s["as_of"]),
                    "",
                    "seed",
                    "",
                    "",
                    _dollars(s["amount"]),
                    _group_label(s["group"]),
                    s["source"],
                ),
            )
        )
    console.print(lines)


def _group_label(group: str | None) -> str:
    return {"pt-slp": "PT+SLP", "ot": "OT"}.get(group or "", "none")


def _distance(cents: int | None) -> str:
    if cents is None:
        return ""
    return f"past by {_dollars(-cents)}" if cents < 0 else _dollars(cents)


_LINE_FIELDS = (
    "kind",
    "run_id",
    "recorded_at",
    "patient",
    "date",
    "provider",
    "discipline",
    "payer",
    "code",
    "units",
    "modifiers",
    "group",
    "allowed_lo",
    "allowed_hi",
    "payer_lo",
    "payer_hi",
    "patient_lo",
    "patient_hi",
    "visit_key",
    "source",
)


def _line_row(r: dict[str, Any]) -> dict[str, Any]:
    row = {
        "kind": "line",
        "run_id": r["run_id"],
        "recorded_at": _time(r["recorded_at"]),
        "patient": r["patient"],
        "date": _day(r["date"]),
        "provider": r["provider"],
        "discipline": r["discipline"],
        "payer": r["payer"],
        "code": r["code"],
        "units": r["units"],
        "modifiers": " ".join(r["modifiers"]),
        "group": r["group"],
        **{k: _amount(r[k]) for k in _LINE_FIELDS if k.endswith(("_lo", "_hi"))},
        "visit_key": r["visit_key"],
        "source": None,
    }
    if "counted" in r:
        row["counted"] = r["counted"]
    return row


def _seed_row(s: dict[str, Any]) -> dict[str, Any]:
    row: dict[str, Any] = dict.fromkeys(_LINE_FIELDS)
    row |= {
        "kind": "seed",
        "recorded_at": _time(s["seeded_at"]),
        "patient": s["patient"],
        "date": _day(s["as_of"]),
        "group": s["group"],
        "allowed_lo": _amount(s["amount"]),
        "allowed_hi": _amount(s["amount"]),
        "source": s["source"],
    }
    return row


@ledger_app.command("export")
def export(ledger: LedgerOption = None, fmt: FormatOption = OutputFormat.CSV) -> None:
    """Every line and seed in the ledger: CSV by default, JSON with the runs too."""
    fmt = require_format(fmt, _FORMATS)
    with _open(ledger) as book:
        everything = book.export()
    lines = [_line_row(r) for r in everything.lines.iter_rows(named=True)]
    seeds = [_seed_row(s) for s in everything.seeds.iter_rows(named=True)]
    if fmt is OutputFormat.JSON:
        runs_ = []
        for raw in everything.runs.iter_rows(named=True):
            row = _run_row(raw)
            row["inputs"], row["fee_data"] = raw["inputs"], raw["fee_data"]
            runs_.append(row)
        write_json({"runs": runs_, "lines": lines, "seeds": seeds})
    elif fmt is OutputFormat.CSV:
        write_csv(list(_LINE_FIELDS), [*lines, *seeds])
    else:
        from rich.table import Table

        from cognibill.render.claims import plain

        table = Table("Kind", "Run", "Patient", "Date", "Provider", "Code", "Units", "Allowed")
        for r in [*lines, *seeds]:
            table.add_row(
                *map(
                    plain,
                    (
                        r["kind"],
                        r["run_id"] if r["run_id"] is not None else r["source"],
                        r["patient"],
                        r["date"],
                        r["provider"] or "",
                        r["code"] or "",
                        "" if r["units"] is None else r["units"],
                        _text_span(r["allowed_lo"], r["allowed_hi"]),
                    ),
                )
            )
        out_console().print(table)


@ledger_app.command("seed")
def seed(
    file: Annotated[
        str,
        typer.Argument(
            metavar="FILE.csv", help="patient,year,group,amount,as_of,source (- for stdin)."
        ),
    ],
    ledger: LedgerOption = None,
    fmt: FormatOption = OutputFormat.TABLE,
) -> None:
    """Add year-to-date amounts billed elsewhere, as the contractor's portal shows them."""
    from cognibill.ledger import parse_seed_csv

    fmt = require_format(fmt, _FORMATS)
    name = "<stdin>" if file == "-" else file
    rows = parse_seed_csv(_read_text(file, name), name)
    with _open(ledger, create=True) as book:
        done = book.seed(rows)
    result = {"added": done.added, "updated": done.updated, "unchanged": done.unchanged}
    if fmt is OutputFormat.JSON:
        write_json(result)
    elif fmt is OutputFormat.CSV:
        write_csv(list(result), [result])
    sys.stderr.write(
        f"seeded {len(rows)} row{'s' if len(rows) != 1 else ''}: {done.added} added, "
        f"{done.updated} updated, {done.unchanged} already there\n"
    )


def _read_text(file: str, name: str) -> str:
    try:
        data = sys.stdin.buffer.read() if file == "-" else Path(file).read_bytes()
    except FileNotFoundError:
        raise InputError(name, "file not found") from None
    except IsADirectoryError:
        raise InputError(name, "is a directory, not a CSV file") from None
    except OSError as exc:
        raise InputError(name, f"cannot read it: {(exc.strerror or str(exc)).lower()}") from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InputError(name, "not UTF-8 text", hint="save the file as UTF-8 CSV") from None


@ledger_app.command("void")
def void(
    run: Annotated[int, typer.Argument(metavar="RUN", help="A run id (`ledger runs`).")],
    ledger: LedgerOption = None,
    fmt: FormatOption = OutputFormat.TABLE,
) -> None:
    """Remove a run and its lines from the ledger."""
    fmt = require_format(fmt, _FORMATS)
    with _open(ledger) as book:
        removed = book.void(run)
    result = {"run_id": run, "lines_removed": removed}
    if fmt is OutputFormat.JSON:
        write_json(result)
    elif fmt is OutputFormat.CSV:
        write_csv(list(result), [result])
    sys.stderr.write(f"voided run {run}: {removed} line{'s' if removed != 1 else ''} removed\n")


# -- cents and times as text: integers only, never float --------------------------------------


def _amount(cents: int | None) -> str | None:
    """``1234.56``, ``-0.05``; None stays None."""
    if cents is None:
        return None
    whole, part = divmod(abs(cents), 100)
    return f"{'-' if cents < 0 else ''}{whole}.{part:02d}"


def _dollars(cents: int | None) -> str:
    if cents is None:
        return ""
    whole, part = divmod(abs(cents), 100)
    return f"${'-' if cents < 0 else ''}{whole:,}.{part:02d}"


def _dollars_span(lo: int | None, hi: int | None) -> str:
    if lo is None or hi is None:
        return ""
    return _dollars(lo) if lo == hi else f"{_dollars(lo)}–{_dollars(hi)}"


def _text_span(lo: str | None, hi: str | None) -> str:
    if lo is None or hi is None:
        return ""
    return lo if lo == hi else f"{lo}–{hi}"


def _day(value: Any) -> str | None:
    return None if value is None else str(value.isoformat())


def _time(value: Any) -> str | None:
    """``2026-03-02T14:05:09Z`` (UTC, whole seconds)."""
    if value is None:
        return None
    return str(value.strftime("%Y-%m-%dT%H:%M:%SZ"))


def register(app: typer.Typer) -> None:
    app.add_typer(ledger_app, name="ledger")
