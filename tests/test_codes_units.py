"""How the codes therapists bill count their units, end to end through the engine (issue 10):
untimed supervised modalities outside the timed pool (RULES.md §4), first-and-additional
families with their own unit lengths (§4), codes counted by area (§4), one unit per instrument,
and a well-formed code that is not in the catalogue carried as given."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from typing import Any, NamedTuple

import polars as pl
import pytest

from cognibill.engine.bill import State, bill
from cognibill.engine.units import attained_at, family_units
from cognibill.inputs.sessions import session_rows
from cognibill.models import Visit
from cognibill.rules import COMMERCIAL_LIKE, MEDICARE_LIKE, PayerPolicy
from tests.test_rules_support import _settings, svc, visit

DAY = date(2026, 7, 15)
TODAY = date(2026, 12, 1)


class Billed(NamedTuple):
    """One visit as the engine billed it: (code, units, minutes) of each line with units, and
    (id, severity, message) of each finding."""

    lines: list[tuple[str, int, int | None]]
    findings: list[tuple[str, str, str]]
    total_timed_minutes: int

    def ids(self) -> list[str]:
        return [f[0] for f in self.findings]

    def messages(self, rule_id: str) -> list[str]:
        return [m for i, _, m in self.findings if i == rule_id]

    def units(self) -> dict[str, int]:
        return {code: units for code, units, _ in self.lines}


def bill_visits(
    visits: list[Visit],
    payer: PayerPolicy = MEDICARE_LIKE,
    *,
    minutes: bool = True,
    **fields: Any,
) -> list[Billed]:
    """Each visit billed by the engine in one batch, as ``claim`` bills it. ``minutes=False``:
    the rows have no minutes at all (a units-only export), only their ``units_billed``."""
    # Each visit is a [[visit]] table of its own, as in a session file.
    given = [v if v.line is not None else replace(v, line=-1 - i) for i, v in enumerate(visits)]
    rows = session_rows(given)
    if not minutes:
        rows = rows.with_columns(pl.lit(None, dtype=pl.Int32).alias("minutes"))
    fields.setdefault("today", TODAY)
    done = bill(rows, _settings(payer, **fields), State(), tables=True)
    out = []
    for index in range(len(given)):
        lines = done.lines.filter((pl.col("visit") == index) & (pl.col("units") > 0))
        found = done.findings.filter(pl.col("visit") == index)
        first = done.lines.filter(pl.col("visit") == index).row(0, named=True)
        out.append(
            Billed(
                [(r["code"], r["units"], r["minutes"]) for r in lines.iter_rows(named=True)],
                [(r["id"], r["severity"], r["message"]) for r in found.iter_rows(named=True)],
                first["total_timed_minutes"],
            )
        )
    return out


def billed(*services: Any, payer: PayerPolicy = MEDICARE_LIKE, **fields: Any) -> Billed:
    """One PT visit of ``services`` on DAY, billed."""
    return billed_each([services], payer, **fields)[0]


def billed_each(
    visits: list[tuple[Any, ...]], payer: PayerPolicy = MEDICARE_LIKE, **fields: Any
) -> list[Billed]:
    """Visits of one PT patient each (the services of each), on DAY, billed in one batch."""
    minutes = fields.pop("minutes", True)
    discipline = fields.pop("discipline", "pt")
    day = fields.pop("day", DAY)
    made = [
        visit(*services, discipline=discipline, day=day, patient=f"P-{i}")
        for i, services in enumerate(visits)
    ]
    return bill_visits(made, payer, minutes=minutes, **fields)


# -- untimed supervised modalities (RULES.md §4) -------------------------------------------------

SUPERVISED = (
    "97010",
    "97012",
    "97014",
    "97016",
    "97018",
    "97022",
    "97024",
    "97026",
    "97028",
    "G0283",
)


def test_a_supervised_modality_is_one_unit_however_long_rules_4() -> None:
    asked = [(code, minutes) for code in SUPERVISED for minutes in (1, 8, 40)]
    done = billed_each([(svc(code, minutes),) for code, minutes in asked], COMMERCIAL_LIKE)
    assert [d.units() for d in done] == [{code: 1} for code, _ in asked]


def test_supervised_modality_minutes_never_enter_the_timed_pool_rules_2_4() -> None:
    # 97110 7 min alone earns nothing; 15 min of hot packs beside it do not lift it to 8.
    done = billed_each([(svc("97110", 7), svc(code, 15)) for code in SUPERVISED])
    assert [d.units() for d in done] == [{code: 1} for code in SUPERVISED]
    assert {d.total_timed_minutes for d in done} == {7}
    assert all("below-minimum" in d.ids() for d in done)


def test_97113_24_and_97116_23_with_hot_packs_bill_97113_twice_and_97116_once_rules_2() -> None:
    # the example, with 97010 beside it: the pool is 47 timed minutes -> 3 units
    done = billed(svc("97113", 24), svc("97116", 23), svc("97010", 15))
    assert done.units() == {"97010": 1, "97113": 2, "97116": 1}
    assert done.total_timed_minutes == 47


def test_the_new_timed_codes_pool_with_the_others_rules_2() -> None:
    # 97124 8 + 97542 7: 15 timed minutes -> 1 unit, for the longer
    assert billed(svc("97124", 8), svc("97542", 7)).units() == {"97124": 1}


def test_g0151_home_health_pt_is_timed_rules_1() -> None:
    assert billed(svc("G0151", 23), payer=COMMERCIAL_LIKE).units() == {"G0151": 2}
    assert billed(svc("G0151", 22), payer=COMMERCIAL_LIKE).units() == {"G0151": 1}


# -- one unit per instrument (data README: 96110, 96127) ----------------------------------------


def test_96127_three_instruments_bill_three_units_and_are_not_questioned_rules_4() -> None:
    done = billed(svc("96127", 20, units_billed=3), payer=COMMERCIAL_LIKE)
    assert done.units() == {"96127": 3}
    assert "units-not-supported" not in done.ids()


def test_96127_without_billed_units_is_one_instrument_rules_4() -> None:
    assert billed(svc("96127", 20), payer=COMMERCIAL_LIKE).units() == {"96127": 1}


def test_an_untimed_code_billed_twice_is_still_one_unit_rules_4() -> None:
    done = billed(svc("97012", 20, units_billed=2), payer=COMMERCIAL_LIKE)
    assert done.units() == {"97012": 1}
    assert done.messages("units-not-supported") == [
        "97012 billed 2 unit(s), 20 min support 1 under the AMA per-code rule: 1 unit(s) too many."
    ]


# -- first-and-additional families (RULES.md §4) -------------------------------------------------

FAMILIES = [  # primary, add-on, first period, each further period
    ("92605", "92618", 60, 30),
    ("92607", "92608", 60, 30),
    ("96112", "96113", 60, 30),
    ("97545", "97546", 120, 60),
]


def test_a_period_is_attained_once_its_midpoint_is_passed_rules_3_4() -> None:
    assert [attained_at(n) for n in (15, 30, 60, 120)] == [8, 16, 31, 61]


@pytest.mark.parametrize(("minutes", "units"), [(7, 0), (8, 1), (22, 1), (23, 2), (37, 2), (38, 3)])
def test_with_15_and_15_the_family_rule_is_the_8_minute_table_rules_1_4(
    minutes: int, units: int
) -> None:
    assert family_units(minutes, 15, 15) == units == (minutes + 7) // 15


def _edges(first: int, each: int) -> list[tuple[int, int]]:
    """(minutes, units) on both sides of every midpoint up to three units."""
    one, more = attained_at(first), attained_at(each)
    return [
        (0, 0),
        (one - 1, 0),
        (one, 1),
        (first + more - 1, 1),
        (first + more, 2),
        (first + each + more - 1, 2),
        (first + each + more, 3),
    ]


@pytest.mark.parametrize(("primary", "addon", "first", "each"), FAMILIES)
@pytest.mark.parametrize("payer", [MEDICARE_LIKE, COMMERCIAL_LIKE], ids=["cms", "ama"])
def test_family_units_change_exactly_at_each_periods_midpoint_rules_4(
    primary: str, addon: str, first: int, each: int, payer: PayerPolicy
) -> None:
    edges = _edges(first, each)
    done = billed_each([(svc(primary, minutes),) for minutes, _ in edges], payer)
    wanted = []
    for _, units in edges:
        want = {}
        if units:
            want[primary] = 1
        if units > 1:
            want[addon] = units - 1
        wanted.append(want)
    assert [d.units() for d in done] == wanted


def test_92605_76_min_bills_92605_once_for_the_first_hour_and_92618_once_rules_4() -> None:
    done = billed(svc("92605", 76), discipline="slp")
    assert done.lines == [("92605", 1, 60), ("92618", 1, 16)]


def test_97545_151_min_bills_97545_for_two_hours_and_97546_once_rules_4() -> None:
    assert billed(svc("97545", 151)).lines == [("97545", 1, 120), ("97546", 1, 31)]


def test_minutes_entered_as_the_add_on_pool_with_the_primary_rules_4() -> None:
    # 92607 45 + 92608 31 are one service of 76 minutes: first hour + 16 of the next 30
    done = billed(svc("92607", 45), svc("92608", 31), discipline="slp")
    assert done.units() == {"92607": 1, "92608": 1}


def test_family_minutes_never_enter_the_timed_pool_rules_2_4() -> None:
    done = billed(svc("96112", 40), svc("97110", 7))
    assert done.units() == {"96112": 1}
    assert done.total_timed_minutes == 7


def test_a_family_billed_other_than_its_minutes_support_is_reported_rules_4_7() -> None:
    done = billed(svc("92605", 80, units_billed=1), discipline="slp", payer=COMMERCIAL_LIKE)
    assert done.messages("units-not-supported") == [
        "92605/92618 billed 1 unit(s), 80 min support 2 under the first and additional periods "
        "(RULES.md §4): 1 unit(s) left behind."
    ]


def test_the_cognitive_pair_keeps_its_15_minute_units_rules_5() -> None:
    edges = [(7, 0), (8, 1), (22, 1), (23, 2), (37, 2), (38, 3)]
    done = billed_each([(svc("97129", m),) for m, _ in edges], discipline="slp")
    assert [sum(d.units().values()) for d in done] == [units for _, units in edges]
    assert [d.units().get("97130", 0) for d in done] == [max(u - 1, 0) for _, u in edges]


# -- codes counted by area (RULES.md §4) ---------------------------------------------------------


def test_an_area_code_bills_the_units_given_and_one_when_none_are_rules_4() -> None:
    codes = ["97597", "97598", "97605", "97606", "97607", "97608"]
    given = billed_each([(svc(c, 30, units_billed=2),) for c in codes], COMMERCIAL_LIKE)
    none = billed_each([(svc(c, 30),) for c in codes], COMMERCIAL_LIKE)
    assert [d.units() for d in given] == [{c: 2} for c in codes]
    assert [d.units() for d in none] == [{c: 1} for c in codes]


def test_area_code_minutes_never_enter_the_timed_pool_rules_2_4() -> None:
    done = billed(svc("97597", 30, units_billed=1), svc("97110", 7))
    assert done.units() == {"97597": 1}
    assert done.total_timed_minutes == 7
    assert "units-not-supported" not in done.ids()


# -- a well-formed code not in the catalogue (issue 10) ------------------------------------------


def test_code_not_in_catalogue_is_carried_with_its_billed_units_and_a_warning_rules_4() -> None:
    done = billed(svc("99213", 30, units_billed=2), svc("97110", 8))
    assert done.units() == {"97110": 1, "99213": 2}
    assert done.total_timed_minutes == 8
    assert ("code-not-in-catalogue", "warning") in [(i, s) for i, s, _ in done.findings]
    assert done.messages("code-not-in-catalogue") == [
        "99213 is not in cognibill's catalogue: carried as given (2 units), units not checked; "
        "its 30 min were not counted toward the timed total."
    ]
    assert "unknown-code" not in done.ids()


def test_code_not_in_catalogue_without_units_is_one_unit_rules_4() -> None:
    done = billed(svc("97799", 0), payer=COMMERCIAL_LIKE)
    assert done.units() == {"97799": 1}
    assert done.messages("code-not-in-catalogue") == [
        "97799 is not in cognibill's catalogue: carried as given (1 unit: none given), units not "
        "checked."
    ]


def test_code_not_in_catalogue_minutes_never_earn_a_timed_unit_rules_2() -> None:
    # 97110 7 + 99213 10: the pool is 7 minutes, nothing for 97110
    done = billed(svc("97110", 7), svc("99213", 10, units_billed=1))
    assert done.units() == {"99213": 1}
    assert "below-minimum" in done.ids()


def test_a_near_miss_of_a_code_in_scope_is_still_an_unknown_code_rules_5() -> None:
    done = billed(svc("92129", 40), discipline="slp")
    assert done.lines == []
    assert done.messages("unknown-code") == [
        "92129 is not a code in scope; did you mean 97129? Its 40 min were left out of the units."
    ]
    assert "code-not-in-catalogue" not in done.ids()


def test_a_code_that_is_not_a_code_at_all_is_an_unknown_code_rules_5() -> None:
    done = billed(svc("ABCDE", 5), payer=COMMERCIAL_LIKE)
    assert done.ids() == ["unknown-code"]


def test_below_minimum_for_a_family_short_of_its_first_midpoint_rules_4() -> None:
    short = billed_each([(svc(p, first // 2),) for p, _, first, _ in FAMILIES], COMMERCIAL_LIKE)
    enough = billed_each(
        [(svc(p, first // 2 + 1),) for p, _, first, _ in FAMILIES], COMMERCIAL_LIKE
    )
    for (primary, addon, first, _), done, fine in zip(FAMILIES, short, enough, strict=True):
        assert done.lines == []
        assert done.messages("below-minimum") == [
            f"{primary}/{addon}: {first // 2} min earned no unit: the first {first}-minute "
            f"period is attained at {first // 2 + 1} min (RULES.md §4)."
        ]
        assert "below-minimum" not in fine.ids()
