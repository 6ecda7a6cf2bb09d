"""The columnar units stage against RULES.md §1-§5: boundaries, worked examples, ties, findings."""

from __future__ import annotations

from collections.abc import Mapping

import polars as pl
import pytest

from cognibill.engine.allocate import TIES, TOTALS, Allocation, allocate
from cognibill.engine.frames import FINDINGS, LINES

KINDS = {"92507": "untimed", "97150": "untimed", "97161": "untimed", "96125": "hourly"}
RULES = ["cms", "ama", "ama-capped"]
Visit = tuple[str, Mapping[str, int]]
"""A visit: its rule and minutes per service (``cognitive`` for 97129/97130 pooled)."""

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


def _order(service: str) -> str:
    return "97129" if service == "cognitive" else service


def bill(*visits: Visit, values: Mapping[str, int | None] | None = None) -> Allocation:
    """``allocate`` on SERVICES and rules frames made from ``visits`` (visit ids from 0);
    ``values``: cents one unit of each code pays, the same on every visit."""
    rows: dict[str, list[object]] = {k: [] for k in ("visit", "service", "kind", "minutes")}
    rows["order"] = []
    for visit, (_, minutes) in enumerate(visits):
        for order, service in enumerate(sorted(minutes, key=_order)):
            kind = KINDS.get(service, "timed")
            for name, value in zip(
                rows, (visit, service, kind, minutes[service], order), strict=True
            ):
                rows[name].append(value)
    services = pl.DataFrame(
        rows,
        schema={
            "visit": pl.UInt32,
            "service": pl.String,
            "kind": pl.String,
            "minutes": pl.Int32,
            "order": pl.UInt16,
        },
    )
    rules = pl.DataFrame(
        {"visit": list(range(len(visits))), "rule": [rule for rule, _ in visits]},
        schema={"visit": pl.UInt32, "rule": pl.String},
    )
    unit_values = None
    if values is not None:
        unit_values = pl.DataFrame(
            {
                "visit": [v for v in range(len(visits)) for _ in values],
                "code": [c for _ in visits for c in values],
                "value_cents": [values[c] for _ in visits for c in values],
            },
            schema={"visit": pl.UInt32, "code": pl.String, "value_cents": pl.Int64},
        )
    return allocate(services, rules, unit_values)


def units(result: Allocation, visit: int = 0) -> dict[str, int]:
    """Units billed per code on ``visit`` (0-unit lines too)."""
    lines = result.lines.filter(pl.col("visit") == visit)
    return dict(zip(lines.get_column("code"), lines.get_column("units"), strict=True))


def totals(result: Allocation, visit: int = 0) -> dict[str, object]:
    return result.totals.filter(pl.col("visit") == visit).row(0, named=True)


def messages(result: Allocation, visit: int = 0) -> list[tuple[str, str, str]]:
    found = result.findings.filter(pl.col("visit") == visit)
    return list(found.select("id", "severity", "message").iter_rows())


# RULES.md §1 -------------------------------------------------------------------------------


@pytest.mark.parametrize("rule", RULES)
def test_one_timed_code_follows_the_8_minute_table_at_every_boundary(rule: str) -> None:
    """RULES.md §1: 0-7 -> 0, 8-22 -> 1, 23-37 -> 2 ... 128-142 -> 9, every visit in one call."""
    result = bill(*((rule, {"97110": m}) for m, _ in BOUNDARIES))
    for visit, (minutes, expected) in enumerate(BOUNDARIES):
        assert units(result, visit) == {"97110": expected}, minutes
        assert totals(result, visit)["total_timed_units"] == expected


@pytest.mark.parametrize("rule", RULES)
def test_the_cognitive_pair_follows_the_same_table(rule: str) -> None:
    """RULES.md §1, §5: the pair's units are those of its pooled minutes."""
    result = bill(*((rule, {"cognitive": m}) for m, _ in BOUNDARIES))
    for visit, (minutes, expected) in enumerate(BOUNDARIES):
        got = units(result, visit)
        assert sum(got.values()) == expected, minutes
        assert got["97129"] == min(expected, 1)


def test_frames_have_their_schemas() -> None:
    """The four frames carry the schemas the later stages read."""
    result = bill(("cms", {"97110": 7, "97112": 7}), ("ama", {"97110": 1500}))
    assert result.lines.schema == pl.Schema(LINES)
    assert result.ties.schema == pl.Schema(TIES)
    assert result.totals.schema == pl.Schema(TOTALS)
    assert result.findings.schema == pl.Schema(FINDINGS)


# RULES.md §2 -------------------------------------------------------------------------------


def test_26_19_6_bills_97110_twice_97530_once_and_97140_not_at_all() -> None:
    """RULES.md §2 worked example: T 51 -> 3 units, the one owed to 97110's 11 left over."""
    result = bill(("cms", {"97110": 26, "97530": 19, "97140": 6}))
    assert units(result) == {"97110": 2, "97140": 0, "97530": 1}
    lines = result.lines.select("code", "blocks", "leftover", "extra", "removed", "rank", "tied")
    assert lines.rows() == [
        ("97110", 1, 11, 1, 0, 1, False),
        ("97140", 0, 6, 0, 0, 2, False),
        ("97530", 1, 4, 0, 0, 3, False),
    ]
    assert totals(result)["total_timed_minutes"] == 51
    assert messages(result) == [
        (
            "below-minimum",
            "info",
            "97140: 6 min earned no unit under the CMS total-time rule "
            "(its minutes still counted toward the visit total).",
        )
    ]
    assert result.ties.height == 0


def test_cognitive_29_and_97535_12_both_get_an_owed_unit() -> None:
    """RULES.md §2 worked example: T 41 -> 3 units; two owed -> both leftovers (14 and 12)."""
    result = bill(("cms", {"cognitive": 29, "97535": 12}))
    assert units(result) == {"97129": 1, "97130": 1, "97535": 1}
    assert result.lines.select("code", "minutes").rows() == [
        ("97129", 15),
        ("97130", 14),
        ("97535", 12),
    ]


def test_6_and_3_minutes_give_one_unit_to_the_longer() -> None:
    """RULES.md §2: 97110 6 + 97112 3 -> T 9 -> 1 unit, for 97110 (more minutes)."""
    result = bill(("cms", {"97110": 6, "97112": 3}))
    assert units(result) == {"97110": 1, "97112": 0}
    assert [m[0] for m in messages(result)] == ["below-minimum"]


def test_5_and_2_minutes_give_nothing_and_warn_for_both() -> None:
    """RULES.md §2: 97110 5 + 97112 2 -> T 7 -> no unit; nothing pooled, so warnings."""
    result = bill(("cms", {"97110": 5, "97112": 2}))
    assert units(result) == {"97110": 0, "97112": 0}
    assert messages(result) == [
        ("below-minimum", "warning", "97110: 5 min earned no unit under the CMS total-time rule."),
        ("below-minimum", "warning", "97112: 2 min earned no unit under the CMS total-time rule."),
    ]
    hints = result.findings.get_column("hint").to_list()
    assert hints == ["8 minutes are needed for a unit."] * 2


def test_a_code_with_15_minutes_keeps_its_block_without_competing() -> None:
    """RULES.md §2.2: whole blocks first; nothing owed means no ranking (rank null)."""
    result = bill(("cms", {"97110": 16, "97112": 5}))
    assert units(result) == {"97110": 1, "97112": 0}
    assert result.lines.get_column("rank").to_list() == [None, None]


def test_equal_leftovers_tie_and_code_order_picks_without_fees() -> None:
    """RULES.md §2.5: 97110 7 + 97112 7 -> one unit; a tie, reported, code order decides."""
    result = bill(("cms", {"97110": 7, "97112": 7}))
    assert units(result) == {"97110": 1, "97112": 0}
    assert result.ties.drop("visit").rows(named=True) == [
        {
            "leftover": 7,
            "candidates": ["97110", "97112"],
            "chosen": ["97110"],
            "units": 1,
            "reason": "code order (fees equal or unknown)",
            "action": "gave",
        }
    ]
    assert messages(result)[0] == (
        "unit-tie",
        "info",
        "97110 and 97112 tie with 7 min left over for 1 unit(s); gave 97110 by code order "
        "(fees equal or unknown).",
    )
    assert result.findings.get_column("code").to_list() == ["97110", "97112"]
    assert result.lines.get_column("tied").to_list() == [True, True]
    assert result.lines.get_column("rank").to_list() == [1, 2]


def test_a_tie_goes_to_the_unit_that_pays_more() -> None:
    """RULES.md §2.5: with fees known and different, the higher-paying unit wins the tie."""
    result = bill(("cms", {"97110": 7, "97112": 7}), values={"97110": 3140, "97112": 3300})
    assert units(result) == {"97110": 0, "97112": 1}
    tie = result.ties.row(0, named=True)
    assert tie["chosen"] == ["97112"]
    assert tie["reason"] == "the unit that pays more, then code order"
    assert result.lines.get_column("rank").to_list() == [2, 1]
    assert messages(result)[1][2] == (
        "97110: 7 min earned no unit under the CMS total-time rule (its minutes still counted "
        "toward the visit total). One unit of 97110 pays about $31.40."
    )


@pytest.mark.parametrize(
    "values",
    [{"97110": 3140, "97112": 3140}, {"97110": 3140, "97112": None}, {"97110": 3140}],
    ids=["equal", "one-unknown", "one-missing"],
)
def test_a_tie_falls_back_to_code_order(values: dict[str, int | None]) -> None:
    """RULES.md §2.5: fees break a tie only when every candidate has one and they differ."""
    result = bill(("cms", {"97110": 7, "97112": 7}), values=values)
    assert units(result) == {"97110": 1, "97112": 0}
    assert result.ties.get_column("reason").to_list() == ["code order (fees equal or unknown)"]


def test_the_pair_competes_with_the_unit_97129_or_97130_pays() -> None:
    """RULES.md §2.5, §5: the pair's contested unit is 97129 before its first block, else
    97130; here 97130 pays less than 97110, so 97110 wins the tie."""
    values = {"97110": 3140, "97129": 9000, "97130": 2000}
    first = bill(("cms", {"cognitive": 7, "97110": 7}), values=values)
    assert units(first) == {"97110": 0, "97129": 1}
    later = bill(("cms", {"cognitive": 22, "97110": 22}), values=values)
    assert units(later) == {"97110": 2, "97129": 1}
    assert later.ties.row(0, named=True)["candidates"] == ["97110", "97129/97130"]


def test_two_units_for_three_tied_leftovers() -> None:
    """RULES.md §2.5: 3 x 5 minutes -> T 15 -> 1 unit owed among three equal leftovers."""
    result = bill(("cms", {"97110": 20, "97112": 20, "97140": 20}))  # T 60 -> 4, 3 blocks
    tie = result.ties.row(0, named=True)
    assert tie["units"] == 1
    assert tie["candidates"] == ["97110", "97112", "97140"]
    assert units(result) == {"97110": 2, "97112": 1, "97140": 1}
    many = bill(("cms", {"97110": 7, "97112": 7, "97140": 7, "97530": 2}))  # T 23 -> 2 owed
    assert many.ties.row(0, named=True)["chosen"] == ["97110", "97112"]
    assert (
        "97110 and 97112 and 97140 tie with 7 min left over for 2 unit(s)" in (messages(many)[0][2])
    )


# RULES.md §3 -------------------------------------------------------------------------------


def test_10_and_10_minutes_bill_one_unit_under_cms_and_two_under_ama() -> None:
    """RULES.md §3: 97129 10 + 97110 10 -> CMS 1 unit, AMA 2 units."""
    visit = {"cognitive": 10, "97110": 10}
    result = bill(("cms", visit), ("ama", visit), ("ama-capped", visit))
    assert [totals(result, v)["total_timed_units"] for v in range(3)] == [1, 2, 1]
    assert units(result, 1) == {"97110": 1, "97129": 1}


def test_7_and_7_minutes_bill_one_unit_under_cms_and_none_under_ama() -> None:
    """RULES.md §3: 97129 7 + 97110 7 -> CMS 1 unit (a tie), AMA 0 with two warnings."""
    visit = {"cognitive": 7, "97110": 7}
    result = bill(("cms", visit), ("ama", visit))
    assert totals(result, 0)["total_timed_units"] == 1
    assert units(result, 0) == {"97110": 1, "97129": 0}
    assert totals(result, 1)["total_timed_units"] == 0
    assert messages(result, 1) == [
        ("below-minimum", "warning", "97110: 7 min earned no unit under the AMA per-code rule."),
        (
            "below-minimum",
            "warning",
            "97129/97130: 7 min earned no unit under the AMA per-code rule.",
        ),
    ]


def test_the_capped_rule_takes_back_from_the_smallest_leftover() -> None:
    """RULES.md §3 (capped): 97110 9 + 97112 12 -> per code 2, CMS total 1: 97110 (9 left)
    loses its unit."""
    result = bill(("ama-capped", {"97110": 9, "97112": 12}))
    assert units(result) == {"97110": 0, "97112": 1}
    assert result.lines.select("extra", "removed", "rank").rows() == [(1, 1, 1), (1, 0, 2)]
    assert messages(result) == [
        (
            "below-minimum",
            "warning",
            "97110: 9 min earned no unit under the AMA per-code rule capped at the CMS total.",
        )
    ]


def test_a_capped_take_back_tie_is_reported() -> None:
    """RULES.md §3, §2.5: 97110 8 + 97112 8 -> per code 2, CMS 1: one taken back by code
    order, or from the unit that pays less when fees are known."""
    result = bill(("ama-capped", {"97110": 8, "97112": 8}))
    assert units(result) == {"97110": 0, "97112": 1}
    assert messages(result)[0][2] == (
        "97110 and 97112 tie with 8 min left over for 1 unit(s); took back 97110 by code order "
        "(fees equal or unknown)."
    )
    priced = bill(("ama-capped", {"97110": 8, "97112": 8}), values={"97110": 3300, "97112": 3140})
    assert units(priced) == {"97110": 1, "97112": 0}
    assert priced.ties.row(0, named=True)["reason"] == "the unit that pays less, then code order"
    assert priced.ties.row(0, named=True)["action"] == "took back"


def test_advice_under_each_rule() -> None:
    """RULES.md §1-§3: when the next unit comes and how many minutes could go."""
    visit = {"97110": 20, "97112": 10}
    result = bill(("cms", visit), ("ama", visit), ("ama-capped", visit))
    # CMS: T 30 -> 2 units; 3 at 38; 30 - 23 = 7 spare.
    assert totals(result, 0) == {
        "visit": 0,
        "rule": "cms",
        "total_timed_minutes": 30,
        "total_timed_units": 2,
        "next_unit_at": 38,
        "spare_minutes": 7,
    }
    # AMA: 97112 reaches 23 three minutes later; 97112's margin is 10 - 8 = 2.
    assert (totals(result, 1)["next_unit_at"], totals(result, 1)["spare_minutes"]) == (33, 2)
    # Capped: a third unit needs the CMS total too (38); 97112 still loses one below 8.
    assert (totals(result, 2)["next_unit_at"], totals(result, 2)["spare_minutes"]) == (38, 2)


def test_no_next_unit_past_a_day() -> None:
    """RULES.md §1: 1440 minutes -> 96 units; the 97th would need 1448: none within a day."""
    result = bill(("cms", {"97110": 1440}))
    assert totals(result)["total_timed_units"] == 96
    assert totals(result)["next_unit_at"] is None


# RULES.md §4 -------------------------------------------------------------------------------


@pytest.mark.parametrize("rule", RULES)
def test_an_untimed_code_is_one_unit_and_stays_out_of_the_pool(rule: str) -> None:
    """RULES.md §4: 92507 45 min -> 1 unit; its minutes do not help 97110's 7."""
    result = bill((rule, {"92507": 45, "97110": 7}))
    assert units(result) == {"92507": 1, "97110": 0}
    assert totals(result)["total_timed_minutes"] == 7


@pytest.mark.parametrize(("minutes", "expected"), [(30, 0), (31, 1), (90, 1), (91, 2), (150, 2)])
def test_hourly_96125_takes_the_midpoint_of_each_hour(minutes: int, expected: int) -> None:
    """RULES.md §4 (derived CPT midpoint): 31-90 min -> 1 unit, 91-150 -> 2; not timed."""
    result = bill(("cms", {"96125": minutes}))
    assert units(result) == {"96125": expected}
    assert totals(result)["next_unit_at"] is None
    assert result.findings.height == 0


def test_untimed_only_visit_has_no_advice() -> None:
    """RULES.md §4: no timed service, no next unit and no spare minutes."""
    result = bill(("cms", {"97150": 60}))
    assert totals(result) == {
        "visit": 0,
        "rule": "cms",
        "total_timed_minutes": 0,
        "total_timed_units": 0,
        "next_unit_at": None,
        "spare_minutes": None,
    }


# RULES.md §5 -------------------------------------------------------------------------------


def test_38_minutes_bills_97129_once_and_97130_twice() -> None:
    """RULES.md §5: 38 cognitive minutes -> 3 units: 97129 x1 (15 min) + 97130 x2 (23 min)."""
    result = bill(("cms", {"cognitive": 38}))
    assert result.lines.select("service", "code", "minutes", "units").rows() == [
        ("cognitive", "97129", 15, 1),
        ("cognitive", "97130", 23, 2),
    ]


@pytest.mark.parametrize(("minutes", "addon"), [(22, None), (23, 1), (37, 1), (38, 2)])
def test_97130_starts_at_23_minutes(minutes: int, addon: int | None) -> None:
    """RULES.md §5: the add-on appears with the second unit, at 23 cognitive minutes."""
    got = units(bill(("cms", {"cognitive": minutes})))
    assert got.get("97130") == addon
    assert got["97129"] == 1


def test_the_pair_sorts_as_97129_among_the_lines() -> None:
    """RULES.md §5: lines in code order, the pair where 97129 sorts, 97129 before 97130."""
    result = bill(("cms", {"97530": 15, "cognitive": 30, "97110": 15}))
    assert result.lines.get_column("code").to_list() == ["97110", "97129", "97130", "97530"]


def test_a_below_minimum_pair_is_priced_as_97129() -> None:
    """RULES.md §1, §5: the pair earning nothing is named 97129/97130, priced as 97129."""
    result = bill(("ama", {"cognitive": 7}), values={"97129": 123456})
    assert messages(result)[0][2] == (
        "97129/97130: 7 min earned no unit under the AMA per-code rule. "
        "One unit of 97129 pays about $1,234.56."
    )
    assert result.findings.get_column("code").to_list() == ["97129/97130"]


# Impossible visits and the frames' edges ---------------------------------------------------


def test_more_than_a_day_of_minutes_gives_no_lines_and_an_error() -> None:
    """RULES.md §1: a visit can hold at most 1440 timed minutes; the others still bill."""
    result = bill(("cms", {"97110": 1000, "97112": 500, "92507": 30}), ("cms", {"97110": 8}))
    assert result.lines.get_column("visit").to_list() == [1]
    assert messages(result) == [
        (
            "invalid-minutes",
            "error",
            "1500 timed minutes in one visit is more than a day (1440 minutes); "
            "no units were computed for this visit.",
        )
    ]
    assert totals(result) == {
        "visit": 0,
        "rule": "cms",
        "total_timed_minutes": 0,
        "total_timed_units": 0,
        "next_unit_at": None,
        "spare_minutes": None,
    }


def test_a_visit_without_services_gets_empty_totals() -> None:
    """A visit of ``rules`` with no service (all left out) has totals and nothing else."""
    services = pl.DataFrame(
        {"visit": [1], "service": ["97110"], "kind": ["timed"], "minutes": [8], "order": [0]},
        schema={
            "visit": pl.UInt32,
            "service": pl.String,
            "kind": pl.String,
            "minutes": pl.Int32,
            "order": pl.UInt16,
        },
    )
    rules = pl.DataFrame({"visit": [2, 0, 1], "rule": ["ama", "cms", "cms"]})
    result = allocate(services, rules)
    assert result.totals.select("visit", "rule", "total_timed_units").rows() == [
        (0, "cms", 0),
        (1, "cms", 1),
        (2, "ama", 0),
    ]
    assert result.lines.height == 1


def test_unsorted_services_come_out_in_visit_and_code_order() -> None:
    """Lines are in visit order, then code order, whatever order the services come in."""
    services = pl.DataFrame(
        {
            "visit": [1, 0, 1, 0],
            "service": ["97112", "97530", "97110", "cognitive"],
            "kind": ["timed"] * 4,
            "minutes": [8, 8, 8, 30],
            "order": [1, 1, 0, 0],
        },
        schema={
            "visit": pl.UInt32,
            "service": pl.String,
            "kind": pl.String,
            "minutes": pl.Int32,
            "order": pl.UInt16,
        },
    )
    result = allocate(services, pl.DataFrame({"visit": [0, 1], "rule": ["ama", "ama"]}))
    assert result.lines.select("visit", "code").rows() == [
        (0, "97129"),
        (0, "97130"),
        (0, "97530"),
        (1, "97110"),
        (1, "97112"),
    ]


def test_a_visit_without_a_rule_is_an_error() -> None:
    services = bill(("cms", {"97110": 8})).lines.select(
        "visit", "service", pl.lit("timed").alias("kind"), "minutes", pl.lit(0).alias("order")
    )
    with pytest.raises(ValueError, match="no unit rule"):
        allocate(services, pl.DataFrame({"visit": [5], "rule": ["cms"]}))
    with pytest.raises(ValueError, match="unknown unit rule"):
        allocate(services, pl.DataFrame({"visit": [0], "rule": ["medicaid"]}))


def test_empty_input_gives_empty_frames() -> None:
    result = bill()
    assert [frame.height for frame in result] == [0, 0, 0, 0]
