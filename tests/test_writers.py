"""Batch output (issue 4): the formula guard, streaming JSON/NDJSON, atomic ``--out``, pipes."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cognibill.errors import EntryError
from cognibill.exitcodes import ExitCode
from cognibill.findings import Finding, Severity
from cognibill.models import Discipline
from cognibill.writers import (
    CsvWriter,
    JsonReportWriter,
    NdjsonWriter,
    atomic_output,
    csv_cell,
    csv_field,
    neutralise,
    write_report,
)

REPO = Path(__file__).parent.parent

LINES = [
    {"patient_id": "C1", "date": dt.date(2026, 3, 2), "code": "97129", "units": 1, "minutes": 15},
    {"patient_id": "C1", "date": dt.date(2026, 3, 2), "code": "97130", "units": 2, "minutes": 23},
]
REJECTED = [{"line": 7, "column": "CPT", "reason": "unknown code 92129; did you mean 97129?"}]
SUMMARY = {"rows_read": 4, "rows_used": 3, "rows_rejected": 1, "visits": 1, "lines": 2, "units": 3}


# -- the formula guard -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    ["=1+2", "+cmd", "-2+3", "@SUM(A1)", "\tx", "\rx", "  =HYPERLINK(1)", "-inf", "=", "-"],
)
def test_text_a_spreadsheet_would_run_as_a_formula_gets_a_quote(text: str) -> None:
    assert neutralise(text) == "'" + text


@pytest.mark.parametrize("text", ["-5", "+3.25", "-0.5", "1e3", "97129", "C-1", "GP CQ", "", " x"])
def test_plain_numbers_and_ordinary_text_are_left_alone(text: str) -> None:
    assert neutralise(text) == text


_CELLS = st.one_of(
    st.integers(-(10**6), 10**6),
    st.text(alphabet=st.sampled_from('ab1,;"=+-@ \t\r\né'), max_size=8),
    st.none(),
)


@given(st.lists(st.lists(_CELLS, min_size=2, max_size=5), max_size=4))
def test_csv_lines_read_back_as_the_guarded_cells_and_match_csv_writer_without_cr(
    rows: list[list[object]],
) -> None:
    """Every row reads back, cell for cell, as what the guard made of it; where no cell holds a
    carriage return the bytes are those of ``csv.writer`` (which leaves CR unquoted)."""
    fields = [f"f{i}" for i in range(5)]
    ours = io.StringIO()
    writer = CsvWriter(ours, fields)
    for row in rows:
        writer.write_values(row)
    expected = [[str(csv_cell(v)) for v in row] for row in rows]
    back = list(csv.reader(io.StringIO(ours.getvalue(), newline="")))
    assert back == [fields, *expected]
    if not any("\r" in cell for row in expected for cell in row):
        theirs = io.StringIO()
        plain = csv.writer(theirs, lineterminator="\n")
        plain.writerow(fields)
        plain.writerows(expected)
        assert ours.getvalue() == theirs.getvalue()


def test_a_carriage_return_inside_a_cell_is_quoted_so_the_row_stays_whole() -> None:
    """A bare CR would start a new spreadsheet row whose first cell, ``=1+2``, would run."""
    assert csv_field("P1\r=1+2") == '"P1\r=1+2"'
    out = io.StringIO()
    CsvWriter(out, ["patient_id", "units"]).write_values(["P1\r=1+2", 3])
    assert out.getvalue() == 'patient_id,units\n"P1\r=1+2",3\n'
    assert list(csv.reader(io.StringIO(out.getvalue(), newline=""))) == [
        ["patient_id", "units"],
        ["P1\r=1+2", "3"],
    ]


def test_a_row_of_one_empty_cell_is_written_as_two_quotes_not_a_blank_line() -> None:
    out = io.StringIO()
    CsvWriter(out, ["note"]).write_values([""])
    assert out.getvalue() == 'note\n""\n'


def test_the_csv_writer_guards_every_text_cell_but_not_numbers() -> None:
    out = io.StringIO()
    writer = CsvWriter(out, ["patient_id", "payer", "units", "delta"])
    writer.write({"patient_id": "=cmd|' /C calc'!A0", "payer": "@evil", "units": -1, "delta": "-5"})
    rows = list(csv.reader(io.StringIO(out.getvalue())))
    assert rows[1] == ["'=cmd|' /C calc'!A0", "'@evil", "-1", "-5"]


def test_csv_cells_for_lists_money_dates_enums_and_findings() -> None:
    finding = Finding("unit-tie", Severity.INFO, "tie", source="RULES.md §2")
    assert csv_cell(("GP", "CQ")) == "GP;CQ"
    assert csv_cell([]) == ""
    assert csv_cell(("-1+2",)) == "'-1+2"
    assert csv_cell(Decimal("21.67")) == "21.67"
    assert csv_cell(dt.date(2026, 3, 2)) == "2026-03-02"
    assert csv_cell(Discipline.SLP) == "slp"
    assert csv_cell(None) == "" and csv_cell(True) == "true"
    assert json.loads(str(csv_cell([finding])))[0]["id"] == "unit-tie"


# -- streaming writers -----------------------------------------------------------------------------


def test_csv_report_has_a_header_and_one_row_per_line() -> None:
    out = io.StringIO()
    count = write_report("csv", out, iter(LINES), rejected=REJECTED, summary=SUMMARY)
    assert count == 2
    assert out.getvalue().splitlines() == [
        "patient_id,date,code,units,minutes",
        "C1,2026-03-02,97129,1,15",
        "C1,2026-03-02,97130,2,23",
    ]


def test_json_report_is_one_object_with_lines_rejected_and_summary() -> None:
    out = io.StringIO()
    write_report("json", out, iter(LINES), rejected=REJECTED, summary=SUMMARY)
    data = json.loads(out.getvalue())
    assert data["lines"][1] == {
        "patient_id": "C1",
        "date": "2026-03-02",
        "code": "97130",
        "units": 2,
        "minutes": 23,
    }
    assert data["rejected"] == REJECTED
    assert data["summary"] == SUMMARY


def test_json_report_with_nothing_in_it_is_still_valid() -> None:
    out = io.StringIO()
    write_report("json", out, iter([]), rejected=[], summary={})
    assert json.loads(out.getvalue()) == {"lines": [], "rejected": [], "summary": {}}


def test_json_report_streams_each_line_before_the_next_is_made() -> None:
    out = io.StringIO()
    writer = JsonReportWriter(out)
    seen: list[int] = []

    def lines():  # type: ignore[no-untyped-def]
        for i, row in enumerate(LINES):
            seen.append(len(out.getvalue()))
            yield row | {"n": i}

    for row in lines():
        writer.line(row)
    writer.finish([], {})
    assert seen[0] == 0 and seen[1] > 0  # line 1 was written out before line 2 was built


def test_the_summary_may_be_counted_while_the_lines_stream() -> None:
    counted = {"lines": 0}

    def lines():  # type: ignore[no-untyped-def]
        for row in LINES:
            counted["lines"] += 1
            yield row

    out = io.StringIO()
    write_report("json", out, lines(), rejected=list, summary=lambda: dict(counted))
    assert json.loads(out.getvalue())["summary"] == {"lines": 2}


def test_ndjson_is_lines_then_rejected_rows_then_the_summary_each_with_a_type() -> None:
    out = io.StringIO()
    write_report("ndjson", out, iter(LINES), rejected=REJECTED, summary=SUMMARY)
    objects = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [o["type"] for o in objects] == ["line", "line", "rejected", "summary"]
    assert objects[2]["line"] == 7 and objects[3]["rows_rejected"] == 1


def test_money_stays_exact_in_json() -> None:
    out = io.StringIO()
    NdjsonWriter(out).line({"estimate": Decimal("21.670")})
    assert json.loads(out.getvalue())["estimate"] == "21.670"


def test_an_unknown_format_is_refused() -> None:
    with pytest.raises(ValueError, match="table"):
        write_report("table", io.StringIO(), [])


# -- atomic --out ----------------------------------------------------------------------------------


def test_out_appears_only_when_the_run_succeeds(tmp_path: Path) -> None:
    target = tmp_path / "claims.csv"
    with atomic_output(target) as stream:
        stream.write("new report\n")
        assert not target.exists()
    assert target.read_text() == "new report\n"
    assert list(tmp_path.iterdir()) == [target]


def test_a_failed_run_never_truncates_the_previous_report(tmp_path: Path) -> None:
    target = tmp_path / "claims.csv"
    target.write_text("last month's report\n")
    with pytest.raises(RuntimeError), atomic_output(target) as stream:
        stream.write("half a report")
        raise RuntimeError("the input broke mid-way")
    assert target.read_text() == "last month's report\n"
    assert list(tmp_path.iterdir()) == [target]  # no temporary file left behind


def test_out_refuses_to_overwrite_an_input(tmp_path: Path) -> None:
    source = tmp_path / "export.csv"
    source.write_text("Client,DOS,Duration\n")
    with pytest.raises(EntryError) as caught, atomic_output(source, [source]):
        pass
    assert caught.value.exit_code == ExitCode.USAGE
    assert "also an input" in caught.value.message
    assert source.read_text() == "Client,DOS,Duration\n"


def test_out_refuses_the_input_under_another_name(tmp_path: Path) -> None:
    source = tmp_path / "export.csv"
    source.write_text("x\n")
    link = tmp_path / "link.csv"
    link.symlink_to(source)
    sub = tmp_path / "sub"
    sub.mkdir()
    with pytest.raises(EntryError), atomic_output(sub / ".." / "export.csv", [link]):
        pass
    assert source.read_text() == "x\n"


def test_out_into_a_missing_directory_is_refused_before_anything_runs(tmp_path: Path) -> None:
    with (
        pytest.raises(EntryError, match="does not exist"),
        atomic_output(tmp_path / "no" / "x.csv"),
    ):
        pass


def test_an_existing_report_keeps_its_permissions(tmp_path: Path) -> None:
    target = tmp_path / "claims.csv"
    target.write_text("old\n")
    target.chmod(0o640)
    with atomic_output(target) as stream:
        stream.write("new\n")
    assert target.stat().st_mode & 0o777 == 0o640
