"""The coding rules on frames: the cognitive pair, adaptive behaviour, billed units and daily
caps (RULES.md §1-§3, §5, §7), by cognibill.rules.coding."""

from __future__ import annotations

from datetime import date
from typing import Any

import polars as pl

from cognibill.engine.frames import FINDINGS, LINES, ROWS, VISITS, Batch, conform
from cognibill.engine.services import build_services
from cognibill.rules.coding import (
    LEFT_BEHIND_HINT,
    RULES,
    UNIT_VALUES,
    check_adaptive,
    check_billed_units,
    check_cms_status,
    check_cognitive,
    check_daily_caps,
    priced_rules,
)
from cognibill.rules.context import MEDICARE_LIKE, PayerPolicy, StandInPayer

DAY = date(2026, 3, 2)
ACME = StandInPayer(id="acme", daily_caps={"97130": 4, " 97110 ": 1})


def entry(code: str, minutes: int, billed: int | None = None) -> dict[str, Any]:
    return {"code": code, "minutes": minutes, "units_billed": billed, "modifiers": []}


def batch(
    entries: list[dict[str, Any]],
    lines: list[tuple[str, str, int]],
    *,
    rule: str = "cms",
    payer: PayerPolicy = MEDICARE_LIKE,
    tied: tuple[str, ...] = (),
) -> Batch:
    """One visit of ``entries`` whose units are ``lines`` (service, code, units); ``tied``: the
    services that were candidates of a tie."""
    rows = conform(
        pl.DataFrame([{"row": i, "line": 10 + i, **e} for i, e in enumerate(entries)]), ROWS
    ).with_columns(pl.lit(0, dtype=pl.UInt32).alias("visit"))
    visits = conform(
        pl.DataFrame({"visit": [0], "date": [DAY], "payer_id": [payer.id], "rule": [rule]}),
        VISITS,
    )
    frame = conform(
        pl.DataFrame(
            {
                "visit": [0] * len(lines),
                "service": [s for s, _, _ in lines],
                "code": [c for _, c, _ in lines],
                "units": [u for _, _, u in lines],
                "tied": [s in tied for s, _, _ in lines],
            },
            schema_overrides={"visit": pl.UInt32, "units": pl.Int32},
        ),
        LINES,
    )
    services = build_services(rows, visits).services
    return Batch(visits, services, frame, {payer.id: payer}, DAY)


def found(findings: pl.DataFrame) -> list[tuple[str, str, str, str]]:
    assert findings.schema == pl.Schema(FINDINGS)
    return findings.select("id", "severity", "code", "message").rows()


def cents(**values: int) -> pl.DataFrame:
    """Unit values of visit 0 in cents, by code."""
    return pl.DataFrame(
        {"visit": [0] * len(values), "code": list(values), "value_cents": list(values.values())},
        schema=UNIT_VALUES,
    )


def test_rules_are_the_four_coding_checks_then_the_cms_status() -> None:
    four = (check_cognitive, check_adaptive, check_billed_units, check_daily_caps)
    assert (*four, check_cms_status) == RULES
    assert len(priced_rules(cents())) == 5


# -- addon-without-primary, primary-more-than-once (RULES.md §5) --------------------------------

PAIR_38 = [("cognitive", "97129", 1), ("cognitive", "97130", 2)]


def test_97130_billed_without_97129_is_an_error_naming_the_right_split_rules_5() -> None:
    assert found(check_cognitive(batch([entry("97130", 38, 2)], PAIR_38))) == [
        (
            "addon-without-primary",
            "error",
            "97130",
            "97130 ×2 billed without 97129: the add-on is paid only with its primary; 38 "
            "cognitive min bill as 97129 ×1 + 97130 ×2.",
        )
    ]


def test_97130_only_entered_without_97129_warns_that_the_claim_bills_97129_first_rules_5() -> None:
    assert found(check_cognitive(batch([entry("97130", 20)], [("cognitive", "97129", 1)]))) == [
        (
            "addon-without-primary",
            "warning",
            "97130",
            "97130 entered without 97129: 20 cognitive min bill as 97129 ×1 (the claim lines do).",
        )
    ]


def test_97130_entered_alone_with_minutes_that_earn_no_unit_is_not_reported_rules_5() -> None:
    assert found(check_cognitive(batch([entry("97130", 7)], [("cognitive", "97129", 0)]))) == []


def test_97129_and_97130_billed_as_the_minutes_say_are_not_reported_rules_5() -> None:
    entries = [entry("97129", 15, 1), entry("97130", 23, 2)]
    assert found(check_cognitive(batch(entries, PAIR_38))) == []


def test_97129_times_3_is_billed_once_too_often_rules_5() -> None:
    pair = [("cognitive", "97129", 1), ("cognitive", "97130", 2)]
    result = batch([entry("97129", 38, 3)], pair)
    assert found(check_cognitive(result)) == [
        (
            "primary-more-than-once",
            "error",
            "97129",
            "97129 ×3 billed: 97129 is once per day; bill 97129 ×1 and 97130 ×2 for the further "
            "units.",
        )
    ]
    assert found(check_billed_units(result)) == []  # 3 units are right, only their codes are not


# -- adaptive-behavior-conflict (RULES.md §5) ---------------------------------------------------


def test_97129_with_97153_is_an_adaptive_behaviour_conflict_rules_5() -> None:
    lines = [("97153", "97153", 2), ("cognitive", "97129", 1), ("cognitive", "97130", 1)]
    assert found(check_adaptive(batch([entry("97129", 30), entry("97153", 30)], lines))) == [
        (
            "adaptive-behavior-conflict",
            "error",
            "97153",
            "97129/97130 with 97153 on 2 lines of one visit: CPT says not to report cognitive "
            "intervention with adaptive behaviour treatment.",
        )
    ]


def test_97130_with_97153_and_97155_names_both_on_3_lines_rules_5() -> None:
    entries = [entry("97155", 15), entry("97130", 15), entry("97153", 15)]
    lines = [("97153", "97153", 1), ("97155", "97155", 1), ("cognitive", "97129", 1)]
    [(_, _, code, message)] = found(check_adaptive(batch(entries, lines)))
    assert code == "97153"
    assert message.startswith("97129/97130 with 97153 and 97155 on 3 lines of one visit:")


def test_97153_without_cognitive_work_is_no_conflict_rules_5() -> None:
    lines = [("97153", "97153", 2), ("97155", "97155", 2)]
    assert found(check_adaptive(batch([entry("97153", 30), entry("97155", 30)], lines))) == []


# -- units-not-supported (RULES.md §7, units from §1-§3) -----------------------------------------


def test_97110_billed_twice_for_20_minutes_is_one_unit_too_many_rules_7() -> None:
    result = batch([entry("97110", 20, 2)], [("97110", "97110", 1)])
    assert found(check_billed_units(result)) == [
        (
            "units-not-supported",
            "error",
            "97110",
            "97110 billed 2 unit(s), 20 min support 1 under the CMS total-time rule: 1 unit(s) "
            "too many.",
        )
    ]


def test_fewer_units_than_23_minutes_support_warn_of_units_left_behind_rules_7() -> None:
    findings = check_billed_units(batch([entry("97110", 23, 1)], [("97110", "97110", 2)]))
    assert found(findings) == [
        (
            "units-not-supported",
            "warning",
            "97110",
            "97110 billed 1 unit(s), 23 min support 2 under the CMS total-time rule: 1 unit(s) "
            "left behind.",
        )
    ]
    assert findings.get_column("hint").to_list() == [LEFT_BEHIND_HINT]


def test_units_left_behind_name_their_money_at_the_unit_values_rules_7() -> None:
    # 53 cognitive minutes: 97129 ×1 + 97130 ×3; billing 2 leaves two 97130 units behind.
    pair = [("cognitive", "97129", 1), ("cognitive", "97130", 3)]
    result = batch([entry("97129", 53, 2)], pair)
    [(*_, message)] = found(check_billed_units(result, cents(**{"97129": 2167, "97130": 2070})))
    assert message.endswith("2 unit(s) ($41.40) left behind.")
    # none billed: 97129 is the first unit left behind
    result = batch([entry("97129", 53, 0)], pair)
    [(*_, message)] = found(check_billed_units(result, cents(**{"97129": 2167, "97130": 2070})))
    assert message.endswith("4 unit(s) ($83.77) left behind.")


def test_units_left_behind_carry_no_money_when_one_of_them_is_unpriced_rules_7() -> None:
    pair = [("cognitive", "97129", 1), ("cognitive", "97130", 3)]
    result = batch([entry("97129", 53, 0)], pair)
    [(*_, message)] = found(check_billed_units(result, cents(**{"97130": 2070})))
    assert message.endswith("4 unit(s) left behind.")


def test_units_not_supported_names_the_per_code_rule_in_force_rules_3() -> None:
    lines = [("97110", "97110", 1), ("97530", "97530", 1)]
    result = batch([entry("97110", 10, 1), entry("97530", 10, 0)], lines, rule="ama")
    [(*_, message)] = found(check_billed_units(result))
    assert message == (
        "97530 billed 0 unit(s), 10 min support 1 under the AMA per-code rule: 1 unit(s) left "
        "behind."
    )


def test_22_minutes_billed_once_is_not_reported_rules_1() -> None:
    assert found(check_billed_units(batch([entry("97110", 22, 1)], [("97110", "97110", 1)]))) == []


def test_a_service_with_an_entry_stating_no_units_is_not_compared_rules_7() -> None:
    result = batch([entry("97110", 15, 3), entry("97110", 15)], [("97110", "97110", 2)])
    assert found(check_billed_units(result)) == []


def test_a_unit_billed_by_the_other_of_two_tied_services_is_not_reported_rules_2() -> None:
    # 97110 22 + 97112 22 (CMS): 44 min, 3 units; leftovers 7 and 7 tie for the third unit.
    entries = [entry("97110", 22, 1), entry("97112", 22, 2)]
    lines = [("97110", "97110", 2), ("97112", "97112", 1)]
    assert found(check_billed_units(batch(entries, lines, tied=("97110", "97112")))) == []


def test_billing_fewer_units_in_total_than_a_tie_allows_is_reported_rules_2() -> None:
    entries = [entry("97110", 22, 1), entry("97112", 22, 1)]
    lines = [("97110", "97110", 2), ("97112", "97112", 1)]
    findings = check_billed_units(batch(entries, lines, tied=("97110", "97112")))
    assert found(findings)[0][:3] == ("units-not-supported", "warning", "97110")


def test_the_same_swap_without_a_tie_is_reported_rules_2() -> None:
    entries = [entry("97110", 22, 1), entry("97112", 22, 2)]
    lines = [("97110", "97110", 2), ("97112", "97112", 1)]
    findings = check_billed_units(batch(entries, lines))
    assert [f[:3] for f in found(findings)] == [
        ("units-not-supported", "warning", "97110"),
        ("units-not-supported", "error", "97112"),
    ]


# -- daily-cap (RULES.md §5) --------------------------------------------------------------------


def test_97130_times_6_is_above_a_daily_cap_of_4_rules_5() -> None:
    pair = [("cognitive", "97129", 1), ("cognitive", "97130", 6)]
    assert found(check_daily_caps(batch([entry("97129", 98)], pair, payer=ACME))) == [
        (
            "daily-cap",
            "error",
            "97130",
            "97130 ×6 is above acme's daily cap of 4: 2 unit(s) would be denied.",
        )
    ]


def test_units_at_the_daily_cap_and_payers_without_caps_are_not_reported_rules_5() -> None:
    pair = [("cognitive", "97129", 1), ("cognitive", "97130", 4)]
    assert found(check_daily_caps(batch([entry("97129", 68)], pair, payer=ACME))) == []
    pair = [("cognitive", "97129", 1), ("cognitive", "97130", 6)]
    assert found(check_daily_caps(batch([entry("97129", 98)], pair))) == []


def test_daily_caps_are_matched_on_upper_case_codes_rules_5() -> None:
    result = batch([entry("97110", 38)], [("97110", "97110", 3)], payer=ACME)
    assert [f[3] for f in found(check_daily_caps(result))] == [
        "97110 ×3 is above acme's daily cap of 1: 2 unit(s) would be denied."
    ]
