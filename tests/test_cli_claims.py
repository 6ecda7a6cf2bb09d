"""``cognibill claim`` and ``cognibill check`` through the entry point."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from tests.conftest import REPO

SAMPLES = REPO / "sample_sessions"
GENERATED = REPO / "tests" / "data" / "csv" / "generated_export.csv"
MISTAKES = str(SAMPLES / "mistakes.toml")
CLEAN = str(SAMPLES / "clean_visit.toml")


def test_check_prints_compiler_like_lines_and_exits_1_on_errors(cli) -> None:  # type: ignore[no-untyped-def]
    run = cli("check", MISTAKES)
    assert run.code == 1
    lines = run.out.splitlines()
    assert any(
        line.startswith(f"{MISTAKES}:") and "error[addon-without-primary]" in line for line in lines
    )
    assert "rows read" in run.err  # the summary goes to stderr


def test_check_clean_visit_has_no_findings_and_exits_0(cli) -> None:  # type: ignore[no-untyped-def]
    run = cli("check", CLEAN)
    assert run.code == 0
    assert run.out == ""


def test_fail_on_warning_and_never(cli) -> None:  # type: ignore[no-untyped-def]
    # multi_code_day has info findings only (below-minimum, unit-tie)
    day = str(SAMPLES / "multi_code_day.toml")
    assert cli("check", day).code == 0
    assert cli("check", day, "--fail-on", "info").code == 1
    assert cli("check", MISTAKES, "--fail-on", "never").code == 0


def test_ignore_drops_a_rule_and_rejects_an_unknown_id(cli) -> None:  # type: ignore[no-untyped-def]
    run = cli("check", MISTAKES, "--ignore", "addon-without-primary")
    assert "addon-without-primary" not in run.out
    bad = cli("check", MISTAKES, "--ignore", "addon-without-primary-x")
    assert bad.code == 2 and "no such rule" in bad.err


def test_check_json_has_findings_and_summary(cli) -> None:  # type: ignore[no-untyped-def]
    data = cli("check", MISTAKES, "-f", "json").json()
    assert {f["id"] for f in data["findings"]} >= {"addon-without-primary", "deleted-code"}
    assert (
        data["summary"]["rows_read"]
        == data["summary"]["rows_used"] + data["summary"]["rows_rejected"]
    )


def test_claim_and_units_agree_on_units_for_the_same_minutes(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """One engine: a 38-minute visit in a session file bills what `units 38` says."""
    units = cli("units", "38", "-f", "json", "--date", "2026-03-02").json()
    data = cli("claim", CLEAN, "-f", "json").json()
    claim = [(x["code"], x["units"]) for x in data["lines"]]
    assert claim == [(x["code"], x["units"]) for x in units["lines"]]


def test_claim_json_lines_have_the_documented_fields(cli) -> None:  # type: ignore[no-untyped-def]
    data = cli("claim", CLEAN, "-f", "json").json()
    line = data["lines"][0]
    for key in (
        "patient_id",
        "date",
        "provider",
        "code",
        "units",
        "minutes",
        "modifiers",
        "findings",
    ):
        assert key in line
    assert line["modifiers"] == ["GN"]
    assert data["summary"]["visits"] == 1
    assert data["rejected"] == []


def test_claim_ndjson_ends_with_the_summary(cli) -> None:  # type: ignore[no-untyped-def]
    out = cli("claim", MISTAKES, "-f", "ndjson").out.splitlines()
    kinds = [json.loads(line)["type"] for line in out]
    assert kinds[-1] == "summary"
    assert set(kinds[:-1]) <= {"line", "rejected"}


def test_claim_csv_is_one_row_per_line_and_table_shows_the_lines(cli) -> None:  # type: ignore[no-untyped-def]
    rows = list(csv.DictReader(io.StringIO(cli("claim", CLEAN, "-f", "csv").out)))
    assert [(r["code"], r["units"], r["modifiers"]) for r in rows] == [
        ("97129", "1", "GN"),
        ("97130", "2", "GN"),
    ]
    assert "97130" in cli("claim", CLEAN).out


def test_claim_reads_stdin_and_sniffs_toml(cli, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(Path(CLEAN).read_bytes())))
    data = cli("claim", "-", "-f", "json").json()
    assert data["summary"]["visits"] == 1


def test_a_bad_session_file_exits_3_with_file_line_messages(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    bad = tmp_path / "bad.toml"
    bad.write_text('[[visit]]\npatient = "P-1"\ndate = 2026-13-02\n')
    run = cli("check", str(bad))
    assert run.code == 3
    assert run.err.startswith(f"cognibill: error: {bad}:")
    assert "Traceback" not in run.err


def test_a_missing_file_exits_3(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    run = cli("claim", str(tmp_path / "nope.csv"))
    assert run.code == 3


def test_out_writes_atomically_and_refuses_the_input(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    target = tmp_path / "report.json"
    assert cli("claim", CLEAN, "-f", "json", "--out", str(target)).code == 0
    assert json.loads(target.read_text())["summary"]["visits"] == 1
    copy = tmp_path / "visit.toml"
    copy.write_bytes(Path(CLEAN).read_bytes())
    run = cli("claim", str(copy), "--out", str(copy))
    assert run.code == 2 and "also an input" in run.err
    assert copy.read_bytes() == Path(CLEAN).read_bytes()


@pytest.mark.parametrize("fmt", ["table", "json", "csv", "ndjson"])
def test_every_claim_format_runs_on_the_sample_export(cli, fmt: str) -> None:  # type: ignore[no-untyped-def]
    run = cli("claim", str(GENERATED), "-f", fmt)
    assert run.code in (0, 1)
    assert run.out


def test_errors_writes_every_rejected_row_and_counts_in_equal_counts_out(
    cli, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    errors = tmp_path / "rejected.csv"
    data = cli("claim", str(GENERATED), "-f", "json", "--errors", str(errors)).json()
    summary = data["summary"]
    assert summary["rows_read"] == summary["rows_used"] + summary["rows_rejected"]
    assert summary["rows_rejected"] == len(data["rejected"]) > 0
    rows = list(csv.DictReader(io.StringIO(errors.read_text())))
    assert [int(r["line"]) for r in rows] == [r["line"] for r in data["rejected"]]
    assert all(r["reason"] for r in rows)


def test_progress_bar_only_on_a_terminal_and_never_with_quiet(tmp_path: Path) -> None:
    """Rich draws a progress bar on a terminal's stderr for a run that takes a moment."""
    import os
    import pty
    import subprocess
    import sys

    rows = ["Patient,DOS,CPT,Minutes"] + [
        f"P-{n},2026-03-{1 + n // 8_000:02d},97129,{8 + n % 60}" for n in range(200_000)
    ]
    export = tmp_path / "big.csv"
    export.write_text("\n".join(rows) + "\n")

    def stderr_of(*extra: str) -> str:
        master, slave = pty.openpty()
        proc = subprocess.Popen(
            [sys.executable, "-m", "cognibill", "claim", str(export), "-f", "csv", "--out",
             str(tmp_path / "out.csv"), "--no-estimate", *extra],
            stdout=subprocess.DEVNULL,
            stderr=slave,
            env={**os.environ, "PYTHONPATH": str(REPO), "COLUMNS": "100"},
        )  # fmt: skip
        os.close(slave)
        chunks = []
        while True:
            try:
                data = os.read(master, 65536)
            except OSError:
                break
            if not data:
                break
            chunks.append(data)
        proc.wait()
        os.close(master)
        return b"".join(chunks).decode("utf-8", "replace")

    shown = stderr_of()
    assert "reading" in shown and "rows read" in shown
    quiet = stderr_of("--quiet")
    assert "reading" not in quiet and "rows read" not in quiet


def test_a_directory_is_an_unreadable_input_exit_3(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    run = cli("check", str(tmp_path))
    assert run.code == 3 and "is a directory" in run.err


def test_errors_path_that_is_an_input_is_refused_by_its_own_name(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    copy = tmp_path / "export.csv"
    copy.write_bytes((GENERATED).read_bytes())
    run = cli("claim", str(copy), "--errors", str(copy))
    assert run.code == 2 and "--errors" in run.err and "also an input" in run.err
    assert copy.read_bytes() == (GENERATED).read_bytes()


def test_no_estimate_leaves_the_money_out_of_the_summary(cli) -> None:  # type: ignore[no-untyped-def]
    summary = cli("claim", CLEAN, "-f", "json", "--no-estimate").json()["summary"]
    assert summary["allowed"] is None and summary["data_version"] == []
    assert summary["output_rows"] == 2


def _export_of_visits(path: Path, visits: int) -> Path:
    """One 38-minute cognitive row per patient (each a visit, SLP, Medicare, no plan of care)."""
    rows = "".join(f"P{n},2026-03-02,1912345678,CCC-SLP,97129,38,\n" for n in range(visits))
    header = "Patient,DOS,NPI,Credential,CPT,Minutes,POC Date\n"  # a plan column, all empty
    path.write_text(header + rows, encoding="utf-8")
    return path


def test_the_table_shows_500_visits_whole_and_counts_the_findings_of_the_rest(
    cli,
    tmp_path: Path,  # type: ignore[no-untyped-def]
) -> None:
    big = str(_export_of_visits(tmp_path / "big.csv", 503))
    run = cli("claim", big, "--fail-on", "never", "--lines")
    assert run.code == 0
    assert "The first 500 of 503 visits are shown; --format csv|json|ndjson gives every" in run.out
    assert "P499" in run.out and "P500" not in run.out
    # The 3 visits not shown each have one no-plan-of-care error (Medicare requires a plan).
    assert "Findings of the other 3 visits" in run.out
    assert "        3 error[no-plan-of-care]" in run.out
    # The machine formats keep every line.
    data = cli("claim", str(tmp_path / "big.csv"), "-f", "json", "--fail-on", "never").json()
    assert len({line["patient_id"] for line in data["lines"]}) == 503


def test_a_table_of_500_visits_or_fewer_shows_them_all(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    export = str(_export_of_visits(tmp_path / "500.csv", 500))
    run = cli("claim", export, "--fail-on", "never", "--lines")
    assert "P499" in run.out and "visits are shown" not in run.out
    assert "Findings of the other" not in run.out


def test_the_table_says_which_visit_key_grouped_the_rows_rules_md_s2(cli) -> None:  # type: ignore[no-untyped-def]
    export = str(GENERATED)
    default = cli("claim", export, "-q", "--fail-on", "never", "--lines").out
    assert "Visit key: patient, date of service, rendering provider, discipline\n" in default
    pooled = cli(
        "claim", export, "-q", "--fail-on", "never", "--lines", "--visit-key", "patient,date"
    ).out
    assert "Visit key: patient, date of service\n" in pooled
