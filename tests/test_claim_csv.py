"""The batch CSV text of claims is, byte for byte, what CsvWriter makes of claim_csv_values."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest

from cognibill.pipeline import (
    CLAIM_CSV_FIELDS,
    ClaimCsv,
    Claimed,
    ClaimOptions,
    ClaimRun,
    claim_csv_values,
)
from cognibill.writers import csv_cell
from tests.conftest import REPO

SAMPLES = REPO / "sample_sessions"
EDGES = Path(__file__).parent / "data" / "csv" / "edges"


def _oracle_line(cells: object) -> str:
    line = io.StringIO()
    csv.writer(line, lineterminator="\r\n").writerow(cells)  # type: ignore[arg-type]
    return line.getvalue()[:-2] + "\n"


def _both(paths: list[Path], **options: object) -> tuple[str, str]:
    items = [
        i
        for i in ClaimRun([str(p) for p in paths], ClaimOptions(**options))  # type: ignore[arg-type]
        if isinstance(i, Claimed)
    ]
    assert items
    # The oracle: the cells guarded by csv_cell, laid out by the standard library's csv.writer
    # (not through CsvWriter). With CRLF line ends csv.writer quotes a cell holding a CR too, as
    # we do; each line then ends in LF, as ours.
    slow, fast = io.StringIO(), io.StringIO()
    slow.write(_oracle_line(CLAIM_CSV_FIELDS))
    for item in items:
        for values in claim_csv_values(item):
            slow.write(_oracle_line([csv_cell(v) for v in values]))
    formatter = ClaimCsv()
    fast.write(slow.getvalue().split("\n", 1)[0] + "\n")
    for _ in range(2):  # the second pass is served from the remembered cells
        body = io.StringIO()
        for item in items:
            body.writelines(formatter.lines(item))
        fast_text = fast.getvalue() + body.getvalue()
        assert fast_text == slow.getvalue()
    return slow.getvalue(), fast_text


@pytest.mark.parametrize("estimate", [True, False])
def test_the_sample_export_gives_the_same_csv_bytes_either_way(estimate: bool) -> None:
    slow, fast = _both([SAMPLES / "export.csv"], estimate=estimate)
    assert slow == fast and slow.count("\n") > 250


def test_formula_cells_quotes_and_session_files_give_the_same_csv_bytes_either_way() -> None:
    names = ["every_bad_row.csv", "formula_cells.csv", "same_day_two_providers.csv"]
    names += ["semicolon_bom_crlf.csv", "tab_blank_lines.tsv", "two_sessions.csv"]
    _both([*(EDGES / n for n in names), *sorted(SAMPLES.glob("*.toml"))])


def test_a_cell_with_a_carriage_return_or_quote_is_quoted_like_the_writer_does(
    tmp_path: Path,
) -> None:
    path = tmp_path / "odd.csv"
    path.write_bytes(
        b'Patient,DOS,Minutes,Payer\n"P1\r=1+2",2026-03-02,38,"Blue ""X"", Inc"\n'
        b"@P2,2026-03-02,8,-medicare\n"
    )
    slow, _ = _both([path])
    assert '"P1\r=1+2"' in slow and "'@P2" in slow
