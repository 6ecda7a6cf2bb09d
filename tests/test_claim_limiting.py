"""claim --non-par: each claim line's limiting charge, 115% of its allowed amount under the
non-participating 95% rate, Medicare fee-schedule pricing only (RULES.md §7). The same kernel
column `units --non-par` words."""

from __future__ import annotations

import csv
import io
from decimal import ROUND_HALF_UP, Decimal

import pytest

from tests.conftest import REPO

MULTI = str(REPO / "sample_sessions" / "multi_code_day.toml")
CLINIC = str(REPO / "sample_sessions" / "clinic_visits.csv")


def _lines(cli, *args: str) -> list[dict]:  # type: ignore[no-untyped-def, type-arg]
    return cli("claim", *args, "-f", "json").json()["lines"]  # type: ignore[no-any-return]


def test_a_non_participating_medicare_line_carries_115_percent_of_its_allowed_amount(cli) -> None:  # type: ignore[no-untyped-def]
    lines = _lines(cli, MULTI, "--payer", "medicare", "--non-par")
    first = lines[0]
    assert (first["code"], first["units"], first["allowed"]) == ("97110", 2, "42.20")
    assert first["limiting_charge"] == "48.53"


def test_the_limiting_charge_is_rounded_half_up_to_the_cent_on_every_line(cli) -> None:  # type: ignore[no-untyped-def]
    lines = _lines(cli, CLINIC, "--payer", "medicare", "--non-par")
    priced = [ln for ln in lines if ln["units"] and ln["allowed"] is not None]
    assert len(priced) > 50
    for line in priced:
        allowed = Decimal(line["allowed"])
        expected = (allowed * Decimal("1.15")).quantize(Decimal("0.01"), ROUND_HALF_UP)
        assert Decimal(line["limiting_charge"]) == expected, line["code"]


def test_a_participating_provider_has_no_limiting_charge(cli) -> None:  # type: ignore[no-untyped-def]
    lines = _lines(cli, MULTI, "--payer", "medicare")
    assert all(ln["limiting_charge"] is None for ln in lines)


_PERCENT = """
[payer.acme]
name = "Acme"
base = "medicare"
pricing = "percent-of-mpfs"
percent = 110
"""


@pytest.mark.parametrize("payer", ["commercial", "acme"])
def test_non_par_gives_no_limiting_charge_outside_medicare_fee_schedule_pricing(
    cli,
    tmp_path,
    payer: str,  # type: ignore[no-untyped-def]
) -> None:
    """The 95% rate and the limiting charge are Medicare fee-schedule rules: a per-unit or a
    percent-of-MPFS payer keeps its price."""
    export = tmp_path / "visits.csv"
    export.write_text("patient,date,code,minutes\nP-1,2026-04-07,97110,38\n")
    payers = tmp_path / "payers.toml"
    payers.write_text(_PERCENT)
    lines = _lines(cli, str(export), "--payers", str(payers), "--payer", payer, "--non-par")
    assert lines[0]["units"] == 3 and lines[0]["allowed"] is not None
    assert lines[0]["limiting_charge"] is None


def test_claim_and_units_give_the_same_limiting_charge(cli) -> None:  # type: ignore[no-untyped-def]
    lines = _lines(cli, MULTI, "--payer", "medicare", "--non-par")
    visit = [ln for ln in lines if ln["date"] == "2026-04-07"]
    units = cli(
        "units", "97110=26", "97530=19", "97140=6", "--date", "2026-04-07",
        "--payer", "medicare", "--non-par", "-f", "json",
    ).json()["estimate"]  # fmt: skip
    by_code = {ln["code"]: ln["limiting_charge"] for ln in units["lines"]}
    assert {ln["code"]: ln["limiting_charge"] for ln in visit} == {
        c: by_code[c] for c in ("97110", "97530")
    }


def test_csv_has_a_limiting_charge_column_empty_when_none_applies(cli) -> None:  # type: ignore[no-untyped-def]
    par = list(csv.DictReader(io.StringIO(cli("claim", MULTI, "-f", "csv").out)))
    assert par and all(row["limiting_charge"] == "" for row in par)
    non_par = cli("claim", MULTI, "--payer", "medicare", "--non-par", "-f", "csv").out
    rows = list(csv.DictReader(io.StringIO(non_par)))
    assert rows[0]["limiting_charge"] == "48.53"
