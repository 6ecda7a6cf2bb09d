"""The columnar money kernel against the old pricer: the same cents, line by line (RULES.md §8).

Each example prices many random visits at once with ``Pricer.price`` and one at a time with the
old ``BatchPricer.price`` (one per payer, as the pipeline builds them), and compares every cent
of every line, the visit totals, the data versions and ``unit_value``; or, when the old pricer
refuses a visit, the same ``EntryError`` for the first such visit.
"""

from __future__ import annotations

import shutil
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cognibill.catalogue import load_catalogue
from cognibill.errors import EntryError
from cognibill.fees.batch import BatchLine, BatchPricer, VisitPrice
from cognibill.fees.kernel import MONEY, Pricer
from cognibill.fees.schedule import load_schedule
from cognibill.payers import PayerProfile, parse_payers

# Profiles beyond the built-ins (RULES.md §8: commercial payers are contract-specific; the order
# of CQ/CO and the procedure reduction is open; non-participating 95%).
TEST_PAYERS = """
[payer.pct]
base = "medicare"
name = "110% of the MPFS, CQ/CO first, 97130 capped"
pricing = "percent-of-mpfs"
percent = 110
participating = false
assistant_order = "before-mppr"
coinsurance = 0.15
sequestration = 0
daily_caps = { "97130" = 3, "97110" = 2 }

[payer.pct-odd]
base = "medicare"
name = "87.5% of the MPFS, finer rates"
pricing = "percent-of-mpfs"
percent = "87.55"
assistant_rate = "0.8333"
coinsurance = "0.1875"
sequestration = "0.0125"

[payer.contract]
base = "commercial"
name = "Contracted rates"
pricing = "per-code"
per_code = { "97129" = 41.25, "97130" = "38.10", "97110" = 30.333, "92507" = 77, "97530" = "0.005" }
daily_caps = { "97110" = 2, "97129" = 1, "97530" = 0 }
assistant_rate = 0.8
assistant_rate_from = 2023-01-01
coinsurance = 0.25

[payer.flat]
base = "commercial"
name = "Per unit, odd cents"
unit_low = "35.555"
unit_high = "55.005"
assistant_rate = 0.85
coinsurance = 0.125

[payer.nonpar]
base = "medicare"
name = "Medicare, non-participating, CQ/CO before the reduction"
participating = false
assistant_order = "before-mppr"
daily_caps = { "97530" = 2 }

[payer.alabama-facility]
base = "medicare"
name = "Medicare in Alabama, always facility"
locality = "10112-00"
facility = true

[payer.no-mppr]
base = "medicare"
name = "Medicare without the reduction"
multiple_procedure_reduction = false
"""

PROFILES: dict[str, PayerProfile] = parse_payers(TEST_PAYERS, "test payers")
PAYER_IDS = sorted(PROFILES)

# Run options (one Pricer each, shared by every example so its caches are tested too). The
# last one names a locality that has no GPCIs from 2024: those visits are refused.
OPTIONS: dict[str, dict[str, Any]] = {
    "default": {"facility": None, "locality": None, "participating": None},
    "alabama-non-par": {"facility": None, "locality": "10112-00", "participating": False},
    "facility": {"facility": True, "locality": None, "participating": None},
    "alaska-non-facility": {"facility": False, "locality": "02102-01", "participating": True},
    "manhattan": {"facility": None, "locality": "MANHATTAN", "participating": None},
    "gone-2024": {"facility": None, "locality": "01112-06", "participating": None},
}
NEW = {name: Pricer(PROFILES, **options) for name, options in OPTIONS.items()}
OLD = {
    (name, payer): BatchPricer(PROFILES[payer], **options)
    for name, options in OPTIONS.items()
    for payer in PAYER_IDS
}

SPECIAL_DATES = (
    date(2024, 3, 8),  # last day of CF 32.7442
    date(2024, 3, 9),  # CF 33.2875, RVU24AR
    date(2021, 12, 31),
    date(2022, 1, 1),  # CQ/CO at 85% from here
    date(2023, 1, 1),  # the contract's assistant rate from here
    date(2024, 9, 30),
    date(2024, 10, 1),  # gap: late 2024
    date(2024, 11, 15),
    date(2024, 12, 31),
    date(2025, 3, 31),
    date(2025, 4, 1),  # gap: mid-2025
    date(2025, 7, 1),  # the middle of the gap: as near RVU25A as RVU25D, the earlier
    date(2025, 7, 2),
    date(2025, 9, 30),
    date(2025, 10, 1),
    date(2026, 1, 1),  # gap: most of 2026
    date(2026, 6, 30),
    date(2026, 7, 1),
    date(2026, 10, 1),  # gap: late 2026
    date(2019, 12, 31),  # before the data: earliest year used
    date(2027, 1, 1),  # after the data: last year used
)
MPPR_CODES = ("97110", "97530", "92507", "97150", "97112", "97140", "97535", "97116")
CODES = sorted(
    {info.code for info in load_catalogue()}
    | {"97129", "97130", *MPPR_CODES, "97127", "97532", "G0515", "99999", " 97130", "97110 "}
    | {"97153"}  # carrier-priced
)
PLACES = (None, "11", "02", "10", "22", "21", "12", "2", " 22")


def frames(
    visits: list[tuple[str, date, str | None, tuple[BatchLine, ...]]],
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The lines and visits frames of ``visits`` (visit ids from 0, in order)."""
    lines = pl.DataFrame(
        [
            (index, code, units, assistant)
            for index, (_, _, _, billed) in enumerate(visits)
            for code, units, assistant in billed
        ],
        schema={"visit": pl.UInt32, "code": pl.String, "units": pl.Int32, "assistant": pl.Boolean},
        orient="row",
    )
    table = pl.DataFrame(
        [(index, day, place, payer) for index, (payer, day, place, _) in enumerate(visits)],
        schema={
            "visit": pl.UInt32,
            "date": pl.Date,
            "place_of_service": pl.String,
            "payer_id": pl.String,
        },
        orient="row",
    )
    return lines, table


def cents(amount: Decimal) -> int:
    return int(amount * 100)


def old_rows(price: VisitPrice) -> list[tuple[int, ...]]:
    return [
        (
            cents(line.allowed.low),
            cents(line.allowed.high),
            cents(line.payer_pays.low),
            cents(line.payer_pays.high),
            cents(line.patient_owes.low),
            cents(line.patient_owes.high),
        )
        for line in price.lines
    ]


def same_money(
    option: str,
    visits: list[tuple[str, date, str | None, tuple[BatchLine, ...]]],
    *,
    unit_values: bool = True,
) -> None:
    """Every cent of every line (and of every visit), or the same first error."""
    lines, table = frames(visits)
    expected: list[VisitPrice] = []
    error: EntryError | None = None
    for payer, day, place, billed in visits:
        try:
            expected.append(OLD[option, payer].price(day, place, billed))
        except EntryError as exc:
            error = exc
            break
    pricer = NEW[option]
    if error is not None:
        with pytest.raises(EntryError) as raised:
            pricer.price(lines, table)
        assert (raised.value.message, raised.value.hint) == (error.message, error.hint)
        return
    priced = pricer.price(lines, table)
    assert priced.columns == [*lines.columns, *MONEY]
    assert priced.select(lines.columns).equals(lines)
    got = priced.select(MONEY).rows()
    assert got == [row for price in expected for row in old_rows(price)]
    totals = pricer.visit_totals(priced, table).select(MONEY).rows()
    assert totals == [
        (
            cents(p.allowed.low),
            cents(p.allowed.high),
            cents(p.payer_pays.low),
            cents(p.payer_pays.high),
            cents(p.patient_owes.low),
            cents(p.patient_owes.high),
        )
        for p in expected
    ]
    versions = pricer.data_versions(table).get_column("data_version").to_list()
    assert versions == [p.data_version for p in expected]
    if not unit_values:
        return
    # one unit of each line's code (and two codes more) on each visit, as unit_value
    wanted = [
        (index, code)
        for index, (_, _, _, billed) in enumerate(visits)
        for code in (*(line[0] for line in billed), "97110")
    ]
    asked = pl.DataFrame(wanted, schema={"visit": pl.UInt32, "code": pl.String}, orient="row")
    values = pricer.unit_values(asked, table)
    assert values.select("visit", "code").equals(asked)
    old_values = []
    for index, code in wanted:
        payer, day, place, _ = visits[index]
        value = OLD[option, payer].unit_value(day, place, code)
        old_values.append(None if value is None else cents(value))
    assert values.get_column("value_cents").to_list() == old_values


line_strategy = st.tuples(st.sampled_from(CODES), st.integers(0, 6), st.booleans())
mppr_line = st.tuples(
    st.sampled_from((*MPPR_CODES, "97129", "97130")), st.integers(0, 6), st.booleans()
)
date_strategy = st.one_of(
    st.dates(min_value=date(2020, 1, 1), max_value=date(2026, 12, 31)),
    st.sampled_from(SPECIAL_DATES),
)
visit_strategy = st.tuples(
    st.sampled_from(PAYER_IDS),
    date_strategy,
    st.sampled_from(PLACES),
    st.lists(st.one_of(line_strategy, mppr_line), max_size=6).map(tuple),
)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.sampled_from(sorted(OPTIONS)),
    st.lists(visit_strategy, min_size=1, max_size=25),
)
def test_rules_8_kernel_gives_the_old_pricers_cents_for_every_line(
    option: str, visits: list[tuple[str, date, str | None, tuple[BatchLine, ...]]]
) -> None:
    """Any payers, dates (gaps, the March 2024 CF change, years without data), places, codes
    (97129/97130, indicator-5 codes, codes without RVUs), units 0-6 and CQ/CO flags."""
    same_money(option, visits)


@settings(max_examples=60, deadline=None)
@given(
    st.sampled_from(sorted(OPTIONS)),
    st.lists(
        st.tuples(
            st.sampled_from(PAYER_IDS),
            date_strategy,
            st.sampled_from((*PLACES, "1A", "123")),
            st.lists(
                st.tuples(st.sampled_from(CODES), st.integers(-1, 4), st.booleans()), max_size=4
            ).map(tuple),
        ),
        min_size=1,
        max_size=12,
    ),
)
def test_the_first_visit_the_old_pricer_refuses_is_refused_with_its_error(
    option: str, visits: list[tuple[str, date, str | None, tuple[BatchLine, ...]]]
) -> None:
    """Negative units, a place of service that is not a CMS code, a locality with no GPCIs on
    the date: the same EntryError (message and hint) as the old pricer's first."""
    same_money(option, visits)


@pytest.mark.parametrize("option", ["default", "manhattan", "gone-2024"])
def test_rules_8_every_date_from_2019_to_2027_prices_as_the_old_pricer(option: str) -> None:
    """Every date from Christmas 2023 to 2027 (every release edge, gap and midpoint of a gap:
    nearest release of the same year) and around the new years 2020 and 2022, one visit a date
    for each kind of payer, with indicator-5 codes, CQ/CO and the cognitive pair; the locality
    that ends in 2023 only up to its end."""
    lines: tuple[BatchLine, ...] = (
        ("97129", 1, False),
        ("97130", 2, True),
        ("97110", 2, True),
        ("97530", 1, False),
        ("92507", 1, True),
    )
    spans = [(date(2019, 12, 25), date(2020, 1, 5)), (date(2021, 12, 25), date(2022, 1, 5))]
    spans.append(
        (date(2023, 12, 25), date(2023, 12, 31) if option == "gone-2024" else date(2027, 1, 5))
    )
    days = [a + timedelta(days=n) for a, b in spans for n in range((b - a).days + 1)]
    # a locality costs the old pricer ~0.3 ms a date: one fee-schedule payer there
    payers = ("medicare", "contract") if option == "manhattan" else ("medicare", "pct", "contract")
    visits: list[tuple[str, date, str | None, tuple[BatchLine, ...]]] = [
        (payer, day, "11", lines) for day in days for payer in payers
    ]
    same_money(option, visits, unit_values=False)


def test_rules_8_one_unit_of_every_code_on_every_date_is_the_old_unit_value() -> None:
    """unit_value (the tie-break's "one unit pays about", RULES.md §2.5) for every code with
    RVUs, on every date from 2019 to 2027, at an office and a hospital."""
    codes = sorted(load_schedule()._rvu_index[1])
    days = [date(2019, 12, 25) + timedelta(days=n) for n in range(0, 2575, 1)]
    table = pl.DataFrame(
        [
            (i, day, place, "medicare")
            for i, (day, place) in enumerate((d, p) for d in days for p in ("11", "22"))
        ],
        schema={
            "visit": pl.UInt32,
            "date": pl.Date,
            "place_of_service": pl.String,
            "payer_id": pl.String,
        },
        orient="row",
    )
    wanted = pl.DataFrame(
        [(i, code) for i in range(table.height) for code in codes],
        schema={"visit": pl.UInt32, "code": pl.String},
        orient="row",
    )
    got = NEW["default"].unit_values(wanted, table).get_column("value_cents").to_list()
    old = OLD["default", "medicare"]
    expected = []
    for day, place, _ in ((r[1], r[2], r[0]) for r in table.iter_rows()):
        for code in codes:
            value = old.unit_value(day, place, code)
            expected.append(None if value is None else cents(value))
    assert got == expected


def every_day(first: date, last: date) -> list[date]:
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


def compare_alone(
    new: Pricer, old: BatchPricer, payer: str, days: list[date], billed: tuple[BatchLine, ...]
) -> None:
    """One visit a day through ``new`` and ``old``: the same cents, line by line."""
    lines, table = frames([(payer, day, "11", billed) for day in days])
    got = new.price(lines, table).select(MONEY).rows()
    assert got == [row for day in days for row in old_rows(old.price(day, "11", billed))]


def test_rules_8_the_qualifying_apm_conversion_factor_of_2026() -> None:
    """2026 has a higher CF for qualifying APM participants (33.5675): every day of 2026."""
    new = Pricer(PROFILES, facility=None, locality=None, participating=None, qualifying_apm=True)
    old = BatchPricer(PROFILES["medicare"], qualifying_apm=True)
    billed: tuple[BatchLine, ...] = (("97129", 1, False), ("97110", 2, True), ("97530", 1, False))
    compare_alone(new, old, "medicare", every_day(date(2025, 12, 25), date(2027, 1, 5)), billed)


def test_rules_8_fee_data_of_ones_own_with_a_conversion_factor_that_ends_early(
    tmp_path: Path,
) -> None:
    """Fee data whose 2025 CF ends on 31 March: from April the nearest CF of the year (the
    kernel's date segments come from the data it is given)."""
    data = tmp_path / "fees"
    shutil.copytree(Path(__file__).parent.parent / "cognibill" / "data" / "fees", data)
    factors = data / "conversion_factors.csv"
    text = factors.read_text("utf-8")
    assert "2025-01-01,2025-12-31," in text
    factors.write_text(text.replace("2025-01-01,2025-12-31,", "2025-01-01,2025-03-31,"), "utf-8")
    schedule = load_schedule(data)
    options: dict[str, Any] = {"facility": None, "locality": None, "participating": None}
    new = Pricer(PROFILES, schedule=schedule, **options)
    old = BatchPricer(PROFILES["pct"], schedule=schedule)
    billed: tuple[BatchLine, ...] = (("97130", 4, True), ("97110", 3, False), ("92507", 1, True))
    compare_alone(new, old, "pct", every_day(date(2024, 12, 20), date(2026, 1, 10)), billed)


def test_rules_8_a_gap_takes_the_nearer_release_when_the_releases_differ(tmp_path: Path) -> None:
    """Fee data whose October 2025 release changes 97110's and 97129's RVUs and Alabama's PE
    GPCI: in the April-September gap the first half prices as RVU25A, the second as RVU25D
    (nearest release of the same year, ties to the earlier), as the old pricer does."""
    data = tmp_path / "fees"
    shutil.copytree(Path(__file__).parent.parent / "cognibill" / "data" / "fees", data)
    edits = {
        "rvu.csv": [
            (
                "97110,2025,2025-10-01,2025-12-31,RVU25D,A,0.45,0.43,",
                "97110,2025,2025-10-01,2025-12-31,RVU25D,A,0.55,0.53,",
            ),
            (
                "97129,2025,2025-10-01,2025-12-31,RVU25D,A,0.50,",
                "97129,2025,2025-10-01,2025-12-31,RVU25D,A,0.61,",
            ),
        ],
        "gpci.csv": [
            (
                "10112-00,10112,00,ALABAMA,AL,2025,2025-10-01,2025-12-31,RVU25D,1.000,0.869,",
                "10112-00,10112,00,ALABAMA,AL,2025,2025-10-01,2025-12-31,RVU25D,1.000,0.901,",
            )
        ],
    }
    for name, replacements in edits.items():
        path = data / name
        text = path.read_text("utf-8")
        for before, after in replacements:
            assert before in text
            text = text.replace(before, after)
        path.write_text(text, "utf-8")
    schedule = load_schedule(data)
    billed: tuple[BatchLine, ...] = (("97129", 1, False), ("97110", 2, True), ("97530", 1, False))
    days = every_day(date(2025, 3, 25), date(2025, 10, 5))
    for locality in (None, "10112-00"):
        options: dict[str, Any] = {"facility": None, "locality": locality, "participating": None}
        new = Pricer(PROFILES, schedule=schedule, **options)
        old = BatchPricer(PROFILES["medicare"], schedule=schedule, **options)
        compare_alone(new, old, "medicare", days, billed)
    first, second = (
        new.price(*frames([("medicare", day, "11", billed)])).get_column("allowed_lo").to_list()
        for day in (date(2025, 7, 1), date(2025, 7, 2))
    )
    assert first != second  # 1 July is 92 days from both releases: a tie, the earlier
