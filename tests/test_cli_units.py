"""``cognibill units`` and ``cognibill ranges`` through the real entry point."""

from __future__ import annotations

import csv
import io

import pytest


def test_units_38_prints_97129_once_and_97130_twice_and_the_next_unit(cli) -> None:  # type: ignore[no-untyped-def]
    run = cli("units", "38")
    assert run.code == 0
    assert run.err == ""
    assert "97129" in run.out and "× 1" in run.out
    assert "97130" in run.out and "× 2" in run.out
    assert "Next unit at 53 minutes" in run.out


def test_units_38_json_twin_is_valid_and_complete(cli) -> None:  # type: ignore[no-untyped-def]
    data = cli("units", "38", "--format", "json").json()
    assert data["rule"] == "cms"
    assert data["total_timed_minutes"] == 38
    assert data["total_units"] == 3
    assert [(x["code"], x["minutes"], x["units"]) for x in data["lines"]] == [
        ("97129", 15, 1),
        ("97130", 23, 2),
    ]
    assert data["next_unit_at"] == 53
    assert data["ties"] == []
    assert data["trace"]
    assert data["findings"] == []


def test_format_can_come_from_the_environment(cli, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("COGNIBILL_FORMAT", "json")
    from cognibill.cli import main

    with pytest.raises(SystemExit) as exc:
        main(["units", "38"])
    assert exc.value.code == 0


def test_units_csv_has_one_row_per_line(cli) -> None:  # type: ignore[no-untyped-def]
    run = cli("units", "97110=26", "97530=19", "97140=6", "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(run.out)))
    assert [(r["code"], r["units"]) for r in rows] == [
        ("97110", "2"),
        ("97140", "0"),
        ("97530", "1"),
    ]
    assert {r["total_timed_minutes"] for r in rows} == {"51"}


def test_tie_is_reported_in_json_and_table(cli) -> None:  # type: ignore[no-untyped-def]
    data = cli("units", "97110=10", "97112=10", "--format", "json").json()
    assert data["ties"][0]["candidates"] == ["97110", "97112"]
    assert any(f["id"] == "unit-tie" for f in data["findings"])
    assert "info[unit-tie]: 97110 and 97112 tie" in cli("units", "97110=10", "97112=10").out


def test_rule_ama_and_compare(cli) -> None:  # type: ignore[no-untyped-def]
    assert (
        cli("units", "97129=10", "97110=10", "--rule", "ama", "-f", "json").json()["total_units"]
        == 2
    )
    data = cli("units", "97129=10", "97110=10", "--compare", "-f", "json").json()
    assert [r["rule"] for r in data["results"]] == ["cms", "ama"]
    assert [r["total_units"] for r in data["results"]] == [1, 2]
    table = cli("units", "97129=10", "97110=10", "--compare").out
    assert "CMS" in table and "AMA" in table


def test_explain_prints_the_trace(cli) -> None:  # type: ignore[no-untyped-def]
    out = cli("units", "97110=26", "97530=19", "97140=6", "--explain").out
    assert "Extra unit -> 97110" in out


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ("-5", "-5: minutes cannot be negative"),
        ("abc", "abc: expected minutes"),
        ("97129=", "97129=: the minutes are empty"),
        ("99999=10", "99999=10: unknown code 99999"),
        ("100000", "100000: 100000 minutes is more than a day"),
        ("38.5", "38.5: minutes must be whole minutes"),
        ("=10", "=10: the code is missing"),
        ("97532=30", "97532=30: 97532 was deleted on 2018-01-01; bill 97129/97130"),
    ],
)
def test_bad_entries_get_one_line_naming_the_entry_and_exit_2(  # type: ignore[no-untyped-def]
    cli, entry: str, message: str
) -> None:
    run = cli("units", entry)
    assert run.code == 2
    assert run.out == ""
    assert run.err.startswith(f"cognibill: error: {message}")
    assert "Traceback" not in run.err


def test_a_code_given_twice_is_rejected(cli) -> None:  # type: ignore[no-untyped-def]
    run = cli("units", "38", "97129=5")
    assert run.code == 2
    assert "97129 is already given" in run.err


def test_near_miss_codes_get_did_you_mean(cli) -> None:  # type: ignore[no-untyped-def]
    assert "did you mean 97129" in cli("units", "92129=20").err
    assert "97130" in cli("units", "91730=20").err


def test_ndjson_is_a_units_format_one_result_a_line(cli) -> None:  # type: ignore[no-untyped-def]
    run = cli("units", "38", "--format", "ndjson")
    assert run.code == 0
    assert run.json()["total_units"] == 3  # one line: the JSON result, compact


def test_ranges_up_to_8_in_every_format(cli) -> None:  # type: ignore[no-untyped-def]
    table = cli("ranges", "--up-to", "8").out
    assert "8–22" in table and "113–127" in table
    data = cli("ranges", "--up-to", "8", "-f", "json").json()["ranges"]
    assert data[1] == {"units": 1, "min_minutes": 8, "max_minutes": 22, "97129": 1, "97130": 0}
    assert data[-1]["units"] == 8 and data[-1]["97130"] == 7
    rows = list(csv.DictReader(io.StringIO(cli("ranges", "--up-to", "3", "-f", "csv").out)))
    assert rows[3] == {
        "units": "3",
        "min_minutes": "38",
        "max_minutes": "52",
        "97129": "1",
        "97130": "2",
    }


def test_no_color_leaves_no_escape_codes(cli, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.setenv("FORCE_COLOR", "")
    assert "\x1b[" not in cli("units", "7").out


def test_97129_before_2020_is_an_error_finding_and_exit_1_rules_5(cli) -> None:  # type: ignore[no-untyped-def]
    """RULES.md §5: 97129/97130 exist from 2020-01-01."""
    run = cli("units", "38", "--date", "2019-12-31", "-f", "json")
    assert run.code == 1
    assert "before-code-existed" in [f["id"] for f in run.json()["findings"]]
    edge = cli("units", "38", "--date", "2020-01-01", "-f", "json")
    assert edge.code == 0
    assert "before-code-existed" not in [f["id"] for f in edge.json()["findings"]]


def test_ndjson_from_the_environment_falls_back_to_json_for_one_off_commands(  # type: ignore[no-untyped-def]
    cli, monkeypatch
) -> None:
    monkeypatch.setenv("COGNIBILL_FORMAT", "ndjson")
    from cognibill.cli import main

    with pytest.raises(SystemExit) as exc:
        main(["units", "38", "--date", "2026-03-02"])
    assert exc.value.code == 0


def test_an_unknown_option_and_non_ascii_digits_are_bad_entries(cli) -> None:  # type: ignore[no-untyped-def]
    run = cli("units", "38", "--no-such-thing")
    assert run.code == 2 and "no such option: --no-such-thing" in run.err
    assert cli("units", "９７", "-f", "json").json()["total_timed_minutes"] == 97  # as CSV reads it
    assert cli("units", "1_000").code == 2


def test_no_next_unit_past_a_day_of_minutes(cli) -> None:  # type: ignore[no-untyped-def]
    assert cli("units", "1440", "-f", "json").json()["next_unit_at"] is None


def test_the_tie_finding_names_the_code_that_took_the_unit(cli) -> None:  # type: ignore[no-untyped-def]
    findings = cli("units", "97110=10", "97112=10", "--date", "2026-03-02", "-f", "json").json()
    (tie,) = [f for f in findings["findings"] if f["id"] == "unit-tie"]
    assert tie["code"] == findings["ties"][0]["chosen"][0]


def test_units_runs_on_the_columnar_engine_not_the_old_per_visit_code(cli, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """Issue 9: one implementation of each rule and price; --explain reads the engine's columns."""
    import cognibill.engine.units as units

    # the old per-visit engine and pricer are gone: what is left of engine.units is the rules
    assert not hasattr(units, "compute_units")
    run = cli("units", "97110=24", "97112=23", "--explain", "--compare")
    assert run.code == 0, run.err
    assert "Extra unit -> 97110 (9 min left over)." in run.out
    run = cli("units", "97110=24", "97112=23", "--explain")
    assert run.code == 0, run.err
    assert "97110: multiple-procedure reduction, 2 unit(s) with 50% of the PE" in run.out
