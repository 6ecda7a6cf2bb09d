"""The columnar money kernel in integer cents: RULES.md §8 figures and layers, to the cent."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

import polars as pl
import pytest

from cognibill.engine.frames import PRICED
from cognibill.errors import EntryError
from cognibill.fees.kernel import MONEY, Pricer
from cognibill.payers import PayerProfile, parse_payers

PAYERS = """
[payer.contract]
base = "commercial"
name = "Contracted rates"
pricing = "per-code"
per_code = { "97129" = "30.10", "97110" = 25 }
assistant_rate = 0.85
daily_caps = { "97110" = 3 }

[payer.before]
base = "medicare"
name = "Medicare, CQ/CO before the reduction"
assistant_order = "before-mppr"

[payer.pct]
base = "medicare"
name = "110% of the MPFS"
pricing = "percent-of-mpfs"
percent = 110
"""
PROFILES: dict[str, PayerProfile] = parse_payers(PAYERS, "test payers")
PRICER = Pricer(PROFILES, facility=None, locality=None, participating=None)

FEB_2025 = date(2025, 2, 3)
APRIL_2024 = date(2024, 4, 15)

Line = tuple[str, int, bool]


def price(
    lines: Sequence[Line],
    day: date = FEB_2025,
    *,
    payer: str = "medicare",
    place: str | None = "11",
    pricer: Pricer = PRICER,
) -> list[dict[str, int]]:
    """One visit's lines priced: the six cent columns of each line."""
    out = pricer.price(*one_visit(lines, day, payer, place))
    return [dict(zip(MONEY, row, strict=True)) for row in out.select(MONEY).rows()]


def one_visit(
    lines: Sequence[Line], day: date, payer: str, place: str | None
) -> tuple[pl.DataFrame, pl.DataFrame]:
    frame = pl.DataFrame(
        [(0, code, units, assistant) for code, units, assistant in lines],
        schema={"visit": pl.UInt32, "code": pl.String, "units": pl.Int32, "assistant": pl.Boolean},
        orient="row",
    )
    visits = pl.DataFrame(
        [(0, day, place, payer)],
        schema={
            "visit": pl.UInt32,
            "date": pl.Date,
            "place_of_service": pl.String,
            "payer_id": pl.String,
        },
        orient="row",
    )
    return frame, visits


def allowed(lines: Sequence[Line], day: date = FEB_2025, **options: object) -> list[int]:
    return [row["allowed_lo"] for row in price(lines, day, **options)]  # type: ignore[arg-type]


def with_options(**options: bool | str | None) -> Pricer:
    settings: dict[str, bool | str | None] = {
        "facility": None,
        "locality": None,
        "participating": None,
    }
    return Pricer(PROFILES, **(settings | options))  # type: ignore[arg-type]


# -- the check figures (RULES.md §8) -----------------------------------------------------------


def test_rules_8_check_figures_2025_national_non_facility() -> None:
    """2025: 97129 $21.67, 97130 $20.70 a unit."""
    assert allowed([("97129", 1, False), ("97130", 1, False)]) == [2167, 2070]


def test_rules_8_check_figures_2024_from_9_march_and_the_cf_before() -> None:
    """2024 from 9 March (CF 33.2875): 97129 $22.30, 97130 $21.30; 8 March (CF 32.7442) less."""
    assert allowed([("97129", 1, False), ("97130", 1, False)], date(2024, 3, 9)) == [2230, 2130]
    before = allowed([("97129", 1, False)], date(2024, 3, 8))
    assert before[0] < 2230


@pytest.mark.parametrize(
    ("locality", "cents"),
    [("10112-00", 2146), ("02102-01", 3092), ("13202-01", 2449), ("MANHATTAN", 2449)],
)
def test_rules_8_check_figures_2024_localities(locality: str, cents: int) -> None:
    """Alabama 1.000/0.869/0.575 -> $21.46, Alaska -> $30.92, Manhattan -> $24.49 (97129)."""
    pricer = with_options(locality=locality)
    assert allowed([("97129", 1, False)], APRIL_2024, pricer=pricer) == [cents]


def test_rules_8_units_multiply_the_unit_fee() -> None:
    """38 minutes of cognitive therapy: 97129 once and 97130 twice, $21.67 + 2 x $20.70."""
    assert allowed([("97129", 1, False), ("97130", 2, False)]) == [2167, 4140]


# -- the layers after the fee schedule (RULES.md §8) -------------------------------------------


def test_rules_8_coinsurance_20_percent_and_sequestration_cuts_only_medicares_share() -> None:
    """$21.67: the patient owes 20% ($4.33), Medicare's 80% ($17.34) less 2% ($0.35)."""
    assert price([("97129", 1, False)]) == [
        {
            "allowed_lo": 2167,
            "allowed_hi": 2167,
            "payer_lo": 1699,
            "payer_hi": 1699,
            "patient_lo": 433,
            "patient_hi": 433,
        }
    ]


def test_rules_6_cq_co_lines_are_paid_at_85_percent_from_2022() -> None:
    """97130 x 2 by an assistant: 85% of $41.40 = $35.19 in 2025; in full in 2021."""
    assert allowed([("97130", 2, True)]) == [3519]
    full = allowed([("97130", 2, False)], date(2021, 6, 1))
    assert allowed([("97130", 2, True)], date(2021, 6, 1)) == full


def test_rules_8_cq_co_rounds_half_up_to_the_cent() -> None:
    """$30.10 x 85% = $25.585: half up to $25.59 (half to even would give $25.58)."""
    assert allowed([("97129", 1, True)], payer="contract") == [2559]


def test_rules_8_non_participating_is_95_percent_of_the_fee() -> None:
    """Non-participating: 95% of $21.67 = $20.5865 -> $20.59 (the limiting charge, 115% of
    that, is the estimate's, not part of a claim's money)."""
    pricer = with_options(participating=False)
    assert allowed([("97129", 1, False)], pricer=pricer) == [2059]


def test_rules_8_percent_of_mpfs_is_not_cut_to_95_percent_when_non_participating() -> None:
    """110% of $21.67 = $23.837 -> $23.84, participating or not (the 95% is Medicare's rule)."""
    assert allowed([("97129", 1, False)], payer="pct") == [2384]
    pricer = with_options(participating=False)
    assert allowed([("97129", 1, False)], payer="pct", pricer=pricer) == [2384]


def test_rules_8_commercial_default_is_the_35_to_55_dollar_range_per_unit() -> None:
    """3 units at $35-$55: allowed $105-$165, the patient's 20% $21-$33, no sequestration."""
    assert price([("97130", 3, False)], payer="commercial") == [
        {
            "allowed_lo": 10500,
            "allowed_hi": 16500,
            "payer_lo": 8400,
            "payer_hi": 13200,
            "patient_lo": 2100,
            "patient_hi": 3300,
        }
    ]


# -- the multiple procedure payment reduction (RULES.md §8) ------------------------------------


def test_rules_8_mppr_never_reduces_97129_or_97130() -> None:
    """With 97110 on the same day, the cognitive pair keeps its full fee (indicator 0)."""
    alone = allowed([("97129", 1, False), ("97130", 2, False)])
    together = allowed([("97129", 1, False), ("97130", 2, False), ("97110", 2, False)])
    assert together[:2] == alone


def test_rules_8_mppr_the_highest_pe_unit_is_paid_in_full() -> None:
    """97110 (PE 0.43) x 2 and 97530 (PE 0.62): 97530 in full ($34.61), both 97110 units at
    50% of their PE ($21.83 each instead of $28.79)."""
    assert allowed([("97110", 2, False), ("97530", 1, False)]) == [4366, 3461]


def test_rules_8_mppr_one_line_keeps_one_unit_in_full() -> None:
    """97110 x 3 alone: $28.79 + 2 x $21.83."""
    assert allowed([("97110", 3, False)]) == [2879 + 2 * 2183]


def test_rules_8_mppr_ties_go_to_the_first_line() -> None:
    """Two 97110 lines (the same PE and fee): the first keeps its unit in full."""
    assert allowed([("97110", 1, False), ("97110", 1, False)]) == [2879, 2183]


def test_rules_8_mppr_a_zero_unit_line_is_not_the_full_one() -> None:
    """A 0-unit 97530 line costs nothing and leaves the full unit to 97110."""
    assert allowed([("97530", 0, False), ("97110", 1, False)]) == [0, 2879]


def test_rules_8_mppr_cq_co_first_ranks_the_assistants_reduced_pe() -> None:
    """CQ/CO before the reduction: 97530 by an assistant ranks at 85% of its PE
    (0.527 > 0.43), still first; after the reduction it ranks in full. Either way 97530 full."""
    after = allowed([("97110", 1, False), ("97530", 1, True)])
    before = allowed([("97110", 1, False), ("97530", 1, True)], payer="before")
    assert after == before == [2183, 2942]  # 97530: 85% of $34.61 = $29.42


def test_rules_8_no_mppr_for_a_per_unit_payer() -> None:
    assert allowed([("97110", 2, False)], payer="commercial") == [7000]


# -- units, caps and unpriced lines --------------------------------------------------------------


def test_a_zero_unit_line_is_zero_in_every_column() -> None:
    assert price([("97129", 0, False)]) == [dict.fromkeys(MONEY, 0)]


def test_rules_8_a_code_without_rvus_pays_nothing_and_the_others_are_priced() -> None:
    """97127 (deleted before 2020) has no fee: 0 in every column."""
    rows = price([("97127", 2, False), ("97129", 1, False)])
    assert rows[0] == dict.fromkeys(MONEY, 0)
    assert rows[1]["allowed_lo"] == 2167


def test_a_daily_cap_pays_the_units_left_across_lines_in_order() -> None:
    """Cap 3 of 97110: lines of 2, 2 and 1 units are paid 2, 1 and 0 units at $25."""
    lines = [("97110", 2, False), ("97110", 2, False), ("97110", 1, False)]
    assert allowed(lines, payer="contract") == [5000, 2500, 0]


def test_codes_are_cleaned_as_the_old_pricer_cleans_them() -> None:
    assert allowed([(" 97129", 1, False), ("97130 ", 1, False)]) == [2167, 2070]


def test_rules_8_a_gap_date_falls_back_to_the_nearest_release_of_the_year() -> None:
    """1 April 2025 (no release on file) prices as 31 March (RVU25A)."""
    assert allowed([("97129", 1, False)], date(2025, 4, 1)) == [2167]


def test_rules_8_a_facility_place_uses_the_facility_pe() -> None:
    """POS 22 (outpatient hospital): 97129's facility PE is lower in 2025."""
    assert allowed([("97129", 1, False)], place="22")[0] < 2167
    assert allowed([("97129", 1, False)], place="12") == [2167]


# -- frames ---------------------------------------------------------------------------------------


def two_visits() -> tuple[pl.DataFrame, pl.DataFrame]:
    lines = pl.DataFrame(
        {
            "visit": [8, 7, 8, 7],
            "code": ["97130", "97129", "97129", "97130"],
            "units": [2, 1, 1, 2],
            "assistant": [False, False, None, True],
            "note": ["a", "b", "c", "d"],
        },
        schema_overrides={"visit": pl.UInt32, "units": pl.Int32},
    )
    visits = pl.DataFrame(
        {
            "visit": [7, 8],
            "date": [FEB_2025, FEB_2025],
            "place_of_service": ["11", None],
            "payer_id": ["medicare", "commercial"],
        },
        schema_overrides={"visit": pl.UInt32},
    )
    return lines, visits


def test_price_keeps_the_rows_in_order_with_their_other_columns() -> None:
    lines, visits = two_visits()
    out = PRICER.price(lines, visits)
    assert out.columns == [*lines.columns, *PRICED]
    assert out.select(lines.columns).equals(lines)
    assert out.get_column("allowed_lo").to_list() == [7000, 2167, 3500, 3519]
    assert out.get_column("allowed_hi").to_list() == [11000, 2167, 5500, 3519]


def test_visit_ids_need_not_count_from_zero_or_in_order() -> None:
    lines, visits = two_visits()
    shuffled = visits.reverse()
    assert PRICER.price(lines, shuffled).equals(PRICER.price(lines, visits))


def test_visit_totals_are_the_sums_of_the_lines_for_every_visit() -> None:
    lines, visits = two_visits()
    more = pl.concat(
        [
            visits,
            pl.DataFrame([(9, FEB_2025, "11", "medicare")], schema=visits.schema, orient="row"),
        ]
    )
    totals = PRICER.visit_totals(PRICER.price(lines, more), more)
    assert totals.get_column("visit").to_list() == [7, 8, 9]
    assert totals.get_column("allowed_lo").to_list() == [2167 + 3519, 7000 + 3500, 0]


def test_unit_values_price_one_unit_alone() -> None:
    """One unit of each code, as if alone on the visit; null when there is no fee."""
    _, visits = two_visits()
    wanted = pl.DataFrame(
        {"visit": [7, 7, 8, 7], "code": ["97129", "97127", "97130", "97110"]},
        schema_overrides={"visit": pl.UInt32},
    )
    values = PRICER.unit_values(wanted, visits)
    assert values.get_column("value_cents").to_list() == [2167, None, 3500, 2879]


def test_data_versions_name_the_fee_data_or_the_payer_profile() -> None:
    _, visits = two_visits()
    versions = PRICER.data_versions(visits).get_column("data_version").to_list()
    assert versions[0].startswith("pfs-")
    assert versions[1] == "payer profile"


# -- errors, as the old pricer's --------------------------------------------------------------


def test_negative_units_are_refused() -> None:
    with pytest.raises(EntryError, match=r"97129: units cannot be negative \(-1\)"):
        price([(" 97129", -1, False)])


def test_a_place_of_service_that_is_not_a_cms_code_is_refused() -> None:
    with pytest.raises(EntryError, match="place of service '1A' is not a 2-digit CMS code"):
        price([("97129", 1, False)], place="1A")


def test_a_locality_with_no_gpcis_on_the_date_is_refused_for_fee_schedule_payers_only() -> None:
    """01112-06 has GPCIs up to 2023 only; a per-unit payer does not look it up."""
    pricer = with_options(locality="01112-06")
    assert allowed([("97129", 1, False)], date(2023, 5, 1), pricer=pricer)[0] > 0
    with pytest.raises(EntryError, match="locality 01112-06 has no GPCIs for 2025"):
        price([("97129", 1, False)], pricer=pricer)
    assert allowed([("97129", 1, False)], payer="commercial", pricer=pricer) == [3500]


def test_negative_units_come_before_a_bad_place() -> None:
    with pytest.raises(EntryError, match="units cannot be negative"):
        price([("97129", -2, False)], place="XX")


def test_an_unknown_payer_is_a_callers_bug() -> None:
    with pytest.raises(ValueError, match="no payer profile 'acme'"):
        price([("97129", 1, False)], payer="acme")
