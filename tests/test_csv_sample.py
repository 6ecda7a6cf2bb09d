"""The generated export many tests read (issue 4): realistic, reproducible, nothing lost."""

from __future__ import annotations

import csv
import sys
from collections import Counter
from pathlib import Path

import polars as pl
import pytest

from cognibill.engine.visits import DEFAULT_VISIT_KEY, Visits, form_visits
from cognibill.inputs.export import ExportFrames
from cognibill.models import Discipline

REPO = Path(__file__).parent.parent
SAMPLE = REPO / "tests" / "data" / "csv" / "generated_export.csv"
sys.path.insert(0, str(REPO / "benchmarks"))

import batch  # noqa: E402
import make_export  # noqa: E402


def read_sample() -> tuple[ExportFrames, pl.DataFrame, pl.DataFrame]:
    """The sample read to the end: the reader (for its counts), the good rows, the rejected."""
    frames = ExportFrames(SAMPLE)
    chunks = list(frames)
    rows = pl.concat([c.rows for c in chunks])
    rejected = pl.concat([c.rejected for c in chunks])
    return frames, rows, rejected


def sample_visits() -> Visits:
    _, rows, _ = read_sample()
    return form_visits(rows, DEFAULT_VISIT_KEY)


def test_rows_read_equal_rows_used_plus_rows_rejected() -> None:
    reader, rows, rejected = read_sample()
    visits = sample_visits()
    used = visits.rows.height
    with SAMPLE.open(newline="", encoding="utf-8") as fh:
        data_rows = sum(1 for row in csv.reader(fh) if row) - 1
    assert reader.rows_read == data_rows == 318
    # '3/24/26' on line 31 reads as 2026-03-24 (RULES.md §11): 5 rows are rejected, not 6
    assert used == rows.height == reader.rows_used == 313
    assert rejected.height == reader.rows_rejected == 5
    assert used + rejected.height == reader.rows_read


def test_the_deliberately_bad_rows_come_back_with_line_column_and_reason() -> None:
    _, _, rejected = read_sample()
    with SAMPLE.open(newline="", encoding="utf-8") as fh:
        lines = fh.read().split("\r\n")
    kinds = {}
    for row in rejected.iter_rows(named=True):
        assert lines[row["line"] - 1].startswith("C1")  # the line number points at the row itself
        kinds[row["reason"].split(";")[0].split(" (")[0]] = row["column"]
    assert kinds == {
        "expected 9 cells like the header, found 7": None,
        "'02/30/2026' is not a valid MM/DD/YYYY date: day is out of range for month": "DOS",
        "unknown code 92129": "CPT",
        "minutes cannot be negative": "Duration",
        "'thirty' is not a number of minutes": "Duration",
    }


def test_the_sample_is_what_its_seeded_generator_writes(tmp_path: Path) -> None:
    again = tmp_path / "export.csv"
    make_export.write_sample(again)
    assert again.read_bytes() == SAMPLE.read_bytes()


def test_the_sample_looks_like_a_clinic_export() -> None:
    grouped = sample_visits()
    visits = grouped.visits
    payers = Counter(visits.get_column("payer").to_list())
    disciplines = {Discipline(d) for d in visits.get_column("discipline").drop_nulls()}
    per_day = Counter(visits.select("patient", "date").iter_rows())
    assert len(payers) >= 4 and payers["Medicare"] > 0
    assert {
        Discipline.SLP,
        Discipline.PT,
        Discipline.OT,
        Discipline.PTA,
        Discipline.OTA,
    } <= disciplines
    assert max(per_day.values()) >= 2  # a patient seen by two disciplines the same day
    per_visit = grouped.rows.group_by("visit").agg(
        pl.len().alias("rows"), pl.col("code").n_unique().alias("codes")
    )
    assert set(per_visit.get_column("codes").to_list()) >= {1, 2, 3, 4}
    # A same-day repeat visit: one provider, the same code twice in one visit.
    assert (per_visit.get_column("rows") > per_visit.get_column("codes")).any()
    assert "97532" in grouped.rows.get_column("code").to_list()  # for the rules to flag


@pytest.mark.parametrize("rows", [1_000, 5_000])
def test_the_benchmark_export_is_seeded_and_sorted_by_date_then_patient(rows: int) -> None:
    first = list(make_export.generate(rows, seed=1))
    assert first == list(make_export.generate(rows, seed=1))
    keys = [(r[1][6:] + r[1][:5], r[0]) for r in first]  # (YYYYMM/DD, patient)
    assert keys == sorted(keys)
    assert len(first) >= rows


def test_the_benchmark_stages_add_up_to_a_whole_claim_run(tmp_path: Path) -> None:
    out = tmp_path / "claims.csv"
    timed = dict(batch.stages(SAMPLE, out))
    assert {"reading the export", "  units", "writing the CSV", "claim, in all"} <= set(timed)
    with out.open(newline="") as fh:
        lines = list(csv.DictReader(fh))
    assert {line["code"] for line in lines} >= {"97129", "97130", "97110"}
