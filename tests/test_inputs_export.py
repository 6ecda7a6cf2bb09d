"""CSV exports read into the engine's frames (issues 4 and 9): rows, rejections, lines, errors.

The named edge-case files live in ``tests/data/csv/``; each test says what the file holds.
"""

from __future__ import annotations

import datetime as dt
import gzip
import io
import sys
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from cognibill.engine.frames import REJECTED, ROWS
from cognibill.errors import EntryError, InputError
from cognibill.inputs.export import WHITESPACE, Chunk, ExportFrames

CSV = Path(__file__).parent / "data" / "csv"
EDGES = CSV / "edges"
SAMPLE = Path(__file__).parent / "data" / "csv" / "generated_export.csv"


def read(source: Any, **options: Any) -> tuple[pl.DataFrame, pl.DataFrame, ExportFrames]:
    """Every chunk of ``source`` put end to end: rows, rejected rows and the reader."""
    reader = ExportFrames(source, **options)
    chunks = list(reader)
    for chunk in chunks:
        assert chunk.rows.schema == pl.Schema(ROWS)
        assert chunk.rejected.schema == pl.Schema(REJECTED)
    rows = pl.concat([pl.DataFrame(schema=ROWS), *(c.rows for c in chunks)])
    rejected = pl.concat([pl.DataFrame(schema=REJECTED), *(c.rejected for c in chunks)])
    skipped = sum(c.skipped.height for c in chunks)
    assert rows.height + rejected.height + skipped == reader.rows_read
    assert (rejected.height, skipped) == (reader.rows_rejected, reader.rows_skipped)
    return rows, rejected, reader


def reasons(rejected: pl.DataFrame) -> list[tuple[int, str | None, str]]:
    return list(rejected.select("line", "column", "reason").iter_rows())


def test_whitespace_is_exactly_what_python_strips() -> None:
    assert set(WHITESPACE) == {chr(c) for c in range(sys.maxunicode + 1) if chr(c).isspace()}


def test_every_good_row_becomes_a_service_row_with_its_line() -> None:
    rows, rejected, reader = read(CSV / "bad_rows.csv")
    assert rows.select("row", "line", "patient", "code", "minutes").rows() == [
        (0, 2, "C1", "97129", 38),
        (1, 15, "C14", "97532", 30),
        (2, 17, "C16", "97110", 25),
    ]
    first = rows.row(0, named=True)
    assert first["source"] == str(CSV / "bad_rows.csv")
    assert first["date"] == dt.date(2026, 3, 2)
    assert first["provider"] == "1912345678"
    assert first["discipline"] == "slp"
    assert first["payer"] == "Medicare"
    assert first["modifiers"] == ["GN"]
    assert first["units_billed"] == 3
    assert first["visit_line"] == first["line"] == 2
    assert first["has_plan"] is False
    assert first["diagnoses"] == []
    for name in ("poc_through", "poc_diagnoses", "poc_goals", "poc_frequency", "poc_duration"):
        assert first[name] is None
    assert (reader.rows_read, reader.rows_rejected, reader.blank_lines) == (16, 13, 0)
    assert rejected.get_column("source").unique().to_list() == [str(CSV / "bad_rows.csv")]


def test_a_code_with_minus_59_keeps_59_before_the_modifiers_column() -> None:
    """RULES.md §6: ``97110-59`` is 97110 with modifier 59."""
    rows, _, _ = read(CSV / "bad_rows.csv")
    assert rows.filter(pl.col("patient") == "C16").get_column("modifiers").to_list() == [
        ["59", "GP"]
    ]


def test_every_bad_row_is_rejected_with_its_line_column_and_reason() -> None:
    _, rejected, _ = read(CSV / "bad_rows.csv")
    assert reasons(rejected) == [
        (3, "DOS", "'02/30/2026' is not a valid MM/DD/YYYY date: day is out of range for month"),
        (4, "Duration", "minutes cannot be negative (-15)"),
        (5, "Duration", "'thirty' is not a number of minutes"),
        (6, "Duration", "1500 minutes is more than a day (1440 minutes)"),
        (7, "CPT", "unknown code 92129; did you mean 97129?"),
        (8, None, "expected 9 cells like the header, found 5"),
        (9, None, "expected 9 cells like the header, found 10"),
        (10, "Client", "the patient id is empty"),
        (11, "DOS", "'3-4-26' has a two-digit year; write dates as YYYY-MM-DD or MM/DD/YYYY"),
        (
            12,
            "Credential",
            "unknown credential 'SPL'; did you mean SLP? (known: PT, DPT, OT, OTR/L, SLP, "
            "CCC-SLP, ST, PTA, COTA, MD, DO, PhD, PsyD, NP, CNS, PA, aide)",
        ),
        (13, "Modifiers", "'GNX' is not a modifier (two letters or digits: GN, GP, CQ, 59)"),
        (14, "Billed Units", "billed units: 'three' is not a whole number"),
        (
            16,
            "DOS",
            "'13/25/2026' is not a valid MM/DD/YYYY date: month must be in 1..12; "
            "also Duration: 'abc' is not a number of minutes",
        ),
    ]


def test_blank_lines_are_counted_and_the_numbering_stays_true_to_the_file() -> None:
    """The file: a blank line before the header, blank lines, ``,,,`` and spaces."""
    rows, rejected, reader = read(CSV / "blank_lines.csv")
    assert rows.select("line", "patient").rows() == [(3, "C1"), (6, "C2"), (9, "C3")]
    assert rejected.height == 0
    assert reader.blank_lines == 6


def test_a_quoted_cell_over_three_lines_numbers_the_next_row_after_it() -> None:
    rows, _, _ = read(CSV / "quoted_commas.csv")
    assert rows.select("line", "patient", "discipline", "payer").rows() == [
        (2, "C1", "slp", "Blue Cross, PPO"),
        (3, "C2", "slp", "Medicare"),
        (6, "C3", "pt", "Medicare"),
    ]


def test_a_tab_file_with_blank_and_short_rows() -> None:
    """The file: tabs, a blank line, a line of tabs, spaces, a short row, trailing tabs."""
    rows, rejected, reader = read(EDGES / "tab_blank_lines.tsv")
    assert rows.select("line", "patient", "discipline").rows() == [
        (3, "M-1", "slp"),
        (7, "M-2", "ot"),
        (9, "M-4", "pt"),
    ]
    assert reasons(rejected) == [(8, None, "expected 6 cells like the header, found 3")]
    assert reader.blank_lines == 4
    assert reader.rows_skipped == 3  # the blank rows after the header
    assert reader.delimiter == "\t"


@pytest.mark.parametrize(
    "name", ["crlf.csv", "mac_newlines.csv", "bom.csv", "semicolon.csv", "extra_empty_cells.csv"]
)
def test_line_endings_boms_delimiters_and_trailing_cells_do_not_change_the_rows(
    name: str,
) -> None:
    rows, rejected, _ = read(CSV / name)
    assert rows.height >= 2
    assert rejected.height == 0
    assert rows.get_column("line").to_list() == list(range(2, rows.height + 2))


def test_utf16_and_gzip_are_recognised_by_their_first_bytes() -> None:
    for name in ("utf16.tsv", "export.csv.gz"):
        rows, _, reader = read(CSV / name)
        assert rows.height > 0, name
        assert reader.size == (CSV / name).stat().st_size


def test_chunks_hold_chunk_rows_rows_read_and_number_rows_across_them() -> None:
    reader = ExportFrames(SAMPLE, chunk_rows=50)
    chunks = list(reader)
    assert all(isinstance(c, Chunk) for c in chunks)
    sizes = [c.rows.height + c.rejected.height for c in chunks]
    assert sizes[:-1] == [50] * (len(chunks) - 1)
    assert sum(sizes) == reader.rows_read
    rows = pl.concat([c.rows for c in chunks])
    assert rows.get_column("row").to_list() == list(range(rows.height))
    whole, rejected, _ = read(SAMPLE)
    assert rows.equals(whole)
    assert pl.concat([c.rejected for c in chunks]).equals(rejected)


def test_a_plan_of_care_date_gives_the_visit_a_plan() -> None:
    """RULES.md §7: the plan of care behind a visit."""
    text = (
        "Patient,DOS,Minutes,POC Start,POC Certified\n"
        "P1,2026-03-02,38,2026-01-05,\n"
        "P2,2026-03-02,38,,2026-01-09\n"
        "P3,2026-03-02,38,,\n"
    )
    rows, _, _ = read(io.StringIO(text))
    assert rows.select("poc_start", "poc_certified", "has_plan").rows() == [
        (dt.date(2026, 1, 5), None, True),
        (None, dt.date(2026, 1, 9), True),
        (None, None, False),
    ]


def test_assistant_minutes_session_diagnoses_and_group() -> None:
    """RULES.md §6 (assistant minutes) and §9 (diagnoses)."""
    text = (
        "Patient,DOS,Minutes,CPT,Assistant,Assistant Minutes,Group,Session ID,Dx 1,Dx 2\n"
        "P1,2026-03-02,40,97110,yes,,no, S-1 ,r41.840,f07.81\n"
        "P1,2026-03-02,30,97110,no,12,yes,,,z99\n"
        "P1,2026-03-02,20,97110,no,25,no,,,\n"
    )
    rows, rejected, _ = read(io.StringIO(text))
    assert rows.select("assistant_minutes", "group", "session_id", "diagnoses").rows() == [
        (40, False, "S-1", ["R41.840", "F07.81"]),
        (12, True, None, ["Z99"]),
    ]
    assert reasons(rejected) == [
        (4, "Assistant Minutes", "assistant minutes (25) exceed the minutes (20)")
    ]


def test_without_a_code_column_every_row_is_the_cognitive_code() -> None:
    """RULES.md §5: 97129 is the default service of a cognitive-therapy export."""
    rows, _, _ = read(io.StringIO("Patient,DOS,Minutes\nP1,2026-03-02,38\n"))
    assert rows.select("code", "modifiers").rows() == [("97129", [])]
    rows, _, _ = read(
        io.StringIO("Patient,DOS,Minutes\nP1,2026-03-02,38\n"), default_code="97110-59"
    )
    assert rows.select("code", "modifiers").rows() == [("97110", ["59"])]


def test_a_bad_default_code_is_a_command_line_mistake() -> None:
    with pytest.raises(EntryError, match="default code 99999: unknown code 99999"):
        list(ExportFrames(io.StringIO("Patient,DOS,Minutes\n"), default_code="99999"))


def test_columns_names_the_fields_the_file_has() -> None:
    reader = ExportFrames(CSV / "bad_rows.csv")
    layout = reader.columns()
    assert layout.index("patient") == 0
    assert layout.index("poc_start") == -1
    assert layout.name("minutes") == "Duration"
    rows, _, _ = read(CSV / "bad_rows.csv")
    assert sum(c.rows.height for c in reader) == rows.height  # iterating after columns()
    assert reader.position() == reader.size


def test_a_map_names_a_header_the_aliases_do_not_know() -> None:
    rows, _, reader = read(EDGES / "missing_minutes.csv", column_map={"minutes": "Session Length"})
    assert rows.select("patient", "minutes").rows()[:1] == [("C1", 38)]
    assert reader.columns().name("minutes") == "Session Length"


def test_a_missing_column_is_one_error_naming_it() -> None:
    with pytest.raises(InputError) as caught:
        list(ExportFrames(CSV / "missing_column.csv"))
    error = caught.value
    assert error.line == 1
    assert "missing required columns: date, minutes" in str(error)


def test_bytes_that_are_not_utf8_name_their_line_and_suggest_cp1252() -> None:
    with pytest.raises(InputError) as caught:
        list(ExportFrames(EDGES / "cp1252.csv"))
    assert "is not UTF-8 text" in str(caught.value)
    assert caught.value.hint is not None and "cp1252" in caught.value.hint
    rows, _, _ = read(EDGES / "cp1252.csv", encoding="cp1252")
    assert rows.height > 0


def test_an_unknown_encoding_is_a_command_line_mistake() -> None:
    with pytest.raises(EntryError, match="unknown encoding"):
        ExportFrames(CSV / "crlf.csv", encoding="klingon")


@pytest.mark.parametrize(
    ("name", "reason"),
    [("empty.csv", "the file is empty"), ("header_only.csv", None)],
)
def test_an_empty_file_is_an_error_and_a_header_alone_has_no_rows(
    name: str, reason: str | None
) -> None:
    if reason is None:
        reader = ExportFrames(CSV / name)
        assert list(reader) == []
        assert reader.rows_read == 0
        return
    with pytest.raises(InputError, match=reason):
        list(ExportFrames(CSV / name))


def test_a_file_that_does_not_exist() -> None:
    with pytest.raises(InputError, match="no such file"):
        list(ExportFrames(CSV / "nope.csv"))


def test_strict_stops_at_the_first_bad_row_after_the_good_ones_before_it() -> None:
    reader = ExportFrames(CSV / "bad_rows.csv", strict=True)
    chunks = iter(reader)
    first = next(chunks)
    assert first.rows.get_column("line").to_list() == [2]
    assert first.rejected.height == 0
    with pytest.raises(InputError) as caught:
        next(chunks)
    assert caught.value.line == 3
    assert caught.value.column == "DOS"
    assert (reader.rows_read, reader.rows_rejected) == (2, 1)


def test_standard_input_gzipped_or_not() -> None:
    data = (CSV / "crlf.csv").read_bytes()
    for raw in (data, gzip.compress(data)):
        rows, _, reader = read("-", stdin=io.BytesIO(raw))
        assert reader.name == "<stdin>"
        assert rows.height >= 2
        assert reader.size is None


def test_an_unclosed_quote_is_reported_at_the_row_it_opens_on() -> None:
    text = 'Patient,DOS,Minutes\nP1,2026-03-02,38\nP2,2026-03-02,"38\nP3,2026-03-03,20\n'
    rows, rejected, _ = read(io.StringIO(text))
    assert rows.get_column("line").to_list() == [2]
    assert reasons(rejected) == [
        (
            3,
            "Minutes",
            "'38\\nP3,2026-03-03,20' is not a number of minutes "
            "(the row runs from line 3 to 4: is a quote left open?)",
        )
    ]


def test_a_stray_quote_that_swallows_lines_keeps_the_csv_modules_line_numbers(
    tmp_path: Path,
) -> None:
    """A quote opened in one row and closed in the next (found by fuzzing: the count of line
    breaks inside cells disagreed with the file's lines and stopped the run, exit 4)."""
    path = tmp_path / "stray.csv"
    path.write_text(
        "Client,DOS,Provider NPI,Credential,CPT,Duration\n"
        'C1,03/03/2026,1933665013,"MA\n'
        'C2,03/03/2026,1933665013,"MA, CCC-SLP",97535,20\n'
        'C3,",1915236469,COTA,97535,20\n'
    )
    reader = ExportFrames(path)
    chunks = list(reader)
    rows = sum(c.rows.height for c in chunks)
    rejected = [line for c in chunks for line in c.rejected.get_column("line").to_list()]
    assert rows + len(rejected) == reader.rows_read
    assert rejected and rejected[0] == 2  # the row the stray quote starts on
