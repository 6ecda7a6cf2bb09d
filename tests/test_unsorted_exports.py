"""Exports whose rows are not in visit order (issue 4: rows need not be sorted; RULES.md §2).

Streaming holds a visit for a window of rows after its patient-day has passed. A visit that comes
back later makes a run that has given out nothing yet (it holds its first results for a number of
rows) start again buffered, and stops one that has: it would bill half a visit.
"""

from __future__ import annotations

import gzip
import io
from pathlib import Path

import pytest

from cognibill.grouping import UnsortedInputError, group_visits
from cognibill.models import Visit
from cognibill.pipeline import Claimed, ClaimOptions, ClaimRun, Rejected
from cognibill.readers.csv_export import ExportReader, RejectedRow
from cognibill.readers.replay import Replayable

HEADER = "Client,DOS,Provider NPI,Credential,CPT,Duration\n"
SLP = "1912345678,CCC-SLP"


def rows(*lines: str) -> str:
    return HEADER + "".join(f"{line}\n" for line in lines)


# C1's second session comes after C2's: 20 + 18 cognitive minutes are one 38-minute visit.
INTERRUPTED = rows(
    f"C1,03/02/2026,{SLP},97129,20",
    f"C2,03/02/2026,{SLP},97129,30",
    f"C1,03/02/2026,{SLP},97130,18",
)


def grouped(text: str, *, window: int) -> list[Visit]:
    rejected: list[RejectedRow] = []
    reader = ExportReader(io.StringIO(text))
    return list(group_visits(reader, window=window, on_rejected=rejected.append))


def shape(visits: list[Visit]) -> list[tuple[str, list[int | None]]]:
    return [(v.patient, [s.line for s in v.services]) for v in visits]


# -- the window ----------------------------------------------------------------------------------


def test_a_second_session_later_the_same_day_joins_its_visit_within_the_window() -> None:
    visits = grouped(INTERRUPTED, window=5)
    assert shape(visits) == [("C1", [2, 4]), ("C2", [3])]


def test_a_second_session_two_rows_after_the_window_stops_streaming_at_its_line() -> None:
    with pytest.raises(UnsortedInputError) as caught:
        grouped(INTERRUPTED, window=0)
    assert caught.value.line == 4
    assert caught.value.hint is not None and "--unsorted" in caught.value.hint


def test_rows_two_apart_join_with_a_window_of_two_but_not_of_one() -> None:
    # C1's rows are lines 2 and 4: two rows apart (C2's row between), so within a window of 2.
    assert shape(grouped(INTERRUPTED, window=2)) == [("C1", [2, 4]), ("C2", [3])]
    with pytest.raises(UnsortedInputError):
        grouped(INTERRUPTED, window=1)


def test_an_export_sorted_by_provider_keeps_each_providers_visit_apart_without_error() -> None:
    """Default key (patient, date, provider, discipline): the same patient-day under two
    providers is two visits, so rows of the second provider coming later are not unsorted."""
    text = rows(
        f"C1,03/02/2026,{SLP},97129,20",
        f"C2,03/02/2026,{SLP},97129,30",
        "C1,03/02/2026,1987654321,PT,97110,30",
    )
    visits = grouped(text, window=0)
    assert [(v.patient, v.provider.id) for v in visits] == [
        ("C1", "1912345678"),
        ("C2", "1912345678"),
        ("C1", "1987654321"),
    ]


def test_visits_held_by_the_window_come_out_in_the_order_of_their_first_rows() -> None:
    text = rows(
        f"C1,03/02/2026,{SLP},97129,20",
        f"C2,03/02/2026,{SLP},97129,30",
        f"C3,03/02/2026,{SLP},97129,25",
        f"C2,03/02/2026,{SLP},97130,10",
    )
    assert shape(grouped(text, window=10)) == [("C1", [2]), ("C2", [3, 5]), ("C3", [4])]


def test_a_negative_window_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="window"):
        grouped(INTERRUPTED, window=-1)


# -- the pipeline starts again buffered ----------------------------------------------------------


def run_items(run: ClaimRun) -> list[Claimed | Rejected]:
    return list(run)


def cognitive_units(items: list[Claimed | Rejected]) -> dict[str, dict[str, int]]:
    out: dict[str, dict[str, int]] = {}
    for item in items:
        if isinstance(item, Claimed):
            visit = item.claim.visit
            out[visit.patient] = {line.code: line.units for line in item.claim.lines}
    return out


def test_an_interrupted_visit_beyond_the_window_starts_the_run_again_buffered(
    tmp_path: Path,
) -> None:
    path = tmp_path / "unsorted.csv"
    path.write_text(INTERRUPTED + f"C1,bad date,{SLP},97129,10\n")
    run = ClaimRun([str(path)], ClaimOptions(window=0, hold=10, estimate=False))
    items = run_items(run)
    # 38 pooled cognitive minutes: 97129 once and 97130 twice (RULES.md §1, §5).
    assert cognitive_units(items) == {
        "C1": {"97129": 1, "97130": 2},
        "C2": {"97129": 1, "97130": 1},
    }
    rejected = [i for i in items if isinstance(i, Rejected)]
    assert [r.line for r in rejected] == [5]  # reported once, not once per attempt
    summary = run.summary
    assert (summary.grouping, summary.regrouped_at) == ("buffered", f"{path}:4")
    assert (summary.rows_read, summary.rows_used, summary.rows_rejected) == (4, 3, 1)
    assert summary.visits == 2 and summary.to_dict()["grouping"] == "buffered"


def test_stdin_is_read_again_from_its_first_byte_when_the_run_starts_again() -> None:
    data = gzip.compress(INTERRUPTED.encode())
    run = ClaimRun(["-"], ClaimOptions(window=0, hold=10, estimate=False), stdin=io.BytesIO(data))
    items = run_items(run)
    assert cognitive_units(items) == {
        "C1": {"97129": 1, "97130": 2},
        "C2": {"97129": 1, "97130": 1},
    }
    assert run.summary.rows_read == 3 and run.summary.regrouped_at == "<stdin>:4"


def test_a_sorted_export_streams_and_says_so() -> None:
    text = rows(f"C1,03/02/2026,{SLP},97129,20", f"C2,03/02/2026,{SLP},97129,30")
    options = ClaimOptions(window=0, hold=10, estimate=False)
    run = ClaimRun(["-"], options, stdin=io.BytesIO(text.encode()))
    assert len(cognitive_units(run_items(run))) == 2
    assert (run.summary.grouping, run.summary.regrouped_at) == ("streaming", None)


def test_a_visit_that_comes_back_after_output_began_stops_the_run(tmp_path: Path) -> None:
    """Half a visit is never billed: once claims have gone out, the run cannot start again."""
    path = tmp_path / "late.csv"
    path.write_text(INTERRUPTED)
    run = ClaimRun([str(path)], ClaimOptions(window=0, hold=1, estimate=False))
    items = iter(run)
    first = next(items)
    assert isinstance(first, Claimed) and first.claim.visit.patient == "C1"
    with pytest.raises(UnsortedInputError) as caught:
        list(items)
    assert caught.value.line == 4


def test_a_visit_returning_just_inside_the_default_window_streams(tmp_path: Path) -> None:
    path = tmp_path / "near.csv"
    others = "".join(f"P{n},03/02/2026,{SLP},97129,10\n" for n in range(9_999))
    path.write_text(
        HEADER + f"C1,03/02/2026,{SLP},97129,20\n" + others + f"C1,03/02/2026,{SLP},97130,18\n"
    )
    run = ClaimRun([str(path)], ClaimOptions(estimate=False))
    assert cognitive_units(run_items(run))["C1"] == {"97129": 1, "97130": 2}
    assert run.summary.grouping == "streaming"


def test_unsorted_option_groups_in_memory_from_the_start() -> None:
    run = ClaimRun(
        ["-"],
        ClaimOptions(window=0, unsorted=True, estimate=False),
        stdin=io.BytesIO(INTERRUPTED.encode()),
    )
    assert cognitive_units(run_items(run))["C1"] == {"97129": 1, "97130": 2}
    assert (run.summary.grouping, run.summary.regrouped_at) == ("buffered", None)


# -- the CLI -------------------------------------------------------------------------------------


def test_claim_cli_bills_a_visit_whose_rows_are_far_apart_within_a_day_whole(
    cli,
    tmp_path: Path,  # type: ignore[no-untyped-def]
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
    cli,
    tmp_path: Path,  # type: ignore[no-untyped-def]
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
    run = ClaimRun(
        ["-"],
        ClaimOptions(unsorted=True, estimate=False),
        stdin=io.BytesIO(INTERRUPTED.encode()),
    )
    assert cognitive_units(run_items(run))["C1"] == {"97129": 1, "97130": 2}
    assert len(run._replays["-"]._kept) == 0


def test_after_starting_again_on_stdin_the_second_pass_keeps_no_copy() -> None:
    data = INTERRUPTED.encode()
    run = ClaimRun(["-"], ClaimOptions(window=0, hold=10, estimate=False), stdin=io.BytesIO(data))
    run_items(run)
    assert run.summary.regrouped_at == "<stdin>:4"
    assert len(run._replays["-"]._kept) == 0


def _far_apart(path: Path) -> Path:
    """C1's two sessions 10,001 rows apart: past the window, within the rows held back."""
    others = "".join(f"P{n},03/02/2026,{SLP},97129,10\n" for n in range(10_001))
    path.write_text(
        HEADER + f"C1,03/02/2026,{SLP},97129,20\n" + others + f"C1,03/02/2026,{SLP},97130,18\n"
    )
    return path


def test_a_named_pipe_is_read_once_and_replayed_when_the_run_starts_again(tmp_path: Path) -> None:
    """A pipe cannot be opened twice: reopening it for the buffered pass would wait forever."""
    import os
    import threading

    data = _far_apart(tmp_path / "far.csv").read_bytes()
    fifo = tmp_path / "pipe.csv"
    os.mkfifo(fifo)

    def feed() -> None:
        with open(fifo, "wb") as out:
            out.write(data)

    writer = threading.Thread(target=feed, daemon=True)
    writer.start()
    run = ClaimRun([str(fifo)], ClaimOptions(estimate=False))
    items = run_items(run)
    writer.join(timeout=10)
    assert cognitive_units(items)["C1"] == {"97129": 1, "97130": 2}
    assert (run.summary.regrouped_at, run.summary.rows_read) == (f"{fifo}:10004", 10_003)
    assert {i.claim.visit.source for i in items if isinstance(i, Claimed)} == {str(fifo)}


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
