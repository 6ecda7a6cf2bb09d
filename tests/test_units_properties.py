"""Properties of the units stage for any mix of timed codes (hypothesis).

Each example bills its visit (and the variants it compares) in one call of the services and
units stages (``tests.test_units_engine.allocated``), as ``cognibill claim`` does.
"""

from __future__ import annotations

import random

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from cognibill.engine.allocate import Allocation
from cognibill.engine.units import UnitRule, units_for_minutes
from tests.test_units_engine import allocated, totals, units_of

TIMED = ["97129", "97110", "97112", "97116", "97140", "97530", "97535", "97032", "97750"]
RULES = list(UnitRule)

visits = st.lists(
    st.tuples(st.sampled_from(TIMED), st.integers(min_value=0, max_value=120)),
    min_size=1,
    max_size=6,
    unique_by=lambda e: e[0],
)


def under_every_rule(visit: list[tuple[str, int]]) -> Allocation:
    """The visit under each rule of ``RULES``: visit ``i`` is ``RULES[i]``."""
    return allocated(*((rule, visit) for rule in RULES))


def timed_units(result: Allocation, visit: int) -> int:
    return int(totals(result, visit)["total_timed_units"])


@settings(max_examples=60, deadline=None)
@given(visits)
def test_cms_total_equals_the_table_for_any_mix(visit: list[tuple[str, int]]) -> None:
    """RULES.md §2: the visit's units are the §1 table applied to the total timed minutes."""
    result = allocated((UnitRule.CMS, visit))
    total = sum(m for _, m in visit)
    assert totals(result)["total_timed_minutes"] == total
    assert timed_units(result, 0) == units_for_minutes(total)
    assert sum(units_of(result).values()) == units_for_minutes(total)


@settings(max_examples=60, deadline=None)
@given(visits)
def test_no_code_gets_more_than_its_own_minutes_justify(visit: list[tuple[str, int]]) -> None:
    """RULES.md §2, §3: CMS: whole blocks plus at most one leftover unit; per code: never above
    (m + 7) // 15; no rule takes back a whole block."""
    result = under_every_rule(visit)
    services = result.lines.group_by("visit", "service", maintain_order=True).agg(
        pl.col("minutes").sum(),
        pl.col("units").sum(),
        pl.col("removed").first(),
    )
    for v, _, minutes, units, removed in services.iter_rows():
        whole = minutes // 15
        assert whole <= units + removed
        if RULES[v] is UnitRule.CMS:
            assert units <= whole + (1 if minutes % 15 else 0)
        else:
            assert units <= units_for_minutes(minutes)


@settings(max_examples=60, deadline=None)
@given(visits, st.randoms(use_true_random=False))
def test_results_do_not_depend_on_the_order_of_entries(
    visit: list[tuple[str, int]], rnd: random.Random
) -> None:
    """The same lines, ties and advice whatever order the entries come in, under every rule."""
    shuffled = list(visit)
    rnd.shuffle(shuffled)
    result = allocated(*((rule, visit) for rule in RULES), *((rule, shuffled) for rule in RULES))
    n = len(RULES)
    for name in ("lines", "ties", "totals"):
        frame = getattr(result, name)
        first = frame.filter(pl.col("visit") < n)
        second = frame.filter(pl.col("visit") >= n).with_columns(pl.col("visit") - n)
        assert first.equals(second), name


@settings(max_examples=40, deadline=None)
@given(visits)
def test_ama_capped_is_the_smaller_of_per_code_and_cms(visit: list[tuple[str, int]]) -> None:
    """RULES.md §3 variant: min(per-code total, CMS total)."""
    result = under_every_rule(visit)
    cms, ama, capped = (timed_units(result, RULES.index(r)) for r in RULES)
    assert capped == min(ama, cms)


@settings(max_examples=40, deadline=None)
@given(visits)
def test_97129_at_most_once_and_97130_never_alone(visit: list[tuple[str, int]]) -> None:
    """RULES.md §5."""
    result = under_every_rule(visit)
    for v in range(len(RULES)):
        got = units_of(result, v)
        assert got.get("97129", 0) <= 1
        if got.get("97130", 0):
            assert got["97129"] == 1


@settings(max_examples=60, deadline=None)
@given(visits, st.sampled_from(RULES))
def test_next_unit_advice_is_true(visit: list[tuple[str, int]], rule: UnitRule) -> None:
    """RULES.md §1-§3: adding the advised minutes to some code earns a unit; fewer to any one
    code do not."""

    def with_extra(i: int, extra: int) -> list[tuple[str, int]]:
        return [(c, m + extra if j == i else m) for j, (c, m) in enumerate(visit)]

    # One call: the visit, then each code with 1 to 23 more minutes (some code gains a unit
    # within 15 + 8 minutes): visit 1 + 23 i + (d - 1) is code i with d more minutes.
    k, reach = len(visit), 23
    result = allocated(
        (rule, visit), *((rule, with_extra(i, d)) for i in range(k) for d in range(1, reach + 1))
    )
    advice = totals(result)
    assert advice["next_unit_at"] is not None
    need = advice["next_unit_at"] - advice["total_timed_minutes"]
    assert 1 <= need <= reach
    now = advice["total_timed_units"]

    def gained(i: int, extra: int) -> int:
        return timed_units(result, 1 + reach * i + extra - 1)

    assert any(gained(i, need) > now for i in range(k))
    assert all(gained(i, need - 1) <= now for i in range(k) if need > 1)
