"""The claim lines' one column schema, and the CSV and JSON text every format is made from.

``CLAIM_LINE`` is what the engine hands the outputs: one row per claim line (a visit with
nothing billable gives one 0-unit line), its findings placed on it. CSV takes ``CSV_FIELDS``
(money as ``low-high`` text, modifiers space-separated, findings as ``severity[id]: message``
joined by ``; ``), JSON and NDJSON every column (money as ``"12.34"`` or ``{"low", "high"}``,
findings as objects). Text cells that a spreadsheet would run as a formula are neutralised.
"""

from __future__ import annotations

import codecs
import io
import os
from collections.abc import Iterator
from typing import IO, Any

import polars as pl

from cognibill.engine.money import amount

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
    "limiting_charge": pl.Int64,
    # cents; only under Medicare fee-schedule pricing, non-participating (claim --non-par)
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
    "limiting_charge",
    "findings",
)
"""The columns of ``claim --format csv``."""

JSON_FIELDS = (
    *(
        name
        for name in CLAIM_LINE
        if not name.endswith(("_lo", "_hi")) and name not in ("limiting_charge", "findings")
    ),
    *MONEY,
    "limiting_charge",
    "findings",
)
"""The keys of a JSON / NDJSON line, in order."""

_MAY_NEED_GUARD = r"^(?: *[=+\-@\t\r]| *[^\x00-\x7f]|$)"
"""Text ``cognibill.writers.neutralise`` may change (a trigger after any spaces, or a character
whose compatibility form may be one: fullwidth ``＝``), or empty."""
_SAFE_FIRST = (
    *((0x00, 0x08), (0x0A, 0x0C), (0x0E, 0x1F), (0x21, 0x2A)),
    *((0x2C, 0x2C), (0x2E, 0x3C), (0x3E, 0x3F), (0x41, 0x7F)),
)
"""Runs of first characters that need no guard; text sorts by its first character first, so a
column whose least and greatest text start in one run needs none anywhere."""


def _safe_run(text: str) -> int | None:
    """The run of ``_SAFE_FIRST`` that ``text`` starts in; None: none (or empty text)."""
    if not text:
        return None
    code = ord(text[0])
    for at, (low, high) in enumerate(_SAFE_FIRST):
        if low <= code <= high:
            return at
    return None


def _guarded(cells: pl.Series) -> pl.Series:
    """Text cells as CSV takes them: ``writers.neutralise``d, empty text as null (an empty
    cell). A column whose least and greatest text start in one safe run goes as it is; else
    only the distinct cells that may need it go through ``neutralise``."""
    from cognibill.writers import neutralise

    low, high = cells.min(), cells.max()
    if low is None or high is None:
        return cells
    assert isinstance(low, str) and isinstance(high, str)
    run = _safe_run(low)
    if run is not None and run == _safe_run(high):
        return cells
    risky = cells.str.contains(_MAY_NEED_GUARD)
    doubtful = cells.filter(risky).unique().to_list()
    if not doubtful:
        return cells
    safe = [neutralise(text) or None for text in doubtful]
    replaced = cells.replace_strict(doubtful, safe, default=None, return_dtype=pl.String)
    return replaced.zip_with(risky, cells).alias(cells.name)


def _by_value(cells: pl.Series, text: pl.Expr) -> pl.Series:
    """``text`` (an expression of the column ``cells``) worked out once per distinct value,
    then guarded."""
    from cognibill.writers import neutralise

    values = cells.drop_nulls().unique()
    if values.is_empty():
        return pl.Series(cells.name, [None] * cells.len(), dtype=pl.String)
    texts = [
        None if t is None else (neutralise(t) or None)
        for t in values.to_frame().select(text).to_series().to_list()
    ]
    return cells.replace_strict(values, texts, return_dtype=pl.String)


def _amount_text(cents: int) -> str:
    """``amount``'s text in Python: ``-0.05``, ``1234.56``."""
    sign = "-" if cents < 0 else ""
    units = abs(cents)
    return f"{sign}{units // 100}.{units % 100:02d}"


def _span_cells(lines: pl.DataFrame, name: str) -> pl.Series:
    """The ``span`` text of ``{name}_lo``/``{name}_hi``, guarded, worked out per distinct pair."""
    from cognibill.writers import neutralise

    low, high = lines.get_column(f"{name}_lo"), lines.get_column(f"{name}_hi")
    if low.equals(high, check_dtypes=False, check_names=False):
        values = low.drop_nulls().unique()
        if values.is_empty():
            return pl.Series(name, [None] * low.len(), dtype=pl.String)
        texts = [neutralise(_amount_text(c)) for c in values.to_list()]
        return low.replace_strict(values, texts, return_dtype=pl.String).alias(name)
    pairs = pl.DataFrame({"lo": low, "hi": high})
    known = pairs.unique().drop_nulls()
    texts = [
        neutralise(_amount_text(lo) if lo == hi else f"{_amount_text(lo)}-{_amount_text(hi)}")
        for lo, hi in known.iter_rows()
    ]
    table = known.with_columns(pl.Series("text", texts, dtype=pl.String))
    joined = pairs.join(table, on=["lo", "hi"], how="left", maintain_order="left")
    return joined.get_column("text").alias(name)


def _joined(items: pl.Series, separator: str) -> pl.Series:
    """A list column's items joined by ``separator`` (as ``list.join``: null items left out),
    null for an empty or null list. Lists of a few items: cheaper than ``list.join``."""
    longest = items.list.len().max()
    if not isinstance(longest, int) or longest == 0:
        return pl.Series(items.name, [None] * items.len(), dtype=pl.String)
    parts = [items.list.get(k, null_on_oob=True) for k in range(longest)]
    joined = pl.concat_str(parts, separator=separator, ignore_nulls=True)
    return pl.select(pl.when(items.list.len() > 0).then(joined).alias(items.name)).to_series()


def _notes(lines: pl.DataFrame) -> pl.Series:
    """Each line's findings as ``severity[id]: message`` joined by ``; `` (null: none; as
    ``list.join``, a null note is left out)."""
    item = pl.element()
    notes = lines.select(
        pl.col("findings").list.eval(
            pl.format(
                "{}[{}]: {}",
                item.struct.field("severity"),
                item.struct.field("id"),
                item.struct.field("message"),
            )
        )
    ).to_series()
    text = notes.list.first()
    several = notes.list.len() > 1
    if several.any():
        # most lines have one finding or none: only the others need joining
        joined = notes.filter(several).list.join("; ")
        text = text.scatter(several.arg_true(), joined)
    return text.alias("findings")


def csv_frame(lines: pl.DataFrame) -> pl.DataFrame:
    """``lines`` (``CLAIM_LINE``) as the cells of ``CSV_FIELDS`` (text neutralised, as
    ``cognibill.writers.neutralise``; integers as they are)."""
    modifiers = _joined(lines.get_column("modifiers"), " ")
    cells: dict[str, pl.Series] = {
        "modifiers": _guarded(modifiers),
        "findings": _guarded(_notes(lines)),
        "date": _by_value(lines.get_column("date"), pl.col("date").dt.to_string("%Y-%m-%d")),
        **{name: _span_cells(lines, name) for name in MONEY},
        "limiting_charge": _by_value(
            lines.get_column("limiting_charge"), amount("limiting_charge")
        ),
    }
    out = []
    for name in CSV_FIELDS:
        if name in cells:
            out.append(cells[name].alias(name))
        elif CLAIM_LINE.get(name) in (pl.Int64, pl.Int32):
            out.append(lines.get_column(name))
        else:
            out.append(_guarded(lines.get_column(name)).alias(name))
    return pl.DataFrame(out)


def csv_text(lines: pl.DataFrame, *, header: bool) -> str:
    """The CSV text of ``lines``, ``\\n`` line ends, quoted as ``csv.writer`` quotes (and a
    carriage return too)."""
    return csv_frame(lines).write_csv(include_header=header, line_terminator="\n")


def write_csv(lines: pl.DataFrame, stream: IO[str], *, header: bool) -> None:
    """Write the CSV text of ``lines`` to ``stream``: as UTF-8 bytes straight to its binary
    buffer when it is a UTF-8 text file that writes ``\\n`` as it is (stdout, ``--out``),
    else as text."""
    frame = csv_frame(lines)
    raw = _binary(stream)
    if raw is None:
        stream.write(frame.write_csv(include_header=header, line_terminator="\n"))
        return
    stream.flush()  # what went to the text stream before goes out first
    frame.write_csv(raw, include_header=header, line_terminator="\n")


def _binary(stream: IO[str]) -> IO[bytes] | None:
    """The binary buffer under ``stream`` when bytes written there read back as the same text
    written to ``stream``: a ``TextIOWrapper`` in UTF-8 where a line end stays ``\\n``."""
    if type(stream) is not io.TextIOWrapper or os.linesep != "\n":
        return None
    try:
        if codecs.lookup(stream.encoding).name != "utf-8":
            return None
    except LookupError:
        return None
    raw: IO[bytes] = stream.buffer
    return raw


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
    shown = lines.with_columns(
        pl.col("date").dt.to_string("%Y-%m-%d"),
        *money,
        amount("limiting_charge").alias("limiting_charge"),
    )
    worked = ("trace", "fee_trace") if "trace" in lines.columns else ()  # claim --explain
    fields = (*JSON_FIELDS, *worked)
    for row in shown.select(fields).iter_rows(named=True):
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
            write_csv(lines, self.stream, header=not self.started)
        else:
            writer = self.json or self.ndjson
            assert writer is not None
            for row in json_rows(lines):
                writer.line(row)
        self.started = True

    def finish(
        self,
        rejected: pl.DataFrame,
        summary: dict[str, object],
        report: dict[str, object] | None = None,
    ) -> None:
        """The end of the report: the CSV header if no line came, or JSON's rejected rows and
        summary (and, given one, the ``report`` object after them: issue 13)."""
        rows = rejected.select("source", "line", "column", "reason").iter_rows(named=True)
        if self.json is not None:
            self.json.finish(rows, summary, None if report is None else {"report": report})
        elif self.ndjson is not None:
            for row in rows:
                self.ndjson.rejected(row)
            self.ndjson.summary(summary)
        elif not self.started:
            self.stream.write(csv_header())
