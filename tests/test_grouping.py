"""Rows into visits (issue 4, RULES.md §2: one timed pool per patient and date of service).

Visits are formed by :func:`cognibill.engine.visits.form_visits` from the reader's ``ROWS``
frame; a claim run (:class:`cognibill.engine.run.ClaimRun`) bills an export in batches that end
at a change of date, so a visit's rows anywhere within one day are billed together.
"""

from __future__ import annotations

import io
from pathlib import Path

import polars as pl
import pytest

from cognibill.api import bill_rows
from cognibill.engine.bill import Billed
from cognibill.engine.run import ClaimRun, OutOfOrder, Rejected, RunOptions
from cognibill.engine.visits import (
    DEFAULT_VISIT_KEY,
    Visits,
    describe_visit_key,
    form_visits,
    parse_visit_key,  # moves to cognibill.engine.visits (issue 9)
)
from cognibill.errors import EntryError
from cognibill.inputs.export import ExportFrames
from tests.export_rows import Row, frames, rows_of

CSV = Path(__file__).parent / "data" / "csv"

HEADER = "Client,DOS,Provider NPI,Credential,CPT,Duration,Payer\n"


def rows_in(text: str) -> pl.DataFrame:
    """The ``ROWS`` of an export of ``HEADER`` and ``text`` (no row rejected)."""
    rows, rejected = frames(ExportFrames(io.StringIO(HEADER + text)))
    assert rejected.is_empty()
    return rows


def visits_of(text: str, key: tuple[str, ...] = DEFAULT_VISIT_KEY) -> Visits:
    return form_visits(rows_in(text), key)


def services(grouped: Visits) -> list[list[Row]]:
    """The rows of each visit, in visit order."""
    ids = grouped.visits.get_column("visit").to_list()
    return [rows_of(grouped.rows.filter(pl.col("visit") == v)) for v in ids]


def units(text: str, key: tuple[str, ...] = DEFAULT_VISIT_KEY) -> list[dict[str, int]]:
    """The units each visit bills (codes with none left out), in visit order."""
    lines = bill_rows(rows_in(text), visit_key=key, estimate=False).lines
    return [
        {code: n for code, n in part.select("code", "units").iter_rows() if n}
        for part in lines.partition_by("visit", maintain_order=True)
    ]


def _options(**extra: object) -> RunOptions:
    base: dict[str, object] = {"estimate": False, "batch_rows": 1, "hold_rows": 1_000}
    base.update(extra)
    return RunOptions(**base)  # type: ignore[arg-type]


def _export(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "export.csv"
    path.write_text(HEADER + text)
    return path


def _billed(items: list[Billed | Rejected]) -> pl.DataFrame:
    return pl.concat([i.lines for i in items if isinstance(i, Billed)])


def _units(lines: pl.DataFrame, patient: str) -> list[tuple[str, int]]:
    mine = lines.filter(pl.col("patient_id") == patient)
    return list(mine.select("code", "units").iter_rows())


def test_two_sessions_the_same_day_by_the_same_provider_are_one_visit_rules_md_s2() -> None:
    text = (
        "C1,03/02/2026,111,CCC-SLP,97129,20,Medicare\nC1,03/02/2026,111,CCC-SLP,97129,18,Medicare\n"
    )
    grouped = visits_of(text)
    assert grouped.visits.height == 1
    (rows,) = services(grouped)
    # Repeated codes stay separate rows; the engine pools them: 38 min -> 97129 once + 97130 x2.
    assert [r.service.minutes for r in rows] == [20, 18]
    assert units(text) == [{"97129": 1, "97130": 2}]
    assert grouped.visits.get_column("visit_line").to_list() == [2]
    assert [r.line for r in rows] == [2, 3]


def test_different_disciplines_the_same_day_are_separate_visits_by_default_rules_md_s2() -> None:
    grouped = visits_of(
        "C1,03/02/2026,111,CCC-SLP,97129,20,Medicare\nC1,03/02/2026,222,OTR/L,97530,20,Medicare\n"
    )
    assert grouped.visits.select("provider", "discipline").rows() == [("111", "slp"), ("222", "ot")]


def test_key_patient_date_pools_the_whole_day_rules_md_s2_open_setting() -> None:
    rows = "C1,03/02/2026,111,CCC-SLP,97129,7,Medicare\nC1,03/02/2026,222,OTR/L,97530,7,Medicare\n"
    apart = units(rows)
    pooled = units(rows, key=("patient", "date"))
    # Apart, 7 minutes each earn nothing; pooled, 14 minutes earn one unit (RULES.md §1-§2).
    assert [sum(u.values()) for u in apart] == [0, 0]
    assert len(pooled) == 1 and sum(pooled[0].values()) == 1


def test_the_pool_never_spans_two_dates_or_two_patients() -> None:
    text = (
        "C1,03/02/2026,111,CCC-SLP,97129,7,Medicare\n"
        "C1,03/03/2026,111,CCC-SLP,97129,7,Medicare\n"
        "C2,03/03/2026,111,CCC-SLP,97129,7,Medicare\n"
    )
    assert visits_of(text, key=("patient", "date")).visits.height == 3
    assert units(text, key=("patient", "date")) == [{}, {}, {}]  # 7 minutes each: RULES.md §1


def test_visits_are_numbered_from_the_first_id_given_in_the_order_of_their_first_rows() -> None:
    text = (
        "C2,03/02/2026,111,CCC-SLP,97129,20,Medicare\n"
        "C1,03/02/2026,111,CCC-SLP,97129,20,Medicare\n"
        "C2,03/02/2026,111,CCC-SLP,97130,18,Medicare\n"
    )
    grouped = form_visits(rows_in(text), DEFAULT_VISIT_KEY, first=7)
    assert grouped.visits.select("visit", "patient").rows() == [(7, "C2"), (8, "C1")]
    assert grouped.rows.select("line", "visit").rows() == [(2, 7), (3, 8), (4, 7)]


def test_a_visit_key_without_patient_and_date_is_refused() -> None:
    with pytest.raises(EntryError, match="must include patient and date"):
        parse_visit_key("patient,provider")
    with pytest.raises(EntryError, match="unknown field 'room'"):
        parse_visit_key("patient,date,room")


def test_visit_key_spellings() -> None:
    assert parse_visit_key(" Patient , DOS , provider ") == ("patient", "date", "provider")
    assert parse_visit_key(["patient", "date", "session"]) == ("patient", "date", "session_id")


def test_the_default_key_is_described_as_the_claim_output_names_it() -> None:
    assert describe_visit_key(DEFAULT_VISIT_KEY) == (
        "patient, date of service, rendering provider, discipline"
    )
    assert describe_visit_key(("patient", "date")) == "patient, date of service"


def test_streaming_bills_a_day_as_soon_as_the_date_changes(tmp_path: Path) -> None:
    path = _export(
        tmp_path,
        "C1,03/02/2026,111,CCC-SLP,97129,20,Medicare\n"
        "C1,03/02/2026,111,CCC-SLP,97130,18,Medicare\n"
        "C2,03/03/2026,111,CCC-SLP,97129,30,Medicare\n"
        "C3,03/04/2026,111,CCC-SLP,97129,30,Medicare\n",
    )
    run = ClaimRun([str(path)], _options(hold_rows=1))
    items = iter(run)
    first = next(items)
    # C1's day (lines 2-3) is complete once C2's row of 3 March (line 4) arrives; line 5 is unread.
    assert isinstance(first, Billed)
    assert _units(first.lines, "C1") == [("97129", 1), ("97130", 2)]
    assert first.lines.get_column("patient_id").unique().to_list() == ["C1"]
    assert run.summary.rows_read == 3
    rest = [i for i in items if isinstance(i, Billed)]
    assert [b.lines.get_column("patient_id").unique().to_list() for b in rest] == [["C2"], ["C3"]]
    assert run.summary.grouping == "streaming"


def test_a_visit_whose_rows_are_apart_within_one_day_is_billed_whole_streaming() -> None:
    """``unsorted.csv``: C1's 20 and 18 minutes of 2 March, C2's row between them."""
    run = ClaimRun([str(CSV / "unsorted.csv")], _options(hold_rows=1))
    lines = _billed(list(run))
    assert _units(lines, "C1") == [("97129", 1), ("97130", 2)]  # 38 minutes pooled
    assert (run.summary.grouping, run.summary.regrouped_at) == ("streaming", None)


def test_a_patient_whose_dates_go_back_after_output_began_stops_with_its_line(
    tmp_path: Path,
) -> None:
    path = _export(
        tmp_path,
        "C1,03/02/2026,111,CCC-SLP,97129,20,Medicare\n"
        "C2,03/03/2026,111,CCC-SLP,97129,30,Medicare\n"
        "C1,03/02/2026,111,CCC-SLP,97130,18,Medicare\n",
    )
    with pytest.raises(OutOfOrder) as caught:
        list(ClaimRun([str(path)], _options(hold_rows=1)))
    assert caught.value.line == 4
    assert caught.value.hint is not None and "--unsorted" in caught.value.hint


def test_buffered_grouping_takes_any_order_and_emits_by_first_line(tmp_path: Path) -> None:
    grouped = form_visits(frames(ExportFrames(CSV / "unsorted.csv"))[0], DEFAULT_VISIT_KEY)
    assert [(r[0].patient, [s.line for s in r]) for r in services(grouped)] == [
        ("C1", [2, 4]),
        ("C2", [3]),
    ]
    path = _export(
        tmp_path,
        "C1,03/02/2026,111,CCC-SLP,97129,20,Medicare\n"
        "C2,03/03/2026,111,CCC-SLP,97129,30,Medicare\n"
        "C1,03/02/2026,111,CCC-SLP,97130,18,Medicare\n",
    )
    run = ClaimRun([str(path)], _options(unsorted=True, hold_rows=1))
    lines = _billed(list(run))
    visits = lines.select("patient_id", "line").unique(maintain_order=True)
    assert visits.rows() == [("C1", 2), ("C2", 3)]
    assert _units(lines, "C1") == [("97129", 1), ("97130", 2)]  # 20 + 18 = 38 min pooled


def test_streaming_and_buffered_agree_on_sorted_input() -> None:
    def run(unsorted: bool) -> pl.DataFrame:
        lines = _billed(list(ClaimRun([str(CSV / "bad_rows.csv")], _options(unsorted=unsorted))))
        return lines.drop("visit")

    streamed, buffered = run(unsorted=False), run(unsorted=True)
    assert streamed.height > 0
    assert streamed.equals(buffered)


def test_rejected_rows_come_out_in_order_and_nothing_is_lost() -> None:
    run = ClaimRun([str(CSV / "bad_rows.csv")], _options(batch_rows=2))
    items = list(run)
    rejected = pl.concat([i.rows for i in items if isinstance(i, Rejected)])
    assert rejected.get_column("line").to_list() == [3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 16]
    summary = run.summary
    assert (summary.rows_read, summary.rows_rejected, summary.rows_used) == (16, 13, 3)
    reader = ExportFrames(CSV / "bad_rows.csv")
    rows, bad = frames(reader)
    grouped = form_visits(rows, DEFAULT_VISIT_KEY)
    assert grouped.rows.get_column("visit").null_count() == 0
    assert grouped.rows.height + bad.height == reader.rows_read


def test_visit_fields_that_differ_within_a_visit_are_reported_rules_md_s2() -> None:
    grouped = visits_of(
        "C1,03/02/2026,111,CCC-SLP,97129,20,Medicare\nC1,03/02/2026,111,CCC-SLP,97130,15,Aetna\n"
    )
    assert grouped.visits.select("visit_line", "payer").rows() == [(2, "Medicare")]
    (finding,) = grouped.findings.iter_rows(named=True)
    assert finding["visit"] == grouped.visits.item(0, "visit")
    assert (finding["id"], finding["severity"]) == ("visit-field-conflict", "warning")
    assert "'Medicare' (line 2), 'Aetna' (line 3)" in finding["message"]
    assert "add payer to --visit-key" in finding["hint"]


def test_rows_that_agree_raise_no_conflict() -> None:
    grouped = form_visits(frames(ExportFrames(CSV / "crlf.csv"))[0], DEFAULT_VISIT_KEY)
    assert grouped.findings.is_empty()


def test_sessions_and_diagnoses_of_all_rows_are_kept() -> None:
    text = io.StringIO(
        "Patient,Date,Minutes,Code,Session ID,Dx\n"
        "P1,2026-03-02,20,97129,S1,R41.840\n"
        "P1,2026-03-02,18,97130,S2,I69.31\n"
    )
    grouped = form_visits(frames(ExportFrames(text))[0], DEFAULT_VISIT_KEY)
    visit = grouped.visits.row(0, named=True)
    assert visit["session_id"] == "S1;S2"
    assert visit["diagnoses"] == ["R41.840", "I69.31"]


def test_visits_carry_their_source_and_first_line() -> None:
    grouped = form_visits(frames(ExportFrames(CSV / "crlf.csv"))[0], DEFAULT_VISIT_KEY)
    name = str(CSV / "crlf.csv")
    assert grouped.visits.select("source", "visit_line").rows() == [(name, 2), (name, 4)]
