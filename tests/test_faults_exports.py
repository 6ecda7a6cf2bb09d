"""Hostile and damaged exports (issue 11): one line naming the input and the problem, exit 3 (or
2 for a command-line mistake), never an internal error and never unbounded work."""

from __future__ import annotations

import csv
import gzip
import io
import os
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import DATA

GENERATED = DATA / "csv" / "generated_export.csv"

Cli = Any


def _one_error(run: Any) -> str:
    lines = run.err.splitlines()
    assert lines[0].startswith("cognibill: error: "), run.err
    assert "Traceback" not in run.err and "internal error" not in run.err
    return str(lines[0])


def test_a_gzip_export_cut_short_is_exit_3_not_a_findings_exit(cli: Cli, tmp_path: Path) -> None:
    whole = gzip.compress(GENERATED.read_bytes())
    cut = tmp_path / "cut.csv.gz"
    cut.write_bytes(whole[: len(whole) // 2])
    run = cli("claim", str(cut), "-f", "json")
    assert run.code == 3 and run.out == ""
    assert "cannot read the gzip data: it ends too soon" in _one_error(run)


def test_a_corrupt_gzip_export_is_exit_3(cli: Cli, tmp_path: Path) -> None:
    data = bytearray(gzip.compress(GENERATED.read_bytes()))
    data[500:520] = b"x" * 20
    bad = tmp_path / "bad.csv.gz"
    bad.write_bytes(bytes(data))
    run = cli("claim", str(bad), "-f", "json")
    assert run.code == 3
    assert "cannot read the gzip data" in _one_error(run)


@pytest.mark.parametrize("codec", ["rot13", "base64", "zlib"])
def test_a_codec_that_is_not_a_text_encoding_is_a_usage_error(cli: Cli, codec: str) -> None:
    run = cli("claim", str(GENERATED), "--encoding", codec)
    assert run.code == 2
    assert f"--encoding {codec}: not a text encoding" in _one_error(run)


def _utf16_without_bom(tmp_path: Path) -> Path:
    path = tmp_path / "u16.csv"
    path.write_bytes("Patient,DOS,CPT,Minutes\nP1,2026-03-02,97129,38\n".encode("utf-16-le"))
    return path


def test_utf16_asked_for_on_data_without_a_byte_order_mark_says_which_to_pass(
    cli: Cli, tmp_path: Path
) -> None:
    run = cli("claim", str(_utf16_without_bom(tmp_path)), "--encoding", "utf-16")
    assert run.code == 3
    _one_error(run)
    assert "--encoding utf-16-le" in run.err


def test_utf16_without_a_byte_order_mark_read_as_utf8_is_refused_with_a_hint(
    cli: Cli, tmp_path: Path
) -> None:
    path = _utf16_without_bom(tmp_path)
    run = cli("claim", str(path))
    assert run.code == 3
    assert "NUL bytes" in _one_error(run) and "--encoding utf-16-le" in run.err
    good = cli("claim", str(path), "--encoding", "utf-16-le", "-f", "json")
    assert good.code == 0 and good.json()["summary"]["rows_used"] == 1


@pytest.mark.skipif(not os.path.exists("/dev/zero"), reason="no /dev/zero")
def test_dev_zero_as_an_export_ends_at_once_with_exit_3(cli: Cli) -> None:
    run = cli("claim", "/dev/zero", "--input", "csv")
    assert run.code == 3
    assert "/dev/zero:1: the file holds NUL bytes" in _one_error(run)


def test_a_first_line_of_megabytes_with_no_line_break_is_not_read_whole(
    cli: Cli, tmp_path: Path
) -> None:
    path = tmp_path / "long.csv"
    path.write_text("x" * (3 << 20), encoding="utf-8")
    run = cli("claim", str(path))
    assert run.code == 3
    assert "is longer than 1,048,576 characters" in _one_error(run)


def test_a_stray_quote_in_the_header_stops_at_once_naming_line_1(cli: Cli, tmp_path: Path) -> None:
    """Before: each further line re-scanned the header so far (80k rows took 180 s)."""
    path = tmp_path / "quote.csv"
    rows = "P1,2026-03-02,97129,38\n" * 20_000
    path.write_text('Patient,DOS,"CPT,Minutes\n' + rows, encoding="utf-8")
    run = cli("claim", str(path))
    assert run.code == 3
    assert ":1: a quote in the header is not closed within 100 lines" in _one_error(run)


def test_two_columns_of_one_name_are_an_error_not_a_silent_first_pick(
    cli: Cli, tmp_path: Path
) -> None:
    path = tmp_path / "dup.csv"
    path.write_text("Patient,DOS,CPT,Minutes,CPT\nP1,2026-03-02,97129,38,97110\n", "utf-8")
    run = cli("claim", str(path))
    assert run.code == 3
    assert "two columns are named 'CPT' (columns 3 and 5)" in _one_error(run)


def test_two_columns_that_name_one_field_differently_take_the_best_alias(
    cli: Cli, tmp_path: Path
) -> None:
    """Not a duplicate: 'Provider NPI' is a better name for the provider than 'Provider'."""
    path = tmp_path / "two.csv"
    path.write_text(
        "Patient,DOS,CPT,Minutes,Provider,Provider NPI\nP1,2026-03-02,97129,38,Ann,1234567893\n",
        "utf-8",
    )
    run = cli("claim", str(path), "-f", "json")
    assert run.code == 0 and run.json()["lines"][0]["provider"] == "1234567893"


def test_an_oversized_cell_without_a_quote_does_not_blame_a_quote_alone(
    cli: Cli, tmp_path: Path
) -> None:
    path = tmp_path / "big.csv"
    path.write_text("Patient,DOS,CPT,Minutes\nP1,2026-03-02,97129," + "9" * 200_000 + "\n", "utf-8")
    run = cli("claim", str(path))
    assert run.code == 3
    _one_error(run)
    assert "or the file is not a CSV export" in run.err


@pytest.mark.parametrize("column", ["Minutes", "Billed Units"])
def test_a_cell_of_thousands_of_digits_is_a_rejected_row_not_an_internal_error(
    cli: Cli, tmp_path: Path, column: str
) -> None:
    path = tmp_path / "digits.csv"
    huge = "9" * 5000
    cells = {"Minutes": "38", "Billed Units": "3"}
    cells[column] = huge
    path.write_text(
        "Patient,DOS,CPT,Minutes,Billed Units\n"
        f"P1,2026-03-02,97129,{cells['Minutes']},{cells['Billed Units']}\n",
        "utf-8",
    )
    run = cli("claim", str(path), "-f", "json")
    assert run.code == 1
    (bad,) = run.json()["rejected"]
    assert bad["column"] == column and "more than" in bad["reason"]


@pytest.mark.parametrize("first", ["＝", "﹢", "＋", "＠", "－"])
def test_a_fullwidth_or_small_formula_sign_is_neutralised_in_csv(
    cli: Cli, tmp_path: Path, first: str
) -> None:
    """After Unicode compatibility normalisation ``＝1+2`` is ``=1+2``: a formula to a
    spreadsheet, so it gets the leading quote like ``=1+2`` does."""
    path = tmp_path / "formula.csv"
    path.write_text(f"Patient,DOS,CPT,Minutes\n{first}1+2,2026-03-02,97129,38\n", "utf-8")
    run = cli("claim", str(path), "-f", "csv")
    assert f"'{first}1+2" in run.out


def test_check_lines_and_rejected_rows_on_stderr_show_control_characters_escaped(
    cli: Cli, tmp_path: Path
) -> None:
    """A provider cell holding colour codes reaches ``check``'s lines (a finding quotes it)
    and a rejected row's reason; the terminal gets ``\\x1b``, never the escape itself."""
    path = tmp_path / "esc.csv"
    path.write_text(
        "Patient,DOS,Provider,CPT,Minutes\n"
        "P-1,2026-03-02,Ann,97129,38\n"
        "P-1,2026-03-02,\x1b[31mred\x1b[0m,97129,38\n"
        "P-2,2026-03-02,Bo,97129,\x1b]0;title\x07\n",
        "utf-8",
    )
    checked = cli("check", str(path))
    claimed = cli("claim", str(path), "-f", "csv")
    for text in (checked.out, checked.err, claimed.err):
        assert "\x1b" not in text and "\x07" not in text
    assert "\\x1b]0;title" in checked.out


def _two_rows(tmp_path: Path, payer: str) -> str:
    export = tmp_path / "visits.csv"
    export.write_text(
        "patient,date,code,minutes,payer\n"
        f"P-1,2026-03-02,97110,38,{payer}\n"
        "P-1,2026-03-02,97112,15,medicare\n"
    )
    return str(export)


def test_a_long_cell_quoted_by_a_finding_is_cut_short(cli, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Fuzz case 51:39328: a 70 KB payer cell differing between a visit's rows made a 140 KB
    visit-field-conflict message, a CSV cell larger than csv.reader's field limit."""
    run = cli("claim", _two_rows(tmp_path, "x" * 70_000), "-f", "csv")
    rows = list(csv.DictReader(io.StringIO(run.out)))
    conflict = [r["findings"] for r in rows if "visit-field-conflict" in r["findings"]]
    assert conflict and len(conflict[0]) < 1_000
    assert max(len(cell) for r in rows for cell in r.values()) < 75_000
    assert "'xxx" in conflict[0] and "…'" in conflict[0]
