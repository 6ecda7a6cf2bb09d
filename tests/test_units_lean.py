"""The lean path of the units engine (``explain=False``, batch work) against the explained path.

``compute_units(..., explain=False)`` skips the trace and takes a faster route: no ranking when
nothing is contested, the capped rule's advice solved instead of searched. Everything else it
returns must be equal, field for field, to the explained path's result (RULES.md §2, §3).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cognibill.engine import Entry, UnitResult, UnitRule, compute_units
from cognibill.errors import EntryError

UnitValue = Callable[[str], Decimal | None]

TIMED = ["97110", "97112", "97116", "97140", "97530", "97535", "97032"]
UNTIMED = ["92507", "92521", "97150", "97161"]
HOURLY = ["96125", "96105"]
COGNITIVE = ["97129", "97130"]
BOUNDARIES = [7, 8, 22, 23, 37, 38, 52, 53]
"""Either side of the §1 unit boundaries, where one minute changes the units."""

minutes = st.one_of(st.integers(min_value=0, max_value=200), st.sampled_from(BOUNDARIES))
codes = st.one_of(
    st.sampled_from(TIMED),
    st.sampled_from(COGNITIVE),
    st.sampled_from(UNTIMED),
    st.sampled_from(HOURLY),
)
entries = st.lists(st.builds(Entry, codes, minutes), max_size=5)


@st.composite
def visits(draw: st.DrawFn) -> list[Entry]:
    """0-5 entries; often 97129 and 97130 together (one service, RULES.md §5)."""
    visit = draw(entries)
    if draw(st.booleans()) and len(visit) <= 3:
        visit += [Entry("97129", draw(minutes)), Entry("97130", draw(minutes))]
    return draw(st.permutations(visit))


def _equal(code: str) -> Decimal | None:
    return Decimal("25.00")


def _distinct(code: str) -> Decimal | None:
    return Decimal(code[-3:]) / 10  # a different amount for every timed code used here


def _partly_unknown(code: str) -> Decimal | None:
    return None if code in ("97112", "97130", "97140") else _distinct(code)


def _unknown(code: str) -> Decimal | None:
    return None


@st.composite
def drawn_values(draw: st.DrawFn) -> UnitValue:
    """A fee per code from a few amounts (and None): equal and distinct values both occur."""
    amounts = st.sampled_from([None, Decimal("20.00"), Decimal("25.00"), Decimal("31.40")])
    fees = draw(st.fixed_dictionaries({c: amounts for c in TIMED + COGNITIVE}))
    return fees.get


unit_values = st.one_of(
    st.sampled_from([None, _equal, _distinct, _partly_unknown, _unknown]), drawn_values()
)


def _lean(visit: list[Entry], rule: UnitRule, value: UnitValue | None = None) -> UnitResult:
    return compute_units(visit, rule, unit_value=value, explain=False)


def _explained(visit: list[Entry], rule: UnitRule, value: UnitValue | None = None) -> UnitResult:
    return compute_units(visit, rule, unit_value=value, explain=True)


@settings(max_examples=600, deadline=None)
@given(visits(), st.sampled_from(list(UnitRule)), unit_values)
def test_lean_path_gives_the_same_units_as_the_explained_path_under_every_rule(
    visit: list[Entry], rule: UnitRule, value: UnitValue | None
) -> None:
    """RULES.md §2 (pooling, allocation to the largest leftovers, ties) and §3 (per code, and
    capped at the CMS total): services, lines, ties, advice and findings all equal."""
    lean = _lean(visit, rule, value)
    assert lean.trace == ()
    assert lean == _explained(visit, rule, value)._replace(trace=())


@settings(max_examples=300, deadline=None)
@given(visits(), st.sampled_from(list(UnitRule)), unit_values)
def test_lean_path_asks_for_the_same_unit_values_as_the_explained_path(
    visit: list[Entry], rule: UnitRule, value: UnitValue | None
) -> None:
    """RULES.md §2.5: unit values break ties. The batch cache keys a tied result on the codes the
    engine asked about, so both paths must ask the same questions in the same order."""
    asked: dict[bool, list[str]] = {True: [], False: []}
    for explain in (True, False):

        def recording(code: str, explain: bool = explain) -> Decimal | None:
            asked[explain].append(code)
            return None if value is None else value(code)

        compute_units(visit, rule, unit_value=recording, explain=explain)
    assert asked[False] == asked[True]


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.builds(
            Entry,
            st.sampled_from([*TIMED, *COGNITIVE, "92507", "97999", " 97110 "]),
            st.integers(min_value=-2, max_value=900),
        ),
        max_size=4,
    ),
    st.sampled_from(list(UnitRule)),
)
def test_lean_path_rejects_the_same_entries_with_the_same_message(
    visit: list[Entry], rule: UnitRule
) -> None:
    """Unknown codes, negative minutes, more than a day of timed minutes: the same EntryError."""
    outcomes = []
    for explain in (True, False):
        try:
            outcomes.append(compute_units(visit, rule, explain=explain)._replace(trace=()))
        except EntryError as exc:
            outcomes.append(exc.message)
    assert outcomes[0] == outcomes[1]


@pytest.mark.parametrize(
    ("visit", "message"),
    [
        ([Entry("97999", 10)], "unknown code '97999'"),
        ([Entry("97110", 10), Entry("97112", -1)], "97112: minutes cannot be negative (-1)"),
        ([Entry("97110", 1000), Entry("97530", 441)], "1441 timed minutes in one visit"),
    ],
)
def test_lean_path_keeps_the_entry_errors(visit: list[Entry], message: str) -> None:
    with pytest.raises(EntryError, match=re.escape(message)):
        _lean(visit, UnitRule.CMS)


def test_capped_advice_in_closed_form_matches_the_search_for_every_pair_up_to_75() -> None:
    """RULES.md §3 payer variant: the lean path solves the next unit and the spare minutes that
    the explained path finds by searching; every pair of two timed codes up to 75 minutes."""
    for a in range(76):
        for b in range(76):
            visit = [Entry("97110", a), Entry("97530", b)]
            lean = _lean(visit, UnitRule.AMA_CAPPED)
            explained = _explained(visit, UnitRule.AMA_CAPPED)
            assert (lean.next_unit_at, lean.spare_minutes) == (
                explained.next_unit_at,
                explained.spare_minutes,
            ), (a, b)


def _units(result: UnitResult) -> dict[str, int]:
    return {line.code: line.units for line in result.lines}


def test_lean_cms_example_one_gives_the_extra_unit_to_the_largest_leftover() -> None:
    """RULES.md §2 worked example: 97110 26 + 97530 19 + 97140 6 -> T 51 -> 3 units; blocks
    1, 1, 0 with 11, 4, 6 left; the one unit owed goes to 97110."""
    result = _lean([Entry("97110", 26), Entry("97530", 19), Entry("97140", 6)], UnitRule.CMS)
    assert _units(result) == {"97110": 2, "97530": 1, "97140": 0}
    assert result.total_timed_minutes == 51
    assert result.total_timed_units == 3
    assert not result.ties
    assert [f.id for f in result.findings] == ["below-minimum"]


def test_lean_cms_example_two_cognitive_and_self_care_both_take_a_leftover_unit() -> None:
    """RULES.md §2 worked example: cognitive 29 + 97535 12 -> T 41 -> 3 units; two owed -> both
    leftovers; 97129 x1 + 97130 x1, 97535 x1."""
    result = _lean([Entry("97129", 29), Entry("97535", 12)], UnitRule.CMS)
    assert _units(result) == {"97129": 1, "97130": 1, "97535": 1}
    assert result.total_timed_units == 3


def test_lean_cms_two_short_services_reaching_8_bill_one_unit_for_the_longer() -> None:
    """RULES.md §2 worked example: 97110 6 + 97112 3 -> T 9 -> 1 unit -> 97110; 97110 5 + 97112 2
    -> T 7 -> nothing."""
    assert _units(_lean([Entry("97110", 6), Entry("97112", 3)], UnitRule.CMS)) == {
        "97110": 1,
        "97112": 0,
    }
    nothing = _lean([Entry("97110", 5), Entry("97112", 2)], UnitRule.CMS)
    assert nothing.total_units == 0
    assert nothing.next_unit_at == 8


def test_lean_cms_tie_is_reported_and_picked_by_code_order_then_by_fee() -> None:
    """RULES.md §2.5: 97112 10 + 97110 10 -> one unit for two equal leftovers: code order
    without fees, the unit that pays more with them; reported either way."""
    visit = [Entry("97112", 10), Entry("97110", 10)]
    plain = _lean(visit, UnitRule.CMS)
    assert _units(plain) == {"97110": 1, "97112": 0}
    (tie,) = plain.ties
    assert (tie.candidates, tie.chosen) == (("97110", "97112"), ("97110",))
    assert "unit-tie" in [f.id for f in plain.findings]
    prices = {"97110": Decimal("29.00"), "97112": Decimal("33.00")}
    priced = _lean(visit, UnitRule.CMS, prices.get)
    assert _units(priced) == {"97110": 0, "97112": 1}
    assert "pays more" in priced.ties[0].reason


def test_lean_per_code_rules_count_each_code_on_its_own() -> None:
    """RULES.md §3: 97129 10 + 97110 10 -> CMS 1, AMA 2, capped 1; 7 + 7 -> CMS 1, AMA 0."""
    ten = [Entry("97129", 10), Entry("97110", 10)]
    assert _lean(ten, UnitRule.CMS).total_units == 1
    assert _lean(ten, UnitRule.AMA).total_units == 2
    capped = _lean(ten, UnitRule.AMA_CAPPED)
    assert capped.total_units == 1
    assert capped.ties[0].action == "took back"
    seven = [Entry("97129", 7), Entry("97110", 7)]
    assert _lean(seven, UnitRule.CMS).total_units == 1
    assert _lean(seven, UnitRule.AMA).total_units == 0
