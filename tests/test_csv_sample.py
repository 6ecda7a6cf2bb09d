"""The sample export README runs (issue 4): realistic, reproducible, and nothing is lost."""

from __future__ import annotations

import csv
import sys
from collections import Counter
from pathlib import Path

import pytest

from cognibill.grouping import group_visits
from cognibill.models import Discipline
from cognibill.readers.csv_export import ExportReader, RejectedRow

REPO = Path(__file__).parent.parent
SAMPLE = REPO / "sample_sessions" / "export.csv"
sys.path.insert(0, str(REPO / "benchmarks"))

import batch  # noqa: E402
import make_export  # noqa: E402


def test_rows_read_equal_rows_used_plus_rows_rejected() -> None:
    rejected: list[RejectedRow] = []
    reader = ExportReader(SAMPLE)
    visits = list(group_visits(reader, source=reader.name, on_rejected=rejected.append))
    used = sum(len(v.services) for v in visits)
    with SAMPLE.open(newline="", encoding="utf-8") as fh:
        data_rows = sum(1 for row in csv.reader(fh) if row) - 1
    assert reader.rows_read == data_rows == 318
    assert used == reader.rows_used == 312
    assert len(rejected) == reader.rows_rejected == 6
    assert used + len(rejected) == reader.rows_read


def test_the_deliberately_bad_rows_come_back_with_line_column_and_reason() -> None:
    rejected: list[RejectedRow] = []
    list(group_visits(ExportReader(SAMPLE), on_rejected=rejected.append))
    with SAMPLE.open(newline="", encoding="utf-8") as fh:
        lines = fh.read().split("\r\n")
    kinds = {}
    for row in rejected:
        assert lines[row.line - 1].startswith("C1")  # the line number points at the row itself
        kinds[row.reason.split(";")[0].split(" (")[0]] = row.column
    assert kinds == {
        "'3/24/26' has a two-digit year": "DOS",
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
    rejected: list[RejectedRow] = []
    visits = list(group_visits(ExportReader(SAMPLE), on_rejected=rejected.append))
    payers = Counter(v.payer for v in visits)
    disciplines = {v.provider.discipline for v in visits}
    per_day = Counter((v.patient, v.date) for v in visits)
    assert len(payers) >= 4 and payers["Medicare"] > 0
    assert {
        Discipline.SLP,
        Discipline.PT,
        Discipline.OT,
        Discipline.PTA,
        Discipline.OTA,
    } <= disciplines
    assert max(per_day.values()) >= 2  # a patient seen by two disciplines the same day
    codes_a_visit = Counter(len({s.code for s in v.services}) for v in visits)
    assert set(codes_a_visit) >= {1, 2, 3, 4}
    # A same-day repeat visit: one provider, the same code twice in one visit.
    assert any(len(v.services) > len({s.code for s in v.services}) for v in visits)
    assert any(s.code == "97532" for v in visits for s in v.services)  # for the rules to flag


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
