"""Estimated reimbursement of a visit (RULES.md §6 and §8), to the cent.

Visits are priced and explained by the kernel (``cognibill.fees.kernel.Pricer.explain``), the
one place money is computed; ``cognibill units`` goes through ``engine.one_visit``.
"""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from types import MappingProxyType
from typing import NamedTuple

import polars as pl
import pytest

from cognibill.engine.one_visit import one_visit
from cognibill.engine.units import Entry, UnitRule
from cognibill.errors import EntryError
from cognibill.fees import Estimate, Span, fee_breakdown, is_facility
from cognibill.fees.kernel import Pricer
from cognibill.payers import PayerProfile, get_payer

FEB_2025 = date(2025, 2, 14)  # RVU25A, CF 32.3465
ALABAMA = "10112-00"


@pytest.fixture(scope="module")
def medicare() -> PayerProfile:
    return get_payer("medicare", environ={})


@pytest.fixture(scope="module")
def commercial() -> PayerProfile:
    return get_payer("commercial", environ={})


def cents(amount: Decimal) -> Decimal:
    return amount.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def unit(code: str, day: date = FEB_2025, locality: str | None = None) -> tuple[Decimal, Decimal]:
    """(full, reduced) fee of one non-facility unit, from the fee schedule itself."""
    (row,) = fee_breakdown([code], day, locality=locality)
    assert row.non_facility is not None
    return row.non_facility.fee, row.non_facility.reduced_fee or row.non_facility.fee


def _visits(payer: PayerProfile, day: date, *places: str | None) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "visit": list(range(len(places))),
            "date": [day] * len(places),
            "place_of_service": list(places),
            "payer_id": [payer.id] * len(places),
        },
        schema={
            "visit": pl.UInt32,
            "date": pl.Date,
            "place_of_service": pl.String,
            "payer_id": pl.String,
        },
    )


class BilledLine(NamedTuple):
    """One line to price: code, units, furnished by an assistant (CQ/CO)."""

    code: str
    units: int
    assistant: bool = False


def visit(
    payer: PayerProfile,
    *lines: tuple[str, int] | BilledLine,
    day: date = FEB_2025,
    place_of_service: str | None = None,
    facility: bool | None = None,
    locality: str | None = None,
    participating: bool | None = None,
) -> Estimate:
    """One visit's lines priced and explained by the kernel."""
    billed = [ln if isinstance(ln, BilledLine) else BilledLine(*ln) for ln in lines]
    pricer = Pricer(
        {payer.id: payer}, facility=facility, locality=locality, participating=participating
    )
    frame = pl.DataFrame(
        {
            "visit": [0] * len(billed),
            "code": [ln.code for ln in billed],
            "units": [ln.units for ln in billed],
            "assistant": [ln.assistant for ln in billed],
        },
        schema={"visit": pl.UInt32, "code": pl.String, "units": pl.Int32, "assistant": pl.Boolean},
    )
    (estimate,) = pricer.explain(frame, _visits(payer, day, place_of_service))
    return estimate


def unit_value(
    code: str, day: date, payer: PayerProfile, *places: str | None
) -> list[Decimal | None]:
    """What one unit of ``code`` is allowed on ``day`` at each place (None: unpriced)."""
    pricer = Pricer({payer.id: payer}, facility=None, locality=None, participating=None)
    visits = _visits(payer, day, *(places or (None,)))
    wanted = visits.select("visit", pl.lit(code).alias("code"))
    cents = pricer.unit_values(wanted, visits).get_column("value_cents").to_list()
    return [None if c is None else Decimal(c).scaleb(-2) for c in cents]


# -- the 38-minute cognitive visit -------------------------------------------------------------


def test_rules_8_38_minute_visit_allowed_is_97129_once_plus_97130_twice(
    medicare: PayerProfile,
) -> None:
    estimate = visit(medicare, ("97129", 1), ("97130", 2))
    assert estimate.line("97129").allowed == Span.of(Decimal("21.67"))
    assert estimate.line("97130").allowed == Span.of(Decimal("41.40"))
    assert estimate.allowed == Span.of(Decimal("63.07"))


def test_rules_8_38_minute_visit_coinsurance_and_sequestration(medicare: PayerProfile) -> None:
    """Patient 20% of the allowed amount; Medicare's 80% cut by 2% sequestration, per line."""
    estimate = visit(medicare, ("97129", 1), ("97130", 2))
    expected_patient = expected_pays = expected_cut = Decimal(0)
    for allowed in (Decimal("21.67"), Decimal("41.40")):
        patient = cents(allowed * Decimal("0.20"))
        share = allowed - patient
        cut = cents(share * Decimal("0.02"))
        expected_patient += patient
        expected_cut += cut
        expected_pays += share - cut
    assert estimate.patient_owes.low == expected_patient == Decimal("12.61")
    assert estimate.sequestration.low == expected_cut == Decimal("1.01")
    assert estimate.payer_pays.low == expected_pays == Decimal("49.45")
    assert estimate.patient_owes.low + estimate.payer_pays.low + estimate.sequestration.low == (
        estimate.allowed.low
    )


def test_rules_8_sequestration_never_cuts_the_coinsurance(medicare: PayerProfile) -> None:
    without = replace(medicare, sequestration=Decimal(0))
    cut = visit(medicare, ("97129", 1), ("97130", 2))
    whole = visit(without, ("97129", 1), ("97130", 2))
    assert cut.patient_owes == whole.patient_owes
    assert cut.payer_pays.low < whole.payer_pays.low
    assert whole.sequestration == Span.of(Decimal("0.00"))


def test_units_38_end_to_end_through_the_engine(medicare: PayerProfile) -> None:
    ((_, estimate),) = one_visit([Entry("97129", 38)], [medicare.unit_rule], FEB_2025, medicare)
    assert [(line.code, line.units) for line in estimate.lines] == [("97129", 1), ("97130", 2)]
    assert estimate.allowed == Span.of(Decimal("63.07"))
    assert estimate.data_version.startswith("pfs-")
    assert any(note.startswith("Fee data pfs-") for note in estimate.notes)


def test_rules_8_date_on_each_side_of_9_march_2024(medicare: PayerProfile) -> None:
    before = visit(medicare, ("97129", 1), ("97130", 2), day=date(2024, 3, 8))
    after = visit(medicare, ("97129", 1), ("97130", 2), day=date(2024, 3, 9))
    assert before.conversion_factor == Decimal("32.7442")
    assert after.conversion_factor == Decimal("33.2875")
    assert after.allowed == Span.of(Decimal("22.30") + 2 * Decimal("21.30"))
    assert before.allowed.low < after.allowed.low


def test_rules_8_locality_changes_the_estimate(medicare: PayerProfile) -> None:
    day = date(2024, 5, 1)
    amounts = {
        where: visit(medicare, ("97129", 1), day=day, locality=where).allowed.low
        for where in ("alabama", "alaska", "manhattan")
    }
    assert amounts == {
        "alabama": Decimal("21.46"),
        "alaska": Decimal("30.92"),
        "manhattan": Decimal("24.49"),
    }


def test_profile_locality_is_used_unless_overridden(medicare: PayerProfile) -> None:
    alabama = replace(medicare, locality=ALABAMA)
    assert visit(alabama, ("97129", 1)).allowed.low == Decimal("20.86")
    assert visit(alabama, ("97129", 1), locality="national").allowed.low == Decimal("21.67")


def test_bad_locality_is_an_entry_error(medicare: PayerProfile) -> None:
    with pytest.raises(EntryError):
        visit(medicare, ("97129", 1), locality="san francisco")


# -- multiple-procedure reduction (RULES.md §8) ------------------------------------------------


def test_rules_8_procedure_reduction_keeps_the_highest_pe_unit_in_full(
    medicare: PayerProfile,
) -> None:
    """97530 (PE 0.62) outranks 97110 (PE 0.43): both 97110 units lose half their PE."""
    estimate = visit(medicare, ("97110", 2), ("97530", 1), locality=ALABAMA)
    _, reduced_110 = unit("97110", locality=ALABAMA)
    full_530, _ = unit("97530", locality=ALABAMA)
    assert (reduced_110, full_530) == (Decimal("20.79"), Decimal("31.85"))  # CMS PFAL25A
    assert estimate.line("97530").allowed.low == full_530
    assert estimate.line("97530").reduced_units == 0
    assert estimate.line("97110").allowed.low == 2 * reduced_110
    assert estimate.line("97110").reduced_units == 2
    assert estimate.allowed.low == Decimal("31.85") + 2 * Decimal("20.79")
    assert any("Multiple-procedure reduction" in step for step in estimate.trace)


def test_rules_8_procedure_reduction_second_unit_of_the_same_code(medicare: PayerProfile) -> None:
    estimate = visit(medicare, ("97110", 3), locality=ALABAMA)
    full, half_pe = unit("97110", locality=ALABAMA)
    assert estimate.allowed.low == full + 2 * half_pe
    assert estimate.line("97110").reduced_units == 2


def test_rules_8_single_indicator_5_unit_is_not_reduced(medicare: PayerProfile) -> None:
    estimate = visit(medicare, ("97110", 1), ("97129", 1), ("97130", 2))
    assert all(line.reduced_units == 0 for line in estimate.lines)
    assert estimate.line("97110").allowed.low == unit("97110")[0]


def test_rules_8_procedure_reduction_never_touches_97129_97130(medicare: PayerProfile) -> None:
    estimate = visit(medicare, ("97530", 2), ("97129", 1), ("97130", 3))
    assert estimate.line("97129").reduced_units == estimate.line("97130").reduced_units == 0
    assert estimate.line("97130").allowed.low == 3 * unit("97130")[0]
    assert estimate.line("97530").reduced_units == 1


def test_rules_8_procedure_reduction_tie_on_pe_goes_to_the_higher_total(
    medicare: PayerProfile,
) -> None:
    """97533 and 92522 both have PE 1.38 in 2025; 92522's total is higher, so it keeps its unit."""
    estimate = visit(medicare, ("97533", 1), ("92522", 1))
    assert estimate.line("92522").reduced_units == 0
    assert estimate.line("97533").reduced_units == 1
    assert estimate.line("97533").allowed.low == unit("97533")[1]


def test_payer_without_the_procedure_reduction(medicare: PayerProfile) -> None:
    plain = replace(medicare, multiple_procedure_reduction=False)
    estimate = visit(plain, ("97110", 2), ("97530", 1))
    assert estimate.allowed.low == 2 * unit("97110")[0] + unit("97530")[0]


# -- assistants (CQ/CO, RULES.md §6) -----------------------------------------------------------


def test_rules_6_assistant_unit_is_paid_at_85_percent(medicare: PayerProfile) -> None:
    estimate = visit(medicare, BilledLine("97110", 1, assistant=True))
    assert estimate.allowed.low == cents(unit("97110")[0] * Decimal("0.85"))
    assert any("CQ/CO" in step and "85%" in step for step in estimate.trace)


def test_rules_10_assistant_rate_is_not_88_percent(medicare: PayerProfile) -> None:
    assert medicare.assistant_rate == Decimal("0.85")


def test_rules_6_assistant_paid_in_full_before_2022(medicare: PayerProfile) -> None:
    day = date(2021, 6, 1)
    estimate = visit(medicare, BilledLine("97110", 1, assistant=True), day=day)
    assert estimate.allowed.low == unit("97110", day)[0]


def test_rules_8_assistant_order_is_a_setting(medicare: PayerProfile) -> None:
    """Open in RULES.md §8. 97530 by an assistant (PE 0.62 x 0.85 = 0.527) against 97535 by the
    therapist (PE 0.53): the order decides which keeps its unit in full."""
    lines = (BilledLine("97530", 1, assistant=True), BilledLine("97535", 1))
    after = visit(medicare, *lines)
    before = visit(replace(medicare, assistant_order="before-mppr"), *lines)
    assert (after.line("97530").reduced_units, after.line("97535").reduced_units) == (0, 1)
    assert (before.line("97530").reduced_units, before.line("97535").reduced_units) == (1, 0)
    full_530, half_530 = unit("97530")
    full_535, half_535 = unit("97535")
    assert after.allowed.low == cents(full_530 * Decimal("0.85")) + half_535
    assert before.allowed.low == cents(half_530 * Decimal("0.85")) + full_535


# -- participation, setting --------------------------------------------------------------------


def test_rules_8_non_participating_95_percent_and_limiting_charge(medicare: PayerProfile) -> None:
    estimate = visit(medicare, ("97129", 1), participating=False)
    allowed = cents(Decimal("21.67") * Decimal("0.95"))
    assert estimate.allowed.low == allowed == Decimal("20.59")
    assert estimate.limiting_charge == cents(allowed * Decimal("1.15")) == Decimal("23.68")
    assert not estimate.participating


def test_participating_has_no_limiting_charge(medicare: PayerProfile) -> None:
    assert visit(medicare, ("97129", 1)).limiting_charge is None


@pytest.mark.parametrize(
    ("pos", "facility"),
    [("11", False), ("12", False), ("02", True), ("10", False), ("22", True), ("21", True),
     ("19", True), ("31", True), ("24", True), ("23", True), (None, None)],
)  # fmt: skip
def test_place_of_service_decides_the_setting(pos: str | None, facility: bool | None) -> None:
    assert is_facility(pos) is facility


def test_bad_place_of_service_is_an_entry_error() -> None:
    with pytest.raises(EntryError):
        is_facility("office")


def test_rules_8_facility_pe_for_97129_in_a_hospital(medicare: PayerProfile) -> None:
    office = visit(medicare, ("97129", 1), place_of_service="11")
    hospital = visit(medicare, ("97129", 1), place_of_service="22")
    assert office.allowed.low == Decimal("21.67")
    # 2025 97129 facility PE 0.15: (0.50 + 0.15 + 0.01) x 32.3465 = 21.3487
    assert hospital.allowed.low == Decimal("21.35")
    assert hospital.facility and not office.facility


def test_rules_8_always_therapy_code_priced_non_facility_in_a_hospital(
    medicare: PayerProfile,
) -> None:
    hospital = visit(medicare, ("97110", 1), place_of_service="22")
    assert hospital.allowed.low == unit("97110")[0]
    assert any("facility PE is NA" in step for step in hospital.trace)


def test_explicit_facility_beats_place_of_service(medicare: PayerProfile) -> None:
    estimate = visit(medicare, ("97129", 1), place_of_service="22", facility=False)
    assert estimate.allowed.low == Decimal("21.67")


# -- other payers ------------------------------------------------------------------------------


def test_rules_8_commercial_three_units_is_105_to_165(commercial: PayerProfile) -> None:
    ((_, estimate),) = one_visit([Entry("97129", 38)], [commercial.unit_rule], FEB_2025, commercial)
    assert estimate.allowed == Span(Decimal("105.00"), Decimal("165.00"))
    assert str(estimate.allowed) == "$105.00–$165.00"
    assert estimate.is_range
    assert estimate.sequestration == Span.of(Decimal("0.00"))
    assert any("public guides quote" in note for note in estimate.notes)


def test_commercial_range_patient_share(commercial: PayerProfile) -> None:
    estimate = visit(commercial, ("97129", 1), ("97130", 2))
    assert estimate.patient_owes == Span(Decimal("21.00"), Decimal("33.00"))
    assert estimate.payer_pays == Span(Decimal("84.00"), Decimal("132.00"))


def test_per_code_rates_and_an_unpriced_code(commercial: PayerProfile) -> None:
    acme = replace(
        commercial,
        id="acme",
        pricing="per-code",
        per_code=MappingProxyType({"97129": Decimal("40"), "97130": Decimal("38.50")}),
    )
    estimate = visit(acme, ("97129", 1), ("97130", 2), ("97535", 1))
    assert estimate.allowed == Span.of(Decimal("117.00"))
    assert not estimate.line("97535").priced
    assert any("97535: no rate in the acme profile" in step for step in estimate.trace)


def test_percent_of_mpfs(medicare: PayerProfile) -> None:
    advantage = replace(medicare, pricing="percent-of-mpfs", percent=Decimal(110))
    estimate = visit(advantage, ("97129", 1))
    assert estimate.allowed.low == cents(Decimal("21.67") * Decimal("1.10")) == Decimal("23.84")


def test_rules_5_daily_cap_prices_units_above_it_at_zero(medicare: PayerProfile) -> None:
    capped = replace(medicare, daily_caps=MappingProxyType({"97130": 2}))
    estimate = visit(capped, ("97129", 1), ("97130", 3))
    assert estimate.line("97130").paid_units == 2
    assert estimate.line("97130").allowed.low == 2 * Decimal("20.70")
    assert any("at most 2 unit(s) a day" in step for step in estimate.trace)


def test_rules_5_no_daily_cap_by_default(medicare: PayerProfile) -> None:
    estimate = visit(medicare, ("97129", 1), ("97130", 5))
    assert estimate.line("97130").paid_units == 5


def test_carrier_priced_line_is_reported_not_counted(medicare: PayerProfile) -> None:
    estimate = visit(medicare, ("97153", 2), ("97129", 1))
    assert not estimate.line("97153").priced
    assert estimate.allowed.low == Decimal("21.67")


# -- data notes --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("day", "release"),
    [(date(2025, 6, 1), "RVU25A"), (date(2024, 11, 15), "RVU24C"), (date(2026, 2, 1), "RVU26C"),
     (date(2026, 11, 23), "RVU26C")],
)  # fmt: skip
def test_rules_8_estimate_on_a_gap_date_names_its_fallback(
    medicare: PayerProfile, day: date, release: str
) -> None:
    estimate = visit(medicare, ("97129", 1), ("97130", 2), day=day)
    assert estimate.fallback
    assert any(release in n and "nearest release of the same year" in n for n in estimate.notes)


def test_estimate_inside_a_release_has_no_fallback(medicare: PayerProfile) -> None:
    estimate = visit(medicare, ("97129", 1), ("97130", 2))
    assert not estimate.fallback
    assert "RVUs: 2025 January release (RVU25A)" in estimate.notes


def test_estimate_to_dict_is_json(medicare: PayerProfile, commercial: PayerProfile) -> None:
    data = json.loads(json.dumps(visit(medicare, ("97129", 1), ("97130", 2)).to_dict()))
    assert data["allowed"] == "63.07" and data["payer_pays"] == "49.45"
    assert data["lines"][1]["allowed"] == "41.40"
    ranged = json.loads(json.dumps(visit(commercial, ("97129", 3)).to_dict()))
    assert ranged["allowed"] == {"low": "105.00", "high": "165.00"}


def test_negative_units_are_an_entry_error(medicare: PayerProfile) -> None:
    with pytest.raises(EntryError):
        visit(medicare, ("97129", -1))


# -- unit values for the engine's tie-break (RULES.md §2.5) ------------------------------------


def test_unit_value(medicare: PayerProfile, commercial: PayerProfile) -> None:
    assert unit_value("97129", FEB_2025, medicare) == [Decimal("21.67")]
    assert unit_value("97130", FEB_2025, medicare) == [Decimal("20.70")]
    assert unit_value("97153", FEB_2025, medicare) == [None]
    assert unit_value("97129", FEB_2025, commercial) == [Decimal(35)]


def test_rules_2_tie_goes_to_the_unit_that_pays_more(medicare: PayerProfile) -> None:
    """97110 8 min + 97530 8 min: 16 minutes, 1 unit, equal leftovers. In Alabama 2025 97530
    pays $31.85 and 97110 $26.83, so the priced engine gives the unit to 97530."""
    entries = [Entry("97110", 8), Entry("97530", 8)]
    ((priced, _),) = one_visit(entries, [UnitRule.CMS], FEB_2025, medicare, locality=ALABAMA)
    assert priced.units_of("97530") == 1 and priced.units_of("97110") == 0
    assert priced.ties[0].reason == "the unit that pays more, then code order"
    flat = replace(medicare, pricing="per-unit", unit_low=Decimal(30), unit_high=Decimal(30))
    ((equal, _),) = one_visit(entries, [UnitRule.CMS], FEB_2025, flat)
    assert equal.units_of("97110") == 1
    assert equal.ties[0].reason == "code order (fees equal or unknown)"


def test_unit_value_by_place_of_service_for_the_claim_checker(medicare: PayerProfile) -> None:
    assert unit_value("97129", FEB_2025, medicare, "11", "22") == [
        Decimal("21.67"),
        Decimal("21.35"),
    ]


# -- KX and the review threshold (RULES.md §6) -------------------------------------------------


def test_non_participating_has_no_effect_on_a_flat_rate(commercial: PayerProfile) -> None:
    estimate = visit(commercial, ("97129", 3), participating=False)
    assert estimate.allowed == Span(Decimal("105.00"), Decimal("165.00"))
    assert estimate.limiting_charge is None
    assert any("per-unit pricing is left as it is" in step for step in estimate.trace)


def test_a_span_is_one_csv_cell_exact_or_low_high() -> None:
    from cognibill.fees.estimate import Span

    assert Span.of(Decimal("21.67")).to_csv() == "21.67"
    assert Span(Decimal("105"), Decimal("165")).to_csv() == "105.00-165.00"
