"""Every finding the tool emits is a catalogue entry (id, severity, hint, source), which
``cognibill rules ID`` explains and ``--ignore ID`` accepts; one "did you mean" for every input."""

from __future__ import annotations

from pathlib import Path

import pytest

from cognibill.rules.catalogue import RULES
from tests.conftest import DATA, REPO

INPUTS = sorted(
    [
        *(REPO / "sample_sessions").glob("*.toml"),
        *(REPO / "sample_sessions").glob("*.csv"),
        *(DATA / "sessions").glob("*.toml"),
        *(DATA / "csv").glob("*.csv"),
        *(DATA / "csv" / "edges").glob("*.csv"),
    ]
)


def _findings(cli, path: Path) -> list[dict[str, object]]:  # type: ignore[no-untyped-def]
    run = cli("check", str(path), "--format", "json", "--fail-on", "never", "-q")
    if run.code != 0:
        return []  # a file rejected whole (exit 3) makes no finding
    return run.json()["findings"]  # type: ignore[no-any-return]


def test_every_finding_of_every_bundled_input_is_in_the_catalogue(cli) -> None:  # type: ignore[no-untyped-def]
    seen: set[str] = set()
    for path in INPUTS:
        for finding in _findings(cli, path):
            rule = RULES[str(finding["id"])]
            assert finding["severity"] in {"error", "warning", "info"}
            assert finding["hint"], finding
            seen.add(rule.id)
    # the bundled inputs reach most of the catalogue, rejected rows included
    assert {"rejected-row", "units-not-supported", "unknown-code", "payer-fallback"} <= seen


def test_rejected_row_is_an_error_with_the_catalogue_hint(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """RULES.md §11: a row the export cannot give is reported, never dropped."""
    path = tmp_path / "bad.csv"
    path.write_text("Client,DOS,CPT,Duration\nC1,03/02/2026,97129,thirty\n")
    found = [f for f in _findings(cli, path) if not RULES[f["id"]].per_file]
    assert [(f["id"], f["severity"], f["line"]) for f in found] == [("rejected-row", "error", 2)]
    assert found[0]["hint"] == RULES["rejected-row"].hint


def test_per_file_notes_are_findings_with_no_line_and_ignore_hides_them(
    cli, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    """RULES.md §11: what a file lacks is said once, as a finding of the file."""
    path = tmp_path / "plain.csv"
    path.write_text("Client,DOS,CPT,Duration\nC1,03/02/2026,97129,38\n")
    notes = [f for f in _findings(cli, path) if RULES[f["id"]].per_file]
    assert {(f["id"], f["line"], f["patient_id"]) for f in notes} == {
        ("checks-skipped", None, None),
        ("default-payer", None, None),
    }
    ignore = ("--ignore", "checks-skipped", "--ignore", "default-payer")
    quiet = cli("check", str(path), *ignore, "-f", "json")
    assert quiet.json()["findings"] == [] and quiet.json()["summary"]["notes"] == []


@pytest.mark.parametrize("rule_id", sorted(RULES))
def test_rules_explains_and_ignore_accepts_every_catalogue_id(cli, rule_id: str) -> None:  # type: ignore[no-untyped-def]
    shown = cli("rules", rule_id)
    assert shown.code == 0 and rule_id in shown.out
    sample = str(REPO / "sample_sessions" / "clean_visit.toml")
    ignored = cli("check", sample, "--ignore", rule_id, "-q")
    assert ignored.code == 0, ignored.err


@pytest.mark.parametrize(("typo", "meant"), [("92129", "97129"), ("91730", "97130")])
def test_a_typo_gets_the_same_suggestion_from_units_a_session_file_and_an_export(
    cli,  # type: ignore[no-untyped-def]
    tmp_path: Path,
    typo: str,
    meant: str,
) -> None:
    """RULES.md §5: the typos seen in print."""
    units = cli("units", f"{typo}=20")
    assert f"hint: did you mean {meant}" in units.err
    session = tmp_path / "visit.toml"
    session.write_text(
        '[[visit]]\npatient = "P-1"\ndate = 2026-03-02\n'
        f'[[visit.service]]\ncode = "{typo}"\nminutes = 20\n'
    )
    said = [f["message"] for f in _findings(cli, session) if f["id"] == "unknown-code"]
    assert said and f"did you mean {meant}" in str(said[0])
    export = tmp_path / "export.csv"
    export.write_text(f"Client,DOS,CPT,Duration\nC1,03/02/2026,{typo},20\n")
    rejected = _findings(cli, export)
    assert f"did you mean {meant}" in str(rejected[0]["message"])
    guesses = {
        units.err.split("did you mean ")[1].split("?")[0],
        str(said[0]).split("did you mean ")[1].split("?")[0],
        str(rejected[0]["message"]).split("did you mean ")[1].split("?")[0],
    }
    assert len(guesses) == 1
