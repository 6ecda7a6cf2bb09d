"""Header matching (issue 4): vendor aliases, case and punctuation, ``--map``, missing columns.

The reader is :class:`cognibill.inputs.export.ExportFrames`; the matching is
:mod:`cognibill.readers.columns`.
"""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from cognibill.errors import EntryError, InputError
from cognibill.exitcodes import ExitCode
from cognibill.inputs.export import ExportFrames
from cognibill.readers.columns import FIELDS, aliases, normalise, resolve_columns
from tests.export_rows import read

CSV = Path(__file__).parent / "data" / "csv"

BASE = {"patient": "Patient", "date": "Date", "minutes": "Minutes"}


def field_of(header: list[str], column: str) -> str | None:
    layout = resolve_columns(header, "test.csv")
    index = header.index(column)
    found = [f for f, idx in layout.columns.items() if index in idx]
    return found[0] if found else None


@pytest.mark.parametrize(
    ("field", "spellings"),
    [
        (
            "patient",
            ["Patient", "Patient ID", "patient_id", "Client", "MRN", "Member ID", "Chart #"],
        ),
        (
            "date",
            ["DOS", "Service Date", "Date of Service", "date-of-service", "Visit Date", "Date"],
        ),
        ("minutes", ["Duration", "Minutes", "Time (min)", "Mins", "TIME_MIN", "Treatment Minutes"]),
        ("code", ["CPT", "Procedure", "Code", "HCPCS", "CPT Code", "Procedure Code"]),
        ("provider", ["Provider NPI", "NPI", "Rendering Provider", "Provider ID", "Therapist"]),
        ("discipline", ["Credential", "Credentials", "Discipline", "Provider Type"]),
        ("payer", ["Payer", "Payor", "Insurance", "Primary Insurance", "Financial Class"]),
        ("modifiers", ["Modifiers", "Modifier", "Mods", "Modifier 1"]),
        ("units_billed", ["Billed Units", "Units", "Units Billed", "Qty"]),
        ("assistant", ["Assistant", "Assisted", "By Assistant"]),
        ("assistant_minutes", ["Assistant Minutes", "PTA Minutes"]),
        ("group", ["Group", "Group Session", "Group Therapy"]),
        ("session_id", ["Session ID", "Appointment ID", "Encounter ID"]),
        ("place_of_service", ["POS", "Place of Service"]),
        ("diagnoses", ["Diagnosis", "Dx 1", "ICD-10", "Diagnosis Code"]),
        ("poc_start", ["Plan of Care Date", "POC Start", "POC Date"]),
        ("poc_certified", ["POC Certified", "Certification Date"]),
    ],
)
def test_each_alias_family_names_its_field(field: str, spellings: list[str]) -> None:
    for spelling in spellings:
        header = [h for f, h in BASE.items() if f != field] + [spelling]
        assert field_of(header, spelling) == field, spelling


def test_matching_ignores_case_spaces_and_punctuation() -> None:
    assert (
        normalise("Date of Service") == normalise("DATE_OF_SERVICE") == normalise("dateOfService")
    )
    assert normalise("Time (min)") == "timemin"


def test_every_field_has_aliases_and_no_alias_names_two_fields() -> None:
    owners: dict[str, str] = {}
    for field in FIELDS:
        assert aliases(field)
        for alias in aliases(field):
            owner = owners.setdefault(normalise(alias), field)
            assert owner == field, f"{alias!r} names both {owner} and {field}"


def test_the_alias_listed_first_wins_when_two_headers_match() -> None:
    header = ["Client", "DOS", "Duration", "Provider", "Provider NPI"]
    layout = resolve_columns(header, "x.csv")
    assert layout.name("provider") == "Provider NPI"


def test_several_modifier_columns_are_all_read() -> None:
    header = ["Client", "DOS", "Duration", "Mod 1", "Mod 2", "Mod 3"]
    layout = resolve_columns(header, "x.csv")
    assert layout.columns["modifiers"] == (3, 4, 5)


def test_a_user_map_names_a_column_the_aliases_do_not_know() -> None:
    text = io.StringIO("Client,DOS,Tx Length\nC1,2026-03-02,38\n")
    rows, bad, _ = read(text, column_map={"minutes": "tx length"})
    assert bad == [] and rows[0].service.minutes == 38


def test_a_user_map_overrides_an_alias() -> None:
    text = io.StringIO("Client,DOS,Minutes,Billed Minutes\nC1,2026-03-02,38,40\n")
    rows, bad, _ = read(text, column_map={"minutes": "Billed Minutes"})
    assert bad == [] and rows[0].service.minutes == 40


def test_a_user_map_with_an_unknown_field_is_a_usage_error() -> None:
    with pytest.raises(EntryError) as caught:
        resolve_columns(["Client", "DOS", "Duration"], "x.csv", {"minuets": "Duration"})
    assert caught.value.exit_code == ExitCode.USAGE
    assert caught.value.hint == "did you mean minutes?"


def test_a_user_map_to_a_header_the_file_lacks_is_an_input_error() -> None:
    with pytest.raises(InputError) as caught:
        resolve_columns(["Client", "DOS", "Duration"], "x.csv", {"minutes": "Time"})
    assert "no column 'Time'" in caught.value.reason


def test_missing_required_columns_are_one_error_with_what_was_found_and_closest() -> None:
    with pytest.raises(InputError) as caught:
        list(ExportFrames(CSV / "missing_column.csv"))
    err = caught.value
    assert err.exit_code == ExitCode.INPUT
    assert err.reason == "missing required columns: date, minutes"
    assert [p[0] for p in err.problems] == [1, 1]
    lines = err.lines()
    assert "no date column" in lines[0] and "closest: 'Visit Day'" in lines[0]
    assert "no minutes column" in lines[1] and "closest: 'Time Taken'" in lines[1]
    assert err.hint is not None
    assert "columns found: 'Client', 'Visit Day', 'CPT', 'Time Taken', 'Payer'" in err.hint
    assert "--map date='Visit Day'" in err.hint and "--map minutes='Time Taken'" in err.hint


def test_a_file_with_the_required_columns_only_needs_no_map() -> None:
    layout = resolve_columns(["Patient", "Date", "Minutes"], "x.csv")
    assert set(layout.columns) == {"patient", "date", "minutes"}


def test_unknown_extra_columns_are_ignored() -> None:
    layout = resolve_columns(["Patient", "Date", "Minutes", "Notes", "Room"], "x.csv")
    assert layout.describe() == {"patient": ["Patient"], "date": ["Date"], "minutes": ["Minutes"]}


def test_the_reader_says_which_header_each_field_was_read_from() -> None:
    text = io.StringIO("Client,DOS,Tx Length,CPT\nC1,2026-03-02,38,97129\n")
    reader = ExportFrames(text, column_map={"minutes": "tx length"})
    layout = reader.columns()  # the header alone: no row read yet
    assert reader.rows_read == 0
    assert layout.describe() == {
        "patient": ["Client"],
        "date": ["DOS"],
        "minutes": ["Tx Length"],
        "code": ["CPT"],
    }
