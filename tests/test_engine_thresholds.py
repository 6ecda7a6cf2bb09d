"""KX and the review threshold counted in date order per patient, year and group (RULES.md §6,
§11), by cognibill.engine.thresholds."""

from __future__ import annotations

import datetime as dt

import polars as pl

from cognibill.engine.thresholds import Thresholds, Totals, apply_thresholds

LIMITS = Thresholds(kx={2026: 248000}, review=300000)


def _run(
    days: list[int],
    allowed: int,
    *,
    totals: Totals | None = None,
    modifiers: list[str] | None = None,
) -> tuple[pl.DataFrame, pl.DataFrame, Totals]:
    """One 97110 line a visit for patient P1, on 2026-03-``day`` in the order given."""
    count = len(days)
    visits = pl.DataFrame(
        {
            "visit": list(range(count)),
            "patient": ["P1"] * count,
            "date": [dt.date(2026, 3, d) for d in days],
            "discipline": ["pt"] * count,
            "payer_id": ["medicare"] * count,
        },
        schema_overrides={"visit": pl.UInt32},
    )
    lines = pl.DataFrame(
        {
            "visit": list(range(count)),
            "n": [0] * count,
            "code": ["97110"] * count,
            "modifiers": [modifiers or ["GP"]] * count,
            "allowed_lo": [allowed] * count,
        },
        schema_overrides={"visit": pl.UInt32},
    )
    return apply_thresholds(lines, visits, {"medicare"}, LIMITS, totals or Totals())


def _kx_days(lines: pl.DataFrame, days: list[int]) -> list[int]:
    marked = lines.get_column("modifiers").to_list()
    return sorted(day for day, mods in zip(days, marked, strict=True) if "KX" in mods)


def test_kx_goes_on_the_latest_visits_even_when_rows_come_newest_first() -> None:
    # 30 visits of $100: the 25th by date ($2,500) is the first past $2,480.
    days = list(range(30, 0, -1))
    lines, findings, _ = _run(days, 10000)
    assert _kx_days(lines, days) == list(range(25, 31))
    crossing = findings.filter(pl.col("id") == "kx-threshold")
    assert crossing.height == 1
    assert crossing.get_column("visit").to_list() == [days.index(25)]
    assert crossing.get_column("message").to_list() == [
        "P1 2026 PT+SLP therapy reaches $2,500.00, past the KX threshold $2,480.00: 97110 and "
        "the patient's later therapy lines this year carry KX."
    ]


def test_exactly_at_the_kx_threshold_needs_no_kx_one_cent_more_does() -> None:
    lines, findings, _ = _run([1, 2], 124000)
    assert _kx_days(lines, [1, 2]) == []
    assert findings.is_empty()
    lines, findings, _ = _run([1, 2], 124001)
    assert _kx_days(lines, [1, 2]) == [2]


def test_the_review_threshold_is_info_on_the_line_that_crosses_3000() -> None:
    _, findings, _ = _run([1, 2, 3, 4], 100000)
    review = findings.filter(pl.col("id") == "medical-review-threshold")
    assert review.get_column("severity").to_list() == ["info"]
    assert review.get_column("message").to_list() == [
        "P1 2026 PT+SLP therapy reaches $4,000.00, past $3,000.00: claims may be picked for "
        "targeted medical review."
    ]


def test_totals_carry_from_one_chunk_to_the_next() -> None:
    _, _, totals = _run([1, 2], 120000)
    lines, _, totals = _run([3], 10000, totals=totals)
    assert _kx_days(lines, [3]) == [3]
    assert totals.frame.get_column("cents").to_list() == [250000]


def test_ot_counts_apart_from_pt_and_slp() -> None:
    _, _, totals = _run([1, 2], 120000)
    lines, _, _ = _run([3], 10000, totals=totals, modifiers=["GO"])
    assert _kx_days(lines, [3]) == []


def test_a_line_already_carrying_kx_gets_no_second_one() -> None:
    lines, _, _ = _run([1, 2], 130000, modifiers=["GP", "KX"])
    assert lines.get_column("modifiers").to_list() == [["GP", "KX"], ["GP", "KX"]]


def test_no_kx_threshold_before_2021_and_the_last_known_one_after_the_data() -> None:
    """RULES.md §6: thresholds from 2021 (the fee data's thresholds.toml)."""
    limits = Thresholds.load()
    assert min(limits.kx) == 2021 and limits.kx[2026] == 248000 and limits.review == 300000
    visits = pl.DataFrame(
        {
            "visit": [0],
            "patient": ["P1"],
            "date": [dt.date(2020, 6, 1)],
            "discipline": ["pt"],
            "payer_id": ["medicare"],
        },
        schema_overrides={"visit": pl.UInt32},
    )
    lines = pl.DataFrame(
        {"visit": [0], "n": [0], "code": ["97110"], "modifiers": [["GP"]], "allowed_lo": [999900]},
        schema_overrides={"visit": pl.UInt32},
    )
    marked, findings, _ = apply_thresholds(lines, visits, {"medicare"}, limits, Totals())
    assert marked.get_column("modifiers").to_list() == [["GP"]]
    assert findings.get_column("id").to_list() == ["medical-review-threshold"]
