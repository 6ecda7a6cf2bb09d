"""Rules that span visits of the input: 97129 once per day (RULES.md §5), progress reports (§7)."""

from __future__ import annotations

from datetime import date, timedelta

from cognibill.findings import Severity
from cognibill.models import PlanOfCare
from cognibill.rules import COMMERCIAL_LIKE
from tests.test_rules_support import PLAN_START, claims_of, ids, only, svc, visit

# -- primary-more-than-once across visits (RULES.md §5) ------------------------------------------


def test_primary_more_than_once_two_providers_bill_97129_on_one_date_rules_5() -> None:
    first = visit(provider_id="1111111111", source="a.toml", line=1)
    second = visit(provider_id="2222222222", discipline="ot", source="a.toml", line=14)
    claims = claims_of([first, second])
    assert "primary-more-than-once" not in ids(claims[0])
    finding = only(claims[1], "primary-more-than-once")
    assert finding.severity is Severity.ERROR
    assert "P-1001 on 2026-03-02" in finding.message
    assert "provider 1111111111 (slp), a.toml:1" in finding.message


def test_primary_more_than_once_not_raised_on_different_dates_or_patients_rules_5() -> None:
    claims = claims_of(
        [visit(), visit(day=date(2026, 3, 3)), visit(patient="P-2002"), visit(svc("97110", 30))]
    )
    assert all("primary-more-than-once" not in ids(c) for c in claims)


def test_primary_more_than_once_not_raised_by_separate_runs_rules_5() -> None:
    # Two separate streams know nothing of each other.
    assert "primary-more-than-once" not in ids(claims_of([visit()])[0])
    assert "primary-more-than-once" not in ids(claims_of([visit()])[0])


# -- progress-report-due (RULES.md §7: every 10 treatment days) ----------------------------------


def treatment_days(count: int, *, patient: str = "P-1001") -> list:  # type: ignore[type-arg]
    return [visit(day=PLAN_START + timedelta(days=i), patient=patient) for i in range(count)]


def test_progress_report_due_on_the_10th_treatment_day_rules_7() -> None:
    today = PLAN_START + timedelta(days=30)
    claims = claims_of(treatment_days(10), today=today)
    assert ["progress-report-due" in ids(c) for c in claims] == [False] * 9 + [True]
    finding = only(claims[9], "progress-report-due")
    assert finding.severity is Severity.WARNING
    assert "P-1001: 2026-03-01 is treatment day 10 in this input" in finding.message


def test_progress_report_due_not_raised_by_9_days_or_two_visits_on_one_day_rules_7() -> None:
    today = PLAN_START + timedelta(days=30)
    nine_days = treatment_days(9)
    nine_days.append(visit(svc("92507", 30), day=nine_days[-1].date))  # same date again
    claims = claims_of(nine_days, today=today)
    assert not any("progress-report-due" in ids(c) for c in claims)


def test_progress_report_due_every_10_days_per_patient_rules_7() -> None:
    today = PLAN_START + timedelta(days=30)
    first, second = treatment_days(20), treatment_days(20, patient="P-2")
    visits = [v for pair in zip(first, second, strict=True) for v in pair]
    due = [
        (c.visit.patient, c.visit.date.day)
        for c in claims_of(visits, today=today)
        if "progress-report-due" in ids(c)
    ]
    assert due == [("P-1001", 1), ("P-2", 1), ("P-1001", 11), ("P-2", 11)]


def test_progress_report_due_is_info_for_a_payer_without_plan_rules_rules_7() -> None:
    today = PLAN_START + timedelta(days=30)
    claims = claims_of(treatment_days(10), COMMERCIAL_LIKE, today=today)
    assert only(claims[9], "progress-report-due").severity is Severity.INFO


def test_visits_that_bill_nothing_are_not_treatment_days_rules_7() -> None:
    """12 days whose minutes earn no unit are no treatment days; once days bill, the count
    starts from the first billed day (RULES.md §7)."""
    today = PLAN_START + timedelta(days=40)
    nothing = [
        visit(svc("97129", 5), day=PLAN_START + timedelta(days=i), plan=PlanOfCare())
        for i in range(12)
    ]
    claims = claims_of(nothing, today=today)
    assert all(c.lines == () for c in claims)
    assert not any("progress-report-due" in ids(c) for c in claims)
    billed = [visit(day=PLAN_START + timedelta(days=12 + i)) for i in range(10)]
    claims = claims_of([*nothing, *billed], today=today)
    due = [c.visit.date for c in claims if "progress-report-due" in ids(c)]
    assert due == [billed[9].date]


def test_progress_report_due_counts_each_disciplines_plan_of_care_apart_rules_7() -> None:
    """PT and SLP each have their own plan and progress reports: 5 SLP days and 5 PT days are
    not 10 treatment days of either plan; PTA days count toward the PT plan."""
    today = PLAN_START + timedelta(days=40)
    mixed = [
        visit(day=PLAN_START + timedelta(days=i), discipline="slp" if i % 2 else "pt")
        for i in range(10)
    ]
    assert all("progress-report-due" not in ids(c) for c in claims_of(mixed, today=today))
    pt_plan = [
        visit(day=PLAN_START + timedelta(days=i), discipline="pta" if i % 2 else "pt")
        for i in range(10)
    ]
    claims = claims_of(pt_plan, today=today)
    assert "(PT plan of care)" in only(claims[9], "progress-report-due").message
