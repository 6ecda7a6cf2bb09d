"""CSV exports (issues 4 and 9): encodings, delimiters, line numbers and every kind of bad row.

The reader is :class:`cognibill.inputs.export.ExportFrames` (chunks of ``ROWS`` and
``REJECTED`` frames, turned back into rows by ``tests/export_rows.py``); the one-value parsers
are :mod:`cognibill.inputs.cells`. The named edge-case files live in ``tests/data/csv/``; each
test says what the file holds.
"""

from __future__ import annotations

import datetime as dt
import gzip
import io
from pathlib import Path

import pytest

from cognibill.errors import EntryError, InputError
from cognibill.exitcodes import ExitCode
from cognibill.inputs.cells import BadCell, parse_date, parse_minutes
from cognibill.inputs.export import ExportFrames
from cognibill.models import Discipline
from tests.export_rows import Row, frames, read

CSV = Path(__file__).parent / "data" / "csv"


def summary(rows: list[Row]) -> list[tuple[int, str, str, str, int]]:
    return [
        (r.line, r.patient, r.date.isoformat(), r.service.code, r.service.minutes) for r in rows
    ]


# -- encodings and line endings --------------------------------------------------------------------


def test_utf8_bom_is_not_part_of_the_first_header() -> None:
    rows, bad, reader = read(CSV / "bom.csv")
    assert bad == []
    assert reader.columns().header[0] == "Patient ID"
    assert summary(rows) == [
        (2, "P001", "2026-03-02", "97129", 38),
        (3, "P002", "2026-03-02", "97110", 23),
    ]


def test_crlf_rows_keep_their_physical_line_numbers() -> None:
    rows, bad, _ = read(CSV / "crlf.csv")
    assert bad == []
    assert [r.line for r in rows] == [2, 3, 4]
    assert rows[0].payer == "Medicare"  # no stray "\r" at the end of the last cell


def test_old_mac_cr_line_endings_read_like_any_other() -> None:
    rows, _, _ = read(CSV / "mac_newlines.csv")
    assert summary(rows) == [
        (2, "C1", "2026-03-02", "97129", 38),
        (3, "C2", "2026-03-02", "97110", 20),
    ]


def test_cp1252_bytes_stop_with_the_line_and_a_hint_to_use_encoding_cp1252() -> None:
    with pytest.raises(InputError) as caught:
        read(CSV / "not_utf8.csv")
    err = caught.value
    assert err.exit_code == ExitCode.INPUT
    assert err.line == 3
    assert "not UTF-8" in err.reason and "0x92" in err.reason
    assert err.hint is not None and "--encoding cp1252" in err.hint


def test_encoding_cp1252_reads_the_same_file() -> None:
    rows, bad, _ = read(CSV / "not_utf8.csv", encoding="cp1252")
    assert bad == []
    assert rows[1].payer == "St. Mary’s Health Plan"


def test_an_unknown_encoding_name_is_a_usage_error() -> None:
    with pytest.raises(EntryError) as caught:
        ExportFrames(CSV / "bom.csv", encoding="klingon")
    assert caught.value.exit_code == ExitCode.USAGE


def test_utf16_with_bom_as_excel_unicode_text_writes_it() -> None:
    rows, bad, reader = read(CSV / "utf16.tsv")
    assert bad == [] and reader.delimiter == "\t"
    assert summary(rows) == [
        (2, "C1", "2026-03-02", "97129", 38),
        (3, "C2", "2026-03-02", "97110", 20),
    ]


# -- delimiters, quoting, blank lines --------------------------------------------------------------


def test_semicolon_delimiter_is_detected_from_the_header() -> None:
    rows, bad, reader = read(CSV / "semicolon.csv")
    assert reader.delimiter == ";" and bad == []
    assert rows[1].payer == "Aetna, Inc."  # a comma is plain text under ";"


def test_tab_delimiter_and_vendor_headers_mrn_service_date_time_min_procedure() -> None:
    rows, bad, reader = read(CSV / "tab.tsv")
    assert reader.delimiter == "\t" and bad == []
    assert summary(rows) == [
        (2, "M-77", "2026-03-02", "97129", 45),
        (3, "M-78", "2026-03-02", "97530", 30),
    ]
    assert [r.discipline for r in rows] == [Discipline.SLP, Discipline.OT]


def test_quoted_commas_quotes_and_newlines_stay_in_their_cell() -> None:
    rows, bad, _ = read(CSV / "quoted_commas.csv")
    assert bad == []
    assert rows[0].payer == "Blue Cross, PPO"
    assert rows[0].discipline is Discipline.SLP  # "MS, CCC-SLP"
    assert rows[1].discipline is Discipline.SLP  # "PhD, CCC-SLP": the therapy credential wins
    assert rows[2].discipline is Discipline.PT  # "PT, DPT"


def test_a_row_with_a_quoted_newline_is_numbered_by_the_line_it_starts_on() -> None:
    rows, _, _ = read(CSV / "quoted_commas.csv")
    # Row 2 starts on line 3 and runs to line 5; the next row starts on line 6.
    assert [r.line for r in rows] == [2, 3, 6]


def test_blank_lines_and_empty_cell_lines_are_not_rows_and_line_numbers_stay_true() -> None:
    rows, bad, reader = read(CSV / "blank_lines.csv")
    assert bad == []
    assert summary(rows) == [
        (3, "C1", "2026-03-02", "97129", 38),
        (6, "C2", "2026-03-02", "97110", 20),
        (9, "C3", "2026-03-03", "97112", 25),
    ]
    # lines 4, 5, 7 (",,,"), 8 ("  ") and 10 are blank rows: read, and skipped as such
    assert (reader.rows_read, reader.rows_skipped) == (8, 5)
    # line 1 (before the header) too
    assert reader.blank_lines == 6


def test_trailing_empty_cells_are_ignored_not_rejected() -> None:
    rows, bad, _ = read(CSV / "extra_empty_cells.csv")
    assert bad == [] and len(rows) == 2


# -- inputs: gzip, stdin, streams ------------------------------------------------------------------


def test_gzip_is_read_by_its_magic_bytes() -> None:
    rows, bad, _ = read(CSV / "export.csv.gz")
    plain = io.BytesIO(gzip.decompress((CSV / "export.csv.gz").read_bytes()))
    again, _, _ = read(plain)
    assert bad == [] and len(rows) == 30
    assert summary(rows) == summary(again)


def test_dash_reads_standard_input_and_leaves_it_open() -> None:
    stdin = io.BytesIO((CSV / "crlf.csv").read_bytes())
    rows, _, reader = read("-", stdin=stdin)
    assert reader.name == "<stdin>"
    assert [r.patient for r in rows] == ["C1", "C1", "C2"]
    assert not stdin.closed


def test_gzipped_standard_input() -> None:
    stdin = io.BytesIO((CSV / "export.csv.gz").read_bytes())
    rows, _, _ = read("-", stdin=stdin)
    assert len(rows) == 30


def test_a_text_stream_is_read_as_is() -> None:
    text = io.StringIO("\ufeffClient,DOS,Duration\nC1,2026-03-02,38\n")
    rows, _, _ = read(text)
    # Without a code column every row is the cognitive service (97129, issue 4).
    assert summary(rows) == [(2, "C1", "2026-03-02", "97129", 38)]


def test_empty_file_is_one_input_error() -> None:
    with pytest.raises(InputError, match="empty"):
        read(CSV / "empty.csv")


def test_header_only_file_has_no_rows() -> None:
    rows, bad, reader = read(CSV / "header_only.csv")
    assert rows == [] and bad == [] and reader.rows_read == 0


def test_missing_file_is_an_input_error() -> None:
    with pytest.raises(InputError, match="no such file"):
        read(CSV / "nope.csv")


# -- bad rows: every kind, with line and column ----------------------------------------------------


def test_every_kind_of_bad_row_is_reported_with_line_column_and_reason() -> None:
    rows, bad, reader = read(CSV / "bad_rows.csv")
    got = {r.line: (r.column, r.reason) for r in bad}
    assert sorted(got) == [3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 16]
    assert got[3][0] == "DOS" and "02/30/2026" in got[3][1]
    assert got[4] == ("Duration", "minutes cannot be negative (-15)")
    assert got[5][0] == "Duration" and "not a number of minutes" in got[5][1]
    assert got[6][0] == "Duration" and "more than a day" in got[6][1]
    assert got[7] == ("CPT", "unknown code 92129; did you mean 97129?")
    assert got[8][0] is None and "expected 9 cells" in got[8][1] and "found 5" in got[8][1]
    assert got[9][0] is None and "found 10" in got[9][1]
    assert got[10][0] == "Client" and "empty" in got[10][1]
    assert got[11][0] == "DOS" and "two-digit year" in got[11][1]
    assert got[12][0] == "Credential" and "did you mean SLP" in got[12][1]
    assert got[13][0] == "Modifiers" and "GNX" in got[13][1]
    assert got[14][0] == "Billed Units"
    # Two problems in one row: the first column named, both reasons given.
    assert got[16][0] == "DOS" and "Duration" in got[16][1]
    # Nothing lost: the good rows are the rest.
    assert [r.line for r in rows] == [2, 15, 17]
    assert reader.rows_read == 16 and reader.rows_rejected == 13 and reader.rows_used == 3


def test_deleted_codes_pass_through_for_the_rules_to_explain_rules_md_s5() -> None:
    rows, _, _ = read(CSV / "bad_rows.csv")
    assert [r.service.code for r in rows if r.line == 15] == ["97532"]


def test_a_code_with_a_modifier_suffix_is_split() -> None:
    rows, _, _ = read(CSV / "bad_rows.csv")
    service = next(r.service for r in rows if r.line == 17)
    assert (service.code, service.modifiers) == ("97110", ("59", "GP"))


def test_strict_stops_at_the_first_bad_row_with_its_line() -> None:
    with pytest.raises(InputError) as caught:
        read(CSV / "bad_rows.csv", strict=True)
    assert (caught.value.line, caught.value.column) == (3, "DOS")


def test_an_unclosed_quote_is_rejected_with_the_lines_it_swallowed() -> None:
    text = io.StringIO(
        'Client,DOS,Duration\nC1,2026-03-02,"38\nC2,2026-03-02,20\nC3,2026-03-02,25\n'
    )
    rows, bad, _ = read(text)
    assert rows == []
    assert bad[0].line == 2 and "runs from line 2 to 4" in bad[0].reason


# -- the fields ------------------------------------------------------------------------------------


def test_a_service_row_carries_the_service_and_the_visit_fields() -> None:
    rows, _, _ = read(CSV / "bad_rows.csv")
    first = rows[0]
    assert (first.provider, first.discipline, first.payer) == (
        "1912345678",
        Discipline.SLP,
        "Medicare",
    )
    service = first.service
    assert (
        service.code,
        service.minutes,
        service.units_billed,
        service.modifiers,
        service.line,
    ) == (
        "97129",
        38,
        3,
        ("GN",),
        2,
    )


def test_optional_columns_assistant_group_session_pos_plan_of_care_and_diagnoses() -> None:
    text = io.StringIO(
        "Patient,Date,Minutes,Code,Assistant,Group,Session ID,POS,POC Start,POC Certified,"
        "Dx 1,Dx 2,Modifier 1,Modifier 2\n"
        "P1,2026-03-02,30,97110,yes,no,S-1,11,2026-02-20,02/25/2026,R41.840,I69.31,GP,CQ\n"
        "P1,2026-03-02,20,97150,,TRUE,,,,,,,GP,\n"
    )
    rows, bad, _ = read(text)
    assert bad == []
    one, two = rows
    assert one.service.assistant_minutes == 30 and not one.service.group
    assert two.service.assistant_minutes == 0 and two.service.group
    assert (one.session_id, one.place_of_service) == ("S-1", "11")
    assert (one.poc_start, one.poc_certified) == (dt.date(2026, 2, 20), dt.date(2026, 2, 25))
    assert one.diagnoses == ("R41.840", "I69.31")
    assert one.service.modifiers == ("GP", "CQ") and two.service.modifiers == ("GP",)


def test_assistant_minutes_above_the_minutes_are_rejected() -> None:
    text = io.StringIO("Patient,Date,Minutes,Code,Assistant Minutes\nP1,2026-03-02,30,97110,40\n")
    _, bad, _ = read(text)
    assert bad[0].column == "Assistant Minutes" and "exceed" in bad[0].reason


def test_a_yes_no_cell_that_is_neither_is_rejected() -> None:
    text = io.StringIO("Patient,Date,Minutes,Code,Group\nP1,2026-03-02,30,97150,maybe\n")
    _, bad, _ = read(text)
    assert bad[0].column == "Group" and "yes/no" in bad[0].reason


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        ("PT", Discipline.PT),
        ("DPT", Discipline.PT),
        ("OT", Discipline.OT),
        ("OTR/L", Discipline.OT),
        ("SLP", Discipline.SLP),
        ("CCC-SLP", Discipline.SLP),
        ("ST", Discipline.SLP),
        ("PTA", Discipline.PTA),
        ("COTA", Discipline.OTA),
        ("OTA", Discipline.OTA),
        ("MD", Discipline.PHYSICIAN),
        ("D.O.", Discipline.PHYSICIAN),
        ("PhD", Discipline.PSYCHOLOGIST),
        ("Psy.D.", Discipline.PSYCHOLOGIST),
        ("NP", Discipline.NP),
        ("CNS", Discipline.CNS),
        ("PA-C", Discipline.PA),
        ("Rehab Aide", Discipline.AIDE),
        ("PT Aide", Discipline.AIDE),
        ("tech", Discipline.AIDE),
        ("MD, PhD", Discipline.PHYSICIAN),
        ("slp", Discipline.SLP),
        ("", None),
    ],
)
def test_credentials_map_to_disciplines_rules_md_s6(cell: str, expected: Discipline | None) -> None:
    text = io.StringIO(f'Patient,Date,Minutes,Credential\nP1,2026-03-02,30,"{cell}"\n')
    rows, bad, _ = read(text)
    assert bad == []
    assert rows[0].discipline == expected


# -- dates and minutes -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-03-04", dt.date(2026, 3, 4)),
        ("03/04/2026", dt.date(2026, 3, 4)),
        ("3/4/2026", dt.date(2026, 3, 4)),
        ("2026/03/04", dt.date(2026, 3, 4)),
        (" 2026-03-04 ", dt.date(2026, 3, 4)),
        ("2026-03-04 09:30", dt.date(2026, 3, 4)),
        ("2026-03-04T09:30:00", dt.date(2026, 3, 4)),
        ("3/4/2026 9:30 AM", dt.date(2026, 3, 4)),
    ],
)
def test_iso_and_us_dates_are_read(text: str, expected: dt.date) -> None:
    assert parse_date(text) == expected


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("03-04-26", "two-digit year"),
        ("04.03.2026", "day-first or month-first"),
        ("04-03-2026", "day-first or month-first"),
        ("25/03/2026", "day-first dates are not read"),
        ("46085", "serial number"),
        ("2026-03-04T09:30:00Z", "time zone"),
        ("March 4, 2026", "not a date"),
        ("2026-02-30", "not a valid"),
        ("", "empty"),
    ],
)
def test_ambiguous_or_invalid_dates_are_refused_not_guessed(text: str, reason: str) -> None:
    with pytest.raises(BadCell, match=reason):
        parse_date(text)


@pytest.mark.parametrize(
    ("text", "minutes"),
    [("38", 38), (" 38 ", 38), ("38.0", 38), ("38 min", 38), ("0", 0), ("1440", 1440)],
)
def test_whole_minutes_are_read(text: str, minutes: int) -> None:
    assert parse_minutes(text) == minutes


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("-5", "negative"),
        ("37.5", "whole minutes"),
        ("1441", "more than a day"),
        ("1:30", "hours:minutes"),
        ("thirty", "not a number"),
        ("", "empty"),
    ],
)
def test_bad_minutes_are_refused(text: str, reason: str) -> None:
    with pytest.raises(BadCell, match=reason):
        parse_minutes(text)


def test_position_and_size_drive_a_progress_bar_for_files_only() -> None:
    reader = ExportFrames(CSV / "crlf.csv")
    assert reader.position() is None
    items = iter(reader)
    next(items)
    assert reader.size == (CSV / "crlf.csv").stat().st_size
    assert reader.position() == reader.size  # a small file is read in one buffer
    stream = ExportFrames(io.BytesIO((CSV / "crlf.csv").read_bytes()))
    frames(stream)
    assert stream.size is None and stream.position() is None


def test_a_truncated_gzip_file_is_an_input_error(tmp_path: Path) -> None:
    broken = tmp_path / "cut.csv.gz"
    broken.write_bytes((CSV / "export.csv.gz").read_bytes()[:-20])
    with pytest.raises(InputError, match="gzip"):
        read(broken)


def test_an_empty_patient_id_on_the_first_rows_is_rejected_like_any_other() -> None:
    text = "Patient,DOS,Minutes\n,2026-03-02,38\nP2,2026-03-02,38\n,2026-03-03,38\n"
    good, bad, reader = read(io.StringIO(text))
    assert [r.line for r in good] == [3]
    assert [(b.line, b.column, b.reason) for b in bad] == [
        (2, "Patient", "the patient id is empty"),
        (4, "Patient", "the patient id is empty"),
    ]
    assert (reader.rows_read, reader.rows_rejected) == (3, 2)


@pytest.mark.parametrize("cell", ["-1+2", "office", "111", "1.5", "２２"])
def test_a_place_of_service_that_is_not_a_cms_code_rejects_its_row(cell: str) -> None:
    """One bad cell is one rejected row: it used to stop the whole priced run (exit 2)."""
    text = "Patient,DOS,Minutes,POS\nP1,2026-03-02,38,11\n"
    text += f"P2,2026-03-02,38,{cell}\nP3,2026-03-02,38,02\n"
    good, bad, _ = read(io.StringIO(text))
    assert [(r.line, r.place_of_service) for r in good] == [(2, "11"), (4, "02")]
    assert [(b.line, b.column) for b in bad] == [(3, "POS")]
    assert "is not a 2-digit CMS code" in bad[0].reason


def test_a_one_digit_or_blank_place_of_service_is_read_as_written() -> None:
    text = "Patient,DOS,Minutes,POS\nP1,2026-03-02,38,2\nP2,2026-03-02,38, \n"
    good, bad, _ = read(io.StringIO(text))
    assert [r.place_of_service for r in good] == ["2", None] and not bad


@pytest.mark.parametrize(
    "name", ["bad_rows.csv", "blank_lines.csv", "quoted_commas.csv", "export.csv.gz"]
)
@pytest.mark.parametrize("chunk_rows", [1, 2, 5])
def test_rows_rejections_and_lines_do_not_depend_on_the_chunk_size(
    name: str, chunk_rows: int
) -> None:
    rows, bad, reader = read(CSV / name)
    in_parts, bad_in_parts, parts_reader = read(CSV / name, chunk_rows=chunk_rows)
    assert (in_parts, bad_in_parts) == (rows, bad)
    assert parts_reader.blank_lines == reader.blank_lines
