"""A claim run in batches (cognibill.engine.run): whole visits per batch, an export that goes
back in time starts again in memory before output begins and stops after (RULES.md §2, §11)."""

from __future__ import annotations

import io
from pathlib import Path

import polars as pl
import pytest

from cognibill.engine.bill import Billed
from cognibill.engine.run import ClaimRun, OutOfOrder, Rejected, RunOptions

HEADER = "Client,DOS,Provider NPI,Credential,CPT,Duration\n"
SLP = "1912345678,CCC-SLP"


def _export(tmp_path: Path, *lines: str) -> Path:
    path = tmp_path / "export.csv"
    path.write_text(HEADER + "".join(f"{line}\n" for line in lines))
    return path


def _lines(run: ClaimRun) -> pl.DataFrame:
    batches = [item.lines for item in run if isinstance(item, Billed)]
    return pl.concat(batches)


def _options(**extra: object) -> RunOptions:
    base: dict[str, object] = {"estimate": False, "batch_rows": 2, "hold_rows": 1_000}
    base.update(extra)
    return RunOptions(**base)  # type: ignore[arg-type]


def _cognitive(lines: pl.DataFrame, patient: str) -> list[tuple[str, int]]:
    mine = lines.filter(pl.col("patient_id") == patient)
    return list(mine.select("code", "units").iter_rows())


def test_a_sorted_export_streams_in_batches_that_end_at_a_change_of_date(tmp_path: Path) -> None:
    path = _export(
        tmp_path,
        f"C1,03/02/2026,{SLP},97129,20",
        f"C2,03/02/2026,{SLP},97129,30",
        f"C1,03/02/2026,{SLP},97130,18",
        f"C1,03/03/2026,{SLP},97129,38",
        f"C2,03/04/2026,{SLP},97129,38",
    )
    run = ClaimRun([str(path)], _options())
    batches = [item for item in run if isinstance(item, Billed)]
    assert len(batches) == 3  # one a day: 2 March's rows stay together though C2 is between
    lines = pl.concat([b.lines for b in batches])
    assert _cognitive(lines, "C1") == [("97129", 1), ("97130", 2), ("97129", 1), ("97130", 2)]
    assert (run.summary.grouping, run.summary.regrouped_at) == ("streaming", None)
    assert (run.summary.rows_read, run.summary.visits) == (5, 4)


def test_an_export_that_goes_back_in_time_starts_again_in_memory_before_output(
    tmp_path: Path,
) -> None:
    # C1's 20 + 18 cognitive minutes of 2 March are one visit, split by a later day.
    path = _export(
        tmp_path,
        f"C1,03/02/2026,{SLP},97129,20",
        f"C2,03/03/2026,{SLP},97129,30",
        f"C2,03/04/2026,{SLP},97129,30",
        f"C1,03/02/2026,{SLP},97130,18",
    )
    run = ClaimRun([str(path)], _options())
    lines = _lines(run)
    assert _cognitive(lines, "C1") == [("97129", 1), ("97130", 2)]
    assert run.summary.grouping == "buffered"
    assert run.summary.regrouped_at == f"{path}:5"
    assert run.summary.rows_read == 4


def test_once_output_has_begun_an_export_that_goes_back_in_time_stops_at_its_line(
    tmp_path: Path,
) -> None:
    path = _export(
        tmp_path,
        f"C1,03/02/2026,{SLP},97129,20",
        f"C2,03/03/2026,{SLP},97129,30",
        f"C2,03/04/2026,{SLP},97129,30",
        f"C1,03/02/2026,{SLP},97130,18",
    )
    run = ClaimRun([str(path)], _options(hold_rows=1))
    with pytest.raises(OutOfOrder) as caught:
        list(run)
    assert caught.value.line == 5
    assert caught.value.hint is not None and "--unsorted" in caught.value.hint


def test_unsorted_holds_every_row_from_the_start(tmp_path: Path) -> None:
    path = _export(
        tmp_path,
        f"C1,03/02/2026,{SLP},97129,20",
        f"C2,03/03/2026,{SLP},97129,30",
        f"C1,03/02/2026,{SLP},97130,18",
    )
    run = ClaimRun([str(path)], _options(unsorted=True, hold_rows=1))
    assert _cognitive(_lines(run), "C1") == [("97129", 1), ("97130", 2)]
    assert (run.summary.grouping, run.summary.regrouped_at) == ("buffered", None)


def test_stdin_is_read_again_from_its_first_byte_when_the_run_starts_again() -> None:
    text = HEADER + "".join(
        f"{line}\n"
        for line in (
            f"C1,03/02/2026,{SLP},97129,20",
            f"C2,03/03/2026,{SLP},97129,30",
            f"C2,03/04/2026,{SLP},97129,30",
            f"C1,03/02/2026,{SLP},97130,18",
        )
    )
    run = ClaimRun(["-"], _options(input_kind="csv"), stdin=io.BytesIO(text.encode()))
    assert _cognitive(_lines(run), "C1") == [("97129", 1), ("97130", 2)]
    assert run.summary.regrouped_at == "<stdin>:5"


def test_rejected_rows_come_with_their_lines_and_rows_read_add_up(tmp_path: Path) -> None:
    path = _export(
        tmp_path,
        f"C1,03/02/2026,{SLP},97129,20",
        f"C1,03/02/2026,{SLP},97129,thirty",
        f"C2,03/03/2026,{SLP},97129,30",
    )
    run = ClaimRun([str(path)], _options())
    items = list(run)
    rejected = pl.concat([i.rows for i in items if isinstance(i, Rejected)])
    assert rejected.select("line", "column").rows() == [(3, "Duration")]
    summary = run.summary
    assert summary.rows_read == summary.rows_used + summary.rows_rejected == 3
