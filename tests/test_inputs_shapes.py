"""The exports billers actually have (issue 10): headers found below a title, total and blank
rows skipped, vendor shapes, times and durations, units-only files, absent columns, credentials,
codes outside the catalogue and workbooks.

Every input is a small fictional CSV (or workbook) written in ``tmp_path`` by the test itself.
Reader-level tests use :class:`~cognibill.inputs.export.ExportFrames`; the others run
``cognibill claim -f json --no-estimate`` in-process (the ``cli`` fixture). In every test the
file's rows add up: rows read = used + rejected + skipped (RULES.md §11: what a file proves is
what it holds, and every row of it is accounted for).
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Callable
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from cognibill.errors import InputError
from cognibill.inputs.export import ABOVE_HEADER, BLANK_ROW, TOTAL_ROW, ExportFrames, is_total
from cognibill.inputs.shapes import all_shapes, detect
from tests.conftest import Run

Cli = Callable[..., Run]

HEADER = "Patient ID,Date of Service,CPT,Minutes,Provider,Discipline,Payer"
"""A generic export's header: every field a visit needs, by the usual names."""


# -- helpers ------------------------------------------------------------------------------------


def write(tmp_path: Path, text: str, name: str = "export.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


class Read:
    """Every chunk of one export, concatenated."""

    def __init__(self, path: Path, **options: Any) -> None:
        self.frames = ExportFrames(path, **options)
        chunks = list(self.frames)
        self.rows = pl.concat([c.rows for c in chunks]) if chunks else pl.DataFrame()
        self.rejected = pl.concat([c.rejected for c in chunks]) if chunks else pl.DataFrame()
        self.skipped = pl.concat([c.skipped for c in chunks]) if chunks else pl.DataFrame()
        frames = self.frames
        assert self.rows.height == frames.rows_used
        assert self.rejected.height == frames.rows_rejected
        assert self.skipped.height == frames.rows_skipped
        assert frames.rows_read == frames.rows_used + frames.rows_rejected + frames.rows_skipped

    def skipped_lines(self) -> list[tuple[int, str]]:
        return [(r["line"], r["reason"]) for r in self.skipped.iter_rows(named=True)]

    def lines(self) -> list[int]:
        return self.rows.get_column("line").to_list()


def header_error(path: Path, **options: Any) -> InputError:
    with pytest.raises(InputError) as caught:
        list(ExportFrames(path, **options))
    return caught.value


def claim(cli: Cli, path: Path, *args: str) -> tuple[Run, dict[str, Any]]:
    run = cli("claim", str(path), "-f", "json", "--no-estimate", *args)
    assert run.out, run.err
    data = run.json()
    adds_up(data)
    return run, data


def adds_up(data: dict[str, Any]) -> None:
    """rows read = used + rejected + skipped, and each count is the list it counts."""
    s = data["summary"]
    assert s["rows_read"] == s["rows_used"] + s["rows_rejected"] + s["rows_skipped"]
    assert s["rows_rejected"] == len(data["rejected"])
    assert s["rows_skipped"] == len(s["skipped"])


def lines_of(data: dict[str, Any]) -> list[tuple[int, str, str, int, int | None, list[str]]]:
    """(line, patient, code, units, minutes, modifiers) of every claim line."""
    return [
        (x["line"], x["patient_id"], x["code"], x["units"], x["minutes"], x["modifiers"])
        for x in data["lines"]
    ]


def ids_of(data: dict[str, Any]) -> dict[str, set[str]]:
    """Patient -> the ids of the findings on its lines."""
    found: dict[str, set[str]] = {}
    for x in data["lines"]:
        found.setdefault(x["patient_id"], set()).update(f["id"] for f in x["findings"])
    return found


def notes_of(data: dict[str, Any], rule: str) -> list[dict[str, Any]]:
    return [n for n in data["summary"]["notes"] if n["id"] == rule]


def rejected_of(data: dict[str, Any]) -> list[tuple[int, str | None, str]]:
    return [(r["line"], r["column"], r["reason"]) for r in data["rejected"]]


def skipped_of(data: dict[str, Any]) -> list[tuple[int, str]]:
    return [(s["line"], s["reason"]) for s in data["summary"]["skipped"]]


# -- 1. the header, below a report title (RULES.md §11) -----------------------------------------

TITLED = (
    "Northside Therapy - visits, March 2026\n"
    "Tax ID: 00-0000000\n"
    "\n"
    f"{HEADER}\n"
    "P1,2026-03-02,97110,15,Ann Lee,PT,Medicare\n"
    "P2,2026-03-02,97112,23,Ann Lee,PT,Medicare\n"
)


def test_a_report_title_and_metadata_lines_above_the_header_are_skipped_at_their_own_lines(
    tmp_path: Path,
) -> None:
    """RULES.md §11: the lines above the header are no service; they are counted as skipped and
    every row keeps the file's line number."""
    read = Read(write(tmp_path, TITLED))
    assert read.frames.header_line == 4
    assert read.skipped_lines() == [(1, ABOVE_HEADER), (2, ABOVE_HEADER), (3, ABOVE_HEADER)]
    assert read.lines() == [5, 6]
    assert read.frames.rows_read == 5  # 3 lines above the header and 2 rows


def test_lines_above_the_header_are_in_the_summary_as_skipped_and_read(
    cli: Cli, tmp_path: Path
) -> None:
    """RULES.md §11: rows read = used + rejected + skipped, the title lines among the skipped."""
    run, data = claim(cli, write(tmp_path, TITLED))
    assert run.code == 0
    s = data["summary"]
    assert (s["rows_read"], s["rows_used"], s["rows_skipped"]) == (5, 2, 3)
    assert skipped_of(data) == [(1, ABOVE_HEADER), (2, ABOVE_HEADER), (3, ABOVE_HEADER)]
    assert [x["line"] for x in data["lines"]] == [5, 6]
    assert s["read_as"][0]["header_line"] == 4


def test_a_header_on_the_first_line_skips_nothing(tmp_path: Path) -> None:
    """RULES.md §11 (edge): an export that starts with its header has nothing above it."""
    read = Read(write(tmp_path, f"{HEADER}\nP1,2026-03-02,97110,15,Ann Lee,PT,Medicare\n"))
    assert read.frames.header_line == 1
    assert read.skipped_lines() == []
    assert read.lines() == [2]


def test_a_first_line_header_missing_minutes_is_the_missing_column_error_not_a_search(
    tmp_path: Path,
) -> None:
    """RULES.md §11: a header that lacks a column is reported as such; no line further down is
    taken for the header instead (here line 3 would be one)."""
    path = write(
        tmp_path,
        "Patient ID,Date of Service,CPT,Provider\n"
        "P1,2026-03-02,97110,Ann Lee\n"
        "Patient ID,Date of Service,Minutes\n"
        "P1,2026-03-02,15\n",
    )
    err = header_error(path)
    assert err.reason == "missing required column: minutes"
    assert err.line == 1


def test_a_metadata_line_naming_one_field_is_skipped_as_above_the_header(tmp_path: Path) -> None:
    """RULES.md §11 (edge): "Provider,Ann Lee" names one field (provider): a metadata line."""
    path = write(
        tmp_path,
        f"Visit report\nProvider,Ann Lee\n{HEADER}\nP1,2026-03-02,97110,15,Ann Lee,PT,Medicare\n",
    )
    read = Read(path)
    assert read.skipped_lines() == [(1, ABOVE_HEADER), (2, ABOVE_HEADER)]
    assert read.lines() == [4]


TWO_FIELDS = "Visit report\nPatient ID,Date of Service,CPT\nP1,2026-03-02,97110\n"
"""A title, then a line naming patient, date and code: a header attempt that lacks minutes."""


def test_a_line_naming_two_fields_is_a_header_attempt_and_its_missing_column_is_the_error(
    tmp_path: Path,
) -> None:
    """RULES.md §11: below a title, a line naming several fields is the header; what it lacks
    (minutes) is the error, not the title's lack of every column."""
    err = header_error(write(tmp_path, TWO_FIELDS))
    assert err.reason == "missing required column: minutes"


def test_the_missing_column_error_of_a_header_below_a_title_names_the_header_line(
    tmp_path: Path,
) -> None:
    """RULES.md §11: the error points at the header line (2), where a column must be added."""
    err = header_error(write(tmp_path, TWO_FIELDS))
    assert err.line == 2


def _titled(titles: int, blanks_between: bool = False) -> str:
    above = "".join(
        f"Report line {i}\n" + ("\n" if blanks_between else "") for i in range(1, titles + 1)
    )
    return above + f"{HEADER}\nP1,2026-03-02,97110,15,Ann Lee,PT,Medicare\n"


def test_a_header_on_the_25th_non_blank_line_is_found(tmp_path: Path) -> None:
    """RULES.md §11: up to 25 non-blank lines are searched; blank lines between do not count."""
    read = Read(write(tmp_path, _titled(24, blanks_between=True)))
    assert read.frames.header_line == 49  # 24 titles, each followed by a blank line
    assert read.lines() == [50]
    assert read.frames.rows_skipped == 48


def test_a_header_on_the_26th_non_blank_line_is_not_searched_for(tmp_path: Path) -> None:
    """RULES.md §11 (edge): past 25 lines the first line's error is given."""
    err = header_error(write(tmp_path, _titled(25)))
    assert err.reason == "missing required columns: patient, date, minutes"
    assert err.line == 1


# -- 2. total rows and blank rows below the data (RULES.md §11) ----------------------------------


@pytest.mark.parametrize(
    "label",
    ["Total", "Grand Total", "Report Total", "Totals", '"Total for Doe, Jane"', "grand total:"],
)
def test_a_report_total_row_is_skipped_and_counted(tmp_path: Path, label: str) -> None:
    """RULES.md §11: a report's total line is no service: skipped as "a total row"."""
    path = write(
        tmp_path,
        f"{HEADER}\nP1,2026-03-02,97110,15,Ann Lee,PT,Medicare\n{label},,,15,,,\n",
    )
    read = Read(path)
    assert read.skipped_lines() == [(3, TOTAL_ROW)]
    assert read.lines() == [2]
    assert read.rejected.height == 0
    assert read.frames.rows_read == 2


def test_a_total_label_in_the_second_column_is_a_total_row(tmp_path: Path) -> None:
    """RULES.md §11: the first non-empty cell decides, whatever column it is in."""
    path = write(
        tmp_path, f"{HEADER}\nP1,2026-03-02,97110,15,Ann Lee,PT,Medicare\n,Grand Total,,15,,,\n"
    )
    assert Read(path).skipped_lines() == [(3, TOTAL_ROW)]


def test_a_total_label_in_the_third_column_is_a_total_row(tmp_path: Path) -> None:
    """RULES.md §11: "Total" as the first non-empty cell of a full row, under the CPT column
    (the first two cells empty), is a total row, not a rejected service."""
    path = write(tmp_path, f"{HEADER}\nP1,2026-03-02,97110,15,Ann Lee,PT,Medicare\n,,Total,15,,,\n")
    read = Read(path)
    assert read.skipped_lines() == [(3, TOTAL_ROW)]
    assert read.rejected.height == 0


@pytest.mark.parametrize("cell", ["Totten", "Subtotals 2", "Totally New", "Total2"])
def test_a_patient_whose_name_starts_like_total_is_a_patient(tmp_path: Path, cell: str) -> None:
    """RULES.md §11 (edge): only the words of a total row ("Total", "Total for ...") are one;
    "Totten" and "Subtotals 2" are not (``is_total``)."""
    assert not is_total(cell)
    path = write(tmp_path, f"{HEADER}\n{cell},2026-03-02,97110,15,Ann Lee,PT,Medicare\n")
    read = Read(path)
    assert read.skipped_lines() == []
    assert read.rows.get_column("patient").to_list() == [cell]


def test_a_total_row_with_fewer_cells_than_the_header_is_skipped_not_rejected(
    tmp_path: Path,
) -> None:
    """RULES.md §11: a short "Grand Total" line is a total, not a row of the wrong width."""
    path = write(
        tmp_path,
        f"{HEADER}\nP1,2026-03-02,97110,15,Ann Lee,PT,Medicare\nGrand Total,15\nTotal\n",
    )
    read = Read(path)
    assert read.skipped_lines() == [(3, TOTAL_ROW), (4, TOTAL_ROW)]
    assert read.rejected.height == 0


def test_a_short_row_that_is_no_total_is_still_rejected(tmp_path: Path) -> None:
    """RULES.md §11 (edge): a short row of a patient is a row of the wrong width."""
    path = write(tmp_path, f"{HEADER}\nP1,2026-03-02,97110,15,Ann Lee,PT,Medicare\nP2,15\n")
    read = Read(path)
    assert read.skipped_lines() == []
    assert read.rejected.get_column("line").to_list() == [3]
    assert "expected 7 cells like the header, found 2" in read.rejected.get_column("reason")[0]


def test_blank_rows_after_the_header_are_skipped_as_blank_rows(cli: Cli, tmp_path: Path) -> None:
    """RULES.md §11: empty lines and lines of empty cells are counted as skipped, not rows."""
    path = write(
        tmp_path,
        f"{HEADER}\nP1,2026-03-02,97110,15,Ann Lee,PT,Medicare\n\n,,,,,,\n"
        "P2,2026-03-02,97110,15,Ann Lee,PT,Medicare\nGrand Total,,,30,,,\n,,\n",
    )
    read = Read(path)
    assert read.skipped_lines() == [(3, BLANK_ROW), (4, BLANK_ROW), (6, TOTAL_ROW), (7, BLANK_ROW)]
    assert read.lines() == [2, 5]
    run, data = claim(cli, path)
    assert run.code == 0
    s = data["summary"]
    assert (s["rows_read"], s["rows_used"], s["rows_rejected"], s["rows_skipped"]) == (6, 2, 0, 4)


# -- 3. vendor shapes, from the header (RULES.md §11, EXPORTS.md) -------------------------------


@pytest.mark.parametrize("shape", all_shapes(), ids=lambda s: s.name)
def test_each_vendor_shape_is_recognised_from_a_header_holding_its_signature(shape: Any) -> None:
    """EXPORTS.md: a shape is known by its documented headers, in any case and spacing, among
    other columns."""
    header = ["Notes", *(s.upper().replace(" ", "_") for s in shape.signature), "Location"]
    assert detect(header) == shape


def test_a_header_without_any_signature_is_a_generic_export() -> None:
    """EXPORTS.md (edge): a generic header matches no vendor shape."""
    assert detect(HEADER.split(",")) is None


@pytest.mark.parametrize("shape", all_shapes(), ids=lambda s: s.name)
def test_a_header_missing_one_signature_column_is_not_that_shape(shape: Any) -> None:
    """EXPORTS.md (edge): a shape needs its whole signature."""
    assert detect(list(shape.signature[1:])) != shape


def test_the_shape_with_the_longest_signature_wins() -> None:
    """EXPORTS.md: a header holding two shapes' signatures is the more specific one's."""
    for a, b in itertools.combinations(all_shapes(), 2):
        found = detect([*a.signature, *b.signature])
        assert found in (a, b)
        assert found is not None
        assert len(found.signature) == max(len(a.signature), len(b.signature))
        if len(a.signature) != len(b.signature):
            assert found == max(a, b, key=lambda s: len(s.signature))


# One fictional file per shape (headers as EXPORTS.md documents them), and what it reads as:
# (text, minutes_from, header line, (patient, code, units, minutes, discipline, payer) per line).
SHAPE_FILES: dict[str, tuple[str, str, int, list[tuple[Any, ...]]]] = {
    "webpt-billed-units": (
        "Clinic Name,Visit ID,Patient Name,Patient DOB,Date of Service,Date of Finalization,"
        "Documenting Therapist,Finalizing Therapist,Primary Insurance,Modifier,CPT Code,Units\n"
        'Northside,V1,"Doe, Jane",1/1/50,3/2/26,3/3/26,"Smith, Anna PT","Smith, Anna PT",'
        "Medicare,,97110,2\n",
        "units",
        1,
        [("Doe, Jane", "97110", 2, None, "pt", "medicare")],
    ),
    "webpt-charges-extract": (
        "visit_date,cpt,patient_id,case_id,visit_id,therapist_id,cosign_therapist_id,"
        "insurance_type_id,units,charge_amount,note_type,cpt_modifier\n"
        "2026-03-02,97110,1001,C1,V1,T9,,3,2,120.00,DN,GP\n",
        "units",
        1,
        [("1001", "97110", 2, None, None, "medicare")],
    ),
    "simplepractice-appointment-status": (
        "Date of Service,Client,Clinician,Billing Code,Rate Per Unit,Units,Total Fee,"
        "Progress Note Status,Charge,Paid,Unpaid\n"
        '03/02/2026,Jane Doe,"Anna Smith, CCC-SLP",97129,100.00,1,100.00,Complete,100.00,0,100\n',
        "units",
        1,
        [("Jane Doe", "97129", 1, None, "slp", "medicare")],
    ),
    "ensora-visits": (
        "Visit Date,Patient,Appointment Type,Duration,Treating Therapist,CPT,Units,Charges\n"
        '2026-03-02,P1,Follow-up,0:38,"Sam Rivera, PT, DPT",97110,3,150.00\n',
        "minutes",
        1,
        [("P1", "97110", 3, 38, "pt", "medicare")],
    ),
    "openemr-sales-by-item": (
        '"Category","Item","Date","ID","Qty","Amount"\n'
        '"Therapy","97110 Therapeutic exercise","2026-03-02","P1","2","120.00"\n',
        "units",
        1,
        [("P1", "97110", 2, None, None, "medicare")],
    ),
    "rethink-billing": (
        "Billing export\nTax ID: 00-0000000\nTime zone: US/Eastern\n\n"
        "Validation,Client,Appt Type,Appt Status,Office Location,Funder,Date of Service,"
        "Actual Start Time,Actual End Time,CPT,Rendering Provider\n"
        'OK,P1,Therapy,Completed,Main,Medicare,2026-03-02,11:30 AM,12:15 PM,97110,"Kim Ode, PTA"\n',
        "start-end",
        5,
        [("P1", "97110", 3, 45, "pta", "medicare")],
    ),
}


@pytest.mark.parametrize("shape", all_shapes(), ids=lambda s: s.name)
def test_each_vendor_file_reads_with_no_flag_and_the_summary_says_how(
    cli: Cli, tmp_path: Path, shape: Any
) -> None:
    """EXPORTS.md, RULES.md §11: a vendor's file runs with no flag; ``read_as`` names its shape,
    header line and where its minutes come from."""
    text, minutes_from, header_line, expected = SHAPE_FILES[shape.name]
    run, data = claim(cli, write(tmp_path, text))
    assert run.code == 0, data["rejected"]
    [read_as] = data["summary"]["read_as"]
    assert (read_as["shape"], read_as["header_line"], read_as["minutes_from"]) == (
        shape.name,
        header_line,
        minutes_from,
    )
    got = [
        (x["patient_id"], x["code"], x["units"], x["minutes"], x["discipline"], x["payer"])
        for x in data["lines"]
    ]
    assert got == expected


def test_a_generic_export_reads_as_no_shape(cli: Cli, tmp_path: Path) -> None:
    """EXPORTS.md (edge): ``read_as`` says null for a file of no vendor shape."""
    _, data = claim(cli, write(tmp_path, f"{HEADER}\nP1,2026-03-02,97110,15,Ann Lee,PT,Medicare\n"))
    [read_as] = data["summary"]["read_as"]
    assert read_as["shape"] is None
    assert (read_as["header_line"], read_as["minutes_from"]) == (1, "minutes")
    assert read_as["columns"]["minutes"] == ["Minutes"]


OPENEMR_WITHOUT_CATEGORY = (
    '"Item","Date","ID","Qty","Amount"\n"97110 Therapeutic exercise","2026-03-02","P1","2","120"\n'
)
"""An OpenEMR sales-by-item export whose Category column was removed: no shape matches it, and
"ID" is no generic patient header."""


def test_from_forces_a_shape_the_header_does_not_show(cli: Cli, tmp_path: Path) -> None:
    """EXPORTS.md: ``--from NAME`` reads a file as that shape whatever its header says."""
    path = write(tmp_path, OPENEMR_WITHOUT_CATEGORY)
    run, data = claim(cli, path, "--from", "openemr-sales-by-item")
    assert run.code == 0
    assert data["summary"]["read_as"][0]["shape"] == "openemr-sales-by-item"
    assert [(x["patient_id"], x["code"], x["units"]) for x in data["lines"]] == [("P1", "97110", 2)]


def test_without_from_the_same_file_is_the_missing_column_error(cli: Cli, tmp_path: Path) -> None:
    """EXPORTS.md (edge): with no shape the file lacks a patient column: exit 3."""
    run = cli("claim", str(write(tmp_path, OPENEMR_WITHOUT_CATEGORY)), "-f", "json")
    assert run.code == 3
    assert "no patient column" in run.err


def test_from_an_unknown_shape_is_a_usage_error_with_did_you_mean(cli: Cli, tmp_path: Path) -> None:
    """A mistyped ``--from`` is a command-line mistake (exit 2) with the nearest name."""
    path = write(tmp_path, f"{HEADER}\nP1,2026-03-02,97110,15,Ann Lee,PT,Medicare\n")
    run = cli("claim", str(path), "--from", "webpt-billed-unit", "-f", "json")
    assert run.code == 2
    assert run.out == ""
    assert "--from webpt-billed-unit: no such export shape" in run.err
    assert "did you mean webpt-billed-units?" in run.err


def test_from_a_name_like_no_shape_lists_the_known_ones(cli: Cli, tmp_path: Path) -> None:
    """(edge) Nothing close: the hint lists every shape."""
    path = write(tmp_path, f"{HEADER}\nP1,2026-03-02,97110,15,Ann Lee,PT,Medicare\n")
    run = cli("claim", str(path), "--from", "zzzz")
    assert run.code == 2
    assert all(shape.name in run.err for shape in all_shapes())


WEBPT_EXTRACT = (
    "visit_date,cpt,patient_id,visit_id,therapist_id,insurance_type_id,units\n"
    "2026-03-02,97110,1001,V1,T9,3,2\n"
    "2026-03-02,97112,1002,V2,T9,7,1\n"
)


def test_webpt_insurance_type_3_is_medicare(cli: Cli, tmp_path: Path) -> None:
    """RULES.md §8, EXPORTS.md: in WebPT's charges extract insurance_type_id 3 is Medicare."""
    _, data = claim(cli, write(tmp_path, WEBPT_EXTRACT))
    assert [(x["patient_id"], x["payer"]) for x in data["lines"]] == [
        ("1001", "medicare"),
        ("1002", "commercial"),
    ]


def test_webpt_insurance_type_7_is_a_payer_without_a_profile(cli: Cli, tmp_path: Path) -> None:
    """RULES.md §8 (edge): another type id is no Medicare: a payer-fallback note, once."""
    _, data = claim(cli, write(tmp_path, WEBPT_EXTRACT))
    assert [n["message"] for n in notes_of(data, "payer-fallback")] == [
        "payer '7' has no profile: checked and priced as 'commercial' (1 visit)."
    ]


# -- 4. time: start and end, durations (RULES.md §11) --------------------------------------------


def test_start_and_end_times_give_the_minutes_also_across_noon(cli: Cli, tmp_path: Path) -> None:
    """RULES.md §11: minutes are end - start; 11:30 AM to 12:15 PM is 45 (3 units, §1)."""
    path = write(
        tmp_path,
        "Patient ID,Date of Service,CPT,Start Time,End Time,Provider,Discipline\n"
        "P1,2026-03-02,97110,11:30 AM,12:15 PM,Ann Lee,PT\n"
        "P2,2026-03-02,97110,13:00,13:38,Ann Lee,PT\n",
    )
    run, data = claim(cli, path)
    assert run.code == 0
    assert [(x["patient_id"], x["minutes"], x["units"]) for x in data["lines"]] == [
        ("P1", 45, 3),
        ("P2", 38, 3),
    ]
    assert data["summary"]["read_as"][0]["minutes_from"] == "start-end"


def test_time_in_and_time_out_give_the_minutes(cli: Cli, tmp_path: Path) -> None:
    """RULES.md §11: "Time In"/"Time Out" are start and end times."""
    path = write(
        tmp_path,
        "Patient ID,Date of Service,CPT,Time In,Time Out,Provider,Discipline\n"
        "P1,2026-03-02,97110,9:00,9:38,Ann Lee,PT\n",
    )
    _, data = claim(cli, path)
    assert [(x["minutes"], x["units"]) for x in data["lines"]] == [(38, 3)]


def test_an_end_before_its_start_is_a_rejected_row_naming_both_columns(
    cli: Cli, tmp_path: Path
) -> None:
    """RULES.md §11: a service whose end is before its start is a bad row."""
    path = write(
        tmp_path,
        "Patient ID,Date of Service,CPT,Start Time,End Time,Provider,Discipline\n"
        "P1,2026-03-02,97110,13:00,13:38,Ann Lee,PT\n"
        "P3,2026-03-02,97110,14:00,13:30,Ann Lee,PT\n",
    )
    run, data = claim(cli, path)
    assert run.code == 1
    assert rejected_of(data) == [
        (3, "Start Time/End Time", "the service ends before it starts (14:00 to 13:30)")
    ]
    assert [x["patient_id"] for x in data["lines"]] == ["P1"]


def test_a_start_column_without_an_end_column_is_an_error_naming_the_missing_end(
    tmp_path: Path,
) -> None:
    """RULES.md §11: minutes cannot come from a start time alone."""
    path = write(
        tmp_path,
        "Patient ID,Date of Service,CPT,Start Time,Provider,Discipline\n"
        "P1,2026-03-02,97110,9:00,Ann Lee,PT\n",
    )
    err = header_error(path)
    assert err.reason == "a start time column ('Start Time') but no end time column"
    assert err.hint is not None and "--map end=HEADER" in err.hint


def test_a_start_column_next_to_a_minutes_column_is_no_error(tmp_path: Path) -> None:
    """RULES.md §11 (edge): with a minutes column, a lone start time is only a time of day."""
    path = write(
        tmp_path,
        "Patient ID,Date of Service,CPT,Start Time,Minutes,Provider,Discipline\n"
        "P1,2026-03-02,97110,9:00,38,Ann Lee,PT\n",
    )
    read = Read(path)
    assert read.rows.get_column("minutes").to_list() == [38]


@pytest.mark.parametrize(
    ("cell", "minutes", "units"),
    [("0:38", 38, 3), ("1h 15m", 75, 5), ("75m", 75, 5), ("38 min", 38, 3), ("1:05", 65, 4)],
)
def test_a_duration_bills_its_minutes(
    cli: Cli, tmp_path: Path, cell: str, minutes: int, units: int
) -> None:
    """RULES.md §1, §11: durations as EHRs write them are minutes (97110: 38 min is 3 units)."""
    path = write(
        tmp_path,
        f"Patient ID,Date of Service,CPT,Duration,Provider,Discipline\n"
        f"P1,2026-03-02,97110,{cell},Ann Lee,PT\n",
    )
    run, data = claim(cli, path)
    assert run.code == 0
    assert [(x["minutes"], x["units"]) for x in data["lines"]] == [(minutes, units)]


def test_a_duration_that_is_no_number_keeps_the_plain_reason(cli: Cli, tmp_path: Path) -> None:
    """RULES.md §11 (edge): 'thirty' is a bad cell, with today's reason."""
    path = write(
        tmp_path,
        "Patient ID,Date of Service,CPT,Duration,Provider,Discipline\n"
        "P1,2026-03-02,97110,thirty,Ann Lee,PT\n",
    )
    run, data = claim(cli, path)
    assert run.code == 1
    assert rejected_of(data) == [(2, "Duration", "'thirty' is not a number of minutes")]


# -- 5. units without minutes (RULES.md §11) ----------------------------------------------------

UNITS_ONLY = (
    "Patient ID,Date of Service,CPT,Units,Provider,Discipline,Payer\n"
    "P1,2026-03-02,97129,1,Ann Lee,SLP,Medicare\n"
    "P1,2026-03-02,97130,2,Ann Lee,SLP,Medicare\n"
    "P2,2026-03-02,97110,1,Bo Park,PT,Medicare\n"
)
MINUTE_CHECKS = ("units-not-supported", "below-minimum", "unit-tie", "invalid-minutes")


def test_a_units_only_file_bills_the_units_as_given(cli: Cli, tmp_path: Path) -> None:
    """RULES.md §11: a file of units without minutes is billed as its units say."""
    run, data = claim(cli, write(tmp_path, UNITS_ONLY))
    assert run.code == 0
    assert [(x["patient_id"], x["code"], x["units"], x["minutes"]) for x in data["lines"]] == [
        ("P1", "97129", 1, None),
        ("P1", "97130", 2, None),
        ("P2", "97110", 1, None),
    ]
    assert data["summary"]["read_as"][0]["minutes_from"] == "units"


def test_a_units_only_file_says_once_which_minute_checks_it_skips(cli: Cli, tmp_path: Path) -> None:
    """RULES.md §11: minutes missing is said once for the file, naming the checks skipped."""
    _, data = claim(cli, write(tmp_path, UNITS_ONLY))
    minute_notes = [n for n in notes_of(data, "checks-skipped") if "below-minimum" in n["message"]]
    assert len(minute_notes) == 1
    message = minute_notes[0]["message"]
    assert message.startswith("no minutes column (nor start and end times)")
    assert all(rule in message for rule in MINUTE_CHECKS)
    found = set().union(*ids_of(data).values())
    assert not found & set(MINUTE_CHECKS)


def test_the_same_units_with_too_few_minutes_do_get_the_minute_checks(
    cli: Cli, tmp_path: Path
) -> None:
    """RULES.md §1, §11 (edge): with a minutes column, 5 minutes cannot carry 97110's unit."""
    path = write(
        tmp_path,
        "Patient ID,Date of Service,CPT,Minutes,Units,Provider,Discipline,Payer\n"
        "P2,2026-03-02,97110,5,1,Bo Park,PT,Medicare\n",
    )
    _, data = claim(cli, path)
    assert ids_of(data)["P2"] & set(MINUTE_CHECKS)
    assert not [n for n in notes_of(data, "checks-skipped") if "below-minimum" in n["message"]]


def test_an_empty_units_cell_in_a_file_without_minutes_is_a_rejected_row(
    cli: Cli, tmp_path: Path
) -> None:
    """RULES.md §11: with no minutes, the units are all the row says: none is a bad row."""
    path = write(tmp_path, UNITS_ONLY + "P3,2026-03-02,97110,,Bo Park,PT,Medicare\n")
    run, data = claim(cli, path)
    assert run.code == 1
    assert rejected_of(data) == [(5, "Units", "no units, and the file has no minutes")]


MONEY_ONLY = (
    "Date of Service,Client,Clinician,Billing Code,Rate Per Unit,Charge,Total Fee,Time Charge\n"
    "03/02/2026,Jane Doe,Ann Lee,97129,100.00,100.00,100.00,100.00\n"
)


def test_a_file_with_no_minutes_times_or_units_is_the_missing_column_error(
    tmp_path: Path,
) -> None:
    """RULES.md §11: no minutes, no start and end, no units: nothing says the time."""
    err = header_error(write(tmp_path, MONEY_ONLY))
    assert err.reason == "missing required column: minutes"
    assert err.line == 1


def test_a_money_column_is_never_offered_for_the_minutes(cli: Cli, tmp_path: Path) -> None:
    """EXPORTS.md: Rate Per Unit, Charge, Total Fee are money, never a guess for minutes."""
    run = cli("claim", str(write(tmp_path, MONEY_ONLY)), "-f", "json")
    assert run.code == 3
    assert "closest" not in run.err
    assert "--map minutes" not in run.err
    assert "name the column with --map FIELD=HEADER" in run.err


def test_a_time_column_that_is_no_money_is_offered_for_the_minutes(tmp_path: Path) -> None:
    """EXPORTS.md (edge): "Session Length" is offered as the minutes column."""
    path = write(
        tmp_path,
        "Client,Date of Service,CPT,Session Length,Rate Per Unit\nC1,2026-03-02,97110,15,50\n",
    )
    err = header_error(path)
    assert err.hint is not None
    assert "--map minutes='Session Length'" in err.hint
    assert "Rate Per Unit'" not in err.hint.split("if one of them is right")[-1]


# -- 6. absent columns say nothing per visit (RULES.md §11, §7, §6, §8) -------------------------


def test_no_plan_column_means_no_plan_of_care_check_and_one_note(cli: Cli, tmp_path: Path) -> None:
    """RULES.md §11, §7: a file without a plan-of-care column proves nothing about the plan."""
    path = write(
        tmp_path,
        f"{HEADER}\nP1,2026-03-02,97110,15,Ann Lee,PT,Medicare\n"
        "P2,2026-03-02,97110,15,Ann Lee,PT,Medicare\n",
    )
    _, data = claim(cli, path)
    assert all("no-plan-of-care" not in ids for ids in ids_of(data).values())
    plan = [n for n in notes_of(data, "checks-skipped") if "no-plan-of-care" in n["message"]]
    assert [n["message"] for n in plan] == [
        "no plan-of-care column: not run: no-plan-of-care, plan-after-service, "
        "certification-lapsed, plan-incomplete"
    ]


def test_an_empty_plan_column_does_flag_the_medicare_visit(cli: Cli, tmp_path: Path) -> None:
    """RULES.md §7 (edge): a plan-of-care column left empty says there is no plan."""
    path = write(
        tmp_path,
        f"{HEADER},Plan of Care Date\nP1,2026-03-02,97110,15,Ann Lee,PT,Medicare,\n",
    )
    run, data = claim(cli, path)
    assert run.code == 1
    assert "no-plan-of-care" in ids_of(data)["P1"]
    assert not [n for n in notes_of(data, "checks-skipped") if "plan" in n["message"]]


def test_no_modifier_column_means_no_modifier_check_and_gp_from_the_discipline(
    cli: Cli, tmp_path: Path
) -> None:
    """RULES.md §6, §11: modifiers the file does not carry are added from the discipline (GP,
    GO, GN, with CQ for a PT assistant), and not checked."""
    path = write(
        tmp_path,
        f"{HEADER}\nP1,2026-03-02,97110,15,Ann Lee,PT,Medicare\n"
        "P2,2026-03-02,97530,15,Jo Lee,OT,Medicare\n"
        "P3,2026-03-02,92507,30,Bo Park,SLP,Medicare\n"
        "P4,2026-03-02,97110,15,Kim Ode,PTA,Medicare\n",
    )
    _, data = claim(cli, path)
    assert [(x["patient_id"], x["modifiers"]) for x in data["lines"]] == [
        ("P1", ["GP"]),
        ("P2", ["GO"]),
        ("P3", ["GN"]),
        ("P4", ["GP", "CQ"]),
    ]
    assert all("discipline-modifier" not in ids for ids in ids_of(data).values())
    modifier_notes = [n for n in notes_of(data, "checks-skipped") if "modifier" in n["message"]]
    assert len(modifier_notes) == 1
    assert "discipline-modifier" in modifier_notes[0]["message"]


def test_a_modifier_column_with_the_wrong_discipline_modifier_is_checked(
    cli: Cli, tmp_path: Path
) -> None:
    """RULES.md §6 (edge): with a modifier column, GO on a PT's 97110 is an error."""
    path = write(tmp_path, f"{HEADER},Modifiers\nP1,2026-03-02,97110,15,Ann Lee,PT,Medicare,GO\n")
    _, data = claim(cli, path)
    assert "discipline-modifier" in ids_of(data)["P1"]
    assert not [n for n in notes_of(data, "checks-skipped") if "modifier" in n["message"]]


def test_a_modifier_written_after_the_code_is_checked_without_a_modifier_column(
    cli: Cli, tmp_path: Path
) -> None:
    """RULES.md §6, §11: "97110-GO" carries the input's own modifier even with no modifier
    column; a PT's GO is the wrong discipline modifier, and not silently billed as GP."""
    path = write(tmp_path, f"{HEADER}\nP1,2026-03-02,97110-GO,15,Ann Lee,PT,Medicare\n")
    _, data = claim(cli, path)
    assert "discipline-modifier" in ids_of(data)["P1"]


NO_PAYER = (
    "Patient ID,Date of Service,CPT,Minutes,Provider,Discipline\n"
    "P1,2026-03-02,97110,15,Ann Lee,PT\n"
    "P2,2026-03-02,97110,15,Ann Lee,PT\n"
    "P3,2026-03-03,97110,15,Ann Lee,PT\n"
)


def test_default_payer_note_is_said_once_with_the_visit_count_without_a_payer_column(
    cli: Cli, tmp_path: Path
) -> None:
    """RULES.md §8: visits that name no payer use the default payer, said once per file."""
    _, data = claim(cli, write(tmp_path, NO_PAYER))
    [note] = notes_of(data, "default-payer")
    assert note["message"] == "3 visits name no payer: checked and priced as 'medicare'"
    assert note["count"] == 3
    assert {x["payer"] for x in data["lines"]} == {"medicare"}
    assert all("default-payer" not in ids for ids in ids_of(data).values())


def test_an_empty_payer_cell_is_counted_in_the_default_payer_note_and_only_it(
    cli: Cli, tmp_path: Path
) -> None:
    """RULES.md §8: with a payer column, only the visits whose cell is empty use the default."""
    path = write(
        tmp_path,
        f"{HEADER}\nP1,2026-03-02,97110,15,Ann Lee,PT,Medicare\n"
        "P2,2026-03-02,97110,15,Ann Lee,PT,\n",
    )
    _, data = claim(cli, path)
    assert [(n["message"], n["count"]) for n in notes_of(data, "default-payer")] == [
        ("1 visit names no payer: checked and priced as 'medicare'", 1)
    ]


def test_payer_given_on_the_command_line_says_no_default_payer_note(
    cli: Cli, tmp_path: Path
) -> None:
    """RULES.md §8 (edge): ``--payer`` says which payer the visits are: nothing to note."""
    _, data = claim(cli, write(tmp_path, NO_PAYER), "--payer", "commercial")
    assert notes_of(data, "default-payer") == []
    assert {x["payer"] for x in data["lines"]} == {"commercial"}


def test_a_payer_without_a_profile_is_one_note_per_file_with_its_count(
    cli: Cli, tmp_path: Path
) -> None:
    """RULES.md §8: payer-fallback is a fact about the file: once per file and payer, counted."""
    text = (
        f"{HEADER}\nP1,2026-03-02,97110,15,Ann Lee,PT,Acme Health\n"
        "P2,2026-03-02,97110,15,Ann Lee,PT,Acme Health\n"
        "P3,2026-03-03,97110,15,Ann Lee,PT,Medicare\n"
    )
    first = write(tmp_path, text, "march.csv")
    second = write(tmp_path, text.replace("2026-03", "2026-04"), "april.csv")
    run = cli("claim", str(first), str(second), "-f", "json", "--no-estimate")
    data = run.json()
    adds_up(data)
    fallback = notes_of(data, "payer-fallback")
    assert [(n["source"], n["count"]) for n in fallback] == [(str(first), 2), (str(second), 2)]
    assert fallback[0]["message"] == (
        "payer 'Acme Health' has no profile: checked and priced as 'commercial' (2 visits)."
    )
    assert all("payer-fallback" not in ids for ids in ids_of(data).values())


def test_a_payer_with_a_profile_makes_no_fallback_note(cli: Cli, tmp_path: Path) -> None:
    """RULES.md §8 (edge): a payer cognibill knows needs no note."""
    _, data = claim(cli, write(tmp_path, f"{HEADER}\nP1,2026-03-02,97110,15,Ann,PT,Medicare\n"))
    assert notes_of(data, "payer-fallback") == []
    assert notes_of(data, "default-payer") == []


def test_checks_skipped_notes_are_hidden_by_ignore_and_nothing_else(
    cli: Cli, tmp_path: Path
) -> None:
    """RULES.md §11: ``--ignore checks-skipped`` leaves out the file's skipped-check notes."""
    path = write(tmp_path, NO_PAYER)
    _, shown = claim(cli, path)
    _, hidden = claim(cli, path, "--ignore", "checks-skipped")
    assert notes_of(shown, "checks-skipped")
    assert notes_of(hidden, "checks-skipped") == []
    assert notes_of(hidden, "default-payer") == notes_of(shown, "default-payer")
    assert lines_of(hidden) == lines_of(shown)


# -- 7. the discipline from the provider's credentials (RULES.md §6) ----------------------------


@pytest.mark.parametrize(
    ("cell", "provider", "discipline", "code", "modifiers"),
    [
        ('"Anna Smith, CCC-SLP"', "Anna Smith", "slp", "92507", ["GN"]),
        ('"Smith, Anna SLP"', "Smith, Anna", "slp", "92507", ["GN"]),
        ('"Sam Rivera, PT, DPT"', "Sam Rivera", "pt", "97110", ["GP"]),
        ('"Kim Ode, PTA"', "Kim Ode", "pta", "97110", ["GP", "CQ"]),
        ('"Lee, Jo OTR/L"', "Lee, Jo", "ot", "97530", ["GO"]),
        ('"Lee, Jo COTA"', "Lee, Jo", "ota", "97530", ["GO", "CO"]),
    ],
)
def test_the_credentials_after_a_providers_name_give_the_discipline(
    cli: Cli,
    tmp_path: Path,
    cell: str,
    provider: str,
    discipline: str,
    code: str,
    modifiers: list[str],
) -> None:
    """RULES.md §6: with no discipline column, the credentials printed after the provider's name
    give the discipline (and GN/GO/GP, CQ/CO for Medicare); the provider is the name alone."""
    path = write(
        tmp_path,
        "Patient ID,Date of Service,CPT,Minutes,Provider,Payer\n"
        f"P1,2026-03-02,{code},30,{cell},Medicare\n",
    )
    run, data = claim(cli, path)
    assert run.code == 0
    [line] = data["lines"]
    assert (line["provider"], line["discipline"], line["modifiers"]) == (
        provider,
        discipline,
        modifiers,
    )


def test_one_clinician_with_two_spellings_of_credentials_is_one_provider(
    cli: Cli, tmp_path: Path
) -> None:
    """RULES.md §6: "Anna Smith, CF-SLP" and "Anna Smith, CCC-SLP" are one visit's provider."""
    path = write(
        tmp_path,
        "Patient ID,Date of Service,CPT,Minutes,Provider,Payer\n"
        'P1,2026-03-02,97129,20,"Anna Smith, CF-SLP",Medicare\n'
        'P1,2026-03-02,97130,18,"Anna Smith, CCC-SLP",Medicare\n',
    )
    _, data = claim(cli, path)
    assert data["summary"]["visits"] == 1
    assert {x["provider"] for x in data["lines"]} == {"Anna Smith"}


def test_a_discipline_column_is_used_over_the_providers_credentials(
    cli: Cli, tmp_path: Path
) -> None:
    """RULES.md §6 (edge): a file with a discipline column says the discipline itself."""
    path = write(
        tmp_path,
        "Patient ID,Date of Service,CPT,Minutes,Provider,Payer,Discipline\n"
        'P1,2026-03-02,97110,15,"Anna Smith, CCC-SLP",Medicare,PT\n',
    )
    _, data = claim(cli, path)
    [line] = data["lines"]
    assert (line["discipline"], line["modifiers"]) == ("pt", ["GP"])


def test_a_provider_without_credentials_gives_no_discipline(cli: Cli, tmp_path: Path) -> None:
    """RULES.md §6 (edge): "John Do" is a name: no credential, no discipline modifier."""
    path = write(
        tmp_path,
        "Patient ID,Date of Service,CPT,Minutes,Provider,Payer\n"
        "P1,2026-03-02,97129,20,John Do,Medicare\n",
    )
    _, data = claim(cli, path)
    [line] = data["lines"]
    assert (line["provider"], line["discipline"]) == ("John Do", None)


# -- 9. codes outside the catalogue (RULES.md §4) -----------------------------------------------


def test_a_well_formed_code_not_in_the_catalogue_is_carried_with_a_warning(
    cli: Cli, tmp_path: Path
) -> None:
    """RULES.md §4: 99213 is carried as given (its units from the export), with
    ``code-not-in-catalogue``; the row is not rejected."""
    path = write(
        tmp_path,
        "Patient ID,Date of Service,CPT,Minutes,Units,Provider,Discipline,Payer\n"
        "P1,2026-03-02,99213,20,1,Ann Lee,PT,Medicare\n"
        "P2,2026-03-02,97110,15,,Ann Lee,PT,Medicare\n",
    )
    run, data = claim(cli, path)
    assert run.code == 0
    assert data["rejected"] == []
    by_patient = {x["patient_id"]: x for x in data["lines"]}
    assert (by_patient["P1"]["code"], by_patient["P1"]["units"]) == ("99213", 1)
    [warning] = by_patient["P1"]["findings"]
    assert (warning["id"], warning["severity"]) == ("code-not-in-catalogue", "warning")
    assert warning["message"].startswith("99213 is not in cognibill's catalogue")
    assert by_patient["P2"]["findings"] == []  # 97110 is in the catalogue (edge)


@pytest.mark.parametrize(("code", "meant"), [("92129", "97129"), ("91730", "97130")])
def test_a_near_miss_of_a_code_in_scope_is_a_rejected_row_with_did_you_mean(
    cli: Cli, tmp_path: Path, code: str, meant: str
) -> None:
    """RULES.md §4: a typo of 97129/97130 is an error to fix, not a code to carry."""
    path = write(tmp_path, f"{HEADER}\nP1,2026-03-02,{code},30,Ann Lee,SLP,Medicare\n")
    run, data = claim(cli, path)
    assert run.code == 1
    assert rejected_of(data) == [(2, "CPT", f"unknown code {code}; did you mean {meant}?")]


def test_a_code_and_its_description_in_an_openemr_item_column_is_the_code(
    cli: Cli, tmp_path: Path
) -> None:
    """RULES.md §4, EXPORTS.md: OpenEMR's Item "97110 Therapeutic exercise" is 97110."""
    path = write(
        tmp_path,
        '"Category","Item","Date","ID","Qty","Amount"\n'
        '"Therapy","97110 Therapeutic exercise","2026-03-02","P1","2","120.00"\n'
        '"Therapy","97530 Therapeutic activities","2026-03-02","P2","1","60.00"\n',
    )
    run, data = claim(cli, path)
    assert run.code == 0
    assert [(x["patient_id"], x["code"], x["units"]) for x in data["lines"]] == [
        ("P1", "97110", 2),
        ("P2", "97530", 1),
    ]


# -- 10. workbooks (RULES.md §11) ---------------------------------------------------------------

SHEET_HEADER = [
    "Patient ID",
    "Date of Service",
    "CPT",
    "Minutes",
    "Provider",
    "Discipline",
    "Payer",
]


def _workbook(path: Path) -> None:
    openpyxl = pytest.importorskip("openpyxl")
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "Visits"
    sheet.append(["Northside Therapy - visits, March 2026"])
    sheet.append([])
    sheet.append(SHEET_HEADER)
    sheet.append(["P1", dt.date(2026, 3, 2), "97129", 38.0, "Ann Lee", "SLP", "Medicare"])
    sheet.append(["P2", dt.datetime(2026, 3, 3), 97110, 15.0, "Bo Park", "PT", "Medicare"])
    sheet.append(["P3", dt.date(2026, 3, 3), "97530", 30.0, "Jo Lee", "OT", "Medicare"])
    sheet.append(["Total", None, None, 83.0])
    other = book.create_sheet("Other")
    other.append(SHEET_HEADER)
    other.append(["P9", dt.date(2026, 3, 4), "97530", 30.0, "Jo Lee", "OT", "Medicare"])
    book.save(path)


SHEET_AS_CSV = (
    "Northside Therapy - visits, March 2026\n"
    "\n"
    f"{','.join(SHEET_HEADER)}\n"
    "P1,2026-03-02,97129,38,Ann Lee,SLP,Medicare\n"
    "P2,2026-03-03,97110,15,Bo Park,PT,Medicare\n"
    "P3,2026-03-03,97530,30,Jo Lee,OT,Medicare\n"
    "Total,,,83\n"
)


def _without_source(data: dict[str, Any]) -> list[dict[str, Any]]:
    return [{k: v for k, v in x.items() if k != "source"} for x in data["lines"]]


def test_a_workbook_bills_as_the_same_rows_in_csv_at_the_sheets_row_numbers(
    cli: Cli, tmp_path: Path
) -> None:
    """RULES.md §11: a workbook's sheet is read as its CSV would be (real date cells, 38.0 as
    38, a title above the header, a total row below), line numbers being the sheet's rows."""
    book = tmp_path / "visits.xlsx"
    _workbook(book)
    run, data = claim(cli, book)
    _, as_csv = claim(cli, write(tmp_path, SHEET_AS_CSV))
    assert run.code == 0
    assert _without_source(data) == _without_source(as_csv)
    assert [(x["line"], x["patient_id"], x["code"], x["minutes"]) for x in data["lines"]] == [
        (4, "P1", "97129", 15),
        (4, "P1", "97130", 23),
        (5, "P2", "97110", 15),
        (6, "P3", "97530", 30),
    ]
    assert skipped_of(data) == [(1, ABOVE_HEADER), (2, ABOVE_HEADER), (7, TOTAL_ROW)]
    [read_as] = data["summary"]["read_as"]
    assert (read_as["sheet"], read_as["header_line"]) == ("Visits", 3)


def test_sheet_reads_another_sheet_of_the_workbook(cli: Cli, tmp_path: Path) -> None:
    """RULES.md §11: ``--sheet NAME`` reads that sheet instead of the first."""
    book = tmp_path / "visits.xlsx"
    _workbook(book)
    run, data = claim(cli, book, "--sheet", "Other")
    assert run.code == 0
    assert [(x["line"], x["patient_id"], x["code"], x["units"]) for x in data["lines"]] == [
        (2, "P9", "97530", 2)
    ]
    assert data["summary"]["read_as"][0]["sheet"] == "Other"


def test_an_unknown_sheet_is_an_input_error_naming_the_sheets(cli: Cli, tmp_path: Path) -> None:
    """(edge) A sheet the workbook lacks: exit 3, with the sheets it has."""
    book = tmp_path / "visits.xlsx"
    _workbook(book)
    run = cli("claim", str(book), "--sheet", "March", "-f", "json")
    assert run.code == 3
    assert run.out == ""
    assert "no sheet named 'March'; the sheets are 'Visits', 'Other'" in run.err
