"""The claim CSV (``claim --format csv``) is, byte for byte, what the standard library's
``csv.writer`` makes of the claim lines' cells, each guarded by ``cognibill.writers.csv_cell``
and quoted as ``cognibill.writers.csv_field`` quotes (a carriage return too)."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from cognibill.engine.bill import Billed
from cognibill.engine.run import ClaimRun, RunOptions
from cognibill.outputs.claims import CSV_FIELDS, ClaimWriter, csv_text
from cognibill.writers import csv_cell, csv_field
from tests.conftest import REPO

SAMPLES = REPO / "sample_sessions"
GENERATED = REPO / "tests" / "data" / "csv" / "generated_export.csv"
EDGES = Path(__file__).parent / "data" / "csv" / "edges"


def _money(row: dict[str, Any], name: str) -> str:
    low, high = row[f"{name}_lo"], row[f"{name}_hi"]
    if low is None:
        return ""
    shown = [f"{Decimal(cents) / 100:.2f}" for cents in (low, high)]
    return shown[0] if low == high else "-".join(shown)


def _cells(row: dict[str, Any]) -> list[object]:
    """One claim line's cells in ``CSV_FIELDS`` order: money ranges as ``low-high``, modifiers
    space-separated, findings as ``severity[id]: message`` joined by ``; ``."""
    notes = "; ".join(f"{f['severity']}[{f['id']}]: {f['message']}" for f in row["findings"] or [])
    return [
        row["source"],
        row["line"],
        row["patient_id"],
        row["date"].isoformat(),
        row["provider"],
        row["discipline"],
        row["payer"],
        row["place_of_service"],
        row["rule"],
        row["session_id"],
        row["code"],
        row["units"],
        row["minutes"],
        " ".join(row["modifiers"] or []),
        _money(row, "allowed"),
        _money(row, "payer_pays"),
        _money(row, "patient_owes"),
        "" if row["limiting_charge"] is None else f"{Decimal(row['limiting_charge']) / 100:.2f}",
        notes,
    ]


def _writer_line(cells: Sequence[object]) -> str:
    line = io.StringIO()
    # With CRLF line ends csv.writer quotes a cell holding a CR too, as we do; each line then
    # ends in LF, as ours.
    csv.writer(line, lineterminator="\r\n").writerow(cells)
    return line.getvalue()[:-2] + "\n"


def _field_line(cells: Sequence[object]) -> str:
    return ",".join(str(c) if type(c) is int else csv_field(str(c)) for c in cells) + "\n"


def _batches(paths: list[Path], **options: object) -> list[pl.DataFrame]:
    run = ClaimRun([str(p) for p in paths], RunOptions(**options))  # type: ignore[arg-type]
    batches = [item.lines for item in run if isinstance(item, Billed)]
    assert batches
    return batches


def _same_bytes(paths: list[Path], **options: object) -> str:
    """The claim CSV of ``paths``, checked against both oracles and both ways of writing it."""
    batches = _batches(paths, **options)
    lines = pl.concat(batches)
    guarded = [[csv_cell(v) for v in _cells(row)] for row in lines.iter_rows(named=True)]
    header = list(CSV_FIELDS)
    oracle = _writer_line(header) + "".join(_writer_line(cells) for cells in guarded)
    assert oracle == _field_line(header) + "".join(_field_line(cells) for cells in guarded)
    assert csv_text(lines, header=True) == oracle
    text = io.StringIO()
    writer = ClaimWriter(text, "csv")
    for batch in batches:  # the header once, then every batch
        writer.lines(batch)
    assert text.getvalue() == oracle
    raw = io.BytesIO()
    stream = io.TextIOWrapper(raw, encoding="utf-8")
    writer = ClaimWriter(stream, "csv")  # bytes straight to the buffer
    for batch in batches:
        writer.lines(batch)
    stream.flush()
    assert raw.getvalue().decode("utf-8") == oracle
    return oracle


@pytest.mark.parametrize("estimate", [True, False])
def test_the_sample_export_gives_the_csv_writers_bytes(estimate: bool) -> None:
    text = _same_bytes([GENERATED], estimate=estimate, batch_rows=50)
    assert text.count("\n") > 250


def test_formula_cells_quotes_and_session_files_give_the_csv_writers_bytes() -> None:
    names = ["every_bad_row.csv", "formula_cells.csv", "same_day_two_providers.csv"]
    names += ["semicolon_bom_crlf.csv", "tab_blank_lines.tsv", "two_sessions.csv"]
    _same_bytes([*(EDGES / n for n in names), *sorted(SAMPLES.glob("*.toml"))])


def test_a_cell_with_a_carriage_return_or_quote_is_quoted_like_the_writer_does(
    tmp_path: Path,
) -> None:
    path = tmp_path / "odd.csv"
    path.write_bytes(
        b'Patient,DOS,Minutes,Payer\n"P1\r=1+2",2026-03-02,38,medicare\n'
        b"@P2,2026-03-02,8,-medicare\n"
        b'"Blue ""X"", Inc",2026-03-02,8,medicare\n'
    )
    text = _same_bytes([path])
    assert '"P1\r=1+2"' in text and "'@P2" in text
    assert '"Blue ""X"", Inc"' in text  # a quote doubled in a quoted cell


def test_a_batch_without_a_single_modifier_writes_empty_modifier_cells(tmp_path: Path) -> None:
    path = tmp_path / "plain.csv"
    path.write_text("Patient,DOS,Minutes\nP1,2026-03-02,38\nP2,2026-03-02,20\n")
    text = _same_bytes([path], estimate=False)
    at = CSV_FIELDS.index("modifiers")
    assert [line.split(",")[at] for line in text.splitlines()[1:]] == ["", "", ""]
