"""Batch pricing: estimate_visit's money to the cent, cached per fee period (RULES.md §8)."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cognibill.catalogue import load_catalogue
from cognibill.errors import EntryError
from cognibill.fees import BilledLine, Estimate, estimate_visit, load_schedule, unit_value
from cognibill.fees.batch import BatchLine, BatchPricer, VisitPrice
from cognibill.payers import PayerProfile, parse_payers

ALABAMA = "10112-00"
FEE_DATA = Path(__file__).parent.parent / "cognibill" / "data" / "fees"

# Profiles the built-ins do not cover: a percentage of the MPFS that ranks CQ/CO before the
# procedure reduction and caps 97130, and contracted rates per code with an assistant rate
# that starts mid-way and a cap on 97110 (RULES.md §8: commercial payers are contract-specific).
TEST_PAYERS = """
[payer.pct]
base = "medicare"
name = "110% of the MPFS"
pricing = "percent-of-mpfs"
percent = 110
participating = false
assistant_order = "before-mppr"
coinsurance = 0.15
sequestration = 0
daily_caps = { "97130" = 3 }

[payer.contract]
base = "commercial"
name = "Contracted rates"
pricing = "per-code"
per_code = { "97129" = 41.25, "97130" = "38.10", "97110" = 30.333, "92507" = 77 }
daily_caps = { "97110" = 2, "97129" = 1 }
assistant_rate = 0.8
assistant_rate_from = 2023-01-01
coinsurance = 0.25
"""


def _profiles() -> dict[str, PayerProfile]:
    return parse_payers(TEST_PAYERS, "test payers")


PROFILES = _profiles()

# (payer, estimate options): each configuration gets one pricer for the whole module, so the
# random visits of every example share (and test) its caches.
CONFIGS: dict[str, tuple[PayerProfile, dict[str, Any]]] = {
    "medicare": (PROFILES["medicare"], {}),
    "medicare-alabama-non-par": (
        PROFILES["medicare"],
        {"locality": ALABAMA, "participating": False},
    ),
    "medicare-facility": (PROFILES["medicare"], {"facility": True}),
    "commercial": (PROFILES["commercial"], {}),
    "percent-of-mpfs": (PROFILES["pct"], {}),
    "per-code": (PROFILES["contract"], {}),
}
PRICERS = {name: BatchPricer(payer, **options) for name, (payer, options) in CONFIGS.items()}

FEB_2025 = date(2025, 2, 14)
COGNITIVE_VISIT: tuple[BatchLine, ...] = (("97129", 1, False), ("97130", 2, False))

SPECIAL_DATES = (
    date(2024, 3, 8),  # last day of CF 32.7442
    date(2024, 3, 9),  # CF 33.2875, RVU24AR
    date(2021, 12, 31),
    date(2022, 1, 1),  # CQ/CO at 85% from here
    date(2022, 12, 31),
    date(2023, 1, 1),  # the contract's assistant rate from here
    date(2024, 9, 30),
    date(2024, 10, 1),  # gap: late 2024
    date(2024, 11, 15),
    date(2024, 12, 31),
    date(2025, 3, 31),
    date(2025, 4, 1),  # gap: mid-2025
    date(2025, 6, 30),
    date(2025, 7, 1),
    date(2025, 9, 30),
    date(2025, 10, 1),
    date(2026, 1, 1),  # gap: most of 2026
    date(2026, 3, 31),
    date(2026, 4, 1),
    date(2026, 6, 30),
    date(2026, 7, 1),
    date(2019, 12, 31),  # before the data: earliest year used
    date(2027, 1, 1),  # after the data: last year used
)
CODES = sorted(
    {info.code for info in load_catalogue()}
    | {"97129", "97130", "97110", "97530", "92507", "97150", "99999", " 97130", "97110 "}
)
PLACES = ("11", "12", "22", "02", "10", "2", None)


def money(result: Estimate | VisitPrice) -> tuple[object, ...]:
    """The money of an estimate or a batch price, line by line and in total."""
    return (
        tuple((ln.allowed, ln.payer_pays, ln.patient_owes, ln.priced) for ln in result.lines),
        result.allowed,
        result.payer_pays,
        result.patient_owes,
        result.data_version,
        result.fallback,
    )


def estimate(config: str, day: date, place: str | None, lines: tuple[BatchLine, ...]) -> Estimate:
    payer, options = CONFIGS[config]
    billed = [BilledLine(*line) for line in lines]
    return estimate_visit(billed, day, payer, place_of_service=place, **options)


def same_outcome(config: str, day: date, place: str | None, lines: tuple[BatchLine, ...]) -> None:
    """The pricer gives the estimate's money, or raises the estimate's error."""
    try:
        expected = estimate(config, day, place, lines)
    except EntryError as exc:
        with pytest.raises(EntryError) as raised:
            PRICERS[config].price(day, place, lines)
        assert str(raised.value) == str(exc)
        return
    assert money(PRICERS[config].price(day, place, lines)) == money(expected)


# -- the same money as estimate_visit -----------------------------------------------------------

line_strategy = st.tuples(st.sampled_from(CODES), st.integers(0, 6), st.booleans())
visit_strategy = st.tuples(
    st.sampled_from(sorted(CONFIGS)),
    st.one_of(
        st.dates(min_value=date(2020, 1, 1), max_value=date(2026, 12, 31)),
        st.sampled_from(SPECIAL_DATES),
    ),
    st.sampled_from(PLACES),
    st.lists(line_strategy, max_size=5).map(tuple),
)


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(visit_strategy)
def test_rules_8_batch_price_is_the_estimate_to_the_cent_line_by_line(
    visit: tuple[str, date, str | None, tuple[BatchLine, ...]],
) -> None:
    """Any payer, date, place and lines: allowed, payer pays and patient owes (low and high) of
    every line and of the visit, the data version and the fallback flag all agree."""
    same_outcome(*visit)


@settings(max_examples=150, deadline=None)
@given(
    st.sampled_from(sorted(CONFIGS)),
    st.sampled_from(SPECIAL_DATES),
    st.sampled_from(PLACES),
    st.lists(
        st.tuples(
            st.sampled_from(("97110", "97530", "92507", "97150", "97130")),
            st.integers(1, 4),
            st.booleans(),
        ),
        min_size=2,
        max_size=5,
    ).map(tuple),
)
def test_rules_8_procedure_reduction_and_caps_price_the_whole_visit_as_the_estimate(
    config: str, day: date, place: str | None, lines: tuple[BatchLine, ...]
) -> None:
    """Several indicator-5 codes (and 97130) on one day: which unit is paid in full, CQ/CO
    before or after the reduction, and the daily caps all depend on every line together."""
    same_outcome(config, day, place, lines)


@pytest.mark.parametrize("config", sorted(CONFIGS))
def test_rules_8_every_date_across_period_edges_and_gaps_prices_as_the_estimate(
    config: str,
) -> None:
    """Every date from Christmas 2023 to mid-January 2026, through the March 2024 CF change and
    the late-2024 and mid-2025 gaps (nearest release of the same year, RULES.md §8)."""
    lines: tuple[BatchLine, ...] = (
        ("97129", 1, False),
        ("97130", 2, True),
        ("97110", 2, True),
        ("97530", 1, False),
    )
    day = date(2023, 12, 25)
    while day <= date(2026, 1, 15):
        same_outcome(config, day, "11", lines)
        day += timedelta(days=1)


@pytest.mark.parametrize("config", sorted(CONFIGS))
@pytest.mark.parametrize("code", ["97129", "97130", "97110", "97153", "97127", "99999"])
def test_rules_8_one_unit_is_worth_what_unit_value_says(config: str, code: str) -> None:
    """The claim checker's unit value (RULES.md §2.5 tie-break, §8 money): priced codes,
    carrier-priced 97153, deleted 97127 and an unknown code (None)."""
    payer, options = CONFIGS[config]
    for day in (date(2022, 6, 1), date(2024, 3, 8), date(2025, 5, 5)):
        expected = unit_value(code, day, payer, place_of_service="22", **options)
        assert PRICERS[config].unit_value(day, "22", code) == expected


# -- what the cache shares and what it does not -------------------------------------------------


def fresh(payer: str = "medicare", **options: Any) -> BatchPricer:
    return BatchPricer(PROFILES[payer], **options)


def test_rules_8_two_dates_in_one_period_price_the_visit_once() -> None:
    """3 February and 17 March 2025: the same CF, RVUs (RVU25A) and GPCIs, one computation."""
    pricer = fresh()
    first = pricer.price(date(2025, 2, 3), "11", COGNITIVE_VISIT)
    second = pricer.price(date(2025, 3, 17), "11", COGNITIVE_VISIT)
    assert pricer.computed == 1
    assert pricer.periods == 1
    assert second is first
    assert money(second) == money(estimate("medicare", date(2025, 3, 17), "11", COGNITIVE_VISIT))


def test_rules_8_8_and_9_march_2024_are_different_periods() -> None:
    """The 2024 CF changed on 9 March (32.7442 -> 33.2875): two periods, two computations."""
    pricer = fresh()
    before = pricer.price(date(2024, 3, 8), "11", COGNITIVE_VISIT)
    after = pricer.price(date(2024, 3, 9), "11", COGNITIVE_VISIT)
    assert pricer.computed == 2
    assert pricer.periods == 2
    assert before.allowed != after.allowed
    assert after.lines[0].allowed.low == Decimal("22.30")  # RULES.md §8 check figure


def test_rules_8_a_year_with_one_cf_and_unchanged_rvus_is_one_period() -> None:
    """All of 2023 (four releases, one CF, RVUs unchanged): one period for every date."""
    pricer = fresh()
    day = date(2023, 1, 1)
    while day.year == 2023:
        pricer.price(day, "11", COGNITIVE_VISIT)
        day += timedelta(days=1)
    assert pricer.periods == 1
    assert pricer.computed == 1


def test_rules_8_a_gap_date_is_its_own_period_because_it_falls_back() -> None:
    """1 April 2025 uses the nearest 2025 release and says so (fallback); 31 March does not."""
    pricer = fresh()
    covered = pricer.price(date(2025, 3, 31), "11", COGNITIVE_VISIT)
    gap = pricer.price(date(2025, 4, 1), "11", COGNITIVE_VISIT)
    assert (covered.fallback, gap.fallback) == (False, True)
    assert pricer.periods == 2


def test_rules_8_a_conversion_factor_fallback_alone_splits_the_period(tmp_path: Path) -> None:
    """Fee data whose 2025 CF ends on 31 March: in October the RVUs (RVU25D, unchanged from
    RVU25A) govern the date but the CF is the nearest of the year, and the visit says so."""
    data = tmp_path / "fees"
    shutil.copytree(FEE_DATA, data)
    factors = data / "conversion_factors.csv"
    text = factors.read_text("utf-8")
    assert "2025-01-01,2025-12-31," in text
    factors.write_text(text.replace("2025-01-01,2025-12-31,", "2025-01-01,2025-03-31,"), "utf-8")
    schedule = load_schedule(data)
    pricer = fresh(schedule=schedule)
    january = pricer.price(date(2025, 1, 15), "11", COGNITIVE_VISIT)
    october = pricer.price(date(2025, 10, 15), "11", COGNITIVE_VISIT)
    assert (january.fallback, october.fallback) == (False, True)
    assert october.allowed == january.allowed
    assert pricer.periods == 2
    payer = PROFILES["medicare"]
    billed = [BilledLine(*line) for line in COGNITIVE_VISIT]
    expected = estimate_visit(billed, date(2025, 10, 15), payer, schedule=schedule)
    assert money(october) == money(expected)


def test_rules_6_the_assistant_rate_date_splits_the_period_of_a_flat_rate_payer() -> None:
    """The contract pays CQ/CO at 80% from 2023: 31 Dec 2022 and 1 Jan 2023 differ."""
    pricer = fresh("contract")
    assistant: tuple[BatchLine, ...] = (("97129", 1, True),)
    before = pricer.price(date(2022, 12, 31), "11", assistant)
    after = pricer.price(date(2023, 1, 1), "11", assistant)
    assert pricer.periods == 2
    assert before.allowed.low == Decimal("41.25")
    assert after.allowed.low == Decimal("33.00")


def test_a_flat_rate_payer_without_an_assistant_date_has_one_period_for_all_years() -> None:
    """Commercial per-unit pricing does not depend on the date at all."""
    pricer = fresh("commercial")
    for year in range(2020, 2027):
        pricer.price(date(year, 6, 1), "11", COGNITIVE_VISIT)
    assert pricer.periods == 1
    assert pricer.computed == 1


def test_rules_8_offices_share_a_setting_and_a_hospital_does_not() -> None:
    """POS 11 and 12 are both non-facility: one computation; POS 22 is a facility: another
    (97129's facility PE is lower in 2025)."""
    pricer = fresh()
    office = pricer.price(FEB_2025, "11", COGNITIVE_VISIT)
    home = pricer.price(FEB_2025, "12", COGNITIVE_VISIT)
    hospital = pricer.price(FEB_2025, "22", COGNITIVE_VISIT)
    assert pricer.computed == 2
    assert home is office
    assert hospital.allowed.low < office.allowed.low


def test_rules_8_the_facility_option_overrides_every_place_of_service() -> None:
    pricer = fresh(facility=True)
    pricer.price(FEB_2025, "11", COGNITIVE_VISIT)
    pricer.price(FEB_2025, "22", COGNITIVE_VISIT)
    pricer.price(FEB_2025, None, COGNITIVE_VISIT)
    assert pricer.computed == 1


def test_a_per_unit_payer_ignores_the_place_of_service() -> None:
    pricer = fresh("commercial")
    pricer.price(FEB_2025, "11", COGNITIVE_VISIT)
    pricer.price(FEB_2025, "22", COGNITIVE_VISIT)
    assert pricer.computed == 1


def test_rules_8_a_line_is_priced_with_the_rest_of_its_visit_under_a_daily_cap() -> None:
    """(97130, 3) alone is paid 3 units by the 110% profile; after another 97130 line of 2
    units only 1 is left under its cap of 3: the cache keeps the two visits apart."""
    pricer = fresh("pct")
    alone = pricer.price(FEB_2025, "11", (("97130", 3, False),))
    after = pricer.price(FEB_2025, "11", (("97130", 2, False), ("97130", 3, False)))
    assert after.lines[1].allowed.low * 3 == alone.lines[0].allowed.low
    assert money(after) == money(
        estimate("percent-of-mpfs", FEB_2025, "11", (("97130", 2, False), ("97130", 3, False)))
    )


def test_rules_8_the_order_of_lines_can_change_which_unit_is_paid_in_full() -> None:
    """A tie on PE goes to input order (RULES.md §8): both orders are priced, each correctly."""
    pricer = fresh()
    ab: tuple[BatchLine, ...] = (("97110", 2, False), ("97110", 1, True))
    ba: tuple[BatchLine, ...] = (ab[1], ab[0])
    for lines in (ab, ba):
        assert money(pricer.price(FEB_2025, "11", lines)) == money(
            estimate("medicare", FEB_2025, "11", lines)
        )
    assert pricer.computed == 2


def test_the_visit_cache_stays_within_its_size_and_stays_right() -> None:
    pricer = fresh(maxsize=2)
    visits = [(("97130", units, False),) for units in range(1, 6)]
    for lines in visits * 2:
        assert money(pricer.price(FEB_2025, "11", lines)) == money(
            estimate("medicare", FEB_2025, "11", lines)
        )
        assert pricer.cached <= 2


# -- the same errors ----------------------------------------------------------------------------


def error_of(call: Callable[[], object]) -> str:
    with pytest.raises(EntryError) as raised:
        call()
    return str(raised.value)


@pytest.mark.parametrize("place", ["1A", "123", "office"])
def test_an_unknown_place_of_service_raises_the_estimates_error_every_time(place: str) -> None:
    pricer = fresh()
    expected = error_of(lambda: estimate("medicare", FEB_2025, place, COGNITIVE_VISIT))
    assert error_of(lambda: pricer.price(FEB_2025, place, COGNITIVE_VISIT)) == expected
    assert error_of(lambda: pricer.price(FEB_2025, place, COGNITIVE_VISIT)) == expected


def test_negative_units_raise_the_estimates_error_even_with_a_bad_place() -> None:
    """estimate_visit checks the lines first: the same message wins here."""
    pricer = fresh()
    lines: tuple[BatchLine, ...] = (("97130", -1, False),)
    good = error_of(lambda: estimate("medicare", FEB_2025, "11", lines))
    bad = error_of(lambda: estimate("medicare", FEB_2025, "1A", lines))
    assert good == bad == "97130: units cannot be negative (-1)"
    assert error_of(lambda: pricer.price(FEB_2025, "11", lines)) == good
    assert error_of(lambda: pricer.price(FEB_2025, "1A", lines)) == bad


def test_a_locality_that_matches_nothing_raises_the_estimates_error() -> None:
    pricer = fresh(locality="atlantis")
    medicare = PROFILES["medicare"]
    expected = error_of(
        lambda: estimate_visit([BilledLine("97129", 1)], FEB_2025, medicare, locality="atlantis")
    )
    assert error_of(lambda: pricer.price(FEB_2025, "11", (("97129", 1, False),))) == expected
    assert pricer.periods == 0


def test_a_flat_rate_payer_never_resolves_the_locality() -> None:
    """estimate_visit looks the locality up only for fee-schedule pricing: no error here."""
    pricer = fresh("commercial", locality="atlantis")
    assert pricer.price(FEB_2025, "11", COGNITIVE_VISIT).allowed.low == Decimal("105.00")


# Cost is measured in benchmarks/batch.py, not asserted in a timed test; the cache itself is
# checked above by counting the visits priced from scratch (``computed``).
