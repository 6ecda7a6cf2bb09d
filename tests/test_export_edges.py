"""CSV exports for billers (issue 4) through the real command: the edges of messy EHR exports.

Each test runs ``cognibill claim`` (or ``check``) on a small export in ``tests/data/csv/edges/``
and asserts exact line numbers, cells, counts and exit codes. The fixtures are byte-exact (BOM,
CRLF, cp1252 bytes); each test first checks that the bytes it relies on are still there, so a
checkout that rewrites line endings fails loudly instead of testing something else.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import REPO, Run

EDGES = Path(__file__).parent / "data" / "csv" / "edges"
SEMICOLON = EDGES / "semicolon_bom_crlf.csv"
TAB = EDGES / "tab_blank_lines.tsv"
EVERY_BAD = EDGES / "every_bad_row.csv"
CP1252 = EDGES / "cp1252.csv"
FORMULAS = EDGES / "formula_cells.csv"
MISSING = EDGES / "missing_minutes.csv"
TWO_PROVIDERS = EDGES / "same_day_two_providers.csv"
TWO_SESSIONS = EDGES / "two_sessions.csv"

Cli = Callable[..., Run]

NOT_UTF8_HINT = (
    "hint: exports saved by Excel are often Windows-1252: try --encoding cp1252 (or save the file "
    'as "CSV UTF-8")\n'
)


def claim_json(cli: Cli, *args: str) -> tuple[Run, dict[str, Any]]:
    run = cli("claim", *args, "-f", "json", "--no-estimate")
    return run, run.json()


def lines_of(data: dict[str, Any]) -> list[tuple[int, str, str, str, int, int]]:
    """(line, patient, date, code, units, minutes) of every claim line."""
    return [
        (x["line"], x["patient_id"], x["date"], x["code"], x["units"], x["minutes"])
        for x in data["lines"]
    ]


def rejected_of(data: dict[str, Any]) -> list[tuple[int, str | None, str]]:
    return [(r["line"], r["column"], r["reason"]) for r in data["rejected"]]


def counts(data: dict[str, Any]) -> dict[str, int]:
    summary = data["summary"]
    names = ("rows_read", "rows_used", "rows_rejected", "rows_skipped", "visits", "lines", "units")
    return {name: summary[name] for name in names}


def csv_rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text, newline="")))


def stdin_bytes(monkeypatch: pytest.MonkeyPatch, data: bytes) -> None:
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(data)))


# The semicolon export: BOM, CRLF, blank lines, an Excel ",,,," line, a quoted CRLF newline,
# quoted semicolons and one bad row. What every reading of it must give:
SEMICOLON_LINES = [
    (2, "C-01", "2026-03-02", "97129", 1, 15),
    (2, "C-01", "2026-03-02", "97130", 2, 23),
    (4, "C-02", "2026-03-02", "97110", 1, 20),
    (6, "C-03", "2026-03-03", "97112", 2, 25),
    (10, "C-05", "2026-03-04", "97530", 2, 30),
]
SEMICOLON_REJECTED = [(8, "Time (min)", "minutes cannot be negative (-5)")]
SEMICOLON_COUNTS = {
    "rows_read": 8,  # lines 3, 5 and 9 are blank rows: read, and skipped as such
    "rows_used": 4,
    "rows_rejected": 1,
    "rows_skipped": 3,
    "visits": 4,
    "lines": 5,
    "units": 8,
}


# -- delimiters, BOM, CRLF, blank lines, quoting ---------------------------------------------------


def test_semicolon_export_with_bom_and_crlf_reads_every_row_at_its_physical_line(cli: Cli) -> None:
    raw = SEMICOLON.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbfClient;") and raw.count(b"\r\n") == 10
    run, data = claim_json(cli, str(SEMICOLON))
    assert run.code == 1  # a rejected row is an error
    assert lines_of(data) == SEMICOLON_LINES
    assert rejected_of(data) == SEMICOLON_REJECTED
    assert counts(data) == SEMICOLON_COUNTS
    assert {x["source"] for x in data["lines"]} == {str(SEMICOLON)}


def test_quoted_semicolons_and_commas_stay_inside_their_cell(cli: Cli) -> None:
    _, data = claim_json(cli, str(SEMICOLON))
    providers = [(x["patient_id"], x["provider"]) for x in data["lines"]]
    assert providers[0] == ("C-01", "Smith, Jane")  # a comma is plain text under ";"
    assert providers[2] == ("C-02", "Lee; Ann")  # a quoted ";" is not a delimiter
    # said once for the file, with the visits it concerns (RULES.md §8)
    fallback = [n for n in data["summary"]["notes"] if n["id"] == "payer-fallback"]
    assert [n["message"] for n in fallback] == [
        "payer 'Aetna; PPO' has no profile: checked and priced as 'commercial' (1 visit)."
    ]


def test_tab_export_with_blank_whitespace_and_tab_only_lines_keeps_true_line_numbers(
    cli: Cli,
) -> None:
    raw = TAB.read_bytes()
    assert raw.startswith(b"\nMRN\tSvc Date\t") and b"\r" not in raw
    run, data = claim_json(cli, str(TAB))
    assert run.code == 1
    assert lines_of(data) == [
        (3, "M-1", "2026-03-02", "97129", 1, 15),
        (3, "M-1", "2026-03-02", "97130", 2, 30),
        (7, "M-2", "2026-03-02", "97530", 2, 30),
        (9, "M-4", "2026-03-03", "97110", 1, 15),  # trailing empty cells are not extra cells
    ]
    assert [(x["discipline"], x["modifiers"]) for x in data["lines"]] == [
        ("slp", ["GN"]),
        ("slp", ["GN"]),
        ("ot", ["GO"]),
        ("pt", ["GP"]),
    ]
    assert rejected_of(data) == [(8, None, "expected 6 cells like the header, found 3")]
    # line 1 is blank before the header; lines 4, 5 and 6 are blank rows: skipped, and said
    assert (counts(data)["rows_read"], counts(data)["rows_skipped"]) == (7, 3)


# -- gzip and stdin --------------------------------------------------------------------------------


def test_gzipped_export_reads_the_same_rows_as_the_plain_file(cli: Cli, tmp_path: Path) -> None:
    packed = tmp_path / "export.csv.gz"
    packed.write_bytes(gzip.compress(SEMICOLON.read_bytes(), mtime=0))
    _, data = claim_json(cli, str(packed))
    assert lines_of(data) == SEMICOLON_LINES
    assert rejected_of(data) == SEMICOLON_REJECTED
    assert counts(data) == SEMICOLON_COUNTS
    assert data["summary"]["sources"] == [str(packed)]


def test_gzipped_export_on_stdin_is_an_export_whatever_bytes_its_gzip_header_holds(
    cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    # This mtime puts "=" in the gzip header: read as text, the first "line" looks like TOML.
    packed = gzip.compress(SEMICOLON.read_bytes(), mtime=1_700_000_061)
    assert b"=" in packed[4:8]
    stdin_bytes(monkeypatch, packed)
    run, data = claim_json(cli, "-")
    assert run.code == 1
    assert lines_of(data) == SEMICOLON_LINES
    assert rejected_of(data) == SEMICOLON_REJECTED


@pytest.mark.parametrize("given", [[], ["--input", "csv"]], ids=["sniffed", "input-csv"])
def test_an_export_on_stdin_reads_like_the_file(
    cli: Cli, monkeypatch: pytest.MonkeyPatch, given: list[str]
) -> None:
    stdin_bytes(monkeypatch, SEMICOLON.read_bytes())
    run, data = claim_json(cli, "-", *given)
    assert run.code == 1
    assert lines_of(data) == SEMICOLON_LINES
    assert [(r["source"], r["line"]) for r in data["rejected"]] == [("<stdin>", 8)]
    assert counts(data) == SEMICOLON_COUNTS
    assert data["summary"]["sources"] == ["<stdin>"]
    assert {x["source"] for x in data["lines"]} == {"<stdin>"}


# -- every kind of bad row -------------------------------------------------------------------------

EVERY_BAD_REJECTED = [
    (3, "DOS", "'02/30/2026' is not a valid MM/DD/YYYY date: day is out of range for month"),
    (4, "Minutes", "minutes cannot be negative (-15)"),
    (5, "Minutes", "'thirty' is not a number of minutes"),
    (6, "Minutes", "minutes must be whole minutes, not 37.5"),
    (7, None, "expected 5 cells like the header, found 3"),
    (8, None, "expected 5 cells like the header, found 6"),
    (9, "CPT", "unknown code 92129; did you mean 97129?"),
    (
        10,
        "DOS",
        "'04.03.2026' could be day-first or month-first; write dates as YYYY-MM-DD or MM/DD/YYYY",
    ),
    (
        11,
        "DOS",
        "'04-03-2026' could be day-first or month-first; write dates as YYYY-MM-DD or MM/DD/YYYY",
    ),
    (
        12,
        "DOS",
        "'25/03/2026' is not a valid MM/DD/YYYY date: month must be in 1..12 "
        "(day-first dates are not read: MM/DD/YYYY only)",
    ),
    (13, "DOS", "'3-4-26' has a two-digit year; write dates as YYYY-MM-DD or MM/DD/YYYY"),
    (
        14,
        "DOS",
        "'46085' looks like a spreadsheet serial number, not a date; "
        "format the column as a date and export again",
    ),
    (
        15,
        "DOS",
        "'2026-03-04T09:30:00Z' has a time zone: the date of service depends on it; "
        "write dates as YYYY-MM-DD or MM/DD/YYYY",
    ),
    (16, "Minutes", "'1:75' has 75 minutes after the hours (0 to 59); write 135 or 2:15"),
]


def test_every_kind_of_bad_row_comes_back_with_its_line_column_and_reason(cli: Cli) -> None:
    run, data = claim_json(cli, str(EVERY_BAD))
    assert run.code == 1
    assert rejected_of(data) == EVERY_BAD_REJECTED
    # Nothing lost: the two good rows are billed, the fourteen bad ones are reported.
    assert lines_of(data) == [
        (2, "P-01", "2026-03-02", "97129", 1, 15),
        (2, "P-01", "2026-03-02", "97130", 2, 23),
        (17, "P-16", "2026-03-05", "97129", 1, 15),
        (17, "P-16", "2026-03-05", "97130", 2, 30),
    ]
    assert counts(data) == {
        "rows_read": 16,
        "rows_used": 2,
        "rows_rejected": 14,
        "rows_skipped": 0,
        "visits": 2,
        "lines": 4,
        "units": 6,
    }


def test_errors_path_lists_every_rejected_row_as_csv(cli: Cli, tmp_path: Path) -> None:
    errors = tmp_path / "rejected.csv"
    run = cli("claim", str(EVERY_BAD), "-f", "csv", "--no-estimate", "--errors", str(errors))
    assert run.code == 1
    rows = csv_rows(errors.read_text(encoding="utf-8"))
    assert list(rows[0]) == ["source", "line", "column", "reason"]
    assert [(r["source"], int(r["line"]), r["column"] or None, r["reason"]) for r in rows] == [
        (str(EVERY_BAD), line, column, reason) for line, column, reason in EVERY_BAD_REJECTED
    ]


def test_rejected_rows_are_listed_on_stderr_with_file_and_line_for_csv_output(cli: Cli) -> None:
    run = cli("claim", str(EVERY_BAD), "-f", "csv", "--no-estimate")
    listed = [ln for ln in run.err.splitlines() if ": rejected: " in ln]
    assert listed[0] == (
        f"{EVERY_BAD}:3: rejected: DOS: '02/30/2026' is not a valid MM/DD/YYYY date: "
        "day is out of range for month"
    )
    assert listed[4] == f"{EVERY_BAD}:7: rejected: expected 5 cells like the header, found 3"
    assert len(listed) == 14


def test_check_reports_each_rejected_row_as_an_error_at_its_line(cli: Cli) -> None:
    run = cli("check", str(EVERY_BAD), "--no-estimate")
    assert run.code == 1
    rejected = [ln for ln in run.out.splitlines() if "error[rejected-row]" in ln]
    assert rejected[:2] == [
        f"{EVERY_BAD}:3: error[rejected-row]: DOS: '02/30/2026' is not a valid MM/DD/YYYY "
        "date: day is out of range for month",
        f"{EVERY_BAD}:4: error[rejected-row]: Minutes: minutes cannot be negative (-15)",
    ]
    assert len(rejected) == 14


def test_strict_stops_at_the_first_bad_row_and_writes_no_report(cli: Cli, tmp_path: Path) -> None:
    report = tmp_path / "claims.json"
    report.write_text("last month's report\n")
    run = cli("claim", str(EVERY_BAD), "--strict", "-f", "json", "--out", str(report))
    assert run.code == 3
    assert run.err == (
        f"cognibill: error: {EVERY_BAD}:3: DOS: '02/30/2026' is not a valid MM/DD/YYYY date: "
        "day is out of range for month\n"
        "hint: without --strict every bad row is reported and the rest read\n"
    )
    assert report.read_text() == "last month's report\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["claims.json"]


# -- encodings: not UTF-8 -------------------------------------------------------------------------


def test_a_cp1252_export_stops_with_its_line_and_the_encoding_hint_exit_3(cli: Cli) -> None:
    assert CP1252.read_bytes().endswith(b"Caf\xe9 Health\n")
    run = cli("claim", str(CP1252), "-f", "json")
    assert run.code == 3
    assert run.out == ""
    assert run.err == (
        f"cognibill: error: {CP1252}:4: the file is not UTF-8 text (byte 0xE9)\n" + NOT_UTF8_HINT
    )


def test_a_gzipped_cp1252_export_still_names_the_line(cli: Cli, tmp_path: Path) -> None:
    packed = tmp_path / "export.csv.gz"
    packed.write_bytes(gzip.compress(CP1252.read_bytes(), mtime=0))
    run = cli("claim", str(packed))
    assert run.code == 3
    assert run.err == (
        f"cognibill: error: {packed}:4: the file is not UTF-8 text (byte 0xE9)\n" + NOT_UTF8_HINT
    )


def test_a_cp1252_export_on_stdin_gets_the_same_hint(
    cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    stdin_bytes(monkeypatch, CP1252.read_bytes())
    run = cli("claim", "-", "--input", "csv")
    assert run.code == 3
    assert run.err == (
        "cognibill: error: <stdin>: the file is not UTF-8 text (byte 0xE9)\n" + NOT_UTF8_HINT
    )


def test_encoding_cp1252_reads_the_same_export_and_keeps_the_accent(cli: Cli) -> None:
    run, data = claim_json(cli, str(CP1252), "--encoding", "cp1252")
    assert run.code == 0
    assert counts(data)["rows_read"] == 3 and data["rejected"] == []
    notes = data["summary"]["notes"]
    fallback = [n["message"] for n in notes if n["id"] == "payer-fallback"]
    assert fallback == [
        "payer 'Café Health' has no profile: checked and priced as 'commercial' (1 visit)."
    ]


# -- columns: missing, --map ---------------------------------------------------------------------


def test_a_missing_minutes_column_is_one_error_naming_found_and_closest_columns_exit_3(
    cli: Cli,
) -> None:
    run = cli("claim", str(MISSING), "-f", "json")
    assert run.code == 3
    assert run.out == ""
    assert run.err == (
        f"cognibill: error: {MISSING}:1: no minutes column (looked for 'Minutes', 'Mins', "
        "'Min', 'Duration', 'Duration (min)', 'Duration Minutes' ...), no start and end times "
        "and no units; closest: 'Session Length'\n"
        "hint: columns found: 'Client', 'Service Date', 'CPT', 'Session Length', 'Payer'; "
        "if one of them is right, say so: --map minutes='Session Length'\n"
    )


def test_check_refuses_the_same_export_with_the_same_exit_3(cli: Cli) -> None:
    run = cli("check", str(MISSING))
    assert run.code == 3
    assert run.err.count("cognibill: error: ") == 1 and "closest: 'Session Length'" in run.err


def test_map_names_the_minutes_column_the_aliases_miss(cli: Cli) -> None:
    run, data = claim_json(cli, str(MISSING), "--map", "minutes=Session Length")
    assert run.code == 0
    assert lines_of(data) == [
        (2, "C1", "2026-03-02", "97129", 1, 15),
        (2, "C1", "2026-03-02", "97130", 2, 23),
    ]
    assert counts(data)["rows_read"] == 1


def test_map_with_an_unknown_field_is_a_usage_error_exit_2(cli: Cli) -> None:
    run = cli("claim", str(MISSING), "--map", "minuets=Session Length")
    assert run.code == 2
    assert run.err == (
        "cognibill: error: --map minuets=Session Length: unknown field 'minuets'\n"
        "hint: did you mean minutes?\n"
    )


# -- the formula guard ----------------------------------------------------------------------------


def test_csv_output_neutralises_cells_starting_with_equals_plus_minus_and_at(cli: Cli) -> None:
    run = cli("claim", str(FORMULAS), "-f", "csv", "--no-estimate")
    rows = csv_rows(run.out)
    cells = [(r["patient_id"], r["provider"], r["session_id"], r["place_of_service"]) for r in rows]
    assert cells == [
        ('\'=HYPERLINK("http://x")', "'+1-2", "'@SUM(A1)", "11"),
        ('\'=HYPERLINK("http://x")', "'+1-2", "'@SUM(A1)", "11"),
        ("-42", "'-cmd", "'=x", "11"),  # a plain negative number runs nothing: left alone
        ("-42", "'-cmd", "'=x", "11"),
    ]


def test_a_carriage_return_inside_a_cell_stays_inside_its_quoted_cell(
    cli: Cli, tmp_path: Path
) -> None:
    """Unquoted, the CR would start a spreadsheet row whose first cell, ``=1+2``, would run."""
    path = tmp_path / "cr.csv"
    path.write_bytes(b'Patient,DOS,Minutes\n"P1\r=1+2",2026-03-02,38\n')
    run = cli("claim", str(path), "-f", "csv", "--no-estimate", "-q")
    rows = list(csv.reader(io.StringIO(run.out, newline="")))
    assert len(rows) == 3  # the header and the two lines of one visit, nothing split off
    assert [r[2] for r in rows[1:]] == ["P1\r=1+2", "P1\r=1+2"]


def test_a_source_name_starting_with_a_tab_is_neutralised_in_claims_and_errors(
    cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    shutil.copyfile(FORMULAS, tmp_path / "\t=export.csv")
    run = cli("claim", "\t=export.csv", "-f", "csv", "--no-estimate", "--errors", "rejected.csv")
    assert run.code == 1
    assert {r["source"] for r in csv_rows(run.out)} == {"'\t=export.csv"}
    rejected = csv_rows((tmp_path / "rejected.csv").read_text())
    assert [(r["source"], r["line"], r["column"]) for r in rejected] == [
        ("'\t=export.csv", "4", "Minutes")
    ]


# -- visits: --visit-key, 97129 across visits ------------------------------------------------------


def test_two_providers_bill_97129_for_one_patient_and_date_and_the_second_is_flagged(
    cli: Cli,
) -> None:
    """97129 is once per day (RULES.md §5), across visit keys (RULES.md §2)."""
    run, data = claim_json(cli, str(TWO_PROVIDERS))
    assert [(x["line"], x["provider"], x["code"], x["units"]) for x in data["lines"]] == [
        (2, "1111111111", "97129", 1),  # lines 2 and 4: one provider, one visit, 38 min
        (2, "1111111111", "97130", 2),
        (3, "2222222222", "97129", 1),
        (3, "2222222222", "97130", 1),
    ]
    flagged = [
        (x["line"], x["code"], f["severity"], f["message"])
        for x in data["lines"]
        for f in x["findings"]
        if f["id"] == "primary-more-than-once"
    ]
    assert flagged == [
        (
            3,
            "97129",
            "error",
            "97129 billed again for P-1 on 2026-03-02: already billed by provider 1111111111 "
            f"(slp), {TWO_PROVIDERS}:2; 97129 is once per day, so only one visit that day "
            "bills it.",
        )
    ]
    default_key = "patient, date of service, rendering provider, discipline"
    assert data["summary"]["visit_key"] == default_key
    assert "visit key: patient, date of service, rendering provider, discipline;" in run.err


def test_visit_key_patient_date_pools_the_day_into_one_97129_and_says_so(cli: Cli) -> None:
    """The pool's scope is a setting (RULES.md §2, open); the output names the key used."""
    run, data = claim_json(cli, str(TWO_PROVIDERS), "--visit-key", "patient,date")
    assert lines_of(data) == [
        (2, "P-1", "2026-03-02", "97129", 1, 15),
        (2, "P-1", "2026-03-02", "97130", 3, 48),
    ]
    ids = [f["id"] for x in data["lines"] for f in x["findings"]]
    assert "primary-more-than-once" not in ids and ids.count("visit-field-conflict") == 1
    assert data["summary"]["visit_key"] == "patient, date of service"
    assert {x["visit_key"] for x in data["lines"]} == {"patient, date of service"}
    assert "visit key: patient, date of service;" in run.err
    assert counts(data)["visits"] == 1


def test_two_sessions_under_a_session_key_still_bill_97129_once_a_day(cli: Cli) -> None:
    """RULES.md §5: 97129 once per day, whatever key keeps the two sessions apart."""
    _, apart = claim_json(cli, str(TWO_SESSIONS), "--visit-key", "patient,date,session")
    assert [(x["line"], x["session_id"], x["code"], x["units"]) for x in apart["lines"]] == [
        (2, "S-1", "97129", 1),
        (3, "S-2", "97129", 1),
        (3, "S-2", "97130", 1),
    ]
    flagged = [
        (x["line"], x["code"])
        for x in apart["lines"]
        for f in x["findings"]
        if f["id"] == "primary-more-than-once"
    ]
    assert flagged == [(3, "97129")]
    assert apart["summary"]["visit_key"] == "patient, date of service, session"
    # The default key makes the two sessions one visit: minutes add up, 97129 billed once.
    _, pooled = claim_json(cli, str(TWO_SESSIONS))
    assert [(x["session_id"], x["code"], x["units"]) for x in pooled["lines"]] == [
        ("S-1;S-2", "97129", 1),
        ("S-1;S-2", "97130", 2),
    ]


def test_an_unknown_visit_key_field_is_a_usage_error_exit_2(cli: Cli) -> None:
    run = cli("claim", str(TWO_PROVIDERS), "--visit-key", "patient,date,room")
    assert run.code == 2
    assert "--visit-key: unknown field 'room'" in run.err


# -- machine output: JSON, NDJSON, summary -------------------------------------------------------

LINE_FIELDS = {"patient_id", "date", "provider", "code", "units", "minutes", "modifiers"}
SUMMARY_FIELDS = {
    "rows_read",
    "rows_used",
    "rows_rejected",
    "rows_skipped",
    "visits",
    "lines",
    "units",
}


def test_json_is_one_object_with_lines_rejected_summary_and_report(cli: Cli) -> None:
    _, data = claim_json(cli, str(SEMICOLON))
    assert list(data) == ["lines", "rejected", "summary", "report"]
    assert all(LINE_FIELDS | {"findings"} <= set(x) for x in data["lines"])
    assert data["rejected"] == [
        {
            "source": str(SEMICOLON),
            "line": 8,
            "column": "Time (min)",
            "reason": "minutes cannot be negative (-5)",
        }
    ]
    assert set(data["summary"]) >= SUMMARY_FIELDS
    assert data["lines"][0]["date"] == "2026-03-02"  # ISO, from the US 03/02/2026


def test_ndjson_gives_every_line_and_rejected_row_then_the_summary_each_typed(cli: Cli) -> None:
    run = cli("claim", str(EVERY_BAD), str(SEMICOLON), "-f", "ndjson", "--no-estimate")
    objects = [json.loads(text) for text in run.out.splitlines()]
    kinds = [o.pop("type") for o in objects]
    assert kinds[-1] == "summary" and kinds.count("summary") == 1
    assert set(kinds[:-1]) == {"line", "rejected"}
    _, data = claim_json(cli, str(EVERY_BAD), str(SEMICOLON))
    assert [o for o, k in zip(objects, kinds, strict=True) if k == "line"] == data["lines"]
    assert sorted(
        (o["source"], o["line"]) for o, k in zip(objects, kinds, strict=True) if k == "rejected"
    ) == sorted((r["source"], r["line"]) for r in data["rejected"])
    summary = objects[-1]
    assert {k: summary[k] for k in SUMMARY_FIELDS} == counts(data)
    # Issue 4: the lines, then the rejected rows, then the summary.
    assert kinds == sorted(kinds, key=["line", "rejected", "summary"].index)


def test_a_csv_run_that_fails_on_its_header_leaves_nothing_on_stdout(
    cli: Cli, tmp_path: Path
) -> None:
    path = tmp_path / "no_minutes.csv"
    path.write_text("Patient,DOS\nP1,2026-03-02\n", encoding="utf-8")
    run = cli("claim", str(path), "-f", "csv")
    assert (run.code, run.out) == (3, "")
    assert "minutes" in run.err


def test_an_export_with_no_rows_still_gives_the_csv_header(cli: Cli, tmp_path: Path) -> None:
    path = tmp_path / "header_only.csv"
    path.write_text("Patient,DOS,Minutes\n", encoding="utf-8")
    run = cli("claim", str(path), "-f", "csv", "-q")
    assert run.code == 0
    assert run.out.startswith("source,line,patient_id,date,") and run.out.count("\n") == 1


def test_errors_and_out_naming_one_file_is_refused_before_reading(cli: Cli, tmp_path: Path) -> None:
    report = tmp_path / "report.csv"
    report.write_text("previous report\n", encoding="utf-8")
    run = cli("claim", str(SEMICOLON), "-f", "csv", "--out", str(report), "--errors", str(report))
    assert run.code == 2 and "--errors" in run.err and "--out" in run.err
    assert report.read_text(encoding="utf-8") == "previous report\n"


def test_counts_in_equal_counts_out_across_several_exports(cli: Cli, tmp_path: Path) -> None:
    errors = tmp_path / "rejected.csv"
    run, data = claim_json(cli, str(SEMICOLON), str(EVERY_BAD), str(TAB), "--errors", str(errors))
    summary = data["summary"]
    assert counts(data) == {
        "rows_read": 31,
        "rows_used": 9,
        "rows_rejected": 16,
        "rows_skipped": 6,
        "visits": 9,
        "lines": 13,
        "units": 20,
    }
    assert summary["rows_read"] == (
        summary["rows_used"] + summary["rows_rejected"] + summary["rows_skipped"]
    )
    assert len(data["rejected"]) == len(csv_rows(errors.read_text())) == 16
    assert len(data["lines"]) == summary["output_rows"]
    assert sum(x["units"] for x in data["lines"]) == summary["units"]
    assert summary["sources"] == [str(SEMICOLON), str(EVERY_BAD), str(TAB)]
    assert (
        "cognibill: 31 rows read, 9 used, 16 rejected, 6 skipped; 9 visits, 13 lines, 20 units;"
        in run.err
    )


@pytest.mark.parametrize("fmt", ["table", "csv", "json", "ndjson"])
def test_every_format_bills_the_same_rows_of_the_semicolon_export(cli: Cli, fmt: str) -> None:
    lines = ["--lines"] if fmt == "table" else []
    run = cli("claim", str(SEMICOLON), "-f", fmt, "--no-estimate", "-q", *lines)
    assert run.code == 1 and run.err == ""
    if fmt == "table":
        table_rows = [ln for ln in run.out.splitlines() if re.match(r"│.*\b97\d{3}\b", ln)]
        assert [re.findall(r"97\d\d\d", ln) for ln in table_rows] == [
            [code] for _, _, _, code, _, _ in SEMICOLON_LINES
        ]
        assert "Rejected rows (1)" in run.out
        assert ":8: Time (min): minutes cannot be negative (-5)" in run.out
        return
    if fmt == "csv":
        got = [(int(r["line"]), r["code"], int(r["units"])) for r in csv_rows(run.out)]
    elif fmt == "ndjson":
        objects = [json.loads(text) for text in run.out.splitlines()]
        got = [(o["line"], o["code"], o["units"]) for o in objects if o["type"] == "line"]
    else:
        got = [(x["line"], x["code"], x["units"]) for x in run.json()["lines"]]
    assert got == [(line, code, units) for line, _, _, code, units, _ in SEMICOLON_LINES]


# -- --out ---------------------------------------------------------------------------------------


def test_a_failed_run_keeps_the_previous_report_and_leaves_no_temporary_file(
    cli: Cli, tmp_path: Path
) -> None:
    report = tmp_path / "claims.csv"
    report.write_text("last month's report\n")
    failed = cli("claim", str(CP1252), "-f", "csv", "--out", str(report))
    assert failed.code == 3
    assert report.read_text() == "last month's report\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["claims.csv"]
    done = cli("claim", str(CP1252), "--encoding", "cp1252", "-f", "csv", "--out", str(report))
    assert done.code == 0 and done.out == ""  # no plan-of-care column: no plan checks
    assert [(r["line"], r["code"]) for r in csv_rows(report.read_text())] == [
        ("2", "97129"),
        ("2", "97130"),
        ("3", "97110"),
        ("4", "97112"),
    ]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["claims.csv"]


def test_out_refuses_to_overwrite_the_export_under_a_hard_link(cli: Cli, tmp_path: Path) -> None:
    export = tmp_path / "export.csv"
    shutil.copyfile(SEMICOLON, export)
    other_name = tmp_path / "claims.csv"
    os.link(export, other_name)
    run = cli("claim", str(export), "-f", "csv", "--out", str(other_name))
    assert run.code == 2
    assert run.err == (
        f"cognibill: error: --out {other_name} is also an input; refusing to overwrite it\n"
        "hint: write the report to another file\n"
    )
    assert export.read_bytes() == SEMICOLON.read_bytes()


# -- pipes and the terminal ------------------------------------------------------------------------


def _big_export(tmp_path: Path, rows: int) -> Path:
    export = tmp_path / "big.csv"
    lines = ["Patient,DOS,CPT,Minutes"]
    lines += [f"P-{n},2026-03-{1 + n % 28:02d},97129,{8 + n % 60}" for n in range(rows)]
    export.write_text("\n".join(lines) + "\n")
    return export


@pytest.mark.parametrize("fmt", ["csv", "json", "ndjson"])
def test_piping_every_machine_format_into_head_ends_quietly(tmp_path: Path, fmt: str) -> None:
    """The real command: the reader leaves early; no traceback, no "Exception ignored"."""
    export = _big_export(tmp_path, 20_000)
    proc = subprocess.run(
        [
            "bash",
            "-c",
            f"'{sys.executable}' -m cognibill claim '{export}' -f {fmt} --no-estimate | head -n 2",
        ],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        check=False,
    )
    assert len(proc.stdout.splitlines()) == 2
    assert proc.stderr == ""


def test_no_progress_bar_when_stderr_is_not_a_terminal(tmp_path: Path) -> None:
    export = _big_export(tmp_path, 40_000)
    proc = subprocess.run(
        [sys.executable, "-m", "cognibill", "claim", str(export), "-f", "csv", "--no-estimate",
         "--out", str(tmp_path / "claims.csv")],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        check=False,
    )  # fmt: skip
    assert proc.returncode == 0
    assert proc.stdout == ""
    # The file's notes and the summary line: no bar, no escape codes, no carriage returns.
    last = proc.stderr.splitlines(keepends=True)[-1]
    assert "\x1b" not in proc.stderr and "\r" not in proc.stderr
    assert re.fullmatch(r"cognibill: 40000 rows read, 40000 used, 0 rejected; [^\r\n\x1b]+ s\n",
                        last), proc.stderr  # fmt: skip
