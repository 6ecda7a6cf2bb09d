"""claim --explain: each visit's working, read off the engine's own allocation columns, the
same trace units --explain gives (RULES.md §2, §3)."""

from __future__ import annotations

import csv
import io

import pytest

from tests.conftest import REPO

MULTI = str(REPO / "sample_sessions" / "multi_code_day.toml")


def test_claim_explain_gives_each_visit_the_trace_units_explain_gives(cli) -> None:  # type: ignore[no-untyped-def]
    """RULES.md §2 worked example: 97110 26 + 97530 19 + 97140 6 on 2026-04-07."""
    lines = cli("claim", MULTI, "--explain", "--format", "json").json()["lines"]
    first = [ln for ln in lines if ln["trace"] is not None]
    assert [(ln["date"], ln["code"]) for ln in first] == [
        ("2026-04-07", "97110"),
        ("2026-04-09", "97110"),
    ]
    assert all(ln["trace"] is None for ln in lines if ln not in first)
    units = cli("units", "97110=26", "97530=19", "97140=6", "--date", "2026-04-07", "-f", "json")
    assert first[0]["trace"] == units.json()["trace"]
    assert first[0]["trace"][-1] == "Extra unit -> 97110 (11 min left over)."


@pytest.mark.parametrize("rule", ["ama", "ama-capped"])
def test_claim_explain_follows_the_unit_rule_in_force_rules_3(cli, rule: str) -> None:  # type: ignore[no-untyped-def]
    lines = cli("claim", MULTI, "--explain", "--rule", rule, "-f", "json").json()["lines"]
    units = cli(
        "units", "97110=26", "97530=19", "97140=6", "--rule", rule, "--date", "2026-04-07",
        "-f", "json",
    )  # fmt: skip
    assert lines[0]["trace"] == units.json()["trace"]


def test_without_explain_the_lines_carry_no_trace_and_csv_never_does(cli) -> None:  # type: ignore[no-untyped-def]
    plain = cli("claim", MULTI, "-f", "json").json()["lines"]
    assert all("trace" not in ln for ln in plain)
    text = cli("claim", MULTI, "--explain", "-f", "csv").out
    assert "trace" not in next(csv.reader(io.StringIO(text)))
    assert text == cli("claim", MULTI, "-f", "csv").out


def test_the_table_shows_how_it_was_worked_out_per_visit(cli) -> None:  # type: ignore[no-untyped-def]
    shown = cli("claim", MULTI, "--explain").out
    assert "How it was worked out" in shown
    assert "  - Tie: 97110, 97112 each have 5 min left over for 1 unit(s)" in shown


def _allowed(line: dict) -> str:  # type: ignore[type-arg]
    value = line["allowed"]
    return value if isinstance(value, str) else f"{value['low']}–{value['high']}"


def test_claim_explain_works_out_each_visits_money_as_units_explain_does(cli) -> None:  # type: ignore[no-untyped-def]
    """The fee steps are the pricer's own columns worded (RULES.md §7, §8): the same steps
    units --explain gives, ending in the visit's allowed amount the lines add up to."""
    args = ("--payer", "medicare", "--locality", "alabama")
    lines = cli("claim", MULTI, "--explain", *args, "-f", "json").json()["lines"]
    first = lines[0]
    units = cli(
        "units", "97110=26", "97530=19", "97140=6", "--date", "2026-04-07", *args, "-f", "json"
    ).json()
    # units prices the 0-unit 97140 too, and has no place of service (the setting's reason)
    priced = [s for s in units["estimate"]["trace"][1:] if not s.startswith("97140")]
    assert first["fee_trace"][1:] == priced
    assert "non-facility (place of service 11)" in first["fee_trace"][0]
    visit = [
        ln for ln in lines if (ln["date"], ln["patient_id"]) == (first["date"], first["patient_id"])
    ]
    total = sum(float(ln["allowed"]) * 100 for ln in visit)
    assert first["fee_trace"][-1].startswith(f"Visit: allowed ${total / 100:.2f};")
    assert all(ln["fee_trace"] is None for ln in lines if ln["trace"] is None)


def test_claim_explain_non_par_gives_each_lines_limiting_charge(cli) -> None:  # type: ignore[no-untyped-def]
    """RULES.md §7: a non-participating provider's limiting charge, 115% of the 95% amount."""
    lines = cli(
        "claim", MULTI, "--explain", "--payer", "medicare", "--non-par", "-f", "json"
    ).json()["lines"]
    steps = lines[0]["fee_trace"]
    assert any("non-participating, 95% of" in step for step in steps)
    assert any("limiting charge 115% of" in step for step in steps)
    par = cli("claim", MULTI, "--explain", "--payer", "medicare", "-f", "json").json()["lines"]
    assert not any("limiting charge" in step for step in par[0]["fee_trace"])


def test_claim_explain_without_an_estimate_has_no_fee_steps(cli) -> None:  # type: ignore[no-untyped-def]
    lines = cli("claim", MULTI, "--explain", "--no-estimate", "-f", "json").json()["lines"]
    assert lines[0]["trace"] and lines[0]["fee_trace"] == []
