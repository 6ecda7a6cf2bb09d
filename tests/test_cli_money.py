"""``cognibill fees``, ``localities``, ``payers`` and the estimate in ``units``."""

from __future__ import annotations

from pathlib import Path


def test_units_38_with_no_options_gives_a_medicare_national_estimate_naming_its_data(cli) -> None:  # type: ignore[no-untyped-def]
    run = cli("units", "38")
    assert run.code == 0
    assert "Estimate, Medicare Part B" in run.out
    assert "national" in run.out
    assert "RVUs:" in run.out  # names the data release it used


def test_units_38_on_a_2025_date_reproduces_the_check_figures(cli) -> None:  # type: ignore[no-untyped-def]
    """RULES.md §8: 2025 national 97129 $21.67, 97130 $20.70 (x2)."""
    est = cli("units", "38", "--date", "2025-02-03", "-f", "json").json()["estimate"]
    assert [(x["code"], x["allowed"]) for x in est["lines"]] == [
        ("97129", "21.67"),
        ("97130", "41.40"),
    ]


def test_units_38_commercial_gives_the_105_to_165_range(cli) -> None:  # type: ignore[no-untyped-def]
    est = cli("units", "38", "--payer", "commercial", "-f", "json").json()["estimate"]
    assert est["allowed"] == {"low": "105.00", "high": "165.00"}
    assert "$105.00–$165.00" in cli("units", "38", "--payer", "commercial").out


def test_payer_rule_is_the_default_and_rule_overrides_it(cli) -> None:  # type: ignore[no-untyped-def]
    assert (
        cli("units", "97129=10", "97110=10", "--payer", "commercial", "-f", "json").json()["rule"]
        == "ama"
    )
    data = cli(
        "units", "97129=10", "97110=10", "--payer", "commercial", "--rule", "cms", "-f", "json"
    )
    assert data.json()["rule"] == "cms"


def test_unknown_payer_and_locality_exit_2(cli) -> None:  # type: ignore[no-untyped-def]
    assert cli("units", "38", "--payer", "acme").code == 2
    run = cli("units", "38", "--locality", "atlantis")
    assert run.code == 2 and "atlantis" in run.err


def test_a_user_payer_file_works_end_to_end(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    payers = tmp_path / "payers.toml"
    payers.write_text(
        '[payer.acme]\nname = "Acme"\nunit_rule = "ama"\npricing = "per-unit"\n'
        "unit_low = 40\nunit_high = 40\n"
    )
    est = cli("units", "38", "--payer", "acme", "--payers", str(payers), "-f", "json").json()
    assert est["estimate"]["allowed"] == "120.00"
    assert "acme" in cli("payers", "--payers", str(payers)).out


def test_a_broken_payer_file_fails_with_file_line_field(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    payers = tmp_path / "payers.toml"
    payers.write_text(
        '[payer.acme]\nname = "Acme"\nunit_rule = "sometimes"\npricing = "per-unit"\n'
    )
    run = cli("units", "38", "--payer", "acme", "--payers", str(payers))
    assert run.code == 3
    assert f"{payers}:3" in run.err and "unit_rule" in run.err


def test_fees_reproduce_the_2024_alabama_figure(cli) -> None:  # type: ignore[no-untyped-def]
    data = cli(
        "fees", "97129", "--locality", "alabama", "--date", "2024-06-01", "-f", "json"
    ).json()
    assert data["fees"][0]["non_facility"]["fee"] == "21.46"


def test_localities_finds_manhattan_and_says_when_nothing_matches(cli) -> None:  # type: ignore[no-untyped-def]
    assert "13202-01" in cli("localities", "manhattan").out
    run = cli("localities", "atlantis")
    assert run.code == 2 and "no Medicare locality matches 'atlantis'" in run.err


def test_payers_show_and_init(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    assert cli("payers", "show", "medicare", "-f", "json").json()["unit_rule"] == "cms"
    target = tmp_path / "p.toml"
    assert cli("payers", "init", "acme", "--out", str(target)).code == 0
    assert "[payer.acme]" in target.read_text()
    # the starter profile is itself a valid payers file
    assert cli("payers", "--payers", str(target), "-f", "json").code == 0
