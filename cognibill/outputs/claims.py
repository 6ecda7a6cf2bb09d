"""The claim lines' one column schema, and the CSV and JSON text every format is made from.

``CLAIM_LINE`` is what the engine hands the outputs: one row per claim line (a visit with
nothing billable gives one 0-unit line), its findings placed on it. CSV takes ``CSV_FIELDS``
(money as ``low-high`` text, modifiers space-separated, findings as ``severity[id]: message``
joined by ``; ``), JSON and NDJSON every column (money as ``"12.34"`` or ``{"low", "high"}``,
findings as objects). Text cells that a spreadsheet would run as a formula are neutralised.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import IO, Any

import polars as pl

from cognibill.engine.money import amount, span

FINDING = pl.Struct(
    {
        "id": pl.String,
        "severity": pl.String,
        "message": pl.String,
        "hint": pl.String,
        "source": pl.String,
        "code": pl.String,
    }
)
"""A finding as the outputs show it (hint and source from the rule catalogue)."""

MONEY = ("allowed", "payer_pays", "patient_owes")

CLAIM_LINE: dict[str, pl.DataType | type[pl.DataType]] = {
    "source": pl.String,
    "line": pl.Int64,
    "patient_id": pl.String,
    "date": pl.Date,
    "provider": pl.String,
    "discipline": pl.String,
    "payer": pl.String,
    "place_of_service": pl.String,
    "rule": pl.String,
    "visit_key": pl.String,
    "session_id": pl.String,
    "total_timed_minutes": pl.Int32,
    "visit_units": pl.Int32,
    "code": pl.String,
    "units": pl.Int32,
    "minutes": pl.Int32,
    "modifiers": pl.List(pl.String),
    "allowed_lo": pl.Int64,
    "allowed_hi": pl.Int64,
    "payer_pays_lo": pl.Int64,
    "payer_pays_hi": pl.Int64,
    "patient_owes_lo": pl.Int64,
    "patient_owes_hi": pl.Int64,
    "findings": pl.List(FINDING),
}
"""One claim line, as every output takes it."""

CSV_FIELDS = (
    "source",
    "line",
    "patient_id",
    "date",
    "provider",
    "discipline",
    "payer",
    "place_of_service",
    "rule",
    "session_id",
    "code",
    "units",
    "minutes",
    "modifiers",
    "allowed",
    "payer_pays",
    "patient_owes",
    "findings",
)
"""The columns of ``claim --format csv``."""

JSON_FIELDS = (
    *(name for name in CLAIM_LINE if not name.endswith(("_lo", "_hi")) and name != "findings"),
    *MONEY,
    "findings",
)
"""The keys of a JSON / NDJSON line, in order."""

_TRIGGERS = "=+-@\t\r"
_PLAIN_NUMBER = r"^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$"


def neutralised(text: pl.Expr) -> pl.Expr:
    """Text a spreadsheet would run as a formula, with a ``'`` before it (as
    ``cognibill.writers.neutralise``); empty text as null, which CSV writes as an empty cell."""
    first = text.str.strip_chars_start(" ").str.slice(0, 1)
    risky = first.is_in(list(_TRIGGERS)) & ~text.str.strip_chars().str.contains(_PLAIN_NUMBER)
    guarded = pl.when(risky).then(pl.lit("'") + text).otherwise(text)
    return pl.when(text == "").then(None).otherwise(guarded)


def csv_frame(lines: pl.DataFrame) -> pl.DataFrame:
    """``lines`` (``CLAIM_LINE``) as the text cells of ``CSV_FIELDS``."""
    notes = pl.col("findings").list.eval(
        pl.format(
            "{}[{}]: {}",
            pl.element().struct.field("severity"),
            pl.element().struct.field("id"),
            pl.element().struct.field("message"),
        )
    )
    cells: dict[str, pl.Expr] = {
        "modifiers": pl.col("modifiers").list.join(" "),
        "findings": notes.list.join("; "),
        "date": pl.col("date").dt.to_string("%Y-%m-%d"),
        **{name: span(f"{name}_lo", f"{name}_hi") for name in MONEY},
    }
    out = []
    for name in CSV_FIELDS:
        expr = cells.get(name, pl.col(name))
        if CLAIM_LINE.get(name) in (pl.Int64, pl.Int32):
            out.append(expr.alias(name))
        else:
            out.append(neutralised(expr).alias(name))
    return lines.select(out)


def csv_text(lines: pl.DataFrame, *, header: bool) -> str:
    """The CSV text of ``lines``, ``\\n`` line ends, quoted as ``csv.writer`` quotes (and a
    carriage return too)."""
    return csv_frame(lines).write_csv(include_header=header, line_terminator="\n")


def csv_header() -> str:
    """The header line alone (an input with no claim line still gets it)."""
    return ",".join(CSV_FIELDS) + "\n"


def json_rows(lines: pl.DataFrame) -> Iterator[dict[str, Any]]:
    """The JSON objects of ``lines``, keys in ``JSON_FIELDS`` order."""
    money = [
        pl.when(pl.col(f"{name}_lo").is_null())
        .then(None)
        .otherwise(
            pl.struct(
                amount(f"{name}_lo").alias("low"),
                amount(f"{name}_hi").alias("high"),
            )
        )
        .alias(name)
        for name in MONEY
    ]
    shown = lines.with_columns(pl.col("date").dt.to_string("%Y-%m-%d"), *money)
    for row in shown.select(JSON_FIELDS).iter_rows(named=True):
        for name in MONEY:
            value = row[name]
            if value is not None and value["low"] == value["high"]:
                row[name] = value["low"]
        yield row


class ClaimWriter:
    """Writes a run's claim lines as they come, in one machine format, then its end (JSON and
    NDJSON through ``cognibill.writers``' report writers)."""

    def __init__(self, stream: IO[str], fmt: str) -> None:
        from cognibill.writers import JsonReportWriter, NdjsonWriter

        self.stream = stream
        self.fmt = fmt
        self.started = False
        self.json = JsonReportWriter(stream) if fmt == "json" else None
        self.ndjson = NdjsonWriter(stream) if fmt == "ndjson" else None

    def lines(self, lines: pl.DataFrame) -> None:
        """One batch of ``CLAIM_LINE`` rows."""
        if self.fmt == "csv":
            self.stream.write(csv_text(lines, header=not self.started))
        else:
            writer = self.json or self.ndjson
            assert writer is not None
            for row in json_rows(lines):
                writer.line(row)
        self.started = True

    def finish(self, rejected: pl.DataFrame, summary: dict[str, object]) -> None:
        """The end of the report: the CSV header if no line came, or JSON's rejected rows and
        summary."""
        rows = rejected.select("source", "line", "column", "reason").iter_rows(named=True)
        if self.json is not None:
            self.json.finish(rows, summary)
        elif self.ndjson is not None:
            for row in rows:
                self.ndjson.rejected(row)
            self.ndjson.summary(summary)
        elif not self.started:
            self.stream.write(csv_header())
