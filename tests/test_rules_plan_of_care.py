"""The plan of care behind a therapy visit, on frames: RULES.md §7 (and §6 for who needs one)."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import polars as pl

from cognibill.engine.frames import LINES, SERVICES, VISITS, Batch, conform
from cognibill.rules.context import COMMERCIAL_LIKE, MEDICARE_LIKE
from cognibill.rules.plan_of_care import check_plan

TODAY = date(2026, 6, 30)
VISIT_DAY = date(2026, 3, 2)
PLAN_START = date(2026, 2, 20)
PAYERS = {p.id: p for p in (MEDICARE_LIKE, COMMERCIAL_LIKE)}
COMPLETE_PLAN: dict[str, Any] = {
    "has_plan": True,
    "poc_start": PLAN_START,
    "poc_certified": date(2026, 2, 25),
    "poc_through": date(2026, 5, 20),
    "poc_diagnoses": ["I69.314"],
    "poc_goals": True,
    "poc_frequency": "2x/week",
    "poc_duration": "12 weeks",
}
NO_PLAN = {name: None for name in COMPLETE_PLAN} | {"has_plan": False, "poc_diagnoses": []}


def day_of_plan(n: int) -> date:
    """Day ``n`` of the standard plan, its start being day 1."""
    return PLAN_START + timedelta(days=n - 1)


def visit(**fields: Any) -> dict[str, Any]:
    """A VISITS row: an SLP's visit under Medicare with a complete plan of care."""
    row: dict[str, Any] = {
        "visit": 0,
        "patient": "P-1001",
        "date": VISIT_DAY,
        "provider": "1528060837",
        "discipline": "slp",
        "payer_id": "medicare",
        **COMPLETE_PLAN,
    }
    return row | fields


def check(
    *visits: dict[str, Any],
    therapy: str = "sometimes",
    without_services: tuple[int, ...] = (),
) -> pl.DataFrame:
    """``check_plan`` on these visits, each billing one service (but ``without_services``)
    whose code is ``therapy`` ("always", "sometimes", or "never") therapy."""
    frame = conform(pl.DataFrame(list(visits)), VISITS)
    ids = [v["visit"] for v in visits]
    with_services = [i for i in ids if i not in without_services]
    services = conform(
        pl.DataFrame({"visit": with_services, "service": "cognitive"}, schema_overrides=SERVICES),
        SERVICES,
    )
    flags = pl.DataFrame(
        {
            "visit": ids,
            "any_billed": False,
            "telehealth_modifier": False,
            "therapy_any": therapy != "never",
            "therapy_always": therapy == "always",
        },
        schema_overrides={"visit": pl.UInt32},
    )
    batch = Batch(frame, services, conform(pl.DataFrame(), LINES), PAYERS, TODAY)
    return check_plan(batch, flags)


def found(findings: pl.DataFrame, rule_id: str) -> list[tuple[str, str]]:
    """(severity, message) of each finding of ``rule_id``."""
    rows = findings.filter(pl.col("id") == rule_id).select("severity", "message")
    return list(rows.iter_rows())


def test_a_visit_with_a_complete_current_plan_has_no_finding_rules_7() -> None:
    assert check(visit()).is_empty()


# -- no-plan-of-care (RULES.md §7; §6 for who needs one) ----------------------------------------


def test_no_plan_of_care_is_an_error_for_a_payer_that_requires_one_rules_7() -> None:
    assert found(check(visit(**NO_PLAN)), "no-plan-of-care") == [
        (
            "error",
            "no plan of care on 2026-03-02: therapy needs a plan before treatment "
            "(medicare requires one).",
        )
    ]


def test_no_plan_of_care_is_a_warning_elsewhere_rules_7() -> None:
    assert found(check(visit(**NO_PLAN, payer_id="commercial")), "no-plan-of-care") == [
        ("warning", "no plan of care on 2026-03-02: therapy needs a plan before treatment.")
    ]


def test_a_physician_billing_only_97129_needs_no_plan_but_one_billing_97110_does_rules_6() -> None:
    physician = visit(**NO_PLAN, discipline="physician")
    assert check(physician, therapy="sometimes").is_empty()
    assert len(found(check(physician, therapy="always"), "no-plan-of-care")) == 1
    # A therapist needs one for a "sometimes therapy" code too.
    assert len(found(check(visit(**NO_PLAN), therapy="sometimes"), "no-plan-of-care")) == 1


def test_no_plan_of_care_not_raised_without_a_therapy_code_or_a_service_rules_7() -> None:
    assert check(visit(**NO_PLAN), therapy="never").is_empty()
    assert check(visit(**NO_PLAN), without_services=(0,)).is_empty()


# -- plan-after-service (RULES.md §7: the plan exists before treatment) -------------------------


def test_plan_starting_on_the_day_of_service_is_in_time_rules_7() -> None:
    assert found(check(visit(poc_start=VISIT_DAY)), "plan-after-service") == []


def test_plan_starting_the_day_after_the_service_is_too_late_rules_7() -> None:
    later = VISIT_DAY + timedelta(days=1)
    assert found(check(visit(poc_start=later, poc_certified=later)), "plan-after-service") == [
        (
            "error",
            "plan of care starts 2026-03-03, after the date of service 2026-03-02 "
            "(1 day(s) later).",
        )
    ]
    commercial = visit(poc_start=later, poc_certified=later, payer_id="commercial")
    assert [s for s, _ in found(check(commercial), "plan-after-service")] == ["warning"]


# -- certification-lapsed (RULES.md §7: 90 calendar days, certified within 30) ------------------


def test_day_90_of_the_plan_is_covered_and_day_91_is_not_rules_7() -> None:
    assert found(check(visit(date=day_of_plan(90), poc_through=None)), "certification-lapsed") == []
    assert found(check(visit(date=day_of_plan(91), poc_through=None)), "certification-lapsed") == [
        (
            "error",
            "2026-05-21 is day 91 of the plan starting 2026-02-20: a certification covers at "
            "most 90 calendar days (through 2026-05-20).",
        )
    ]


def test_certification_lapsed_is_info_for_a_payer_without_plan_rules_rules_7() -> None:
    late = visit(date=day_of_plan(91), poc_through=None, payer_id="commercial")
    assert [s for s, _ in found(check(late), "certification-lapsed")] == ["info"]


def test_certified_30_days_after_the_start_is_in_time_and_31_is_late_rules_7() -> None:
    in_time = visit(poc_certified=PLAN_START + timedelta(days=30))
    assert found(check(in_time), "certification-lapsed") == []
    late = visit(poc_certified=PLAN_START + timedelta(days=31))
    assert found(check(late), "certification-lapsed") == [
        (
            "error",
            "plan certified 2026-03-23, 31 days after its start 2026-02-20: certification is "
            "due within 30 days of the first treatment.",
        )
    ]


def test_uncertified_plan_lapses_31_days_after_its_start_not_30_rules_7() -> None:
    thirty = visit(poc_certified=None, date=PLAN_START + timedelta(days=30))
    assert found(check(thirty), "certification-lapsed") == []
    late = visit(poc_certified=None, date=PLAN_START + timedelta(days=31))
    assert found(check(late), "certification-lapsed") == [
        (
            "error",
            "plan starting 2026-02-20 is not certified 31 days later (2026-03-23): "
            "certification is due within 30 days of the first treatment.",
        )
    ]


def test_a_visit_after_the_plans_end_lapses_the_day_after_it_rules_7() -> None:
    end = date(2026, 4, 30)
    assert found(check(visit(date=end, poc_through=end)), "certification-lapsed") == []
    after = visit(date=end + timedelta(days=1), poc_through=end)
    assert found(check(after), "certification-lapsed") == [
        ("error", "2026-05-01 is after the plan's end 2026-04-30 (1 day(s) later).")
    ]


def test_past_day_90_the_plans_end_is_not_reported_again_but_a_late_certification_is_rules_7() -> (
    None
):
    both = visit(date=day_of_plan(100), poc_certified=PLAN_START + timedelta(days=40))
    messages = [m for _, m in found(check(both), "certification-lapsed")]
    assert [m.split(":")[0] for m in messages] == [
        "2026-05-30 is day 100 of the plan starting 2026-02-20",
        "plan certified 2026-04-01, 40 days after its start 2026-02-20",
    ]


# -- plan-incomplete (RULES.md §7: diagnosis, goals, frequency, duration) -----------------------


def test_plan_incomplete_names_what_the_plan_lacks_in_order_rules_7() -> None:
    bare = visit(poc_diagnoses=[], poc_goals=None, poc_frequency=None, poc_duration="")
    assert found(check(bare), "plan-incomplete") == [
        ("warning", "plan of care lacks diagnoses, long-term goals, frequency, duration.")
    ]


def test_goals_stated_false_count_as_missing_and_a_complete_plan_is_not_reported_rules_7() -> None:
    assert found(check(visit(poc_goals=False)), "plan-incomplete") == [
        ("warning", "plan of care lacks long-term goals.")
    ]
    assert found(check(visit()), "plan-incomplete") == []


def test_findings_come_in_visit_order_rules_7() -> None:
    findings = check(visit(visit=1, **NO_PLAN), visit(visit=0, poc_goals=None))
    assert findings.get_column("visit").to_list() == [0, 1]
    assert findings.get_column("id").to_list() == ["plan-incomplete", "no-plan-of-care"]
