"""The plan of care behind a therapy visit: RULES.md §7 (and §6 for who needs one)."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta

from cognibill.findings import Severity
from cognibill.rules import COMMERCIAL_LIKE
from tests.test_rules_support import PLAN, PLAN_START, claim_of, ids, only, svc, visit


def day_of_plan(n: int) -> date:
    """Day ``n`` of the standard plan, its start being day 1."""
    return PLAN_START + timedelta(days=n - 1)


# -- no-plan-of-care (RULES.md §7) ---------------------------------------------------------------


def test_no_plan_of_care_is_an_error_for_a_payer_that_requires_one_rules_7() -> None:
    finding = only(claim_of(visit(plan=None)), "no-plan-of-care")
    assert finding.severity is Severity.ERROR
    assert finding.message == (
        "no plan of care on 2026-03-02: therapy needs a plan before treatment "
        "(medicare requires one)."
    )


def test_no_plan_of_care_is_a_warning_elsewhere_rules_7() -> None:
    finding = only(claim_of(visit(plan=None), COMMERCIAL_LIKE), "no-plan-of-care")
    assert finding.severity is Severity.WARNING
    assert finding.message.endswith("needs a plan before treatment.")


def test_no_plan_of_care_names_the_date_not_the_patient_whose_claim_carries_it_rules_7() -> None:
    """Two patients' visits on one date get the same message; each claim names its patient."""
    first = claim_of(visit(plan=None, patient="P-1001"))
    second = claim_of(visit(plan=None, patient="P-2002"))
    assert only(first, "no-plan-of-care") == only(second, "no-plan-of-care")
    assert "P-1001" not in only(first, "no-plan-of-care").message
    assert [first.visit.patient, second.visit.patient] == ["P-1001", "P-2002"]
    later = claim_of(visit(plan=None, day=date(2026, 3, 3)))
    assert "on 2026-03-03" in only(later, "no-plan-of-care").message


def test_no_plan_of_care_not_needed_by_a_physician_billing_97129_rules_6_and_7() -> None:
    assert "no-plan-of-care" not in ids(claim_of(visit(discipline="physician", plan=None)))


def test_no_plan_of_care_needed_by_a_physician_billing_always_therapy_97110_rules_6() -> None:
    claim = claim_of(visit(svc("97110", 30, modifiers=("GP",)), discipline="np", plan=None))
    assert "no-plan-of-care" in ids(claim)


def test_no_plan_of_care_not_raised_when_the_plan_is_given_rules_7() -> None:
    assert "no-plan-of-care" not in ids(claim_of(visit()))


# -- plan-after-service (RULES.md §7) ------------------------------------------------------------


def test_plan_after_service_a_plan_starting_the_day_after_the_visit_rules_7() -> None:
    plan = replace(PLAN, start=date(2026, 3, 3))
    finding = only(claim_of(visit(plan=plan)), "plan-after-service")
    assert finding.severity is Severity.ERROR
    assert "starts 2026-03-03, after the date of service 2026-03-02" in finding.message
    assert only(claim_of(visit(plan=plan), COMMERCIAL_LIKE), "plan-after-service").severity is (
        Severity.WARNING
    )


def test_plan_after_service_not_raised_for_a_plan_starting_on_the_visit_date_rules_7() -> None:
    plan = replace(PLAN, start=date(2026, 3, 2))
    assert "plan-after-service" not in ids(claim_of(visit(plan=plan)))


# -- certification-lapsed (RULES.md §7: at most 90 days, certified within 30) ---------------------


def test_certification_lapsed_on_day_91_of_the_plan_rules_7() -> None:
    plan = replace(PLAN, through=None)
    claim = claim_of(visit(plan=plan, day=day_of_plan(91)), today=day_of_plan(91))
    finding = only(claim, "certification-lapsed")
    assert finding.severity is Severity.ERROR
    assert "2026-05-21 is day 91 of the plan starting 2026-02-20" in finding.message
    assert "through 2026-05-20" in finding.message


def test_certification_lapsed_not_raised_on_day_90_rules_7() -> None:
    plan = replace(PLAN, through=None)
    claim = claim_of(visit(plan=plan, day=day_of_plan(90)), today=day_of_plan(90))
    assert claim.findings == ()


def test_certification_lapsed_after_the_plans_own_end_date_rules_7() -> None:
    plan = replace(PLAN, through=date(2026, 3, 1))
    finding = only(claim_of(visit(plan=plan)), "certification-lapsed")
    assert "after the plan's end 2026-03-01" in finding.message


def test_certification_lapsed_certified_31_days_after_the_start_rules_7() -> None:
    plan = replace(PLAN, certified=day_of_plan(32))
    finding = only(claim_of(visit(plan=plan)), "certification-lapsed")
    assert "31 days after its start" in finding.message


def test_certification_lapsed_not_raised_when_certified_30_days_after_the_start_rules_7() -> None:
    plan = replace(PLAN, certified=day_of_plan(31))
    assert claim_of(visit(plan=plan)).findings == ()


def test_certification_lapsed_uncertified_31_days_after_the_start_rules_7() -> None:
    plan = replace(PLAN, certified=None)
    day = day_of_plan(32)
    finding = only(claim_of(visit(plan=plan, day=day), today=day), "certification-lapsed")
    assert "not certified 31 days later" in finding.message


def test_certification_lapsed_not_raised_while_uncertified_within_30_days_rules_7() -> None:
    plan = replace(PLAN, certified=None)
    day = day_of_plan(31)
    assert claim_of(visit(plan=plan, day=day), today=day).findings == ()


def test_certification_lapsed_is_info_for_a_payer_without_plan_rules_rules_7() -> None:
    plan = replace(PLAN, through=None)
    claim = claim_of(visit(plan=plan, day=day_of_plan(91)), COMMERCIAL_LIKE, today=day_of_plan(91))
    assert only(claim, "certification-lapsed").severity is Severity.INFO


# -- plan-incomplete (RULES.md §7) ---------------------------------------------------------------


def test_plan_incomplete_names_every_missing_element_rules_7() -> None:
    plan = replace(PLAN, diagnoses=(), goals=None, frequency=None, duration="")
    finding = only(claim_of(visit(plan=plan)), "plan-incomplete")
    assert finding.severity is Severity.WARNING
    assert finding.message == (
        "plan of care lacks diagnoses, long-term goals, frequency, duration."
    )


def test_plan_incomplete_goals_false_counts_as_missing_rules_7() -> None:
    plan = replace(PLAN, goals=False)
    assert "lacks long-term goals" in only(claim_of(visit(plan=plan)), "plan-incomplete").message


def test_plan_incomplete_not_raised_for_a_complete_plan_rules_7() -> None:
    assert "plan-incomplete" not in ids(claim_of(visit()))
