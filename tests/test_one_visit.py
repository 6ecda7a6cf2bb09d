"""One visit through the columnar engine, as ``cognibill units`` shows it (RULES.md §1-§5, §8).

The trace is the allocation's own columns in words: these tests read it like the domain.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from cognibill.engine.one_visit import VisitUnits, one_visit
from cognibill.engine.units import Entry, UnitRule
from cognibill.errors import EntryError
from cognibill.fees.estimate import Estimate, Span
from cognibill.payers import PayerProfile, get_payer

FEB_2025 = dt.date(2025, 2, 14)


@pytest.fixture(scope="module")
def medicare() -> PayerProfile:
    return get_payer("medicare", environ={})


def run(
    payer: PayerProfile, *entries: tuple[str, int], rule: UnitRule = UnitRule.CMS
) -> tuple[VisitUnits, Estimate]:
    ((result, estimate),) = one_visit([Entry(*e) for e in entries], [rule], FEB_2025, payer)
    return result, estimate


def test_rules_5_38_minutes_bills_97129_once_and_97130_twice(medicare: PayerProfile) -> None:
    result, estimate = run(medicare, ("97129", 38))
    assert [(line.code, line.minutes, line.units) for line in result.lines] == [
        ("97129", 15, 1),
        ("97130", 23, 2),
    ]
    assert result.total_timed_units == result.total_units == 3
    assert estimate.allowed == Span.of(Decimal("63.07"))
    assert result.trace[:3] == (
        "CMS total-time rule (RULES.md §2): 38 timed minutes -> 3 unit(s) ((minutes + 7) // 15).",
        "97129/97130: 38 min = 2 whole 15-minute block(s), 8 min left over.",
        "3 unit(s) - 2 block(s) = 1 unit(s) owed to the largest leftovers.",
    )
    assert result.trace[3] == "Extra unit -> 97129/97130 (8 min left over)."


def test_rules_2_cms_pools_two_codes_and_the_largest_leftover_gets_the_unit(
    medicare: PayerProfile,
) -> None:
    """97110 24 min + 97112 23 min = 47 min, 3 units: one block each, the unit owed goes to
    97110's 9-minute leftover (RULES.md §2.4)."""
    result, _ = run(medicare, ("97110", 24), ("97112", 23))
    assert result.units_of("97110") == 2 and result.units_of("97112") == 1
    assert "Extra unit -> 97110 (9 min left over)." in result.trace
    assert result.next_unit_at == 53 and result.spare_minutes == 9


def test_rules_2_5_equal_leftovers_are_a_tie_in_the_trace_and_the_findings(
    medicare: PayerProfile,
) -> None:
    result, _ = run(medicare, ("97530", 10), ("97110", 10))
    (tie,) = result.ties
    assert tie.candidates == ("97110", "97530") and tie.leftover == 10 and tie.units == 1
    assert result.trace[-1].startswith("Tie: 97110, 97530 each have 10 min left over for 1 unit")
    assert [f.id for f in result.findings] == ["unit-tie", "below-minimum"]
    assert result.findings[0].source == "RULES.md §2"


def test_rules_3_ama_capped_names_the_cms_total_and_what_it_takes_back(
    medicare: PayerProfile,
) -> None:
    """24 + 24 + 8 = 56 min: per code 2 + 2 + 1 = 5 units, the CMS total 4; the smallest
    leftover (97530's 8 min) loses its unit."""
    result, _ = run(medicare, ("97110", 24), ("97140", 24), ("97530", 8), rule=UnitRule.AMA_CAPPED)
    assert result.total_timed_units == 4 and result.units_of("97530") == 0
    assert (
        "Cap: per-code total 5 vs CMS total 4 for 56 minutes: 1 unit(s) taken back from the "
        "smallest leftovers."
    ) in result.trace
    assert result.trace[-1] == "Unit taken back from 97530."


def test_rules_3_ama_per_code_never_combines_leftovers(medicare: PayerProfile) -> None:
    result, _ = run(medicare, ("97110", 7), ("97112", 7), rule=UnitRule.AMA)
    assert result.total_units == 0
    assert [f.id for f in result.findings] == ["below-minimum", "below-minimum"]
    # one source per rule, the catalogue's, as claim gives it (the message names the unit rule)
    assert all(f.source == "RULES.md §1" and f.severity.value == "warning" for f in result.findings)


def test_rules_1_below_minimum_under_cms_names_what_one_unit_pays(medicare: PayerProfile) -> None:
    result, _ = run(medicare, ("97110", 22), ("97112", 5))
    (finding,) = result.findings
    assert finding.id == "below-minimum" and finding.severity.value == "info"
    assert finding.source == "RULES.md §1"
    assert finding.message.startswith("97112: 5 min earned no unit under the CMS total-time rule")
    assert "One unit of 97112 pays about $" in finding.message


def test_rules_4_untimed_and_hourly_codes_stay_out_of_the_pool(medicare: PayerProfile) -> None:
    result, _ = run(medicare, ("97161", 40), ("96125", 95), ("97110", 8))
    assert result.total_timed_minutes == 8
    assert result.trace[0] == (
        "96125: per-hour code, 95 min -> 2 unit(s) (CPT midpoint of 31 minutes per hour; "
        "derived, RULES.md is silent)."
    )
    assert result.trace[1] == "97161: untimed, 1 unit per visit whatever the minutes (RULES.md §4)."


def test_rules_5_a_code_before_it_existed_is_reported_first(medicare: PayerProfile) -> None:
    ((result, _),) = one_visit([Entry("97129", 38)], [UnitRule.CMS], dt.date(2019, 6, 1), medicare)
    assert result.findings[0].id == "before-code-existed"
    assert result.findings[0].message.startswith("97129 did not exist on 2019-06-01")


def test_rules_1_more_than_a_day_of_timed_minutes_is_an_entry_error(
    medicare: PayerProfile,
) -> None:
    with pytest.raises(EntryError, match="1500 timed minutes in one visit is more than a day"):
        run(medicare, ("97110", 800), ("97112", 700))


def test_compare_gives_one_result_per_rule_in_order(medicare: PayerProfile) -> None:
    worked = one_visit(
        [Entry("97110", 7), Entry("97112", 8)], [UnitRule.CMS, UnitRule.AMA], FEB_2025, medicare
    )
    assert [r.rule for r, _ in worked] == [UnitRule.CMS, UnitRule.AMA]
    assert [r.total_units for r, _ in worked] == [1, 1]
    assert [e.allowed.low > 0 for _, e in worked] == [True, True]
