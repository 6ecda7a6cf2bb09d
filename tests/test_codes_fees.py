"""Every code of the catalogue is priced from the fee data when CMS publishes a fee for it
(RULES.md §8; data README), and a code CMS does not price for Medicare says why."""

from __future__ import annotations

import csv
from datetime import date
from pathlib import Path

import polars as pl
import pytest

from cognibill.catalogue import load_catalogue
from cognibill.fees.kernel import Pricer
from cognibill.fees.schedule import load_schedule
from cognibill.payers import get_payer

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared" / "domain" / "data"
needs_shared = pytest.mark.skipif(not (SHARED / "rvu.csv").exists(), reason="shared data absent")
DAY = date(2026, 7, 15)
MEDICARE = get_payer("medicare")
PRICER = Pricer({MEDICARE.id: MEDICARE}, facility=None, locality=None, participating=None)


def _unit_values(codes: list[str], day: date = DAY) -> dict[str, int | None]:
    """What one unit of each code pays Medicare on ``day`` at the default locality."""
    visits = pl.DataFrame(
        {"visit": [0], "date": [day], "place_of_service": [None], "payer_id": [MEDICARE.id]},
        schema={
            "visit": pl.UInt32,
            "date": pl.Date,
            "place_of_service": pl.String,
            "payer_id": pl.String,
        },
    )
    wanted = pl.DataFrame(
        {"visit": [0] * len(codes), "code": codes}, schema={"visit": pl.UInt32, "code": pl.String}
    )
    values = PRICER.unit_values(wanted, visits)
    return dict(zip(codes, values.get_column("value_cents").to_list(), strict=True))


def _status_on(day: date) -> dict[str, str]:
    """The shared rvu.csv's status of each code on ``day``."""
    out = {}
    with (SHARED / "rvu.csv").open(encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            if row["effective_from"] <= day.isoformat() <= row["effective_to"]:
                out[row["hcpcs"]] = row["status"]
    return out


@needs_shared
def test_every_catalogue_code_with_an_active_row_is_priced_on_2026_07_15_rules_8() -> None:
    status = _status_on(DAY)
    active = sorted(c.code for c in load_catalogue() if status.get(c.code) == "A")
    assert len(active) > 60
    values = _unit_values(active)
    assert [code for code, cents in values.items() if not cents] == []


@needs_shared
def test_the_fee_data_holds_every_code_of_the_shared_table_rules_8() -> None:
    with (SHARED / "therapy_codes.csv").open(encoding="utf-8") as fh:
        codes = [row["code"] for row in csv.DictReader(fh)]
    schedule = load_schedule()
    assert len(codes) == 101
    assert [c for c in codes if not schedule.has_code(c)] == []
    assert [c for c in codes if c not in load_catalogue()] == []


def test_g0283_and_97113_are_priced_and_97010_and_97014_are_not_for_medicare_rules_4_8() -> None:
    values = _unit_values(["G0283", "97113", "97010", "97014"])
    assert values["G0283"] and values["97113"]
    assert values["97010"] is None and values["97014"] is None


@pytest.mark.parametrize(
    ("code", "why"),
    [
        ("97010", "CMS status B (bundled), no separate Medicare payment"),
        ("97014", "CMS status I (not valid for Medicare), no fee: Medicare uses another code"),
        ("97169", "CMS status N (non-covered by Medicare), no fee"),
        ("G0151", "CMS status X (excluded from the fee schedule by statute), no fee"),
        ("97153", "CMS status C (carrier-priced), no national fee; ask the contractor"),
    ],
)
def test_an_unpriced_code_says_which_cms_status_keeps_it_unpriced_rules_4(
    code: str, why: str
) -> None:
    lines = pl.DataFrame(
        {"visit": [0], "code": [code], "units": [1], "assistant": [False]},
        schema={"visit": pl.UInt32, "code": pl.String, "units": pl.Int64, "assistant": pl.Boolean},
    )
    visits = pl.DataFrame(
        {"visit": [0], "date": [DAY], "place_of_service": ["11"], "payer_id": [MEDICARE.id]},
        schema={
            "visit": pl.UInt32,
            "date": pl.Date,
            "place_of_service": pl.String,
            "payer_id": pl.String,
        },
    )
    (estimate,) = PRICER.explain(lines, visits)
    assert any(f"{code}: {why}" in step for step in estimate.trace), estimate.trace


def test_status_is_read_per_date_of_service_rules_4() -> None:
    schedule = load_schedule()
    assert schedule.status("20560", date(2020, 3, 31)) == "N"
    assert schedule.status("20560", date(2020, 4, 1)) == "A"
    assert schedule.status("99213", DAY) is None
    assert {"97010", "97014", "92605", "G0151"} <= schedule.codes_with_status("BINXE")
