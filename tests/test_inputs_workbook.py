"""Excel workbooks read as the rows a CSV export of the sheet would hold (issue 10).

The workbooks are built here with openpyxl (real date, time and number cells, a blank row, two
sheets); the reader must give the strings the cell parsers read.
"""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from cognibill.errors import InputError
from cognibill.inputs.cells import (
    minutes_between,
    parse_clock,
    parse_date,
    parse_duration,
    parse_minutes,
)
from cognibill.inputs.workbook import cell_text, is_workbook, read_sheet

openpyxl = pytest.importorskip("openpyxl")


def visits_workbook(path: Path) -> Path:
    """A therapy clinic's visits sheet, and a second sheet of notes."""
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "Visits"
    sheet.append(["Client", "DOS", "Start", "End", "Minutes", "CPT", "Rate", "Group"])
    sheet.append(["C-102", dt.date(2026, 3, 2), dt.time(11, 30), dt.time(12, 15), 45, "97129"])
    sheet.append(["C-103", dt.date(2026, 3, 24), dt.time(9, 0), dt.time(9, 38), 38.0, 97110, 1.5])
    sheet.append([])
    sheet.append(["C-104", dt.datetime(2026, 3, 3, 13, 5), None, None, 0.1 + 0.2, "97530"])
    sheet["H2"] = True
    sheet["H3"] = False
    sheet.number_format = "General"
    for cell in ("B2", "B3"):
        sheet[cell].number_format = "mm/dd/yyyy"
    notes = book.create_sheet("Notes")
    notes.append(["written by", "front desk"])
    book.save(path)
    return path


def test_cells_come_back_as_a_csv_export_prints_them(tmp_path: Path) -> None:
    found = read_sheet(visits_workbook(tmp_path / "visits.xlsx"), None)
    assert found.name == "Visits"
    assert found.names == ["Visits", "Notes"]
    assert list(found.rows) == [
        ["Client", "DOS", "Start", "End", "Minutes", "CPT", "Rate", "Group"],
        ["C-102", "2026-03-02", "11:30", "12:15", "45", "97129", "", "TRUE"],
        ["C-103", "2026-03-24", "09:00", "09:38", "38", "97110", "1.5", "FALSE"],
        ["", "", "", "", "", "", "", ""],
        ["C-104", "2026-03-03 13:05", "", "", "0.3", "97530", "", ""],
    ]


def test_the_strings_are_what_the_cell_parsers_read(tmp_path: Path) -> None:
    """A workbook's date and time cells give a visit's date and minutes (RULES.md §11)."""
    rows = list(read_sheet(visits_workbook(tmp_path / "visits.xlsx"), None).rows)
    first, second = rows[1], rows[2]
    assert parse_date(first[1]) == dt.date(2026, 3, 2)
    assert minutes_between(first[2], first[3]) == 45
    assert minutes_between(second[2], second[3]) == parse_minutes(second[4]) == 38
    assert parse_date(rows[4][1]) == dt.date(2026, 3, 3)


def test_another_sheet_is_read_by_its_name(tmp_path: Path) -> None:
    found = read_sheet(visits_workbook(tmp_path / "visits.xlsx"), "Notes")
    assert (found.name, list(found.rows)) == ("Notes", [["written by", "front desk"]])


def test_an_unknown_sheet_names_the_sheets_there_are(tmp_path: Path) -> None:
    path = visits_workbook(tmp_path / "visits.xlsx")
    with pytest.raises(InputError) as caught:
        read_sheet(path, "Sheet1")
    assert caught.value.reason == "no sheet named 'Sheet1'; the sheets are 'Visits', 'Notes'"
    assert caught.value.hint == "name one with --sheet"
    assert caught.value.path == str(path)


def test_rows_are_numbered_as_excel_numbers_them(tmp_path: Path) -> None:
    """A title above the header and an empty column A: row 3 is the header, as in Excel."""
    book = openpyxl.Workbook()
    sheet = book.active
    sheet["B1"] = "Billing export, March 2026"
    sheet["B3"] = "Client"
    sheet["C3"] = "Duration"
    sheet["B5"] = "C-102"
    sheet["C5"] = dt.timedelta(minutes=38)
    sheet["C5"].number_format = "[h]:mm"
    path = tmp_path / "titled.xlsx"
    book.save(path)
    assert list(read_sheet(path).rows) == [
        ["", "Billing export, March 2026", ""],
        ["", "", ""],
        ["", "Client", "Duration"],
        ["", "", ""],
        ["", "C-102", "0:38"],
    ]
    assert parse_duration("0:38") == 38


def test_a_chart_sheet_first_in_the_tabs_is_passed_over(tmp_path: Path) -> None:
    book = openpyxl.Workbook()
    book.active.title = "Visits"
    book.active.append(["Client", "Minutes"])
    book.create_chartsheet("Chart", 0)
    path = tmp_path / "charted.xlsx"
    book.save(path)
    found = read_sheet(path)
    assert (found.name, found.names, list(found.rows)) == (
        "Visits",
        ["Chart", "Visits"],
        [["Client", "Minutes"]],
    )


def test_an_empty_sheet_has_no_rows(tmp_path: Path) -> None:
    path = tmp_path / "empty.xlsx"
    openpyxl.Workbook().save(path)
    found = read_sheet(path)
    assert (found.name, list(found.rows)) == ("Sheet", [])


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (None, ""),
        ("  as written ", "  as written "),
        (38, "38"),
        (38.0, "38"),
        (-0.0, "0"),
        (1.5, "1.5"),
        (0.1 + 0.2, "0.3"),
        (1 / 3, "0.333333333333333"),
        (123456789012.0, "123456789012"),
        (1e20, "1e+20"),
        (True, "TRUE"),
        (False, "FALSE"),
        (dt.date(2026, 3, 2), "2026-03-02"),
        (dt.datetime(2026, 3, 2, 13, 5), "2026-03-02 13:05"),
        (dt.datetime(2026, 3, 2), "2026-03-02"),
        (dt.datetime(2026, 3, 2, 13, 4, 59, 999_000), "2026-03-02 13:05"),
        (dt.datetime(2026, 3, 2, 23, 59, 59, 600_000), "2026-03-03"),
        (dt.datetime(2026, 3, 2, 13, 5, 30), "2026-03-02 13:05:30"),
        (dt.time(13, 5), "13:05"),
        (dt.time(9, 30, 15), "09:30:15"),
        (dt.timedelta(minutes=75), "1:15"),
        (dt.timedelta(hours=26), "26:00"),
    ],
)
def test_each_kind_of_cell_has_one_text(value: object, text: str) -> None:
    assert cell_text(value) == text


def test_every_time_cell_of_the_day_is_read_back_as_its_minute() -> None:
    """A workbook's time cells give start and end times (RULES.md §11)."""
    for minute in range(24 * 60):
        cell = cell_text(dt.time(*divmod(minute, 60)))
        assert parse_clock(cell) == minute
        assert parse_duration(cell_text(dt.timedelta(minutes=minute))) == minute


# -- files that are not workbooks -----------------------------------------------------------


def refused(path: Path) -> str:
    with pytest.raises(InputError) as caught:
        read_sheet(path)
    assert "\n" not in caught.value.message
    return caught.value.reason


def test_a_csv_file_is_not_a_workbook(tmp_path: Path) -> None:
    path = tmp_path / "export.xlsx"
    path.write_text("Client,DOS,Minutes\nC-102,2026-03-02,38\n")
    assert not is_workbook(path)
    assert refused(path) == "is not an Excel workbook (.xlsx): save it as .xlsx or CSV"


def test_an_old_xls_or_an_encrypted_workbook_is_refused_with_what_to_do(tmp_path: Path) -> None:
    path = tmp_path / "export.xls"
    path.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 504)
    assert is_workbook(path)
    assert refused(path) == (
        "is an old binary Excel file (.xls) or a password-protected workbook, which cannot be "
        "read: remove any password, then save it as .xlsx or CSV"
    )


def test_another_zip_file_is_not_a_workbook(tmp_path: Path) -> None:
    path = tmp_path / "notes.docx"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("word/document.xml", "<w:document/>")
    assert not is_workbook(path)
    assert refused(path) == (
        "is a zip file but not an Excel workbook (.xlsx): save it as .xlsx or CSV"
    )


def test_a_workbook_cut_short_is_damaged(tmp_path: Path) -> None:
    whole = visits_workbook(tmp_path / "whole.xlsx").read_bytes()
    path = tmp_path / "cut.xlsx"
    path.write_bytes(whole[: len(whole) // 2])
    assert is_workbook(path)
    assert refused(path) == (
        "is a damaged workbook (not a complete zip file): save it again as .xlsx or CSV"
    )


def test_a_workbook_whose_parts_are_garbage_is_refused_on_one_line(tmp_path: Path) -> None:
    path = tmp_path / "garbage.xlsx"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("xl/workbook.xml", "this is not xml <<<")
    assert is_workbook(path)
    assert refused(path).startswith("cannot read the workbook: ")


def test_a_missing_file_says_so(tmp_path: Path) -> None:
    assert not is_workbook(tmp_path / "nowhere.xlsx")
    assert refused(tmp_path / "nowhere.xlsx") == (
        "cannot open the workbook: No such file or directory"
    )


# -- start-up ---------------------------------------------------------------------------------


def test_the_workbook_reader_is_loaded_only_to_read_a_workbook() -> None:
    """``cognibill --version`` and importing the module load no xlsx library."""
    probe = (
        "import json, sys\n"
        "from cognibill.cli import main\n"
        "import cognibill.inputs.workbook\n"
        "try:\n"
        "    main(['--version'])\n"
        "except SystemExit:\n"
        "    pass\n"
        "sys.stderr.write(json.dumps([m for m in ('python_calamine', 'openpyxl', 'fastexcel')"
        " if m in sys.modules]))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=False
    )
    assert json.loads(done.stderr.strip().splitlines()[-1]) == []
