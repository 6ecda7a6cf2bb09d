"""Exports whose rows are not in visit order (issue 4: rows need not be sorted; RULES.md §2).

A claim run (:class:`cognibill.engine.run.ClaimRun`) bills an export in batches that end at a
change of date, so the rows of a visit anywhere within one day are billed together. A patient
whose dates go back across batches makes a run that has given out nothing yet (it holds its
first results for a number of rows) start again buffered, and stops one that has: it would
bill half a visit.
"""

from __future__ import annotations

import gzip
import io
from collections.abc import Callable
from pathlib import Path

import polars as pl
import pytest

from cognibill.engine.bill import Billed
from cognibill.engine.run import ClaimRun, OutOfOrder, Rejected, RunOptions
from cognibill.readers.replay import Replayable
from tests.conftest import Run

HEADER = "Client,DOS,Provider NPI,Credential,CPT,Duration\n"
SLP = "1912345678,CCC-SLP"

CliRun = Callable[..., Run]
"""The ``cli`` fixture of ``tests/conftest.py``."""


def rows(*lines: str) -> str:
    return HEADER + "".join(f"{line}\n" for line in lines)


# C1's second session comes after C2's: 20 + 18 cognitive minutes are one 38-minute visit.
INTERRUPTED = rows(
    f"C1,03/02/2026,{SLP},97129,20",
    f"C2,03/02/2026,{SLP},97129,30",
    f"C1,03/02/2026,{SLP},97130,18",
)

# C1's 2 March visit split by two later days: its second row (line 5) goes back in time.
BACK_IN_TIME = rows(
    f"C1,03/02/2026,{SLP},97129,20",
    f"C2,03/03/2026,{SLP},97129,30",
    f"C2,03/04/2026,{SLP},97129,30",
    f"C1,03/02/2026,{SLP},97130,18",
)


def options(**extra: object) -> RunOptions:
    """No estimate, one row a chunk: every change of date ends a batch."""
    base: dict[str, object] = {"estimate": False, "batch_rows": 1, "hold_rows": 1_000}
    base.update(extra)
    return RunOptions(**base)  # type: ignore[arg-type]


def run_items(run: ClaimRun) -> list[Billed | Rejected]:
    return list(run)


def lines_of(items: list[Billed | Rejected]) -> pl.DataFrame:
    return pl.concat([i.lines for i in items if isinstance(i, Billed)])


def cognitive_units(items: list[Billed | Rejected]) -> dict[str, list[tuple[str, int]]]:
    """Each patient's billed (code, units), in output order."""
    out: dict[str, list[tuple[str, int]]] = {}
    for patient, code, units in lines_of(items).select("patient_id", "code", "units").iter_rows():
        if units:
            out.setdefault(patient, []).append((code, units))
    return out


def visits(items: list[Billed | Rejected]) -> list[tuple[str, int]]:
    """(patient, first line) of each visit, in output order."""
    lines = lines_of(items)
    return list(lines.select("patient_id", "line").unique(maintain_order=True).iter_rows())


# -- within one day ------------------------------------------------------------------------------


def test_a_second_session_later_the_same_day_joins_its_visit_whatever_lies_between() -> None:
    run = ClaimRun(["-"], options(hold_rows=1), stdin=io.BytesIO(INTERRUPTED.encode()))
    items = run_items(run)
    # 38 pooled cognitive minutes: 97129 once and 97130 twice (RULES.md §1, §5).
    assert cognitive_units(items) == {
        "C1": [("97129", 1), ("97130", 2)],
        "C2": [("97129", 1), ("97130", 1)],
    }
    assert visits(items) == [("C1", 2), ("C2", 3)]
    assert (run.summary.grouping, run.summary.regrouped_at) == ("streaming", None)


def test_an_export_sorted_by_provider_keeps_each_providers_visit_apart_without_error() -> None:
    """Default key (patient, date, provider, discipline): the same patient-day under two
    providers is two visits."""
    text = rows(
        f"C1,03/02/2026,{SLP},97129,20",
        f"C2,03/02/2026,{SLP},97129,30",
        "C1,03/02/2026,1987654321,PT,97110,30",
    )
    run = ClaimRun(["-"], options(hold_rows=1), stdin=io.BytesIO(text.encode()))
    lines = lines_of(run_items(run))
    assert lines.select("patient_id", "provider").unique(maintain_order=True).rows() == [
        ("C1", "1912345678"),
        ("C2", "1912345678"),
        ("C1", "1987654321"),
    ]
    assert run.summary.grouping == "streaming"


def test_visits_of_one_day_come_out_in_the_order_of_their_first_rows() -> None:
    text = rows(
        f"C1,03/02/2026,{SLP},97129,20",
        f"C2,03/02/2026,{SLP},97129,30",
        f"C3,03/02/2026,{SLP},97129,25",
        f"C2,03/02/2026,{SLP},97130,10",
    )
    items = run_items(ClaimRun(["-"], options(), stdin=io.BytesIO(text.encode())))
    assert visits(items) == [("C1", 2), ("C2", 3), ("C3", 4)]
    assert cognitive_units(items)["C2"] == [("97129", 1), ("97130", 2)]  # 40 minutes


def test_rows_of_one_day_far_apart_stream_whatever_the_batch_size(tmp_path: Path) -> None:
    path = tmp_path / "near.csv"
    others = "".join(f"P{n},03/02/2026,{SLP},97129,10\n" for n in range(50))
    path.write_text(
        HEADER + f"C1,03/02/2026,{SLP},97129,20\n" + others + f"C1,03/02/2026,{SLP},97130,18\n"
    )
    for batch_rows in (1, 4, 100_000):
        run = ClaimRun([str(path)], options(batch_rows=batch_rows, hold_rows=1))
        assert cognitive_units(run_items(run))["C1"] == [("97129", 1), ("97130", 2)]
        assert run.summary.grouping == "streaming"


# -- the run starts again buffered ---------------------------------------------------------------


def test_an_export_that_goes_back_in_time_starts_the_run_again_buffered(tmp_path: Path) -> None:
    path = tmp_path / "unsorted.csv"
    path.write_text(BACK_IN_TIME + f"C1,bad date,{SLP},97129,10\n")
    run = ClaimRun([str(path)], options(hold_rows=10))
    items = run_items(run)
    assert cognitive_units(items) == {
        "C1": [("97129", 1), ("97130", 2)],
        "C2": [("97129", 1), ("97130", 1), ("97129", 1), ("97130", 1)],
    }
    rejected = pl.concat([i.rows for i in items if isinstance(i, Rejected)])
    assert rejected.get_column("line").to_list() == [6]  # reported once, not once per attempt
    summary = run.summary
    assert (summary.grouping, summary.regrouped_at) == ("buffered", f"{path}:5")
    assert (summary.rows_read, summary.rows_used, summary.rows_rejected) == (5, 4, 1)
    assert summary.visits == 3 and summary.to_dict()["grouping"] == "buffered"


def test_stdin_is_read_again_from_its_first_byte_when_the_run_starts_again() -> None:
    data = gzip.compress(BACK_IN_TIME.encode())
    run = ClaimRun(["-"], options(hold_rows=10), stdin=io.BytesIO(data))
    items = run_items(run)
    assert cognitive_units(items)["C1"] == [("97129", 1), ("97130", 2)]
    assert run.summary.rows_read == 4 and run.summary.regrouped_at == "<stdin>:5"


def test_a_sorted_export_streams_and_says_so() -> None:
    text = rows(f"C1,03/02/2026,{SLP},97129,20", f"C2,03/03/2026,{SLP},97129,30")
    run = ClaimRun(["-"], options(hold_rows=10), stdin=io.BytesIO(text.encode()))
    assert len(cognitive_units(run_items(run))) == 2
    assert (run.summary.grouping, run.summary.regrouped_at) == ("streaming", None)


def test_a_visit_that_comes_back_after_output_began_stops_the_run(tmp_path: Path) -> None:
    """Half a visit is never billed: once claims have gone out, the run cannot start again."""
    path = tmp_path / "late.csv"
    path.write_text(BACK_IN_TIME)
    run = ClaimRun([str(path)], options(hold_rows=1))
    items = iter(run)
    first = next(items)
    assert isinstance(first, Billed)
    assert first.lines.get_column("patient_id").unique().to_list() == ["C1"]
    with pytest.raises(OutOfOrder) as caught:
        list(items)
    assert caught.value.line == 5


def test_unsorted_option_groups_in_memory_from_the_start() -> None:
    run = ClaimRun(
        ["-"], options(unsorted=True, hold_rows=1), stdin=io.BytesIO(BACK_IN_TIME.encode())
    )
    assert cognitive_units(run_items(run))["C1"] == [("97129", 1), ("97130", 2)]
    assert (run.summary.grouping, run.summary.regrouped_at) == ("buffered", None)


# -- the CLI -------------------------------------------------------------------------------------


def test_claim_cli_bills_a_visit_whose_rows_are_far_apart_within_a_day_whole(
    cli: CliRun,
    tmp_path: Path,
) -> None:
    """10,001 rows of other patients between C1's two sessions of one day: the columnar run
    cuts its batches where the date changes, so the day's rows are billed together, streaming."""
    path = tmp_path / "far.csv"
    others = "".join(f"P{n},03/02/2026,{SLP},97129,10\n" for n in range(10_001))
    path.write_text(
        HEADER + f"C1,03/02/2026,{SLP},97129,20\n" + others + f"C1,03/02/2026,{SLP},97130,18\n"
    )
    run = cli("claim", str(path), "--format", "json", "--no-estimate", "--fail-on", "never")
    assert run.code == 0, run.err
    data = run.json()
    c1 = [(ln["code"], ln["units"]) for ln in data["lines"] if ln["patient_id"] == "C1"]
    assert c1 == [("97129", 1), ("97130", 2)]
    summary = data["summary"]
    assert (summary["grouping"], summary["regrouped_at"]) == ("streaming", None)
    assert (summary["rows_read"], summary["visits"]) == (10_003, 10_002)
    assert "grouped in memory" not in run.err


def _back_in_time(path: Path) -> Path:
    """C1's 2 March visit split by 120,000 rows of later days: past one batch (100,000 rows),
    within the rows held back before output (200,000)."""
    later = "".join(f"P{n},03/{3 + n // 40_000:02d}/2026,{SLP},97129,10\n" for n in range(120_000))
    path.write_text(
        HEADER + f"C1,03/02/2026,{SLP},97129,20\n" + later + f"C1,03/02/2026,{SLP},97130,18\n"
    )
    return path


def test_claim_cli_starts_again_in_memory_when_an_export_goes_back_in_time(
    cli: CliRun,
    tmp_path: Path,
) -> None:
    path = _back_in_time(tmp_path / "back.csv")
    run = cli("claim", str(path), "--format", "json", "--no-estimate", "--fail-on", "never")
    assert run.code == 0, run.err
    data = run.json()
    c1 = [(ln["code"], ln["units"]) for ln in data["lines"] if ln["patient_id"] == "C1"]
    assert c1 == [("97129", 1), ("97130", 2)]
    summary = data["summary"]
    assert summary["grouping"] == "buffered"
    assert summary["regrouped_at"] == f"{path}:120003"
    assert f"grouped in memory ({path}:120003 continued a visit" in run.err


def test_replayable_stream_gives_the_same_bytes_twice_then_only_new_ones() -> None:
    source = Replayable(io.BytesIO(b"abcdef"))
    first = source.stream()
    assert first.read(3) == b"abc"
    again = source.stream()
    assert again.read() == b"abcdef"
    source.forget()
    assert source.stream().read() == b""


def test_a_buffered_run_on_stdin_keeps_no_copy_of_the_bytes_it_read() -> None:
    run = ClaimRun(["-"], options(unsorted=True), stdin=io.BytesIO(BACK_IN_TIME.encode()))
    assert cognitive_units(run_items(run))["C1"] == [("97129", 1), ("97130", 2)]
    assert len(run._replays["-"]._kept) == 0


def test_after_starting_again_on_stdin_the_second_pass_keeps_no_copy() -> None:
    data = BACK_IN_TIME.encode()
    run = ClaimRun(["-"], options(hold_rows=10), stdin=io.BytesIO(data))
    run_items(run)
    assert run.summary.regrouped_at == "<stdin>:5"
    assert len(run._replays["-"]._kept) == 0


def test_a_named_pipe_is_read_once_and_replayed_when_the_run_starts_again(tmp_path: Path) -> None:
    """A pipe cannot be opened twice: reopening it for the buffered pass would wait forever."""
    import os
    import threading

    data = BACK_IN_TIME.encode()
    fifo = tmp_path / "pipe.csv"
    os.mkfifo(fifo)

    def feed() -> None:
        with open(fifo, "wb") as out:
            out.write(data)

    writer = threading.Thread(target=feed, daemon=True)
    writer.start()
    run = ClaimRun([str(fifo)], options(hold_rows=10))
    items = run_items(run)
    writer.join(timeout=10)
    assert cognitive_units(items)["C1"] == [("97129", 1), ("97130", 2)]
    assert (run.summary.regrouped_at, run.summary.rows_read) == (f"{fifo}:5", 4)
    assert set(lines_of(items).get_column("source").to_list()) == {str(fifo)}


def test_claim_reads_a_process_substitution_that_needs_regrouping(tmp_path: Path) -> None:
    import shutil
    import subprocess
    import sys

    bash = shutil.which("bash")
    if bash is None:  # pragma: no cover - every CI machine has bash
        pytest.skip("no bash")
    far = _back_in_time(tmp_path / "back.csv")
    script = (
        f'"{sys.executable}" -m cognibill claim --input csv <(cat "{far}") '
        "-f json --no-estimate --fail-on never -q"
    )
    done = subprocess.run(
        [bash, "-c", script], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    import json

    data = json.loads(done.stdout)
    c1 = [(ln["code"], ln["units"]) for ln in data["lines"] if ln["patient_id"] == "C1"]
    assert c1 == [("97129", 1), ("97130", 2)]
    assert data["summary"]["grouping"] == "buffered"


def test_the_replayed_copy_is_let_go_once_it_has_been_read_again() -> None:
    source = Replayable(io.BytesIO(b"abcdef"))
    source.stream().read(4)
    again = source.stream()
    source.forget()
    assert again.read() == b"abcdef"
    reader = again.raw
    assert reader._replay == b""  # type: ignore[attr-defined]
