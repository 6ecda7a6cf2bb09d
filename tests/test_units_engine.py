"""The units stage against RULES.md §1-§5, boundary by boundary.

Visits are billed as ``cognibill units`` and ``cognibill claim`` bill them: entries become a
``ROWS`` frame, the services stage pools them (``engine.services.build_services``) and the units
stage allocates them (``engine.allocate.allocate``), many visits in one call; the explained
results (trace, records) come from ``engine.one_visit.one_visit``. ``units_for_minutes``,
``unit_ranges`` and ``UnitRule`` are the pure helpers of ``cognibill.engine.units``.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping, Sequence
from typing import Any

import polars as pl
import pytest

from cognibill.catalogue import Kind
from cognibill.engine.allocate import Allocation, allocate
from cognibill.engine.frames import ROWS, conform
from cognibill.engine.one_visit import VisitUnits, one_visit
from cognibill.engine.services import build_services
from cognibill.engine.units import Entry, UnitRule, unit_ranges, units_for_minutes
from cognibill.entries import parse_entries
from cognibill.errors import EntryError
from cognibill.payers import PayerProfile, get_payer

DAY = dt.date(2025, 2, 14)

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

Visit = tuple[UnitRule, Sequence[tuple[str, int]]]
"""A visit: its unit rule and its entries (code, minutes) as given."""


def allocated(*visits: Visit, values: Mapping[str, int | None] | None = None) -> Allocation:
    """The visits (ids from 0) through the services and units stages in one call; ``values``:
    the cents one unit of each code pays, the same on every visit (none: fees unknown)."""
    codes = [code for _, entries in visits for code, _ in entries]
    n = len(codes)
    frame = pl.DataFrame(
        {
            "visit": [v for v, (_, entries) in enumerate(visits) for _ in entries],
            "row": list(range(n)),
            "source": ["<units>"] * n,
            "date": [DAY] * n,
            "code": codes,
            "minutes": [m for _, entries in visits for _, m in entries],
            "assistant_minutes": [0] * n,
            "group": [False] * n,
            "modifiers": [[] for _ in range(n)],
        },
        schema_overrides={"visit": pl.UInt32, "modifiers": pl.List(pl.String)},
    )
    rows = conform(frame, ROWS).with_columns(frame.get_column("visit"))
    k = len(visits)
    frame_of_visits = pl.DataFrame(
        {
            "visit": list(range(k)),
            "date": [DAY] * k,
            "place_of_service": [None] * k,
            "payer_id": ["medicare"] * k,
            "rule": [rule.value for rule, _ in visits],
        },
        schema={
            "visit": pl.UInt32,
            "date": pl.Date,
            "place_of_service": pl.String,
            "payer_id": pl.String,
            "rule": pl.String,
        },
    )
    services = build_services(rows, frame_of_visits).services
    unit_values = None
    if values is not None:
        unit_values = pl.DataFrame(
            {
                "visit": [v for v in range(k) for _ in values],
                "code": [c for _ in range(k) for c in values],
                "value_cents": [values[c] for _ in range(k) for c in values],
            },
            schema={"visit": pl.UInt32, "code": pl.String, "value_cents": pl.Int64},
        )
    return allocate(services, frame_of_visits.select("visit", "rule"), unit_values)


def units_of(result: Allocation, visit: int = 0) -> dict[str, int]:
    """Units billed per code on ``visit`` (0-unit lines too)."""
    lines = result.lines.filter(pl.col("visit") == visit)
    return dict(zip(lines.get_column("code"), lines.get_column("units"), strict=True))


def totals(result: Allocation, visit: int = 0) -> dict[str, Any]:
    return result.totals.filter(pl.col("visit") == visit).row(0, named=True)


def ties(result: Allocation, visit: int = 0) -> list[dict[str, Any]]:
    return result.ties.filter(pl.col("visit") == visit).drop("visit").rows(named=True)


def finding_ids(result: Allocation, visit: int = 0) -> list[str]:
    return result.findings.filter(pl.col("visit") == visit).get_column("id").to_list()


def units(rule: UnitRule, *entries: tuple[str, int]) -> dict[str, int]:
    return units_of(allocated((rule, entries)))


def total_units(rule: UnitRule, *entries: tuple[str, int]) -> int:
    return sum(units(rule, *entries).values())


@pytest.fixture(scope="module")
def medicare() -> PayerProfile:
    return get_payer("medicare", environ={})


def explained(
    payer: PayerProfile, *entries: tuple[str, int], rule: UnitRule = UnitRule.CMS
) -> VisitUnits:
    """The visit as ``cognibill units`` explains it (ties broken by the payer's fees)."""
    ((result, _),) = one_visit([Entry(*e) for e in entries], [rule], DAY, payer)
    return result


@pytest.mark.parametrize(("minutes", "expected"), BOUNDARIES)
def test_units_table_rules_md_section_1(minutes: int, expected: int) -> None:
    assert units_for_minutes(minutes) == expected


@pytest.mark.parametrize("rule", ALL_RULES)
def test_cognitive_boundaries_bill_97129_once_and_97130_for_the_rest(rule: UnitRule) -> None:
    """RULES.md §5: N cognitive units are 97129 x1 + 97130 x(N-1), for every rule variant."""
    result = allocated(*((rule, [("97129", m)]) for m, _ in BOUNDARIES))
    for visit, (minutes, expected) in enumerate(BOUNDARIES):
        got = units_of(result, visit)
        assert got.get("97129", 0) == min(expected, 1), minutes
        assert got.get("97130", 0) == max(expected - 1, 0), minutes
        assert totals(result, visit)["total_timed_units"] == expected


@pytest.mark.parametrize("rule", ALL_RULES)
def test_single_timed_code_boundaries(rule: UnitRule) -> None:
    """RULES.md §1: one timed code alone follows the table under every rule."""
    result = allocated(*((rule, [("97110", m)]) for m, _ in BOUNDARIES))
    for visit, (minutes, expected) in enumerate(BOUNDARIES):
        assert units_of(result, visit) == {"97110": expected}, minutes


def test_38_minutes_bills_97129_once_and_97130_twice(medicare: PayerProfile) -> None:
    """RULES.md §5."""
    result = explained(medicare, ("97129", 38))
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
    """RULES.md §5."""
    assert units(UnitRule.CMS, ("97130", 30)) == {"97129": 1, "97130": 1}


def test_cms_example_one_gives_the_extra_unit_to_the_largest_leftover() -> None:
    """RULES.md §2 worked example: 97110 26 + 97530 19 + 97140 6 -> T 51 -> 3 units; blocks
    1, 1, 0 with 11, 4, 6 left; the one unit owed goes to 97110."""
    result = allocated((UnitRule.CMS, [("97110", 26), ("97530", 19), ("97140", 6)]))
    assert units_of(result) == {"97110": 2, "97530": 1, "97140": 0}
    assert totals(result)["total_timed_minutes"] == 51
    assert totals(result)["total_timed_units"] == 3
    assert ties(result) == []
    assert finding_ids(result) == ["below-minimum"]


def test_cms_example_two_cognitive_and_self_care_both_take_a_leftover_unit() -> None:
    """RULES.md §2 worked example: cognitive 29 + 97535 12 -> T 41 -> 3 units; two owed -> both
    leftovers; 97129 x1 + 97130 x1, 97535 x1."""
    result = allocated((UnitRule.CMS, [("97129", 29), ("97535", 12)]))
    assert units_of(result) == {"97129": 1, "97130": 1, "97535": 1}
    assert totals(result)["total_timed_units"] == 3


def test_cms_two_short_services_reaching_8_bill_one_unit_for_the_longer() -> None:
    """RULES.md §2: 97110 6 + 97112 3 -> 1 unit to 97110; 5 + 2 -> nothing, next unit at 8."""
    assert units(UnitRule.CMS, ("97110", 6), ("97112", 3)) == {"97110": 1, "97112": 0}
    nothing = allocated((UnitRule.CMS, [("97110", 5), ("97112", 2)]))
    assert units_of(nothing) == {"97110": 0, "97112": 0}
    assert totals(nothing)["next_unit_at"] == 8


def test_cms_a_code_with_7_minutes_can_earn_a_unit_and_one_with_8_none() -> None:
    """RULES.md §2 consequences: leftovers compete, not minutes."""
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
    result = allocated((UnitRule.CMS, [("97112", 10), ("97110", 10)]))
    assert units_of(result) == {"97110": 1, "97112": 0}
    (tie,) = ties(result)
    assert tie["candidates"] == ["97110", "97112"]
    assert tie["chosen"] == ["97110"]
    assert tie["leftover"] == 10
    assert "unit-tie" in finding_ids(result)


def test_cms_tie_is_in_the_trace(medicare: PayerProfile) -> None:
    """RULES.md §2.5: ``cognibill units`` names the tie in its trace and its findings."""
    result = explained(medicare, ("97112", 10), ("97110", 10))
    assert [tie.candidates for tie in result.ties] == [("97110", "97112")]
    assert any(f.id == "unit-tie" for f in result.findings)
    assert any("Tie:" in step for step in result.trace)


def test_cms_tie_prefers_the_unit_that_pays_more_when_fees_are_known() -> None:
    """RULES.md §2.5."""
    result = allocated(
        (UnitRule.CMS, [("97110", 10), ("97112", 10)]), values={"97110": 2900, "97112": 3300}
    )
    assert units_of(result) == {"97110": 0, "97112": 1}
    (tie,) = ties(result)
    assert tie["chosen"] == ["97112"]
    assert "pays more" in tie["reason"]


def test_no_tie_when_the_units_cover_every_equal_leftover() -> None:
    """RULES.md §2.5."""
    # 97110 10 + 97112 10 + 97530 15: total 35 -> 2; blocks 1; owed 1 -> tie between 10s.
    assert ties(allocated((UnitRule.CMS, [("97110", 10), ("97112", 10), ("97530", 15)])))
    # total 30 -> 2, owed 2 -> both 12s; no tie.
    result = allocated((UnitRule.CMS, [("97110", 12), ("97112", 12), ("97530", 6)]))
    assert ties(result) == []
    assert units_of(result)["97110"] == units_of(result)["97112"] == 1


def test_ama_counts_each_code_on_its_own() -> None:
    """RULES.md §3: 97129 10 + 97110 10 -> CMS 1 unit, AMA 2; 7 + 7 -> CMS 1, AMA 0."""
    assert total_units(UnitRule.CMS, ("97129", 10), ("97110", 10)) == 1
    assert total_units(UnitRule.AMA, ("97129", 10), ("97110", 10)) == 2
    assert total_units(UnitRule.CMS, ("97129", 7), ("97110", 7)) == 1
    assert total_units(UnitRule.AMA, ("97129", 7), ("97110", 7)) == 0


def test_ama_capped_never_exceeds_the_cms_total() -> None:
    """RULES.md §3 payer variant: per code, capped at the CMS total."""
    result = allocated((UnitRule.AMA_CAPPED, [("97129", 10), ("97110", 10)]))
    assert sum(units_of(result).values()) == 1
    (tie,) = ties(result)  # which of the two gives its unit back is a tie, reported
    assert tie["action"] == "took back"
    # Under the cap nothing changes when per-code is already below the CMS total.
    assert total_units(UnitRule.AMA_CAPPED, ("97110", 22), ("97112", 7)) == 1


def test_untimed_codes_are_one_unit_and_stay_out_of_the_pool() -> None:
    """RULES.md §4: 92507 30 min is 1 unit; its minutes do not lift 97129 7 to a unit."""
    result = allocated((UnitRule.CMS, [("97129", 7), ("92507", 30)]))
    assert units_of(result) == {"92507": 1, "97129": 0}
    assert totals(result)["total_timed_minutes"] == 7
    assert totals(result)["next_unit_at"] == 8


@pytest.mark.parametrize(("minutes", "expected"), [(30, 0), (31, 1), (90, 1), (91, 2)])
def test_96125_is_counted_per_hour_with_a_31_minute_midpoint(
    medicare: PayerProfile, minutes: int, expected: int
) -> None:
    """RULES.md §4 (derived CPT midpoint)."""
    result = explained(medicare, ("96125", minutes))
    assert result.units_of("96125") == expected
    assert result.services[0].kind is Kind.HOURLY
    assert result.total_timed_minutes == 0


def test_next_unit_and_spare_minutes_advice(medicare: PayerProfile) -> None:
    """RULES.md §1: 45 cognitive minutes -> 3 units; the 4th at 53; 38 still earns 3."""
    result = explained(medicare, ("97129", 45))
    assert result.next_unit_at == 53
    assert result.minutes_to_next_unit == 8
    assert result.spare_minutes == 7
    assert explained(medicare, ("97129", 5)).spare_minutes is None


def test_ama_next_unit_is_the_nearest_code_to_its_next_unit() -> None:
    """RULES.md §3: 97110 6 + 97112 3: 97110 reaches 8 after 2 more minutes."""
    result = allocated((UnitRule.AMA, [("97110", 6), ("97112", 3)]))
    assert totals(result)["next_unit_at"] == 11


def test_below_minimum_is_a_warning_when_the_minutes_earn_nothing(medicare: PayerProfile) -> None:
    """RULES.md §1."""
    (finding,) = explained(medicare, ("97129", 7)).findings
    assert finding.id == "below-minimum"
    assert finding.severity.value == "warning"
    assert not explained(medicare, ("97129", 8)).findings


def test_a_visit_over_a_day_of_minutes_is_rejected(medicare: PayerProfile) -> None:
    """RULES.md §1: ``cognibill units`` refuses it; a claim run bills no units for it."""
    with pytest.raises(EntryError, match=re.escape("1441 timed minutes in one visit")):
        explained(medicare, ("97110", 1000), ("97530", 441))
    result = allocated((UnitRule.CMS, [("97110", 800), ("97112", 800)]))
    assert finding_ids(result) == ["invalid-minutes"]
    assert result.lines.height == 0


@pytest.mark.parametrize(
    ("texts", "message"),
    [
        (["99999=10"], "unknown code 99999"),
        (["97110=10", "97112=-1"], "97112=-1: minutes cannot be negative"),
    ],
)
def test_unknown_codes_and_negative_minutes_are_entry_errors(
    texts: list[str], message: str
) -> None:
    """What ``cognibill units`` is given is checked before the units stage runs."""
    with pytest.raises(EntryError, match=re.escape(message)):
        parse_entries(texts)


def test_trace_names_blocks_leftovers_and_who_took_the_extra_unit(medicare: PayerProfile) -> None:
    """RULES.md §2."""
    trace = explained(medicare, ("97110", 26), ("97530", 19), ("97140", 6)).trace
    assert trace[0].startswith("CMS total-time rule (RULES.md §2): 51 timed minutes -> 3 unit(s)")
    assert "97110: 26 min = 1 whole 15-minute block(s), 11 min left over." in trace
    assert "Extra unit -> 97110 (11 min left over)." in trace


def _capped_search(minutes: list[int]) -> tuple[int, int | None]:
    """The capped rule's advice by search (RULES.md §3): the fewest minutes one code must gain
    for a unit more; the most minutes that can go, from one code or (held at the CMS total)
    any mix, before a unit is lost."""

    def count(ms: list[int]) -> int:
        return min(sum(units_for_minutes(m) for m in ms), units_for_minutes(sum(ms)))

    def changed(i: int, delta: int) -> list[int]:
        return [m + delta if j == i else m for j, m in enumerate(minutes)]

    now, total = count(minutes), sum(minutes)
    to_next = min(
        d for d in range(1, 24) for i in range(len(minutes)) if count(changed(i, d)) > now
    )
    if now == 0:
        return total + to_next, None
    losses = [
        k
        for k in range(1, 16)
        for i in range(len(minutes))
        if k <= minutes[i] and count(changed(i, -k)) < now
    ]
    cms_units = units_for_minutes(total)
    if now == cms_units:
        losses.append(total - (15 * cms_units - 8 + 1) + 1)
    return total + to_next, min(losses) - 1


def test_capped_advice_is_the_search_for_every_pair_up_to_75() -> None:
    """RULES.md §3 payer variant: next unit and spare minutes for every pair of two timed codes
    up to 75 minutes, all in one call."""
    pairs = [(a, b) for a in range(76) for b in range(76)]
    result = allocated(*((UnitRule.AMA_CAPPED, [("97110", a), ("97530", b)]) for a, b in pairs))
    got = result.totals.select("next_unit_at", "spare_minutes").rows()
    for (a, b), advice in zip(pairs, got, strict=True):
        assert advice == _capped_search([a, b]), (a, b)


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
