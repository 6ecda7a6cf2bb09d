"""Units without minutes (issue 10; RULES.md §11): an export with no minutes column (WebPT,
SimplePractice, OpenEMR) gives rows with null minutes and billed units. The engine bills the units
as given per code, never pools or allocates them, and says nothing that needs minutes
(below-minimum, units-not-supported from minutes, unit-tie); the checks that need no minutes
(97129/97130, an untimed code's one unit, CMS status) still run."""

from __future__ import annotations

import pytest

from cognibill.rules import COMMERCIAL_LIKE, MEDICARE_LIKE, PayerPolicy
from tests.test_codes_units import Billed, billed
from tests.test_rules_support import VISIT_DAY, svc

MINUTE_FINDINGS = {"below-minimum", "units-not-supported", "unit-tie", "invalid-minutes"}
PAYERS = pytest.mark.parametrize("payer", [MEDICARE_LIKE, COMMERCIAL_LIKE], ids=["cms", "ama"])


def units_only(*services: object, payer: PayerPolicy = MEDICARE_LIKE, **fields: object) -> Billed:
    """One PT visit within the standard plan of care, its rows without minutes."""
    fields.setdefault("day", VISIT_DAY)
    return billed(*services, payer=payer, minutes=False, **fields)


@PAYERS
def test_timed_units_are_billed_as_given_and_never_pooled_rules_11(payer: PayerPolicy) -> None:
    # with minutes 7 + 7 would pool; without them each line bills what the export says
    done = units_only(svc("97110", 7, units_billed=3), svc("97140", 7, units_billed=1), payer=payer)
    assert done.lines == [("97110", 3, None), ("97140", 1, None)]
    assert not MINUTE_FINDINGS & set(done.ids())
    assert done.total_timed_minutes == 0


def test_the_same_rows_with_minutes_are_allocated_and_checked_rules_2() -> None:
    done = billed(svc("97110", 7, units_billed=3), svc("97140", 7, units_billed=1))
    assert done.units() == {"97110": 1}
    assert "units-not-supported" in done.ids()


@PAYERS
def test_a_tie_needs_minutes_so_none_is_reported_rules_2_11(payer: PayerPolicy) -> None:
    done = units_only(svc("97110", 0, units_billed=1), svc("97112", 0, units_billed=1), payer=payer)
    assert done.units() == {"97110": 1, "97112": 1}
    assert "unit-tie" not in done.ids()


def test_one_billed_unit_is_not_below_the_minimum_without_minutes_rules_1_11() -> None:
    done = units_only(svc("97110", 0, units_billed=1))
    assert done.units() == {"97110": 1}
    assert "below-minimum" not in done.ids()


def test_97129_once_and_97130_twice_are_billed_as_given_rules_5_11() -> None:
    pair = svc("97129", 0, units_billed=1), svc("97130", 0, units_billed=2)
    done = units_only(*pair, discipline="slp")
    assert done.lines == [("97129", 1, None), ("97130", 2, None)]
    assert done.findings == []


def test_97129_twice_is_still_primary_more_than_once_rules_5_11() -> None:
    done = units_only(svc("97129", 0, units_billed=2), discipline="slp")
    assert done.lines == [("97129", 2, None)]
    assert done.ids() == ["primary-more-than-once"]


def test_97130_alone_is_still_an_add_on_without_its_primary_rules_5_11() -> None:
    done = units_only(svc("97130", 0, units_billed=2), discipline="slp")
    assert done.lines == [("97130", 2, None)]
    assert done.messages("addon-without-primary") == [
        "97130 ×2 billed without 97129: the add-on is paid only with its primary; bill 97129 ×1 "
        "for the first unit."
    ]


def test_a_first_and_additional_family_bills_each_code_as_given_rules_4_11() -> None:
    family = svc("92607", 0, units_billed=1), svc("92608", 0, units_billed=3)
    done = units_only(*family, discipline="slp")
    assert done.lines == [("92607", 1, None), ("92608", 3, None)]
    assert not MINUTE_FINDINGS & set(done.ids())


@pytest.mark.parametrize(
    ("code", "units"), [("96125", 2), ("97597", 3), ("96127", 2), ("99213", 2)]
)
def test_hourly_area_instrument_and_uncatalogued_codes_bill_as_given_rules_4_11(
    code: str, units: int
) -> None:
    done = units_only(svc(code, 0, units_billed=units), payer=COMMERCIAL_LIKE)
    assert done.units() == {code: units}
    assert not MINUTE_FINDINGS & set(done.ids())


def test_an_untimed_code_is_one_unit_a_visit_with_or_without_minutes_rules_4_11() -> None:
    done = units_only(svc("97161", 0, units_billed=2), payer=COMMERCIAL_LIKE)
    assert done.units() == {"97161": 1}
    assert done.messages("units-not-supported") == [
        "97161 billed 2 unit(s), an untimed code bills 1 a visit (RULES.md §4): 1 unit(s) too many."
    ]


def test_an_untimed_code_billed_once_says_nothing_rules_4_11() -> None:
    done = units_only(svc("97161", 0, units_billed=1), svc("97110", 0, units_billed=2))
    assert done.units() == {"97161": 1, "97110": 2}
    assert "units-not-supported" not in done.ids()


def test_cms_status_needs_no_minutes_rules_4_11() -> None:
    done = units_only(svc("97010", 0, units_billed=1), svc("97110", 0, units_billed=2))
    assert done.ids().count("code-bundled") == 1


def test_an_unknown_code_without_minutes_says_it_was_left_out_rules_5_11() -> None:
    done = units_only(svc("92129", 0, units_billed=2), discipline="slp")
    assert done.lines == []
    assert done.messages("unknown-code") == [
        "92129 is not a code in scope; did you mean 97129? It was left out of the claim."
    ]


def test_claim_explain_says_the_units_were_taken_as_billed_rules_11() -> None:
    from dataclasses import replace

    import polars as pl

    from cognibill.engine.bill import State, bill
    from cognibill.inputs.sessions import session_rows
    from tests.test_rules_support import _settings, visit

    v = replace(visit(svc("97110", 0, units_billed=3), discipline="pt"), line=-1)
    rows = session_rows([v]).with_columns(pl.lit(None, dtype=pl.Int32).alias("minutes"))
    done = bill(rows, replace(_settings(MEDICARE_LIKE), explain=True), State(), tables=True)
    trace = done.lines.get_column("trace")[0].to_list()
    assert trace[0] == (
        "97110: 3 unit(s) as billed: the input gives no minutes, so they are neither pooled nor "
        "checked against minutes (RULES.md §11)."
    )
