"""A run split by patient (cognibill.partition, issue 14): each set of patients billed apart
gives the claim lines, findings and summary of the whole run, as `claim` gives them."""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path

import polars as pl
import pytest

import cognibill
from cognibill.api import _options
from cognibill.engine.run import make_settings
from cognibill.partition import bill_partition, read_inputs, run_summary, tally
from tests.conftest import DATA, REPO

SAMPLES = sorted((REPO / "sample_sessions").iterdir())
GENERATED = DATA / "csv" / "generated_export.csv"
EVERY_INPUT = [*SAMPLES, GENERATED]


def by_visit(lines: pl.DataFrame) -> pl.DataFrame:
    """Claim lines in a stable order: by input and visit line, each visit's lines as billed."""
    return lines.drop("visit").sort("source", "line", maintain_order=True)


def by_place(findings: pl.DataFrame) -> pl.DataFrame:
    return findings.drop("visit").sort(
        "source", "patient_id", "date", "line", "id", "message", maintain_order=True
    )


def patient_groups(rows: pl.DataFrame, groups: int) -> list[pl.Series]:
    """The patients of ``rows`` dealt into ``groups`` sets by a hash of the name."""
    bucket = pl.col("patient").hash(seed=14) % groups
    table = rows.select("patient").unique().with_columns(bucket.alias("g"))
    return [table.filter(pl.col("g") == g).get_column("patient") for g in range(groups)]


def billed_apart(paths: list[Path], groups: int = 3, **options: object) -> tuple[list, object]:  # type: ignore[type-arg]
    read = read_inputs(paths)
    settings = make_settings(_options(**options))
    parts = []
    for patients in patient_groups(read.rows, groups):
        rows = read.rows.filter(pl.col("patient").is_in(patients.implode()))
        lost = read.lost.filter(pl.col("patient").is_in(patients.implode()))
        parts.append(
            bill_partition(rows, settings, lost=lost, absent=read.absent, sessions=read.sessions)
        )
    return parts, (read, settings)


@pytest.mark.parametrize("path", EVERY_INPUT, ids=lambda p: p.name)
def test_patients_billed_apart_give_the_claim_lines_of_the_whole_run(path: Path) -> None:
    whole = cognibill.bill([path])
    parts, _ = billed_apart([path])
    lines = pl.concat([p.lines for p in parts])
    findings = pl.concat([p.findings for p in parts])
    assert by_visit(lines).equals(by_visit(whole.lines))
    assert by_place(findings).equals(by_place(whole.findings))


def test_every_input_together_billed_apart_gives_the_summary_of_claim() -> None:
    whole = cognibill.bill(EVERY_INPUT)
    parts, (read, settings) = billed_apart(EVERY_INPUT, groups=4)
    lines = pl.concat([p.lines for p in parts])
    assert by_visit(lines).equals(by_visit(whole.lines))
    summary = run_summary(read, settings, [tally(p) for p in parts])  # type: ignore[arg-type]
    ignored = ("grouping", "seconds", "notes")
    assert {k: v for k, v in summary.items() if k not in ignored} == {
        k: v for k, v in whole.summary.items() if k not in ignored
    }

    def key(n: dict) -> tuple:  # type: ignore[type-arg]
        return (n["source"], n["id"], n["message"])

    assert sorted(summary["notes"], key=key) == sorted(whole.summary["notes"], key=key)


def test_a_rejected_row_marks_its_visit_incomplete_in_the_partition_of_its_patient() -> None:
    """clinic_visits.csv line 40 ('thirty' minutes) belongs to Diaz, Maria on 2026-03-10."""
    path = REPO / "sample_sessions" / "clinic_visits.csv"
    read = read_inputs([path])
    diaz = pl.col("patient") == "Diaz, Maria"
    rows = read.rows.filter(diaz)
    with_lost = cognibill.bill_rows(rows, lost=read.lost.filter(diaz), absent=read.absent)
    without = cognibill.bill_rows(rows, absent=read.absent)
    incomplete = with_lost.findings.filter(pl.col("id") == "visit-incomplete")
    assert incomplete.get_column("date").to_list() == [dt.date(2026, 3, 10)]
    assert "rejected line 40 of this visit" in incomplete.item(0, "message")
    assert without.findings.filter(pl.col("id") == "visit-incomplete").is_empty()


def test_a_file_without_minutes_skips_the_rules_that_need_them_in_a_partition() -> None:
    path = REPO / "sample_sessions" / "webpt_billed_units.csv"
    read = read_inputs([path])
    assert "minutes" in read.absent[str(path)]
    skipped = cognibill.bill_rows(read.rows, lost=read.lost, absent=read.absent)
    assert by_place(skipped.findings).equals(by_place(cognibill.bill([path]).findings))
    run = cognibill.bill_rows(read.rows, lost=read.lost)
    assert run.findings.height > skipped.findings.height


def test_rows_out_of_input_order_are_billed_in_row_order() -> None:
    read = read_inputs([GENERATED])
    shuffled = read.rows.sample(fraction=1.0, shuffle=True, seed=3)
    billed = cognibill.bill_rows(shuffled, lost=read.lost, absent=read.absent)
    assert by_visit(billed.lines).equals(by_visit(cognibill.bill([GENERATED]).lines))


def test_an_empty_partition_bills_nothing() -> None:
    read = read_inputs([GENERATED])
    billed = cognibill.bill_rows(read.rows.clear())
    assert billed.lines.is_empty() and billed.findings.is_empty()
    assert billed.summary["visits"] == 0


def test_bill_rows_takes_an_arrow_table() -> None:
    pytest.importorskip("pyarrow")
    read = read_inputs([GENERATED])
    billed = cognibill.bill_rows(read.rows.to_arrow(), lost=read.lost, absent=read.absent)
    assert by_visit(billed.lines).equals(by_visit(cognibill.bill([GENERATED]).lines))


def test_a_partition_is_billed_without_a_ledger() -> None:
    settings = make_settings(_options())
    read = read_inputs([GENERATED])
    with pytest.raises(ValueError, match="ledger"):
        bill_partition(read.rows, dataclasses.replace(settings, ledger=object()))
