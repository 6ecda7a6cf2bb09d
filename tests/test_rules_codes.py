"""Rules on codes and units: RULES.md §1, §2, §3, §5 and §7 (billed units match the minutes)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from cognibill.engine import UnitRule
from cognibill.findings import Severity
from cognibill.models import Visit
from cognibill.rules import COMMERCIAL_LIKE
from tests.test_rules_support import claim_of, ids, lines, only, payer, svc, visit


def pt_visit(*services: object, **fields: object) -> Visit:
    return visit(*services, discipline="pt", **fields)  # type: ignore[arg-type]


# -- addon-without-primary (RULES.md §5) ----------------------------------------------------------


def test_addon_without_primary_97130_billed_without_97129_is_an_error_rules_5() -> None:
    claim = claim_of(visit(svc("97130", 38, units_billed=2)))
    finding = only(claim, "addon-without-primary")
    assert finding.severity is Severity.ERROR
    assert "97130 ×2 billed without 97129" in finding.message
    assert "38 cognitive min bill as 97129 ×1 + 97130 ×2" in finding.message


def test_addon_without_primary_97130_entered_alone_warns_and_bills_97129_first_rules_5() -> None:
    claim = claim_of(visit(svc("97130", 38)))
    assert only(claim, "addon-without-primary").severity is Severity.WARNING
    assert lines(claim) == [("97129", 1, ("GN",)), ("97130", 2, ("GN",))]


def test_addon_without_primary_not_raised_for_97129_billed_with_97130_rules_5() -> None:
    claim = claim_of(visit(svc("97129", 15, units_billed=1), svc("97130", 23, units_billed=2)))
    assert claim.findings == ()
    assert lines(claim) == [("97129", 1, ("GN",)), ("97130", 2, ("GN",))]


def test_addon_without_primary_not_raised_for_97130_minutes_that_earn_no_unit_rules_5() -> None:
    claim = claim_of(visit(svc("97130", 7)))
    assert ids(claim) == ["below-minimum"]


def test_addon_without_primary_pooled_minutes_name_the_units_billed_rules_2_and_5() -> None:
    # 97130 7 + 97535 8 (CMS): 15 minutes, one unit, to the larger leftover 97535.
    claim = claim_of(visit(svc("97130", 7), svc("97535", 8), discipline="ot"))
    assert "addon-without-primary" not in ids(claim)
    claim = claim_of(visit(svc("97130", 8), svc("97535", 7), discipline="ot"))
    message = only(claim, "addon-without-primary").message
    assert "8 cognitive min bill as 97129 ×1 (the claim lines do)" in message


def test_addon_without_primary_when_97129_is_billed_zero_units_rules_5() -> None:
    claim = claim_of(visit(svc("97129", 15, units_billed=0), svc("97130", 23, units_billed=2)))
    assert only(claim, "addon-without-primary").severity is Severity.ERROR


# -- primary-more-than-once (RULES.md §5) ---------------------------------------------------------


def test_primary_more_than_once_97129_times_3_for_38_minutes_rules_5() -> None:
    claim = claim_of(visit(svc("97129", 38, units_billed=3)))
    finding = only(claim, "primary-more-than-once")
    assert finding.severity is Severity.ERROR
    assert "97129 ×3" in finding.message and "97130 ×2" in finding.message
    assert "units-not-supported" not in ids(claim)  # 3 units are right, only their codes are not


def test_primary_more_than_once_two_97129_entries_each_billed_once_rules_5() -> None:
    claim = claim_of(visit(svc("97129", 15, units_billed=1), svc("97129", 15, units_billed=1)))
    assert "97129 ×2" in only(claim, "primary-more-than-once").message


def test_primary_more_than_once_not_raised_for_97129_once_rules_5() -> None:
    claim = claim_of(visit(svc("97129", 20, units_billed=1)))
    assert claim.findings == ()


def test_primary_more_than_once_not_raised_for_two_unbilled_97129_entries_rules_5() -> None:
    claim = claim_of(visit(svc("97129", 20), svc("97129", 18)))
    assert claim.findings == ()
    assert lines(claim) == [("97129", 1, ("GN",)), ("97130", 2, ("GN",))]


# -- units-not-supported (RULES.md §7, units from §1-§3) -----------------------------------------


def test_units_not_supported_more_units_than_20_minutes_support_is_an_error_rules_7() -> None:
    claim = claim_of(pt_visit(svc("97110", 20, units_billed=2)))
    finding = only(claim, "units-not-supported")
    assert finding.severity is Severity.ERROR
    assert "97110 billed 2 unit(s), 20 min support 1" in finding.message
    assert "1 unit(s) too many" in finding.message


def test_units_not_supported_fewer_units_warns_of_units_left_behind_rules_7() -> None:
    claim = claim_of(pt_visit(svc("97110", 23, units_billed=1)))
    finding = only(claim, "units-not-supported")
    assert finding.severity is Severity.WARNING
    assert "23 min support 2" in finding.message and "1 unit(s) left behind" in finding.message


def test_units_not_supported_names_the_money_left_behind_when_fees_exist_rules_7() -> None:
    def fee(_visit: object, code: str) -> Decimal:
        return {"97129": Decimal("21.67"), "97130": Decimal("20.70")}[code]

    claim = claim_of(visit(svc("97129", 53, units_billed=2)), fee=fee)
    finding = only(claim, "units-not-supported")
    assert "2 unit(s) ($41.40) left behind" in finding.message  # two 97130 units


def test_units_not_supported_not_raised_at_22_minutes_billed_once_rules_1() -> None:
    assert claim_of(pt_visit(svc("97110", 22, units_billed=1))).findings == ()


def test_units_not_supported_not_raised_when_the_units_are_not_stated() -> None:
    assert claim_of(pt_visit(svc("97110", 38))).findings == ()


def test_units_not_supported_follows_the_rule_override_rules_2_and_3() -> None:
    v = pt_visit(svc("97129", 10, units_billed=1), svc("97110", 10, units_billed=1))
    cms = claim_of(v)
    assert only(cms, "units-not-supported").severity is Severity.ERROR
    assert "CMS total-time rule" in only(cms, "units-not-supported").message
    assert "units-not-supported" not in ids(claim_of(v, rule=UnitRule.AMA))
    assert "units-not-supported" not in ids(claim_of(v, COMMERCIAL_LIKE))


def test_units_not_supported_not_raised_when_the_other_tied_code_bills_rules_2() -> None:
    # 97110 7 + 97112 7: one unit, either code may bill it (RULES.md §2.5).
    v = pt_visit(svc("97110", 7, units_billed=0), svc("97112", 7, units_billed=1))
    claim = claim_of(v)
    assert "units-not-supported" not in ids(claim)
    assert "unit-tie" in ids(claim)


# -- below-minimum and unit-tie come from the engine (RULES.md §1, §2) ---------------------------


def test_below_minimum_7_cognitive_minutes_earn_no_unit_reported_once_rules_1() -> None:
    claim = claim_of(visit(svc("97129", 7)))
    assert only(claim, "below-minimum").severity is Severity.WARNING
    assert claim.lines == ()


def test_below_minimum_not_raised_at_8_minutes_rules_1() -> None:
    claim = claim_of(visit(svc("97129", 8)))
    assert claim.findings == ()
    assert lines(claim) == [("97129", 1, ("GN",))]


def test_unit_tie_97110_7_and_97112_7_is_reported_once_rules_2() -> None:
    claim = claim_of(pt_visit(svc("97110", 7), svc("97112", 7)))
    assert only(claim, "unit-tie").severity is Severity.INFO
    assert lines(claim) == [("97110", 1, ("GP",))]


def test_unit_tie_not_raised_when_the_leftovers_differ_rules_2() -> None:
    assert "unit-tie" not in ids(claim_of(pt_visit(svc("97110", 8), svc("97112", 7))))


# -- deleted-code, unknown-code, before-code-existed (RULES.md §5) -------------------------------


@pytest.mark.parametrize(
    ("code", "day"),
    [("97532", date(2018, 1, 1)), ("97127", date(2020, 1, 1)), ("G0515", date(2026, 3, 2))],
)
def test_deleted_code_on_or_after_its_deletion_names_97129_97130_rules_5(
    code: str, day: date
) -> None:
    claim = claim_of(visit(svc(code, 30), svc("97129", 30), day=day, plan=None))
    finding = only(claim, "deleted-code")
    assert finding.severity is Severity.ERROR
    assert code in finding.message and "97129/97130" in finding.message
    assert [s.code for s in claim.excluded] == [code]
    assert code not in [line.code for line in claim.lines]


def test_deleted_code_not_raised_for_g0515_on_2019_12_31_rules_5() -> None:
    claim = claim_of(visit(svc("G0515", 30), day=date(2019, 12, 31), plan=None))
    assert "deleted-code" not in ids(claim)
    assert lines(claim) == [("G0515", 2, ())]


@pytest.mark.parametrize(("typo", "meant"), [("92129", "97129"), ("91730", "97130")])
def test_unknown_code_typo_from_print_suggests_the_real_code_rules_5(typo: str, meant: str) -> None:
    claim = claim_of(visit(svc(typo, 30), svc("97129", 30)))
    finding = only(claim, "unknown-code")
    assert finding.severity is Severity.ERROR
    assert finding.message.startswith(f"{typo} is not a code in scope; did you mean {meant}")
    assert lines(claim) == [("97129", 1, ("GN",)), ("97130", 1, ("GN",))]
    assert claim.excluded[0].code == typo


def test_unknown_code_without_a_near_miss_suggests_nothing_rules_5() -> None:
    finding = only(claim_of(visit(svc("ABCDE", 30))), "unknown-code")
    assert "did you mean" not in finding.message


def test_unknown_code_not_raised_for_a_known_code_in_lower_case_with_spaces() -> None:
    claim = claim_of(visit(svc(" g0515 ", 30), day=date(2019, 6, 3), plan=None))
    assert "unknown-code" not in ids(claim)


def test_before_code_existed_97129_on_2019_12_31_rules_5() -> None:
    claim = claim_of(visit(svc("97129", 30), day=date(2019, 12, 31), plan=None))
    finding = only(claim, "before-code-existed")
    assert "97129 did not exist on 2019-12-31" in finding.message
    assert "2020-01-01" in finding.message


def test_before_code_existed_not_raised_on_2020_01_01_rules_5() -> None:
    claim = claim_of(visit(svc("97129", 30), day=date(2020, 1, 1), plan=None))
    assert "before-code-existed" not in ids(claim)


# -- group-session (RULES.md §5) -----------------------------------------------------------------


def test_group_session_cognitive_group_work_bills_97150_once_rules_5() -> None:
    claim = claim_of(visit(svc("97129", 45, group=True)))
    finding = only(claim, "group-session")
    assert finding.severity is Severity.WARNING
    assert "97150 ×1" in finding.message and "45 min" in finding.message
    assert lines(claim) == [("97150", 1, ("GN",))]


def test_group_session_with_units_billed_as_97129_is_an_error_rules_5() -> None:
    claim = claim_of(visit(svc("97129", 45, group=True, units_billed=3)))
    assert only(claim, "group-session").severity is Severity.ERROR
    assert "units-not-supported" not in ids(claim)


def test_group_session_speech_group_bills_92508_rules_5() -> None:
    claim = claim_of(visit(svc("92507", 40, group=True)))
    assert "92508" in only(claim, "group-session").message
    assert lines(claim) == [("92508", 1, ("GN",))]


def test_group_session_not_raised_for_97150_or_individual_work_rules_5() -> None:
    assert "group-session" not in ids(claim_of(pt_visit(svc("97150", 45, group=True))))
    assert "group-session" not in ids(claim_of(visit(svc("97129", 45, group=False))))


# -- adaptive-behavior-conflict (RULES.md §5) ----------------------------------------------------


def test_adaptive_behavior_conflict_97129_with_97153_rules_5() -> None:
    claim = claim_of(visit(svc("97129", 30), svc("97153", 30)))
    finding = only(claim, "adaptive-behavior-conflict")
    assert finding.severity is Severity.ERROR
    assert "97153" in finding.message and "97129/97130" in finding.message


def test_adaptive_behavior_conflict_not_raised_for_97153_alone_or_97129_with_97535() -> None:
    assert "adaptive-behavior-conflict" not in ids(claim_of(visit(svc("97153", 30))))
    assert "adaptive-behavior-conflict" not in ids(
        claim_of(visit(svc("97129", 29), svc("97535", 12), discipline="ot"))
    )


# -- daily-cap (RULES.md §5: payer-set limits, none shipped) -------------------------------------


def test_daily_cap_97130_times_5_above_a_cap_of_4_at_83_minutes_rules_5() -> None:
    capped = payer(id="acme", daily_caps={"97130": 4})
    finding = only(claim_of(visit(svc("97129", 83)), capped), "daily-cap")
    assert finding.severity is Severity.ERROR
    assert "97130 ×5 is above acme's daily cap of 4" in finding.message


def test_daily_cap_not_raised_at_82_minutes_97130_times_4_rules_5() -> None:
    capped = payer(id="acme", daily_caps={"97130": 4})
    assert "daily-cap" not in ids(claim_of(visit(svc("97129", 82)), capped))


def test_daily_cap_not_raised_when_the_payer_sets_none_rules_5() -> None:
    assert claim_of(visit(svc("97129", 120))).findings == ()


# -- invalid-minutes (RULES.md §1: whole minutes of treatment) ------------------------------------


def test_invalid_minutes_negative_minutes_are_left_out_rules_1() -> None:
    claim = claim_of(visit(svc("97129", -5), svc("97129", 30)))
    assert "-5 minutes cannot be negative" in only(claim, "invalid-minutes").message
    assert lines(claim) == [("97129", 1, ("GN",)), ("97130", 1, ("GN",))]


def test_invalid_minutes_assistant_minutes_above_the_service_minutes_rules_1() -> None:
    claim = claim_of(pt_visit(svc("97110", 30, assistant_minutes=45)))
    assert "assistant minutes 45 exceed the 30 min" in only(claim, "invalid-minutes").message


def test_invalid_minutes_more_than_a_day_in_one_visit_does_not_crash_rules_1() -> None:
    claim = claim_of(pt_visit(svc("97110", 800), svc("97112", 700)))
    assert "1500" in only(claim, "invalid-minutes").message
    assert claim.lines == ()


def test_invalid_minutes_not_raised_for_a_whole_day_or_an_assistant_for_all_minutes() -> None:
    claim = claim_of(pt_visit(svc("97110", 1440, assistant_minutes=1440)))
    assert "invalid-minutes" not in ids(claim)
    assert lines(claim) == [("97110", 96, ("GP", "CQ"))]
