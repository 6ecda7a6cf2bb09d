"""``cognibill claim``'s default view is the run summed up; ``--lines`` lists the claim lines."""

from __future__ import annotations

import re
from pathlib import Path

from tests.conftest import REPO

SAMPLE = str(REPO / "sample_sessions" / "clinic_visits.csv")


def test_the_bundled_sample_fits_in_a_screen_or_two_at_100_columns(cli, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("COLUMNS", "100")
    run = cli("claim", SAMPLE)
    assert run.code == 1  # the sample has errors
    lines = run.out.splitlines()
    assert 40 <= len(lines) <= 100
    assert max(len(line) for line in lines) <= 100


def test_the_summary_comes_first_and_names_what_is_at_stake(cli) -> None:  # type: ignore[no-untyped-def]
    out = cli("claim", SAMPLE).out
    assert out.startswith("Claim summary\n119 rows read: 118 used, 1 rejected, 0 skipped\n")
    assert "Allowed $6,544.72–$7,704.72" in out
    for title in (
        "Money by payer",
        "Findings by rule",
        "Visits needing attention first: 8 with errors or warnings",
        "Rejected and skipped rows",
        "Money left on the table:",
        "KX and review thresholds",
        "Units per visit by provider",
        "Units and money by code",
    ):
        assert title in out
    assert out.index("Money by payer") < out.index("Findings by rule")
    assert "Claim lines" not in out  # the line table is --lines


def test_lines_gives_the_claim_line_table(cli) -> None:  # type: ignore[no-untyped-def]
    run = cli("claim", SAMPLE, "--lines")
    assert run.out.startswith("Claim lines")
    assert "Claim summary" not in run.out
    assert "Adams, Carl" in run.out and "97161" in run.out


def test_explain_shows_the_lines_with_their_working(cli) -> None:  # type: ignore[no-untyped-def]
    run = cli("claim", str(REPO / "sample_sessions" / "clean_visit.toml"), "--explain")
    assert "How it was worked out" in run.out


def test_the_view_written_to_a_file_is_deterministic(cli, tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.delenv("COLUMNS")
    first, second = tmp_path / "a.txt", tmp_path / "b.txt"
    assert cli("claim", SAMPLE, "--out", str(first)).code == 1
    assert cli("claim", SAMPLE, "--out", str(second)).code == 1
    text = first.read_text("utf-8")
    assert text == second.read_text("utf-8") and text.startswith("Claim summary")
    assert max(len(line) for line in text.splitlines()) <= 100


def test_json_gains_the_report_object_after_the_summary(cli) -> None:  # type: ignore[no-untyped-def]
    run = cli("claim", SAMPLE, "-f", "json")
    data = run.json()
    assert list(data) == ["lines", "rejected", "summary", "report"]
    report = data["report"]
    assert report["money_unit"] == "cents"
    assert report["totals"]["allowed_lo"] == 654472
    assert {r["id"] for r in report["findings"]} >= {"units-not-supported", "deleted-code"}


def test_csv_and_ndjson_are_as_before(cli) -> None:  # type: ignore[no-untyped-def]
    csv = cli("claim", SAMPLE, "-f", "csv").out
    assert csv.startswith("source,line,patient_id,")
    assert "report" not in csv.splitlines()[0]
    ndjson = cli("claim", SAMPLE, "-f", "ndjson").out
    assert '"report"' not in ndjson


def test_control_characters_from_the_input_are_escaped(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "hostile.csv"
    path.write_text(
        "Patient,DOS,Provider,Discipline,CPT,Minutes,Modifiers,Payer\n"
        "P\x1b[31mX,2026-03-02,Ann\x1b]0;owned\x07,pt,97532,30,GP,medicare\n",
        encoding="utf-8",
    )
    run = cli("claim", str(path))
    assert "\x1b" not in run.out and "\x07" not in run.out
    assert "\\x1b" in run.out


def test_markup_in_a_cell_is_shown_as_it_is(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "markup.csv"
    path.write_text(
        "Patient,DOS,Provider,Discipline,CPT,Minutes,Modifiers,Payer\n"
        "[bold]P1[/bold],2026-03-02,Ann Lee,pt,97532,30,GP,medicare\n",
        encoding="utf-8",
    )
    assert "[bold]P1[/bold]" in cli("claim", str(path)).out


def test_large_amounts_are_shown_compact_in_narrow_columns() -> None:
    from cognibill.reports.text import compact, compact_span

    assert compact(999_999) == "$9,999.99"
    assert compact(1_000_000) == "$10.0K"
    assert compact(4_189_773_000) == "$41.9M"
    assert compact_span(41_897_730_00, 65_839_000_00) == "$41.9M–$65.8M"


def test_no_number_is_cut_on_a_larger_export(cli, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("COLUMNS", "100")
    export = REPO / "tests" / "data" / "csv" / "generated_export.csv"
    out = cli("claim", str(export), "-q", "--fail-on", "never").out
    lines = out.splitlines()
    assert max(len(line) for line in lines) <= 100
    for title, text_columns in (("Money by payer", 0), ("Units and money by code", 2)):
        start = lines.index(title)
        for line in lines[start + 1 : lines.index("", start)]:
            cells = re.split(r"\s{2,}", line.strip())[text_columns:]  # a label may be cut
            assert not any("…" in cell for cell in cells), line
