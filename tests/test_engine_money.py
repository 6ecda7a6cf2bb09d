"""Money text from integer cents (cognibill.engine.money) is Python's Decimal formatting."""

from __future__ import annotations

from decimal import Decimal

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from cognibill.engine.money import amount, dollars, span


def _texts(values: list[int]) -> list[tuple[str, str]]:
    frame = pl.DataFrame({"c": values}, schema={"c": pl.Int64})
    done = frame.select(dollars("c").alias("d"), amount("c").alias("a"))
    return list(done.iter_rows())


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(min_value=-(10**15), max_value=10**17), min_size=1, max_size=50))
def test_dollars_and_amounts_read_as_python_formats_them(values: list[int]) -> None:
    for cents, (shown, plain) in zip(values, _texts(values), strict=True):
        value = Decimal(cents) / 100
        assert shown == f"${value:,.2f}"
        assert plain == f"{value:.2f}"


def test_thousands_get_separators_and_small_amounts_keep_two_places() -> None:
    assert _texts([248000, 5, 100000000]) == [
        ("$2,480.00", "2480.00"),
        ("$0.05", "0.05"),
        ("$1,000,000.00", "1000000.00"),
    ]


def test_a_range_is_low_dash_high_and_an_exact_amount_one_number() -> None:
    frame = pl.DataFrame({"lo": [2167, 10500, None], "hi": [2167, 16500, None]})
    assert frame.select(span("lo", "hi")).to_series().to_list() == [
        "21.67",
        "105.00-165.00",
        None,
    ]
