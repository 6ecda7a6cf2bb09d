"""The units engine against RULES.md §1-§5, boundary by boundary."""

from __future__ import annotations

import pytest

from cognibill.catalogue import Kind
from cognibill.engine import Entry, UnitRule, compute_units, unit_ranges, units_for_minutes
from cognibill.errors import EntryError

# RULES.md §1: (minutes, units) on both sides of every boundary up to 9 units.
BOUNDARIES = [
    (0, 0),
    (7, 0),
    (8, 1),
    (22, 1),
    (23, 2),
    (37, 2),
    (38, 3),
    (52, 3),
    (53, 4),
    (67, 4),
    (68, 5),
    (82, 5),
    (83, 6),
    (97, 6),
    (98, 7),
    (112, 7),
    (113, 8),
    (127, 8),
    (128, 9),
    (142, 9),
]
ALL_RULES = list(UnitRule)


def units(rule: UnitRule, *entries: tuple[str, int]) -> dict[str, int]:
    result = compute_units([Entry(c, m) for c, m in entries], rule)
    return {line.code: line.units for line in result.lines}


@pytest.mark.parametrize(("minutes", "expected"), BOUNDARIES)
def test_units_table_rules_md_section_1(minutes: int, expected: int) -> None:
    assert units_for_minutes(minutes) == expected


@pytest.mark.parametrize("rule", ALL_RULES)
@pytest.mark.parametrize(("minutes", "expected"), BOUNDARIES)
def test_cognitive_boundaries_bill_97129_once_and_97130_for_the_rest(
    rule: UnitRule, minutes: int, expected: int
) -> None:
    """RULES.md §5: N cognitive units are 97129 x1 + 97130 x(N-1), for every rule variant."""
    result = compute_units([Entry("97129", minutes)], rule)
    assert result.units_of("97129") == min(expected, 1)
    assert result.units_of("97130") == max(expected - 1, 0)
    assert result.total_timed_units == expected


@pytest.mark.parametrize("rule", ALL_RULES)
@pytest.mark.parametrize(("minutes", "expected"), BOUNDARIES)
def test_single_timed_code_boundaries(rule: UnitRule, minutes: int, expected: int) -> None:
    assert units(rule, ("97110", minutes))["97110"] == expected


def test_38_minutes_bills_97129_once_and_97130_twice() -> None:
    result = compute_units([Entry("97129", 38)])
    assert [(line.code, line.minutes, line.units) for line in result.lines] == [
        ("97129", 15, 1),
        ("97130", 23, 2),
    ]
    assert result.next_unit_at == 53
    assert result.spare_minutes == 0


def test_22_minutes_is_97129_alone_and_97130_starts_at_23() -> None:
    """RULES.md §5: 97130 starts at 23 cognitive minutes."""
    assert units(UnitRule.CMS, ("97129", 22)) == {"97129": 1}
    assert units(UnitRule.CMS, ("97129", 23)) == {"97129": 1, "97130": 1}


def test_minutes_entered_as_97129_and_97130_pool_as_one_service() -> None:
    """RULES.md §5: 97129 and 97130 minutes of one visit are the same service."""
    assert units(UnitRule.CMS, ("97129", 15), ("97130", 23)) == {"97129": 1, "97130": 2}
    assert units(UnitRule.AMA, ("97129", 4), ("97130", 4)) == {"97129": 1}


def test_97130_alone_is_billed_with_its_97129() -> None:
    assert units(UnitRule.CMS, ("97130", 30)) == {"97129": 1, "97130": 1}


def test_cms_example_one_gives_the_extra_unit_to_the_largest_leftover() -> None:
    """RULES.md §2 worked example: 97110 26 + 97530 19 + 97140 6 -> 2, 1, 0."""
    assert units(UnitRule.CMS, ("97110", 26), ("97530", 19), ("97140", 6)) == {
        "97110": 2,
        "97530": 1,
        "97140": 0,
    }


def test_cms_example_two_cognitive_and_self_care_both_take_a_leftover_unit() -> None:
    """RULES.md §2 worked example: cognitive 29 + 97535 12 -> 97129 x1 + 97130 x1, 97535 x1."""
    assert units(UnitRule.CMS, ("97129", 29), ("97535", 12)) == {
        "97129": 1,
        "97130": 1,
        "97535": 1,
    }


def test_cms_two_short_services_reaching_8_bill_one_unit_for_the_longer() -> None:
    """RULES.md §2: 97110 6 + 97112 3 -> 1 unit to 97110; 5 + 2 -> nothing."""
    assert units(UnitRule.CMS, ("97110", 6), ("97112", 3)) == {"97110": 1, "97112": 0}
    assert units(UnitRule.CMS, ("97110", 5), ("97112", 2)) == {"97110": 0, "97112": 0}


def test_cms_a_code_with_7_minutes_can_earn_a_unit_and_one_with_8_none() -> None:
    """RULES.md §2 consequences: leftovers compete, not minutes."""
    # 97110 22 (7 left) + 97112 7: total 29 -> 2 units; blocks 1; owed 1; leftovers 7 vs 7: tie.
    # 97110 30 (0 left) + 97112 8 + 97530 14: total 52 -> 3; blocks 2; owed 1 -> 97530 (14).
    assert units(UnitRule.CMS, ("97110", 30), ("97112", 8), ("97530", 14)) == {
        "97110": 2,
        "97112": 0,
        "97530": 1,
    }
    assert units(UnitRule.CMS, ("97110", 30), ("97112", 7), ("97530", 1)) == {
        "97110": 2,
        "97112": 1,
        "97530": 0,
    }


def test_cms_tie_is_reported_and_picked_by_code_order() -> None:
    """RULES.md §2.5: equal leftovers for the last unit -> deterministic pick, reported."""
    result = compute_units([Entry("97112", 10), Entry("97110", 10)])
    assert result.units_of("97110") == 1
    assert result.units_of("97112") == 0
    (tie,) = result.ties
    assert tie.candidates == ("97110", "97112")
    assert tie.chosen == ("97110",)
    assert tie.leftover == 10
    assert any(f.id == "unit-tie" for f in result.findings)
    assert any("Tie:" in step for step in result.trace)


def test_cms_tie_prefers_the_unit_that_pays_more_when_fees_are_known() -> None:
    from decimal import Decimal

    prices = {"97110": Decimal("29.00"), "97112": Decimal("33.00")}
    result = compute_units(
        [Entry("97110", 10), Entry("97112", 10)], unit_value=lambda code: prices.get(code)
    )
    assert result.units_of("97112") == 1
    assert result.ties[0].chosen == ("97112",)
    assert "pays more" in result.ties[0].reason


def test_no_tie_when_the_units_cover_every_equal_leftover() -> None:
    # 97110 10 + 97112 10 + 97530 15: total 35 -> 2; blocks 1; owed 1 -> tie between 10s.
    assert compute_units([Entry("97110", 10), Entry("97112", 10), Entry("97530", 15)]).ties
    # 97110 10 + 97112 10 + 97530 26: total 46 -> 3; blocks 1; owed 2 -> 11, then one of the 10s.
    result = compute_units([Entry("97110", 12), Entry("97112", 12), Entry("97530", 6)])
    # total 30 -> 2, owed 2 -> both 12s; no tie.
    assert not result.ties
    assert result.units_of("97110") == result.units_of("97112") == 1


def test_ama_counts_each_code_on_its_own() -> None:
    """RULES.md §3: 97129 10 + 97110 10 -> CMS 1 unit, AMA 2; 7 + 7 -> CMS 1, AMA 0."""
    assert compute_units([Entry("97129", 10), Entry("97110", 10)], UnitRule.CMS).total_units == 1
    assert compute_units([Entry("97129", 10), Entry("97110", 10)], UnitRule.AMA).total_units == 2
    assert compute_units([Entry("97129", 7), Entry("97110", 7)], UnitRule.CMS).total_units == 1
    assert compute_units([Entry("97129", 7), Entry("97110", 7)], UnitRule.AMA).total_units == 0


def test_ama_capped_never_exceeds_the_cms_total() -> None:
    """RULES.md §3 payer variant: per code, capped at the CMS total."""
    result = compute_units([Entry("97129", 10), Entry("97110", 10)], UnitRule.AMA_CAPPED)
    assert result.total_units == 1
    assert result.ties  # which of the two gives its unit back is a tie, reported
    # Under the cap nothing changes when per-code is already below the CMS total.
    result = compute_units([Entry("97110", 22), Entry("97112", 7)], UnitRule.AMA_CAPPED)
    assert result.total_units == 1


def test_untimed_codes_are_one_unit_and_stay_out_of_the_pool() -> None:
    """RULES.md §4: 92507 30 min is 1 unit; its minutes do not lift 97129 7 to a unit."""
    result = compute_units([Entry("97129", 7), Entry("92507", 30)])
    assert result.units_of("92507") == 1
    assert result.units_of("97129") == 0
    assert result.total_timed_minutes == 7
    assert result.next_unit_at == 8


@pytest.mark.parametrize(("minutes", "expected"), [(30, 0), (31, 1), (90, 1), (91, 2)])
def test_96125_is_counted_per_hour_with_a_31_minute_midpoint(minutes: int, expected: int) -> None:
    result = compute_units([Entry("96125", minutes)])
    assert result.units_of("96125") == expected
    assert result.services[0].kind is Kind.HOURLY
    assert result.total_timed_minutes == 0


def test_next_unit_and_spare_minutes_advice() -> None:
    result = compute_units([Entry("97129", 45)])
    assert result.next_unit_at == 53
    assert result.minutes_to_next_unit == 8
    assert result.spare_minutes == 7  # 38 still earns 3 units
    assert compute_units([Entry("97129", 5)]).spare_minutes is None


def test_ama_next_unit_is_the_nearest_code_to_its_next_unit() -> None:
    result = compute_units([Entry("97110", 6), Entry("97112", 3)], UnitRule.AMA)
    assert result.next_unit_at == 11  # 97110 reaches 8 after 2 more minutes


def test_below_minimum_is_a_warning_when_the_minutes_earn_nothing() -> None:
    (finding,) = compute_units([Entry("97129", 7)]).findings
    assert finding.id == "below-minimum"
    assert finding.severity.value == "warning"
    assert not compute_units([Entry("97129", 8)]).findings


def test_a_visit_over_a_day_of_minutes_is_rejected() -> None:
    with pytest.raises(EntryError, match="more than a day"):
        compute_units([Entry("97110", 800), Entry("97112", 800)])


def test_unknown_code_is_an_entry_error() -> None:
    with pytest.raises(EntryError, match="unknown code"):
        compute_units([Entry("99999", 10)])


def test_trace_names_blocks_leftovers_and_who_took_the_extra_unit() -> None:
    trace = compute_units([Entry("97110", 26), Entry("97530", 19), Entry("97140", 6)]).trace
    assert trace[0].startswith("CMS total-time rule (RULES.md §2): 51 timed minutes -> 3 unit(s)")
    assert "97110: 26 min = 1 whole 15-minute block(s), 11 min left over." in trace
    assert "Extra unit -> 97110 (11 min left over)." in trace


def test_unit_ranges_match_the_table() -> None:
    rows = unit_ranges(8)
    assert [(r.units, r.low, r.high) for r in rows[:4]] == [
        (0, 0, 7),
        (1, 8, 22),
        (2, 23, 37),
        (3, 38, 52),
    ]
    assert (rows[-1].units, rows[-1].low, rows[-1].high) == (8, 113, 127)
    assert (rows[3].primary, rows[3].addon) == (1, 2)
    for r in rows:
        assert units_for_minutes(r.low) == units_for_minutes(r.high) == r.units
