"""Properties of the units engine for any mix of timed codes (hypothesis)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from cognibill.engine import Entry, UnitRule, compute_units, units_for_minutes

TIMED = ["97129", "97110", "97112", "97116", "97140", "97530", "97535", "97032", "97750"]

visits = st.lists(
    st.tuples(st.sampled_from(TIMED), st.integers(min_value=0, max_value=120)),
    min_size=1,
    max_size=6,
    unique_by=lambda e: e[0],
)


def _entries(visit: list[tuple[str, int]]) -> list[Entry]:
    return [Entry(code, minutes) for code, minutes in visit]


@settings(max_examples=300, deadline=None)
@given(visits)
def test_cms_total_equals_the_table_for_any_mix(visit: list[tuple[str, int]]) -> None:
    """RULES.md §2: the visit's units are the §1 table applied to the total timed minutes."""
    result = compute_units(_entries(visit), UnitRule.CMS)
    total = sum(m for _, m in visit)
    assert result.total_timed_minutes == total
    assert result.total_timed_units == units_for_minutes(total)


@settings(max_examples=300, deadline=None)
@given(visits, st.sampled_from(list(UnitRule)))
def test_no_code_gets_more_than_its_own_minutes_justify(
    visit: list[tuple[str, int]], rule: UnitRule
) -> None:
    """CMS: whole blocks plus at most one leftover unit; per-code: never above (m + 7) // 15."""
    result = compute_units(_entries(visit), rule)
    for s in result.services:
        whole = s.minutes // 15
        assert whole <= s.units + s.removed
        if rule is UnitRule.CMS:
            assert s.units <= whole + (1 if s.minutes % 15 else 0)
        else:
            assert s.units <= units_for_minutes(s.minutes)


@settings(max_examples=200, deadline=None)
@given(visits, st.sampled_from(list(UnitRule)), st.randoms(use_true_random=False))
def test_results_do_not_depend_on_the_order_of_entries(
    visit: list[tuple[str, int]], rule: UnitRule, rnd
) -> None:  # type: ignore[no-untyped-def]
    shuffled = list(visit)
    rnd.shuffle(shuffled)
    a = compute_units(_entries(visit), rule)
    b = compute_units(_entries(shuffled), rule)
    assert a.lines == b.lines
    assert a.ties == b.ties
    assert a.next_unit_at == b.next_unit_at


@settings(max_examples=200, deadline=None)
@given(visits)
def test_ama_capped_is_the_smaller_of_per_code_and_cms(visit: list[tuple[str, int]]) -> None:
    """RULES.md §3 variant: min(per-code total, CMS total)."""
    capped = compute_units(_entries(visit), UnitRule.AMA_CAPPED).total_timed_units
    ama = compute_units(_entries(visit), UnitRule.AMA).total_timed_units
    cms = compute_units(_entries(visit), UnitRule.CMS).total_timed_units
    assert capped == min(ama, cms)


@settings(max_examples=200, deadline=None)
@given(visits, st.sampled_from(list(UnitRule)))
def test_97129_at_most_once_and_97130_never_alone(
    visit: list[tuple[str, int]], rule: UnitRule
) -> None:
    """RULES.md §5."""
    result = compute_units(_entries(visit), rule)
    assert result.units_of("97129") <= 1
    if result.units_of("97130"):
        assert result.units_of("97129") == 1


@settings(max_examples=200, deadline=None)
@given(visits, st.sampled_from(list(UnitRule)))
def test_next_unit_advice_is_true(visit: list[tuple[str, int]], rule: UnitRule) -> None:
    """Adding the advised minutes to some code earns a unit; fewer to any one code do not."""
    result = compute_units(_entries(visit), rule)
    assert result.next_unit_at is not None
    need = result.next_unit_at - result.total_timed_minutes
    assert need >= 1

    def with_extra(i: int, extra: int) -> int:
        changed = [(c, m + extra if j == i else m) for j, (c, m) in enumerate(visit)]
        return compute_units(_entries(changed), rule).total_timed_units

    now = result.total_timed_units
    assert any(with_extra(i, need) > now for i in range(len(visit)))
    assert all(with_extra(i, need - 1) <= now for i in range(len(visit)))


@settings(max_examples=200, deadline=None)
@given(visits, st.sampled_from(list(UnitRule)))
def test_explain_false_changes_nothing_but_the_trace(
    visit: list[tuple[str, int]], rule: UnitRule
) -> None:
    full = compute_units(_entries(visit), rule)
    lean = compute_units(_entries(visit), rule, explain=False)
    assert lean.trace == ()
    assert (lean.lines, lean.services, lean.ties, lean.findings) == (
        full.lines,
        full.services,
        full.ties,
        full.findings,
    )
    assert (lean.next_unit_at, lean.spare_minutes) == (full.next_unit_at, full.spare_minutes)
